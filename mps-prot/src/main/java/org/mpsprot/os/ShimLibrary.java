package org.mpsprot.os;

import com.sun.jna.NativeLibrary;

/**
 * The one loaded copy of libmpsprot. Every class that binds the shim's functions registers
 * against {@link #INSTANCE}: two separate loads would give the process two region tables and
 * two accessor sections, and the handler of one would not know the regions or accessors of the
 * other. JNA finds the library on the class path under its resource prefix.
 */
public final class ShimLibrary {
  /** libmpsprot, loaded once. */
  public static final NativeLibrary INSTANCE =
      NativeLibrary.getInstance("mpsprot", ShimLibrary.class.getClassLoader());

  private ShimLibrary() {}
}
