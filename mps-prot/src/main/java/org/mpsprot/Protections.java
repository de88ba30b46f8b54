package org.mpsprot;

/**
 * What the module and its reference model have in common: a granularity, ProtSet over
 * half-open ranges, and the recorded mode of each page. Code written against this interface
 * runs unchanged on the real module ({@link Prot}) and on the pure-Java model
 * ({@link org.mpsprot.model.ProtModel}), which is how the property tests use the model as an
 * oracle.
 */
public interface Protections {
  /** ProtGranularity: the page size; every bound passed to {@link #set} is a multiple of it. */
  long granularity();

  /**
   * ProtSet: forbid the accesses in {@code mode} on {@code [base, limit)} (.if.set).
   *
   * @param base first address, inclusive, a multiple of {@link #granularity()}
   * @param limit end address, exclusive, a multiple of {@link #granularity()}, greater than
   *     base
   * @param mode the accesses to forbid
   * @throws ProtRangeException if the bounds are unaligned, empty or not wholly inside one live
   *     region; nothing changes
   * @throws NullPointerException if mode is null
   */
  void set(long base, long limit, AccessSet mode);

  /**
   * The mode last set on the page holding {@code address}, as recorded.
   *
   * @throws ProtRangeException if the address is in no live region
   */
  AccessSet recordedMode(long address);
}
