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
          "%s [0x%x, 0x%x): the range runs past the end of its region [0x%x, 0x%x); a request"
              + " must lie wholly inside one live region", op, base, limit, e.getKey(), regionLimit));
    }
    throw new ProtRangeException(String.format(
        "%s [0x%x, 0x%x): no live region of the module contains 0x%x; the module changes only"
            + " memory it reserved itself (Prot.reserve), and not after the region is closed",
        op, base, limit, base));
  }

  /**
   * {@code size} rounded up to the granularity.
   *
   * @throws ProtRangeException if size is not positive or the rounding overflows
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
    return (size + granularity - 1) / granularity * granularity;
  }
}
