package org.mpsprot.inject;

import com.sun.jna.Native;
import org.mpsprot.os.ShimLibrary;

/**
 * The shim's fault-injection seam (mpsprot.h {@code mpsprot_inject}; docs/design/prot.md
 * .inject), bound against the one loaded copy of the shim. Only the test build of the shim
 * injects: the tests of this package run in their own Surefire execution, which loads it
 * through {@code jna.library.path}; {@link #available()} says whether this JVM has it.
 */
public final class Inject {
  /** The injection sites, in the order of mpsprot.h's MPSPROT_INJECT_* numbers. */
  public enum Site {
    MMAP, MPROTECT, MEMFD, FTRUNCATE, IOCTL, USERFAULTFD, PROC_OPEN, PROC_READ, FUTEX
  }

  static {
    Native.register(Inject.class, ShimLibrary.INSTANCE);
  }

  private Inject() {}

  private static native int mpsprot_inject(int site, long nth, long count, int err);

  private static native long mpsprot_inject_count(int site, int which);

  private static native int mpsprot_handoff_parked(long[] out, int max);

  /** The mutators parked in the handoff now (mpsprot_handoff_parked); out gets 3 longs each. */
  public static int parked(long[] out) {
    return mpsprot_handoff_parked(out, out.length / 3);
  }

  /** True when the loaded shim is the fault-injection build. */
  public static boolean available() {
    return mpsprot_inject(0, 0, 0, 0) == 0;
  }

  /** From now on, calls nth .. nth + count - 1 at the site fail with errno err. */
  public static void arm(Site site, long nth, long count, int err) {
    int rc = mpsprot_inject(site.ordinal(), nth, count, err);
    if (rc != 0) {
      throw new IllegalStateException("mpsprot_inject(" + site + ") returned " + rc
          + (rc == 38 ? ": the loaded shim is the release build, not target/inject" : ""));
    }
  }

  /** Disarms the site and starts counting its calls from 0. */
  public static void count(Site site) {
    arm(site, 0, 0, 0);
  }

  /** Disarms every site. */
  public static void disarmAll() {
    for (Site s : Site.values()) {
      count(s);
    }
  }

  /** Calls seen at the site since it was armed. */
  public static long calls(Site site) {
    return mpsprot_inject_count(site.ordinal(), 0);
  }

  /** Calls made to fail at the site since it was armed. */
  public static long fired(Site site) {
    return mpsprot_inject_count(site.ordinal(), 1);
  }
}
