package org.mpsprot;

/**
 * The fault path's counters since setup (.counters). Monotonic; read without stopping anyone,
 * so counters read together may be from slightly different moments.
 *
 * @param readFaults faults in regions whose access was a read
 * @param writeFaults faults in regions whose access was a write (or unknown)
 * @param unprotected faults resolved by unprotect-and-record, fallbacks included
 * @param stepped faults resolved by emulating the instruction
 * @param handoffs faults resolved by a Java collector
 * @param spurious faults on a page another thread had already opened: retried
 * @param chained faults that were not the module's, passed to the previous handler
 * @param failFast faults that ended the process with a message
 * @param logFull step-and-record faults that fell back because the log was full
 */
public record FaultCounters(
    long readFaults, long writeFaults, long unprotected, long stepped, long handoffs,
    long spurious, long chained, long failFast, long logFull) {

  /** The difference {@code this - earlier}, counter by counter. */
  public FaultCounters minus(FaultCounters earlier) {
    return new FaultCounters(readFaults - earlier.readFaults, writeFaults - earlier.writeFaults,
        unprotected - earlier.unprotected, stepped - earlier.stepped, handoffs - earlier.handoffs,
        spurious - earlier.spurious, chained - earlier.chained, failFast - earlier.failFast,
        logFull - earlier.logFull);
  }
}
