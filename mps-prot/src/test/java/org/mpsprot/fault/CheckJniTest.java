package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.testing.ChildJvm;

/**
 * The module runs clean under {@code -Xcheck:jni} (README, "-Xcheck:jni"): reserve, protect,
 * faults of every policy, harvest, drainLog, batch, sync, tramp and close print no warning of
 * ours. The only warnings left are JNA's own, printed while {@code com.sun.jna.Native} loads
 * its dispatch library (JNI_OnLoad of libjnidispatch), before any call of the module: a program
 * that only touches {@code com.sun.jna.Native} prints them too. The SIGSEGV handler warning is
 * the documented one, silenced with -XX:+AllowUserSignalHandlers (or libjsig).
 */
class CheckJniTest {
  /** Each warning with the stack lines that follow it. */
  static List<String> warnings(List<String> lines) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = null;
    for (String l : lines) {
      if (l.startsWith("WARNING") || l.startsWith("Warning")) {
        if (cur != null) {
          out.add(cur.toString());
        }
        cur = new StringBuilder(l);
      } else if (cur != null && (l.startsWith("\tat ") || l.startsWith("\t- "))) {
        cur.append('\n').append(l);
      } else if (cur != null) {
        out.add(cur.toString());
        cur = null;
      }
    }
    if (cur != null) {
      out.add(cur.toString());
    }
    return out;
  }

  @Test
  void theModuleRunsCleanUnderXcheckJni() throws Exception {
    ChildJvm.Result r = ChildJvm.run(CheckJniChild.class, 120,
        List.of("-Xcheck:jni", "-XX:+AllowUserSignalHandlers", "-Xmx64m"));
    assertFalse(r.timedOut(), r.output());
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("DONE"), r.output());
    List<String> ours = new ArrayList<>();
    for (String w : warnings(r.lines())) {
      // JNA's loader: its JNI_OnLoad, inside System.load from Native.<clinit> (not ours).
      boolean jnaLoader = w.contains("com.sun.jna.Native.loadNativeDispatchLibrary")
          && w.indexOf("com.sun.jna.Native.loadNativeDispatchLibrary") < w.indexOf("org.mpsprot");
      if (!jnaLoader) {
        ours.add(w);
      }
    }
    assertEquals(List.of(), ours, "warnings of the module under -Xcheck:jni:\n" + r.output());
    assertFalse(r.output().contains("SIGSEGV handler modified"), r.output());
  }
}
