package org.mpsprot;

import java.util.List;

/**
 * What {@link Prot#sync()} found (.if.sync): each run of pages whose real protection differed
 * from the module's record, and whether sync repaired it.
 *
 * @param regionsChecked live regions examined
 * @param pagesChecked pages examined over both views
 * @param differences runs of pages whose OS protection differed from the record
 */
public record SyncReport(int regionsChecked, long pagesChecked, List<Difference> differences) {
  /** Which mapping of a region a difference was found in. */
  public enum View {
    /** The mutator's view: its protection is the record's. */
    MUTATOR,
    /** The collector's alias view: always read-write. */
    ALIAS
  }

  /** What a difference is (.if.sync, .sol.replaced). */
  public enum Kind {
    /** The region's memory, with another protection than the record's: repaired unless sync failed. */
    DIFFERENT,
    /** Nothing is mapped there any more (munmap from outside): never repaired. */
    UNMAPPED,
    /**
     * Something else is mapped there (mmap MAP_FIXED from outside: another device, inode or
     * offset than the region's memory). Never repaired: the module leaves that memory alone from
     * then on; ProtSet, harvest and close refuse or skip those pages.
     */
    REPLACED
  }

  /**
   * One run {@code [base, limit)} of one view whose protection was {@code actual} (as the OS
   * reports it, like "r--", or "unmapped") where the record wanted {@code expected}.
   * {@code repaired} is never true for {@link Kind#UNMAPPED} and {@link Kind#REPLACED}.
   */
  public record Difference(
      long regionBase, View view, long base, long limit, String expected, String actual,
      boolean repaired, Kind kind) {
    /** A difference of kind {@link Kind#UNMAPPED} if actual is "unmapped", else {@link Kind#DIFFERENT}. */
    public Difference(long regionBase, View view, long base, long limit, String expected, String actual,
        boolean repaired) {
      this(regionBase, view, base, limit, expected, actual, repaired,
          "unmapped".equals(actual) ? Kind.UNMAPPED : Kind.DIFFERENT);
    }

    @Override
    public String toString() {
      if (kind == Kind.REPLACED) {
        return String.format(
            "%s view of region 0x%x: [0x%x, 0x%x) was REPLACED from outside (now %s), recorded %s:"
                + " left alone, no longer the region's",
            view, regionBase, base, limit, actual, expected);
      }
      return String.format(
          "%s view of region 0x%x: [0x%x, 0x%x) was %s, recorded %s: %s",
          view, regionBase, base, limit, actual, expected, repaired ? "repaired" : "NOT repaired");
    }
  }

  public SyncReport {
    differences = List.copyOf(differences);
  }

  /** True when the OS agreed with the record everywhere. */
  public boolean clean() {
    return differences.isEmpty();
  }

  /** How many differences are memory replaced from outside. */
  public long replaced() {
    return differences.stream().filter(d -> d.kind() == Kind.REPLACED).count();
  }

  /** How many differences were repaired. */
  public long repaired() {
    return differences.stream().filter(Difference::repaired).count();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(String.format(
        "sync: %d regions, %d pages checked, %d differences, %d repaired",
        regionsChecked, pagesChecked, differences.size(), repaired()));
    for (Difference d : differences) {
      sb.append(System.lineSeparator()).append("  ").append(d);
    }
    return sb.toString();
  }
}
