package org.mpsprot.model;

import java.util.Map;
import java.util.NavigableMap;
import java.util.function.ToLongFunction;
import org.mpsprot.ProtRangeException;

/**
 * The rules a ProtSet request obeys (.if.set, .rule.owned), shared by the module and its
 * reference model so that both refuse exactly the same requests with the same messages.
 * Stateless and thread-safe.
 */
public final class RangeRules {
  private RangeRules() {}

  /**
   * The most pages a region may have: {@link Integer#MAX_VALUE}, so that the region's record
   * (one byte a page) fits one {@link java.nio.ByteBuffer} and page indexes fit an int (the
   * shim's MPSPROT_MAX_REGION_PAGES is the same). With 4 KiB pages that is 8 TiB less one page.
   */
  public static final long MAX_REGION_PAGES = Integer.MAX_VALUE;

  /** The largest size {@code reserve} accepts with this granularity. */
  public static long maxRegionSize(long granularity) {
    return MAX_REGION_PAGES * granularity;
  }

  /**
   * Checks that {@code [base, limit)} is a non-empty range with both bounds multiples of the
   * granularity.
   *
   * @throws ProtRangeException naming the values and what is allowed
   */
  public static void checkBounds(String op, long base, long limit, long granularity) {
    if (Long.remainderUnsigned(base, granularity) != 0) {
      throw new ProtRangeException(String.format(
          "%s [0x%x, 0x%x): base 0x%x is not a multiple of the granularity %d (0x%x);"
              + " both bounds must be page-aligned", op, base, limit, base, granularity, granularity));
    }
    if (Long.remainderUnsigned(limit, granularity) != 0) {
      throw new ProtRangeException(String.format(
          "%s [0x%x, 0x%x): limit 0x%x is not a multiple of the granularity %d (0x%x);"
              + " both bounds must be page-aligned", op, base, limit, limit, granularity, granularity));
    }
    if (Long.compareUnsigned(base, limit) >= 0) {
      throw new ProtRangeException(String.format(
          "%s [0x%x, 0x%x): base must be below limit (the range is half-open: base inclusive,"
              + " limit exclusive)", op, base, limit));
    }
  }

  /**
   * The live region (keyed by its base in {@code regions}) that wholly contains
   * {@code [base, limit)}.
   *
   * @throws ProtRangeException if none does: the module changes only memory it reserved
   */
  public static <R> R owner(
      String op, NavigableMap<Long, R> regions, ToLongFunction<R> limitOf, long base, long limit) {
    Map.Entry<Long, R> e = regions.floorEntry(base);
    if (e != null && Long.compareUnsigned(base, limitOf.applyAsLong(e.getValue())) < 0) {
      long regionLimit = limitOf.applyAsLong(e.getValue());
      if (Long.compareUnsigned(limit, regionLimit) <= 0) {
        return e.getValue();
      }
      throw new ProtRangeException(String.format(
          "%s [0x%x, 0x%x): the range runs past the end of its region [0x%x, 0x%x)%s; a request"
              + " must lie wholly inside one live region: split it at the region boundaries",
          op, base, limit, e.getKey(), regionLimit, beyond(regions, limitOf, regionLimit, limit)));
    }
    throw new ProtRangeException(String.format(
        "%s [0x%x, 0x%x): no live region of the module contains 0x%x; the module changes only"
            + " memory it reserved itself (Prot.reserve), and not after the region is closed",
        op, base, limit, base));
  }

  /**
   * What else {@code [from, limit)} (the part of a request past its first region) covers: the
   * other live regions it reaches, by range, or the gap, so that a request across two regions
   * names both.
   */
  private static <R> String beyond(
      NavigableMap<Long, R> regions, ToLongFunction<R> limitOf, long from, long limit) {
    StringBuilder out = new StringBuilder();
    int named = 0;
    for (Map.Entry<Long, R> e : regions.tailMap(from, true).entrySet()) {
      if (Long.compareUnsigned(e.getKey(), limit) >= 0) {
        break;
      }
      if (named == 3) {
        out.append(", ...");
        break;
      }
      out.append(named == 0 ? "" : ", ").append(String.format("[0x%x, 0x%x)", e.getKey(),
          limitOf.applyAsLong(e.getValue())));
      named++;
    }
    if (named == 0) {
      return String.format(" into memory no live region holds ([0x%x, 0x%x))", from, limit);
    }
    return " into " + (named == 1 ? "another live region " : "other live regions ") + out;
  }

  /**
   * {@code size} rounded up to the granularity.
   *
   * @throws ProtRangeException if size is not positive, the rounding overflows, or the rounded
   *     size is more than {@link #MAX_REGION_PAGES} pages
   */
  public static long roundUpSize(long size, long granularity) {
    if (size <= 0) {
      throw new ProtRangeException(
          "reserve(" + size + "): the size must be positive (it is rounded up to the granularity "
              + granularity + ")");
    }
    if (size > Long.MAX_VALUE - (granularity - 1)) {
      throw new ProtRangeException(
          "reserve(" + size + "): the size cannot be rounded up to the granularity " + granularity
              + " without overflow; the largest size is " + (Long.MAX_VALUE - (granularity - 1)));
    }
    long rounded = (size + granularity - 1) / granularity * granularity;
    if (rounded / granularity > MAX_REGION_PAGES) {
      throw new ProtRangeException(
          "reserve(" + size + "): the size is " + rounded / granularity + " pages of " + granularity
              + " bytes; a region has at most " + MAX_REGION_PAGES + " pages ("
              + maxRegionSize(granularity) + " bytes), so that its per-page record fits one buffer;"
              + " reserve several regions instead");
    }
    return rounded;
  }
}
