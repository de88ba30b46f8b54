package org.mpsprot.fault;

import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Run in a child JVM by {@link UninstallTest} (uninstalling in the test JVM would take the
 * handler away from the other tests): uninstall is refused while a region is live, restores
 * the previous handler (the JVM's: a NullPointerException still works), and a later reserve
 * installs the module's handler again.
 */
public final class UninstallChild {
  private UninstallChild() {}

  static int field;

  static final class Box {
    int v;
  }

  private static int npes() {
    int caught = 0;
    Box box = new Box();
    for (int i = 0; i < 100_000; i++) {
      try {
        field += ((i & 15) == 0 ? null : box).v;
      } catch (NullPointerException e) {
        caught++;
      }
    }
    return caught;
  }

  private static final int SIGBUS = 7; // Linux on x86-64 and aarch64

  /**
   * Linux: installs SIG_DFL for SIGBUS over the module's handler (as another library would
   * install its own), asks to uninstall, then puts the module's handler back from the bytes
   * sigaction returned. The refusal's message, or "skipped" elsewhere.
   */
  private static String refusedUnderAnotherHandler(Prot prot) {
    if (!com.sun.jna.Platform.isLinux()) {
      return "skipped";
    }
    com.sun.jna.Function sigaction = com.sun.jna.Function.getFunction("c", "sigaction");
    com.sun.jna.Memory dfl = new com.sun.jna.Memory(512);
    com.sun.jna.Memory ours = new com.sun.jna.Memory(512);
    dfl.clear();
    ours.clear();
    if (sigaction.invokeInt(new Object[] {SIGBUS, dfl, ours}) != 0) {
      return "sigaction failed";
    }
    String message;
    try {
      prot.uninstallHandler();
      message = "not refused";
    } catch (IllegalStateException e) {
      message = e.getMessage();
    } finally {
      sigaction.invokeInt(new Object[] {SIGBUS, ours, null});
    }
    return message + " | installed=" + prot.handlerInstalled();
  }

  public static void main(String[] args) {
    Prot prot = Prot.setup();
    Region r = prot.reserve(prot.granularity());
    System.out.println("INSTALLED " + prot.handlerInstalled());
    try {
      prot.uninstallHandler();
      System.out.println("REFUSED no");
    } catch (IllegalStateException e) {
      System.out.println("REFUSED " + e.getMessage());
    }
    r.close();
    System.out.println("OVER " + refusedUnderAnotherHandler(prot));
    prot.uninstallHandler();
    System.out.println("AFTER " + prot.handlerInstalled() + " npes=" + npes());
    Region again = prot.reserve(prot.granularity());
    again.setPolicy(BarrierPolicy.UNPROTECT);
    again.protectAll(AccessSet.WRITE);
    again.mutatorView().putInt(0, 7);
    System.out.println("AGAIN " + prot.handlerInstalled() + " dirty=" + again.dirtyPages().get(0)
        + " npes=" + npes());
    again.close();
  }
}
