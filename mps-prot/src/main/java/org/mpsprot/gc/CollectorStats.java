package org.mpsprot.gc;

/**
 * A collector's counters since it was made (docs/barriers.md .demo.table).
 *
 * @param collections minor + major collections (write barriers), or completed cycles (read barrier)
 * @param minor minor collections (0 for the read barrier)
 * @param major major collections, or flips for the read barrier
 * @param barrierHits the tracker's hits (write barriers), or faults handed to the collector
 *     (read barrier)
 * @param pagesScanned pages the collector scanned because the barrier reported them (write
 *     barriers: distinct pages holding a dirty granule, summed over collections), or to-space
 *     pages scanned (read barrier)
 * @param bytesScanned bytes of those pages (or, for card marking, of those cards) the collector scanned
 * @param collectorNanos time the mutator thread spent collecting (pauses)
 * @param backgroundNanos time other threads spent on the collector's work (read barrier: page
 *     scans by the barrier and background threads)
 * @param bytesCopied bytes copied by the collector
 */
public record CollectorStats(long collections, long minor, long major, long barrierHits, long pagesScanned,
    long bytesScanned, long collectorNanos, long backgroundNanos, long bytesCopied) {}
