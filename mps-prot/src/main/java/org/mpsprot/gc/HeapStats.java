package org.mpsprot.gc;

/**
 * A heap's counters: the collector's, and the verification's.
 *
 * @param barrier the barrier's name
 * @param collector the collector's counters
 * @param verifications how many times the live graph was compared with the model
 * @param objectsVerified objects compared, summed over verifications
 * @param verifyNanos time spent verifying (on the mutator thread)
 */
public record HeapStats(String barrier, CollectorStats collector, long verifications, long objectsVerified,
    long verifyNanos) {}
