package org.mpsprot.gc;

import java.nio.ByteBuffer;
import org.mpsprot.Region;

/**
 * One space of the heap: a module {@link Region} with two bump pointers. Addresses are the
 * mutator view's; the collector reads and writes through the alias view ({@code alias*}), which
 * no protection and no dirty tracking sees.
 *
 * <pre>
 *   0        top            ceiling      floor            size
 *   |copies-> |   free          |          | <-allocation   |
 * </pre>
 *
 * Copies (and the generational heap's allocation) bump {@link #top()} up to the ceiling; the
 * read-barrier heap's mutator allocates downward from {@link #floor()}. The allocated parts are
 * {@code [0, top)} and {@code [floor, size)}.
 *
 * <p>Not thread-safe: the owning collector serialises access (its lock, or the stopped world).
 */
final class Space {
  final String name;
  final Region region;
  final long base;
  final long size;
  private final ByteBuffer alias;
  private long top;
  private long ceiling;
  private long floor;

  Space(String name, Region region) {
    this.name = name;
    this.region = region;
    this.base = region.base();
    this.size = region.size();
    this.alias = region.alias();
    reset();
  }

  /** Empties the space: top 0, ceiling and floor at the end. */
  void reset() {
    top = 0;
    ceiling = size;
    floor = size;
  }

  /** Whether {@code address} lies in the space (allocated or not). */
  boolean contains(long address) {
    return address - base >= 0 && address - base < size;
  }

  /** Whether {@code address} lies in an allocated part: below the top, or at or above the floor. */
  boolean isAllocated(long address) {
    long off = address - base;
    return off >= 0 && off < size && (off < top || off >= floor);
  }

  /** The offset of the first free byte above the copies. */
  long top() {
    return top;
  }

  long topAddress() {
    return base + top;
  }

  /** The offset of the lowest byte allocated downward ({@code size} when none). */
  long floor() {
    return floor;
  }

  /** Bytes allocated in both parts. */
  long used() {
    return top + (size - floor);
  }

  /** Upward bumps stop at this offset (at most the floor). */
  void setCeiling(long offset) {
    if (offset < top || offset > floor) {
      throw new IllegalArgumentException("ceiling " + offset + " outside [top " + top + ", floor " + floor + "] of " + name);
    }
    ceiling = offset;
  }

  /** Room left for upward bumps. */
  long free() {
    return ceiling - top;
  }

  /** Bumps {@code bytes} (a multiple of 8) upward; the address, or 0 when they do not fit. */
  long bump(long bytes) {
    if (bytes > ceiling - top) {
      return 0;
    }
    long at = base + top;
    top += bytes;
    return at;
  }

  /**
   * Bumps {@code bytes} downward, not below offset {@code lowest} (at least the ceiling); the
   * address, or 0 when they do not fit.
   */
  long bumpDown(long bytes, long lowest) {
    if (floor - bytes < lowest || lowest < ceiling) {
      return 0;
    }
    floor -= bytes;
    return base + floor;
  }

  long aliasLoad(long address) {
    return alias.getLong((int) (address - base));
  }

  void aliasStore(long address, long value) {
    alias.putLong((int) (address - base), value);
  }

  /** Copies {@code words} words from {@code src} in {@code from} to {@code dst} here, by alias. */
  void copyFrom(Space from, long src, long dst, int words) {
    alias.put((int) (dst - base), from.alias, (int) (src - from.base), words * ObjectLayout.WORD);
  }

  /** Fills offsets {@code [from, to)} with {@link ObjectLayout#POISON} through the alias. */
  void poison(long from, long to) {
    for (long at = from; at < to; at += ObjectLayout.WORD) {
      alias.putLong((int) at, ObjectLayout.POISON);
    }
  }

  /** Poisons both allocated parts and empties the space. */
  void poisonAndReset() {
    poison(0, top);
    poison(floor, size);
    reset();
  }

  @Override
  public String toString() {
    return String.format("%s [0x%x, 0x%x) top +%d floor +%d", name, base, base + size, top, floor);
  }
}
