package org.mpsprot;

import java.util.Objects;

/**
 * An immutable set over {@link Access} = {READ, WRITE}. In {@link Prot#set} it names the
 * accesses to <em>forbid</em> (docs/design/prot.md .if.set):
 *
 * <table>
 *   <caption>Mode to protection</caption>
 *   <tr><th>mode</th><th>meaning</th><th>what the OS applies</th></tr>
 *   <tr><td>{@link #EMPTY}</td><td>forbid nothing</td><td>read-write</td></tr>
 *   <tr><td>{@link #WRITE}</td><td>forbid writes</td><td>read-only</td></tr>
 *   <tr><td>{@link #READ}</td><td>forbid reads</td><td>no access (no OS offers write-only pages)</td></tr>
 *   <tr><td>{@link #ALL}</td><td>forbid both</td><td>no access</td></tr>
 * </table>
 *
 * <p>There are exactly four values; they are canonical, so {@code ==} and {@link #equals}
 * agree. Thread-safe (immutable).
 */
public final class AccessSet {
  /** No access forbidden: the page is read-write. */
  public static final AccessSet EMPTY = new AccessSet(0);
  /** Reads forbidden (and, on every OS, writes with them). */
  public static final AccessSet READ = new AccessSet(1);
  /** Writes forbidden: the page is read-only. */
  public static final AccessSet WRITE = new AccessSet(2);
  /** Reads and writes forbidden: no access. */
  public static final AccessSet ALL = new AccessSet(3);

  private static final AccessSet[] BY_BITS = {EMPTY, READ, WRITE, ALL};

  private final int bits;

  private AccessSet(int bits) {
    this.bits = bits;
  }

  /** The set with the given bits (bit 0 READ, bit 1 WRITE, as MPS). */
  public static AccessSet fromBits(int bits) {
    if ((bits & ~3) != 0) {
      throw new IllegalArgumentException(
          "access bits " + bits + " outside {READ=1, WRITE=2}: allowed values are 0 to 3");
    }
    return BY_BITS[bits];
  }

  /** The set holding exactly the given accesses. */
  public static AccessSet of(Access... accesses) {
    int bits = 0;
    for (Access a : accesses) {
      bits |= Objects.requireNonNull(a, "access").bit();
    }
    return BY_BITS[bits];
  }

  /** Bit 0 READ, bit 1 WRITE: the value the C shim takes. */
  public int bits() {
    return bits;
  }

  public boolean contains(Access access) {
    return (bits & access.bit()) != 0;
  }

  public boolean isEmpty() {
    return bits == 0;
  }

  public AccessSet union(AccessSet other) {
    return BY_BITS[bits | other.bits];
  }

  public AccessSet intersection(AccessSet other) {
    return BY_BITS[bits & other.bits];
  }

  public AccessSet minus(AccessSet other) {
    return BY_BITS[bits & ~other.bits];
  }

  public AccessSet complement() {
    return BY_BITS[~bits & 3];
  }

  public boolean isSubsetOf(AccessSet other) {
    return (bits & ~other.bits) == 0;
  }

  /**
   * The accesses that really fault once this mode is applied: forbidding READ forbids WRITE
   * too (.if.set), so {@link #READ} becomes {@link #ALL}.
   */
  public AccessSet effective() {
    return contains(Access.READ) ? ALL : this;
  }

  /** Whether an access of the given kind faults on a page protected with this mode. */
  public boolean forbids(Access access) {
    return effective().contains(access);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AccessSet other && other.bits == bits;
  }

  @Override
  public int hashCode() {
    return bits;
  }

  /** {@code {}}, {@code {READ}}, {@code {WRITE}} or {@code {READ, WRITE}}. */
  @Override
  public String toString() {
    switch (bits) {
      case 0: return "{}";
      case 1: return "{READ}";
      case 2: return "{WRITE}";
      default: return "{READ, WRITE}";
    }
  }
}
