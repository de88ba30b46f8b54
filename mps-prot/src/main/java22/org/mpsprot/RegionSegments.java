package org.mpsprot;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.mpsprot.core.RegionScopes;

/**
 * {@link MemorySegment} views of a {@link Region} (JDK 22+; in the jar's
 * {@code META-INF/versions/22}, so on JDK 17-21 this class does not exist and {@link Region}
 * is unchanged). The segment counterparts of {@link Region#mutatorView()} and
 * {@link Region#alias()}, with two differences that make them the views to use on JDK 22+:
 *
 * <ul>
 *   <li>They end with the region: every view of a region belongs to one shared {@link Arena}
 *       that {@link Region#close()} closes before it unmaps anything, so an access through a view
 *       after {@code close()} throws {@link IllegalStateException} (from any thread) instead of
 *       touching unmapped memory; a stale {@code ByteBuffer} view crashes the process instead.
 *   <li>No 2 GiB limit: a view covers the whole region, whatever its size.
 * </ul>
 *
 * <p>Accesses obey the mutator view's protection exactly as JIT-compiled loads and stores do
 * (they are such loads and stores): a fault in a region with the UNPROTECT or STEP policy is
 * resolved in the handler; in a HANDOFF region a Java-state access takes the region's fallback
 * (design/fault.md .rule.native), so use {@link Accessors} there. Making a view is a restricted
 * operation ({@code MemorySegment.reinterpret}): native access must be enabled for the caller's
 * module ({@code --enable-native-access=ALL-UNNAMED} on the class path). Thread-safe.
 */
public final class RegionSegments {
  private RegionSegments() {}

  /**
   * The mutator's view {@code [base(), limit())} as a segment: accesses obey its protection.
   *
   * @throws RegionClosedException if the region is closed
   */
  public static MemorySegment mutatorSegment(Region region) {
    return view(region, false);
  }

  /**
   * The collector's alias view, always read-write, as a segment.
   *
   * @throws RegionClosedException if the region is closed
   */
  public static MemorySegment aliasSegment(Region region) {
    return view(region, true);
  }

  private static MemorySegment view(Region region, boolean alias) {
    Scope scope = RegionScopes.scope(region, Scope.class, Scope::new);
    long address = alias ? region.aliasBase() : region.base();
    return MemorySegment.ofAddress(address).reinterpret(region.size(), scope.arena, null);
  }

  /** The region's shared arena, closed by {@link Region#close()}. */
  private static final class Scope implements AutoCloseable {
    final Arena arena = Arena.ofShared();

    @Override
    public void close() {
      arena.close();
    }
  }
}
