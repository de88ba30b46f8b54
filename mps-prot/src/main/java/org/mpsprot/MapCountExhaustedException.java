package org.mpsprot;

/**
 * Linux refused a request because the process reached {@code vm.max_map_count} (.req.mapcount).
 * Which request tells what to do, and the message says it: a protection change (ProtSet, a
 * harvest's re-protection) splits a mapping for every protected range whose neighbours differ,
 * so raise the limit ({@code sysctl -w vm.max_map_count=N}) or protect in fewer, longer runs;
 * a {@code reserve} needs three new mappings per region, so raise the limit or use fewer
 * regions; a userfaultfd tracker's registration may split mappings too.
 */
public class MapCountExhaustedException extends ProtOsException {
  private static final long serialVersionUID = 1L;

  private final long mapCount;
  private final long maxMapCount;

  public MapCountExhaustedException(String message, int errno, long mapCount, long maxMapCount) {
    super(message, errno, "ENOMEM");
    this.mapCount = mapCount;
    this.maxMapCount = maxMapCount;
  }

  /**
   * The process's mappings when the failure was reported, counted as the kernel counts them
   * against {@link #maxMapCount()}: the lines of {@code /proc/self/maps} less the
   * {@code [vsyscall]} page, which Linux lists there but does not count. Read just after the
   * refusal, so it is at or near the limit: a failed split leaves it at most a few below, and
   * it may be one above, because Linux's mmap refuses only once the count already exceeds the
   * limit while a split refuses at the limit (mm/mmap.c, mm/vma.c).
   */
  public long mapCount() {
    return mapCount;
  }

  /**
   * The limit, read from {@code /proc/sys/vm/max_map_count} when the failure was reported (the
   * sysctl {@code vm.max_map_count}; 65530 by default).
   */
  public long maxMapCount() {
    return maxMapCount;
  }
}
