package org.mpsprot.gc;

import org.mpsprot.Prot;

/**
 * The collector tests' sizes, written for 4 KiB pages and scaled to the granularity of the JVM
 * under test (16 KiB on Apple silicon, 16 or 64 KiB on some aarch64 kernels, and under qemu-user
 * with -p): every space keeps the same number of pages, and a workload whose assertions count
 * page events (collections, barrier hits, pages scanned) grows with the page so that those
 * counts stay what they are at 4 KiB.
 */
final class PageScale {
  private PageScale() {}

  /** The granularity over 4 KiB: 1, 4 or 16 (never below 1). */
  static long factor() {
    return Math.max(1, Prot.setup().granularity() / 4096);
  }

  /** A heap configuration given in bytes at 4 KiB pages: the same page counts at this granularity. */
  static HeapConfig config(long nurseryBytes, long oldBytes, long semispaceBytes, boolean verify) {
    long f = factor();
    return new HeapConfig(nurseryBytes * f, oldBytes * f, semispaceBytes * f, verify);
  }

  /** A workload depth chosen at 4 KiB pages: one more per doubling of the page (+1 doubles the work). */
  static int depth(int depthAt4k) {
    return Math.min(24, depthAt4k + Long.numberOfTrailingZeros(factor()));
  }
}
