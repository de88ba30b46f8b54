package org.mpsprot.core;

import org.mpsprot.AccessSet;
import org.mpsprot.MapCountExhaustedException;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.SyncReport;
import org.mpsprot.os.linux.LinuxProtOs;

/**
 * Run in a child JVM by {@link MapCountTest}: splits a region page by page until Linux refuses
 * for want of mappings (vm.max_map_count), then checks that the record still equals the OS. A
 * child, because a JVM at its mapping limit may fail in its own allocations.
 */
public final class MapCountChild {
  private MapCountChild() {}

  public static void main(String[] args) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    long pages = 2 * LinuxProtOs.maxMapCount() + 64;
    Region r = prot.reserve(pages * page);
    try {
      for (long p = 0; p < pages; p += 2) {
        r.protect(p * page, page, AccessSet.WRITE);
      }
      System.out.println("RESULT no failure after " + pages / 2 + " splits");
    } catch (MapCountExhaustedException e) {
      SyncReport report = prot.sync();
      System.out.println("MESSAGE " + e.getMessage());
      // A reserve at the limit: its advice is the reserve's (fewer regions), not ProtSet's.
      try (Region more = prot.reserve(4 * page)) {
        System.out.println("RESERVE succeeded at " + LinuxProtOs.mapCount() + " mappings");
      } catch (MapCountExhaustedException re) {
        System.out.println("RESERVE " + re.getMessage());
      }
      System.out.println("COUNTS " + e.mapCount() + " " + e.maxMapCount() + " " + e.errnoName());
      System.out.println("SYNC " + (report.clean() ? "clean" : report.toString()));
    } finally {
      r.close();
    }
    System.out.println("CLOSED " + LinuxProtOs.mapCount());
  }
}
