package org.mpsprot.barrier;

import java.util.function.Supplier;
import org.mpsprot.os.ProtOs;

/**
 * A strategy's availability, probed once and then kept, unless the probe failed for a reason
 * that may pass (the process was out of file descriptors or memory while probing: {@link
 * ProtOs.Backend#transientFailure()}); such an answer is returned but not kept, and the next
 * call probes again, so that one EMFILE does not make a strategy unavailable for the life of
 * the process. Thread-safe: two threads may probe at once; either answer is a true one.
 */
final class ProbeCache {
  private final Supplier<ProtOs.Backend> probe;
  private volatile Availability kept;

  ProbeCache(Supplier<ProtOs.Backend> probe) {
    this.probe = probe;
  }

  Availability get() {
    Availability a = kept;
    if (a != null) {
      return a;
    }
    ProtOs.Backend b;
    try {
      org.mpsprot.Prot.setup();
      b = probe.get();
    } catch (RuntimeException | LinkageError e) {
      // Not kept either: a module that could not start now (out of descriptors) may start later.
      return Availability.no("the protection module cannot start: " + e.getMessage());
    }
    a = b.available() ? Availability.yes(b.detail()) : Availability.no(b.detail());
    if (b.available() || !b.transientFailure()) {
      kept = a;
    }
    return a;
  }
}
