package org.mpsprot.core;

/** RegionDescribeTest's strict XML parsing, for tests in other packages. */
public final class RegionDescribeTestAccess {
  private RegionDescribeTestAccess() {}

  /** Parses {@code xml} with DOCTYPEs refused; throws if it is not well-formed. */
  public static org.w3c.dom.Document parseXml(String xml) throws Exception {
    return RegionDescribeTest.parseXml(xml);
  }
}
