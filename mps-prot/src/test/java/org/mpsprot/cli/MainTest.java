package org.mpsprot.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.mpsprot.Prot;

class MainTest {
  private static String[] run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new String[] {String.valueOf(status), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
  }

  @Test
  void infoPrintsThePlatformFacts() {
    String[] r = run("info");
    assertEquals("0", r[0], r[2]);
    String out = r[1];
    assertTrue(out.contains("platform          linux-"), out);
    assertTrue(out.contains("kernel            Linux "), out);
    assertTrue(out.contains("page size         " + Prot.setup().granularity() + " bytes"), out);
    assertTrue(out.contains(System.getProperty("java.runtime.version")), out);
    assertTrue(out.contains("handler installed " + (Prot.setup().handlerInstalled() ? "yes" : "no")), out);
    assertTrue(out.matches("(?s).*userfaultfd write-protect\\s+(available|unavailable) .*"), out);
    assertTrue(out.matches("(?s).*soft-dirty\\s+(available|unavailable) .*"), out);
  }

  @Test
  @SuppressWarnings("unchecked")
  void infoJsonIsOneValidObjectWithTheSameFactsAsInfo() {
    String[] r = run("info", "--json");
    assertEquals("0", r[0], r[2]);
    // A probe that reports what it read (the soft-dirty self-test's pagemap entry) differs from
    // one probe to the next: hex numbers are compared as such.
    String text = run("info")[1].replaceAll("0x[0-9a-f]+", "0x?");
    Object parsed = org.mpsprot.testing.StrictJson.parse(r[1]);
    assertTrue(parsed instanceof java.util.Map, r[1]);
    java.util.Map<String, Object> o = (java.util.Map<String, Object>) parsed;
    assertEquals(java.util.List.of("platform", "os", "page_size", "jdk", "backend", "handler", "limits",
        "backends", "strategies"), java.util.List.copyOf(o.keySet()), r[1]);
    assertEquals(Prot.setup().granularity(), o.get("page_size"));
    assertTrue(text.contains("platform          " + o.get("platform") + " "), text);
    java.util.Map<String, Object> os = (java.util.Map<String, Object>) o.get("os");
    assertEquals(System.getProperty("os.arch"), os.get("arch"));
    assertEquals(System.getProperty("os.name"), os.get("name"));
    assertTrue(text.contains("kernel            " + os.get("kernel")), text);
    java.util.Map<String, Object> jdk = (java.util.Map<String, Object>) o.get("jdk");
    assertEquals(System.getProperty("java.runtime.version"), jdk.get("version"));
    assertEquals((long) Runtime.version().feature(), jdk.get("feature"));
    java.util.Map<String, Object> backend = (java.util.Map<String, Object>) o.get("backend");
    assertEquals(org.mpsprot.os.NativeBackend.current().toString(),
        backend.get("kind") + " (" + backend.get("detail") + ")");
    assertEquals(Prot.setup().handlerInstalled(),
        ((java.util.Map<String, Object>) o.get("handler")).get("installed"));
    java.util.Map<String, Object> limits = (java.util.Map<String, Object>) o.get("limits");
    assertEquals((long) Integer.MAX_VALUE, limits.get("max_region_pages"));
    assertEquals(1024L, limits.get("max_live_regions"));
    assertTrue(text.contains("of vm.max_map_count " + limits.get("max_map_count")), text);
    assertTrue((Long) limits.get("mappings") > 0, r[1]);
    java.util.List<Object> backends = (java.util.List<Object>) o.get("backends");
    assertTrue(backends.size() >= 3, r[1]);
    for (Object x : backends) {
      java.util.Map<String, Object> b = (java.util.Map<String, Object>) x;
      String line = String.format("    %-28s %-11s %s", b.get("name"),
          (Boolean) b.get("available") ? "available" : "unavailable", b.get("detail"));
      assertTrue(text.contains(line.replaceAll("0x[0-9a-f]+", "0x?")), "info shows " + line + ":\n" + text);
    }
    java.util.List<String> names = new java.util.ArrayList<>();
    for (Object x : (java.util.List<Object>) o.get("strategies")) {
      java.util.Map<String, Object> st = (java.util.Map<String, Object>) x;
      names.add((String) st.get("name"));
      assertTrue(st.get("available") instanceof Boolean, r[1]);
      assertTrue(!((String) st.get("reason")).isBlank(), "every strategy says why: " + r[1]);
      String line = String.format("    %-28s %-11s %s", st.get("name"),
          (Boolean) st.get("available") ? "available" : "unavailable", st.get("reason"));
      assertTrue(text.contains(line.replaceAll("0x[0-9a-f]+", "0x?")), "info shows " + line + ":\n" + text);
    }
    assertEquals(java.util.List.of("fault", "uffd", "soft-dirty", "cards"), names);
  }

