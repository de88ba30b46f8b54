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

  /** The process's mappings when the failure was reported. */
  public long mapCount() {
    return mapCount;
  }

  /** The limit, from /proc/sys/vm/max_map_count. */
  public long maxMapCount() {
    return maxMapCount;
  }
}
