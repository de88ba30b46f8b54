package org.mpsprot.os;

/** Direct calls of the shim's common API for tests in other packages (bypassing the Java checks). */
public final class ShimTestAccess {
  private ShimTestAccess() {}

  /** mpsprot_region_create as is: returns 0 or the errno; out[3] is the failing stage. */
  public static int create(long size, long[] out) {
    return CommonShim.mpsprot_region_create(size, out);
  }
}
