package org.mpsprot.testing;

import java.util.BitSet;

/** Page sets as the module reports them (Region.harvest, dirtyPages, touchedPages). */
public final class Pages {
  private Pages() {}

  /** The set of the given page indexes. */
  public static BitSet bits(int... pages) {
    BitSet b = new BitSet();
    for (int p : pages) {
      b.set(p);
    }
    return b;
  }
}