  @Test
  void infoRefusesUnknownOptions() {
    String[] r = run("info", "--jsn");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("unknown option '--jsn'"), r[2]);
  }

  @Test
  void strictJsonRefusesWhatRfc8259Refuses() {
    assertEquals(java.util.Map.of("a", java.util.List.of(1L, 2.5, "x\n", true, false)),
        org.mpsprot.testing.StrictJson.parse(" {\"a\": [1, 2.5, \"x\\n\", true, false]} "));
    for (String bad : new String[] {"{\"a\": 1,}", "[1,]", "{'a': 1}", "{\"a\": 01}", "{\"a\": NaN}",
        "{\"a\": \"tab\there\"}", "{\"a\": 1} x", "{\"a\": 1, \"a\": 2}", "{a: 1}", ""}) {
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> org.mpsprot.testing.StrictJson.parse(bad), bad);
    }
  }

  @Test
  void describePicturesAHarvestCycleStepByStep(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    String[] r = run("describe", "--svg", dir.toString());
    assertEquals("0", r[0], r[1] + r[2]);
    String out = r[1];
    java.util.List<String> steps = java.util.List.of("protect", "fault", "writes", "harvest", "refault");
    for (int k = 0; k < steps.size(); k++) {
      assertTrue(out.contains("step " + (k + 1) + ", " + steps.get(k) + ": "), out);
      java.nio.file.Path svg = dir.resolve("harvest-" + (k + 1) + "-" + steps.get(k) + ".svg");
      assertTrue(out.contains("wrote " + svg), out);
      org.w3c.dom.Document d = org.mpsprot.core.RegionDescribeTestAccess.parseXml(java.nio.file.Files.readString(svg));
      assertEquals("svg", d.getDocumentElement().getLocalName(), svg.toString());
    }
    // What each step shows (the demo heap: 32 pages, 0-23 read-only, 24-31 no access).
    String[] blocks = out.split("\n\n");
    assertEquals(5, blocks.length, out);
    assertTrue(blocks[0].contains("   0  rrrrrrrr rrrrrrrr rrrrrrrr ########\n      ........ ........ ........ ........"), blocks[0]);
    assertTrue(blocks[1].contains("faults: 1 write, 0 read; 1 opened by the handler"), blocks[1]);
    assertTrue(blocks[1].contains("   0  rrwrrrrr rrrrrrrr rrrrrrrr ########\n      ..d..... ........ ........ ........"), blocks[1]);
    assertTrue(blocks[2].contains("faults: 2 write, 2 read; 4 opened by the handler"), blocks[2]);
    assertTrue(blocks[2].contains("   0  rrwwrrrr rrrrrwrr rrrrrrrr ##r###r#\n      ..dd.... .....d.. ........ ..t...t."), blocks[2]);
    assertTrue(blocks[3].contains("harvest(WRITE) reports pages 2, 3, 13,"), blocks[3]);
    assertTrue(blocks[3].contains("   0  rrrrrrrr rrrrrrrr rrrrrrrr ##r###r#\n      ........ ........ ........ ..t...t."), blocks[3]);
    assertTrue(blocks[4].contains("faults: 1 write, 0 read; 1 opened by the handler"), blocks[4]);
    assertTrue(blocks[4].contains("   0  rrrwrrrr rrrrrrrr rrrrrrrr ##r###r#\n      ...d.... ........ ........ ..t...t."), blocks[4]);
  }

  @Test
  void describeRefusesBadOptions() {
    String[] r = run("describe", "--pages", "3");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("--pages 3: use 8 to"), r[2]);
    r = run("describe", "--frob");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("unknown option '--frob'"), r[2]);
  }

  @Test
  void demoRunsAVerifiedCollection() {
    String[] r = run("demo", "--depth", "6", "--strategy", "cards");
    assertEquals("0", r[0], r[1] + r[2]);
    assertTrue(r[1].contains("cards"), r[1]);
    assertTrue(r[1].contains("yes"), "verified: " + r[1]);
  }

  @Test
  void primitivesPrintsOneJsonObjectWithCBaselines() {
    String[] r = run("primitives", "--repetitions", "1", "--pages", "16", "--json");
    assertEquals("0", r[0], r[2]);
    String json = r[1].trim();
    assertTrue(json.startsWith("{\"page_size\": " + Prot.setup().granularity() + ", \"results\": ["), json);
    for (String name : new String[] {"prot1", "prot1_merged", "unprot", "protn_per_page", "map2",
        "trap_unprot", "handoff"}) {
      assertTrue(json.matches("(?s).*\\{\"name\": \"" + name + "\", \"java_ns\": [0-9.]+, [^}]*\"c_ns\": [0-9.]+, \"ratio\": [0-9.]+,.*"),
          name + " has a C baseline and a ratio: " + json);
    }
    // The same loops in C inside this JVM (.primitives.inproc), and the busy-core rows.
    for (String name : new String[] {"prot1", "prot1_merged", "unprot", "same_mode", "trap_unprot",
        "prot1_busy", "unprot_busy"}) {
      assertTrue(json.matches("(?s).*\\{\"name\": \"" + name + "\", [^}]*\"c_inproc_ns\": [0-9.]+,"
          + " \"ratio_inproc\": [0-9.]+, \"backend\": \"(jna|ffm)\"\\}.*"), name + " in-process C: " + json);
    }
    assertTrue(json.matches("(?s).*\"name\": \"step_load\", [^}]*\"c_ns\": null, \"ratio\": null.*"), json);
    assertTrue(json.contains("\"name\": \"dirty_first_write_fault\""), json);
  }

  @Test
  void primitivesWithEveryBackendHasRowsPerBackend() {
    String[] r = run("primitives", "--repetitions", "1", "--pages", "8", "--json", "--backend", "all");
    assertEquals("0", r[0], r[2]);
    String json = r[1];
    assertTrue(json.contains("\"name\": \"prot1\", ") && json.matches("(?s).*\"backend\": \"jna\".*"), json);
    boolean ffm = Runtime.version().feature() >= 22;
    assertEquals(ffm, json.contains("\"backend\": \"ffm\""), json);
  }

  @Test
  void unknownCommandsFailWithUsage() {
    String[] r = run("frobnicate");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("unknown command 'frobnicate'"), r[2]);
    assertTrue(r[2].contains("usage:"), r[2]);
  }
}
