package org.mpsprot.core;

import java.util.Objects;
import java.util.function.Supplier;
import org.mpsprot.Region;

/**
 * The lifetime hook of a region for views that must end with it: the JDK 22+ segment views
 * ({@code org.mpsprot.RegionSegments}, in the jar's {@code META-INF/versions/22}) attach a shared
 * {@code Arena} here, and {@link Region#close()} closes it, under the module's lock, before the
 * region is unregistered and unmapped: from then on an access through such a view throws
 * {@link IllegalStateException} instead of touching unmapped memory (docs/design/prot.md
 * .sol.alias.close). Not an API for applications. Thread-safe.
 */
public final class RegionScopes {
  private RegionScopes() {}

  /**
   * The scope attached to {@code region}, made by {@code make} on first use.
   *
   * @throws org.mpsprot.RegionClosedException if the region is closed
   * @throws IllegalArgumentException for a region that is not the module's
   */
  public static <T extends AutoCloseable> T scope(Region region, Class<T> type, Supplier<T> make) {
    Objects.requireNonNull(region, "region");
    if (region instanceof RegionHandle h) {
      region = h.impl();
    }
    if (!(region instanceof RegionImpl r)) {
      throw new IllegalArgumentException("region " + region + " was not made by Prot.reserve");
    }
    return r.module().scope(r, type, make);
  }
}
