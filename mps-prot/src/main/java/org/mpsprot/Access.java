package org.mpsprot;

/**
 * One kind of memory access: the elements of an {@link AccessSet}.
 *
 * <p>MPS names: {@code AccessREAD}, {@code AccessWRITE} (docs/design/prot.md .if.access).
 */
public enum Access {
  /** A load. Its bit in {@link AccessSet#bits()} is 1, as MPS's AccessREAD. */
  READ(1),
  /** A store. Its bit in {@link AccessSet#bits()} is 2, as MPS's AccessWRITE. */
  WRITE(2);

  private final int bit;

  Access(int bit) {
    this.bit = bit;
  }

  /** The bit this access occupies in {@link AccessSet#bits()}. */
  public int bit() {
    return bit;
  }
}
