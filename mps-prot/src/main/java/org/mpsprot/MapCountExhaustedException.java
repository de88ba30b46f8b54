package org.mpsprot;

/**
 * Linux refused a protection change because the process reached {@code vm.max_map_count}:
 * every protected range whose neighbours differ splits a mapping, and each split costs one
 * of the process's mappings (.req.mapcount). Raise the limit
 * ({@code sysctl -w vm.max_map_count=N}) or protect in fewer, longer runs.
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
