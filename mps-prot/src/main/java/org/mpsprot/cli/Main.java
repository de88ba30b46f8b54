package org.mpsprot.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import org.mpsprot.bench.Primitives;
import org.mpsprot.Prot;
import org.mpsprot.os.ProtOs;
import org.mpsprot.os.linux.LinuxProtOs;

/**
 * {@code java -jar mps-prot.jar <command>}: the runnable face of the module.
 *
 * <ul>
 *   <li>{@code info [--json]}: platform, kernel, page size, JDK, native backend, dirty-tracking
 *       backends, handler, limits, write-barrier strategies; {@code --json}: the same as one JSON
 *       object ({@link InfoJson}).
 *   <li>{@code primitives}: the Appel-Li primitives, Java API beside plain C.
 *   <li>{@code demo}: the reference collector under every barrier, verified (docs/barriers.md).
 *   <li>{@code describe}: a harvest cycle pictured step by step ({@link Describe}).
 * </ul>
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the exit status. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    String command = args.length == 0 ? "help" : args[0];
    String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
    switch (command) {
      case "info":
        return info(rest, out, err);
      case "primitives":
        return primitives(rest, out, err);
      case "demo":
        return org.mpsprot.gc.Demo.run(rest, out, err);
      case "describe":
        return Describe.run(rest, out, err);
      case "help":
      case "--help":
      case "-h":
        usage(out);
        return 0;
      default:
        err.println("mps-prot: unknown command '" + command + "'");
        usage(err);
        return 2;
    }
  }

  private static void usage(PrintStream out) {
    out.println("usage: java -jar mps-prot.jar <command>");
    out.println("  demo        [--depth N] [--strategy LIST] [--seed S] [--json] [--no-verify] [--broken]");
    out.println("              [--costs [--svg FILE]]");
    out.println("              the reference collector under every write barrier and the read barrier,");
    out.println("              verified after every collection (the main job)");
    out.println("  describe    [--pages N] [--svg DIR] [--ansi]");
    out.println("              one harvest cycle of a write barrier over a demo heap, pictured after each");
    out.println("              step (Region.describe()): as text, and as DIR/harvest-K-STEP.svg with --svg");
    out.println("  info        [--json]");
    out.println("              platform, kernel, page size, JDK, native backend (FFM or JNA),");
    out.println("              dirty-tracking backends, handler, limits, write-barrier strategies;");
    out.println("              --json: the same facts as one JSON object");
    out.println("  primitives  [--repetitions N] [--pages N] [--json] [--backend jna|ffm|all]");
    out.println("              the Appel-Li primitives through the Java API beside the same loops in C,");
    out.println("              inside this JVM and in a program without one; --backend: the native");
    out.println("              backend (default: this JVM's; all: each in a child JVM, rows per backend)");
  }

  static int primitives(String[] args, PrintStream out, PrintStream err) {
    int repetitions = 11;
    long pages = 1000;
    boolean json = false;
    String backend = null;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--backend" -> backend = value(args, ++i, "--backend");
          case "--repetitions" -> repetitions = Integer.parseInt(value(args, ++i, "--repetitions"));
          case "--pages" -> pages = Long.parseLong(value(args, ++i, "--pages"));
          case "--json" -> json = true;
          default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
      }
      List<Primitives.Row> rows = new java.util.ArrayList<>();
      List<String> backends = backend == null ? List.of()
          : backend.equals("all") ? (Runtime.version().feature() >= 22 ? List.of("jna", "ffm") : List.of("jna"))
          : List.of(backend);
      for (String b : backends) {
        if (!b.equals("jna") && !b.equals("ffm")) {
          throw new IllegalArgumentException("--backend " + b + ": use jna, ffm or all");
        }
      }
      if (backends.size() == 1 && System.getProperty(org.mpsprot.os.NativeBackend.PROPERTY) == null
          && !backend.equals("all")) {
        System.setProperty(org.mpsprot.os.NativeBackend.PROPERTY, backend); // chosen once, from here
      }
      if (backends.isEmpty() || backends.size() == 1
          && org.mpsprot.os.NativeBackend.current().kind().name().equalsIgnoreCase(backends.get(0))) {
        if (repetitions < 1 || pages < 1) {
          throw new IllegalArgumentException("repetitions and pages must be at least 1");
        }
        rows.addAll(new Primitives(repetitions, pages).run(err));
      } else {
        for (String b : backends) {
          rows.addAll(Primitives.runInChild(b, repetitions, pages));
        }
      }
      long pageSize = Prot.setup().granularity();
      if (json) {
        out.println(Primitives.json(rows, pageSize));
      } else {
        Primitives.printTable(rows, pageSize, out);
      }
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("mps-prot primitives: " + e.getMessage());
      usage(err);
      return 2;
    } catch (Exception e) {
      err.println("mps-prot primitives failed: " + e);
      return 1;
    }
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  static int info(String[] args, PrintStream out, PrintStream err) {
    boolean json = false;
    for (String a : args) {
      if (a.equals("--json")) {
        json = true;
      } else {
        err.println("mps-prot info: unknown option '" + a + "'");
        usage(err);
        return 2;
      }
    }
    Prot prot = Prot.setup();
    ProtOs os = ProtOs.current();
    if (json) {
      out.println(InfoJson.json(prot, os));
      return 0;
    }
    out.println("mps-prot info");
    out.printf("  platform          %s (os.name=%s, os.arch=%s)%n", os.platform(),
        System.getProperty("os.name"), System.getProperty("os.arch"));
    out.printf("  kernel            %s%n", os.kernel());
    out.printf("  page size         %d bytes (ProtGranularity, asked of the OS)%n", prot.granularity());
    out.printf("  JDK               %s %s (%s)%n", System.getProperty("java.vm.name"),
        System.getProperty("java.runtime.version"), System.getProperty("java.home"));
    if (os instanceof LinuxProtOs) { // Windows has no map count
      out.printf("  mappings          %d of vm.max_map_count %d%n", LinuxProtOs.mapCount(),
          LinuxProtOs.maxMapCount());
    }
    out.printf("  backend           %s%n", org.mpsprot.os.NativeBackend.current());
    out.printf("  handler installed %s%n", prot.handlerInstalled() ? "yes" : "no");
    out.println("  backends");
    for (ProtOs.Backend b : os.probeBackends()) {
      out.printf("    %-28s %-11s %s%n", b.name(), b.available() ? "available" : "unavailable", b.detail());
    }
    out.printf("  limits            a region: at most %d pages (%d bytes); at most %d live regions%n",
        org.mpsprot.model.RangeRules.MAX_REGION_PAGES,
        org.mpsprot.model.RangeRules.maxRegionSize(prot.granularity()), org.mpsprot.os.ShimProtOs.MAX_REGIONS);
    out.println("  write-barrier strategies");
    for (org.mpsprot.barrier.WriteBarrierStrategy s : org.mpsprot.barrier.Strategies.all()) {
      org.mpsprot.barrier.Availability a = s.availability();
      out.printf("    %-28s %-11s %s%n", s.name(), a.available() ? "available" : "unavailable", a.reason());
    }
    return 0;
  }
}
