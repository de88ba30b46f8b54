package org.mpsprot.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** One JMH benchmark with minimal iterations, in process: the suite builds and runs. */
class JmhSmokeTest {
  @Test
  void oneBenchmarkRuns() throws Exception {
    Options opt = new OptionsBuilder()
        .include(ProtBenchmarks.class.getName() + ".trapUnprotect")
        .forks(0)
        .warmupIterations(1).warmupTime(TimeValue.milliseconds(100))
        .measurementIterations(1).measurementTime(TimeValue.milliseconds(200))
        .build();
    Collection<RunResult> results = new Runner(opt).run();
    assertEquals(1, results.size());
    double ns = results.iterator().next().getPrimaryResult().getScore();
    assertTrue(ns > 100 && ns < 1_000_000, "a trap costs microseconds, not " + ns + " ns");
  }
}
