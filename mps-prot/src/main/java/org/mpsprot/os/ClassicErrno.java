package org.mpsprot.os;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;

/**
 * The errno values that Linux and the Microsoft C runtime (which mingw-w64 builds the Windows
 * shim against) number alike: the classic Unix numbering, 1 to 28. Each OS's class extends this
 * one with the values where they differ (ENOSYS is 38 on Linux and 40 in the MS runtime), and
 * {@link #names(Class)} turns a class's constants into its name table, so a value is written
 * once. Immutable; thread-safe.
 */
public class ClassicErrno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EINTR = 4;
  public static final int EIO = 5;
  public static final int ENXIO = 6;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EFAULT = 14;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int ENFILE = 23;
  public static final int EMFILE = 24;
  public static final int ENOTTY = 25;
  public static final int EFBIG = 27;
  public static final int ENOSPC = 28;

  protected ClassicErrno() {}

  /** The names of the static final int constants of {@code errnoClass} and its superclasses. */
  protected static Map<Integer, String> names(Class<? extends ClassicErrno> errnoClass) {
    Map<Integer, String> names = new HashMap<>();
    for (Class<?> c = errnoClass; c != Object.class; c = c.getSuperclass()) {
      for (Field f : c.getDeclaredFields()) {
        int m = f.getModifiers();
        if (Modifier.isStatic(m) && Modifier.isFinal(m) && f.getType() == int.class && f.getName().startsWith("E")) {
          try {
            f.setAccessible(true);
            names.putIfAbsent(f.getInt(null), f.getName());
          } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    }
    return Map.copyOf(names);
  }

  /** The name in {@code names}, or "errno N" for a value not listed. */
  protected static String name(Map<Integer, String> names, int errno) {
    String n = names.get(errno);
    return n != null ? n : "errno " + errno;
  }
}
