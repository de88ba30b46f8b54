package org.mpsprot.testing;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * The regions a test reserves, closed after each test whatever it did:
 * {@code @RegisterExtension final Regions regions = new Regions();} then
 * {@code regions.reserve(pages)}.
 */
public final class Regions implements AfterEachCallback {
  private final Prot prot = Prot.setup();
  private final List<Region> open = new ArrayList<>();

  /** Reserves a region of {@code pages} pages of the module's granularity. */
  public Region reserve(long pages) {
    return add(prot.reserve(pages * prot.granularity()));
  }

  /** Closes {@code r}, reserved by the test itself, after the test too; returns it. */
  public Region add(Region r) {
    open.add(r);
    return r;
  }

  @Override
  public void afterEach(ExtensionContext context) {
    open.forEach(Region::close);
    open.clear();
  }
}
