package org.mpsprot.os;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.util.Locale;

/**
 * Which native backend calls the shim (docs/design/os.md .backend): JNA direct mapping, or the
 * JDK's Foreign Function and Memory API (java.lang.foreign, JDK 22+), chosen once per process.
 *
 * <p>The choice: the system property {@code mpsprot.backend} = {@code jna} or {@code ffm} forces
 * one; unset (or {@code auto}), FFM is used when the JDK is 22 or later, the jar carries the FFM
 * classes ({@code META-INF/versions/22}) and native access is enabled for the code that calls
 * it ({@code --enable-native-access=ALL-UNNAMED} on the class path; the jar's manifest declares
 * it for {@code java -jar}); otherwise JNA, and {@link #detail()} says why, naming the flag to
 * pass. A forced {@code ffm} that cannot be had is an {@link IllegalStateException} from
 * {@link #current()} with the same reason, never a silent JNA.
 *
 * <p>Both backends call the one copy of the shim that JNA loaded ({@link ShimLibrary}): the FFM
 * downcalls are bound to the addresses of its functions, so there is one region table and one
 * fault handler in the process whichever backend runs. Immutable and thread-safe.
 */
public final class NativeBackend {
  /** The system property that forces a backend: {@code jna}, {@code ffm} or {@code auto}. */
  public static final String PROPERTY = "mpsprot.backend";

  /** The backends. */
  public enum Kind {
    /** JNA direct mapping (every JDK). */
    JNA,
    /** java.lang.foreign downcalls (JDK 22+). */
    FFM
  }

  private static final String FFM_CLASS = "org.mpsprot.os.FfmShimCalls";
  private static final NativeBackend CURRENT = select();

  private final Kind kind;
  private final String detail;
  private final ShimCalls calls;
  /** Non-null when a forced backend could not be had: {@link #current()} throws it. */
  private final String refusal;

  private NativeBackend(Kind kind, String detail, ShimCalls calls, String refusal) {
    this.kind = kind;
    this.detail = detail;
    this.calls = calls;
    this.refusal = refusal;
  }

  /**
   * The process's backend.
   *
   * @throws IllegalStateException when {@code -Dmpsprot.backend=ffm} was asked for and FFM cannot
   *     be used here (the message says why and what to pass)
   */
  public static NativeBackend current() {
    if (CURRENT.refusal != null) {
      throw new IllegalStateException(CURRENT.refusal);
    }
    return CURRENT;
  }

  public Kind kind() {
    return kind;
  }

  /** Why this backend: what was asked, what was found. */
  public String detail() {
    return detail;
  }

  /** "ffm (...)" or "jna (...)", for {@code info}. */
  @Override
  public String toString() {
    return kind.name().toLowerCase(Locale.ROOT) + " (" + detail + ")";
  }

  ShimCalls calls() {
    return calls;
  }

  /**
   * A downcall handle of the shim's exported function {@code name} with Java type {@code type}
   * (long, int, short, byte, double and void only), never {@code Linker.Option.critical}: the
   * call runs in native state and may block or fault into a HANDOFF park. Null on the JNA
   * backend. Used by {@link org.mpsprot.Accessors}.
   */
  public MethodHandle downcall(String name, MethodType type) {
    return calls.downcall(name, type);
  }

  private static NativeBackend select() {
    String asked = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    int feature = Runtime.version().feature();
    switch (asked) {
      case "jna":
        return new NativeBackend(Kind.JNA, "asked for with -D" + PROPERTY + "=jna", new JnaShimCalls(), null);
      case "ffm":
      case "auto":
      case "":
        break;
      default:
        return new NativeBackend(Kind.JNA, "", null, "-D" + PROPERTY + "=" + asked
            + " is not a backend: use jna, ffm or auto");
    }
    boolean forced = asked.equals("ffm");
    String why;
    if (feature < 22) {
      why = "JDK " + feature + ": the FFM backend needs JDK 22 or later";
    } else {
      why = null;
      try {
        Class<?> c = Class.forName(FFM_CLASS, true, NativeBackend.class.getClassLoader());
        ShimCalls ffm = (ShimCalls) c.getDeclaredMethod("create").invoke(null);
        return new NativeBackend(Kind.FFM, (forced ? "asked for with -D" + PROPERTY + "=ffm"
            : "chosen on JDK " + feature) + ": java.lang.foreign downcalls", ffm, null);
      } catch (ClassNotFoundException | UnsupportedClassVersionError e) {
        why = "this jar was built without the FFM backend (no META-INF/versions/22: build it with a"
            + " JDK 22+ or with -Dmpsprot.jdk22.home=<a JDK 22+>)";
      } catch (ExceptionInInitializerError e) {
        // The class's initialiser checks native access first, then binds the downcalls.
        why = e.getCause() instanceof IllegalStateException ? e.getCause().getMessage()
            : "the FFM backend failed to start: " + e.getCause();
      } catch (java.lang.reflect.InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof ExceptionInInitializerError && cause.getCause() != null) {
          cause = cause.getCause(); // the class's initialiser checks access and binds
        }
        why = cause instanceof IllegalStateException ? cause.getMessage()
            : "the FFM backend failed to start: " + cause;
      } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
        why = "the FFM backend failed to start: " + e;
      }
    }
    if (forced) {
      return new NativeBackend(Kind.JNA, why, null, "-D" + PROPERTY + "=ffm asked for the FFM"
          + " backend, but " + why);
    }
    return new NativeBackend(Kind.JNA, why, new JnaShimCalls(), null);
  }
}
