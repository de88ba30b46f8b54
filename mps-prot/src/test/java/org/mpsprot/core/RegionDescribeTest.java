package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.RegionClosedException;
import org.mpsprot.RegionSnapshot;
import org.mpsprot.testing.OsMaps;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Region.describe() (docs/design/fault.md .sol.describe): the snapshot is the region's real state
 * (modes against /proc/self/maps and mode(), bits against dirtyPages()/touchedPages()), its SVG
 * is well-formed XML with one element per run of pages, its text shows every page, a large
 * region is summarised within a bound, and a closed region refuses.
 */
class RegionDescribeTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  /** 40 pages: no access, read-only, {READ}, read-write runs; writes and reads under UNPROTECT. */
  private Region mixedRegion() {
    Region r = prot.reserve(40 * page);
    r.setPolicy(BarrierPolicy.UNPROTECT);
    r.protect(0, 10 * page, AccessSet.WRITE);
    r.protect(10 * page, 10 * page, AccessSet.ALL);
    r.protect(20 * page, 5 * page, AccessSet.READ);
    // 25-39 stay read-write
    ByteBuffer m = r.mutatorView();
    for (int p : new int[] {1, 2, 7, 12}) {
      m.putLong(p * (int) page, 7); // write faults: opened, dirty
    }
    for (int p : new int[] {14, 15, 21}) {
      assertEquals(0, m.getLong(p * (int) page)); // read faults: opened for reading, touched
    }
    m.putLong(15 * (int) page, 1); // read-only after the read: a write fault too (dirty and touched)
    return r;
  }

  private static String expectedPerms(AccessSet mode) {
    return mode.contains(org.mpsprot.Access.READ) ? "---" : mode.isEmpty() ? "rw-" : "r--";
  }

  @Test
  void theSnapshotIsTheRegionsRealStatePageByPage() {
    try (Region r = mixedRegion()) {
      RegionSnapshot s = r.describe();
      String[] os = OsMaps.perms(r.base(), r.pages(), page);
      BitSet dirty = r.dirtyPages();
      BitSet touched = r.touchedPages();
      assertEquals(r.pages(), s.pages());
      assertEquals(r.base(), s.base());
      assertEquals(r.limit(), s.limit());
      assertEquals(page, s.pageSize());
      assertEquals(BarrierPolicy.UNPROTECT, s.policy());
      for (int p = 0; p < r.pages(); p++) {
        assertEquals(r.mode(p * page), s.mode(p), "mode of page " + p);
        assertEquals(expectedPerms(s.mode(p)), os[p], "the OS's protection of page " + p);
        assertEquals(dirty.get(p), s.dirty(p), "dirty bit of page " + p);
        assertEquals(touched.get(p), s.touched(p), "touched bit of page " + p);
      }
      // The state the test made, so that the comparison above compared something.
      assertEquals(BitSet.valueOf(new long[] {1L << 1 | 1L << 2 | 1L << 7 | 1L << 12 | 1L << 15}), dirty);
      assertEquals(BitSet.valueOf(new long[] {1L << 14 | 1L << 15 | 1L << 21}), touched);
      assertEquals(AccessSet.EMPTY, s.mode(1));
      assertEquals(AccessSet.WRITE, s.mode(14));
      assertEquals(AccessSet.EMPTY, s.mode(21)); // {READ} opened for reading: nothing forbidden
      assertEquals(5, s.dirtyCount());
      assertEquals(3, s.touchedCount());
      long sum = 0;
      for (AccessSet m : new AccessSet[] {AccessSet.EMPTY, AccessSet.READ, AccessSet.WRITE, AccessSet.ALL}) {
        sum += s.count(m);
      }
      assertEquals(r.pages(), sum);
      // The runs tile the region, each maximal.
      long next = 0;
      RegionSnapshot.Run previous = null;
      for (RegionSnapshot.Run run : s.runs()) {
        assertEquals(next, run.first());
        for (long p = run.first(); p < run.first() + run.count(); p++) {
          assertEquals(run.mode(), s.mode(p));
          assertEquals(run.dirty(), s.dirty(p));
          assertEquals(run.touched(), s.touched(p));
        }
        if (previous != null) {
          assertFalse(previous.mode().equals(run.mode()) && previous.dirty() == run.dirty()
              && previous.touched() == run.touched(), "runs are maximal: " + s.runs());
        }
        previous = run;
        next += run.count();
      }
      assertEquals(r.pages(), next);
      assertThrows(IndexOutOfBoundsException.class, () -> s.mode(-1));
      assertThrows(IndexOutOfBoundsException.class, () -> s.dirty(40));
      assertThrows(IndexOutOfBoundsException.class, () -> s.touched(Long.MAX_VALUE));
    }
  }

  @Test
  void cleanRunsOfSixtyFourPagesAreReadWordByWordAndAgreeWithMode() {
    try (Region r = prot.reserve(256 * page)) {
      r.protect(0, 128 * page, AccessSet.WRITE);
      r.protect(100 * page, page, AccessSet.ALL); // one page differs inside a clean word
      r.protect(101 * page, page, AccessSet.READ); // and one whose mode differs only in bits
      r.protect(192 * page, 64 * page, AccessSet.ALL);
      r.protect(255 * page, page, AccessSet.READ); // the last page of the last word
      RegionSnapshot s = r.describe();
      for (int p = 0; p < 256; p++) {
        assertEquals(r.mode(p * page), s.mode(p), "page " + p);
        assertFalse(s.dirty(p) || s.touched(p));
      }
      assertEquals(List.of(
          new RegionSnapshot.Run(0, 100, AccessSet.WRITE, false, false),
          new RegionSnapshot.Run(100, 1, AccessSet.ALL, false, false),
          new RegionSnapshot.Run(101, 1, AccessSet.READ, false, false),
          new RegionSnapshot.Run(102, 26, AccessSet.WRITE, false, false),
          new RegionSnapshot.Run(128, 64, AccessSet.EMPTY, false, false),
          new RegionSnapshot.Run(192, 63, AccessSet.ALL, false, false),
          new RegionSnapshot.Run(255, 1, AccessSet.READ, false, false)), List.copyOf(s.runs()));
    }
  }

  @Test
  void theSnapshotIsImmutable() {
    try (Region r = mixedRegion()) {
      RegionSnapshot s = r.describe();
      String svg = s.toSvg();
      r.harvest(AccessSet.WRITE);
      r.protectAll(AccessSet.ALL);
      assertTrue(s.dirty(1));
      assertEquals(AccessSet.EMPTY, s.mode(30));
      assertEquals(svg, s.toSvg());
      assertThrows(UnsupportedOperationException.class, () -> s.runs().clear());
      RegionSnapshot after = r.describe();
      assertEquals(0, after.dirtyCount());
      assertEquals(r.pages(), after.count(AccessSet.ALL));
    }
  }

  static Document parseXml(String xml) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    var builder = f.newDocumentBuilder();
    builder.setErrorHandler(null);
    return builder.parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
  }

  /** The {@code <g class="run">} elements of an SVG, in document order. */
  static List<Element> runs(Document d) {
    NodeList gs = d.getElementsByTagNameNS("http://www.w3.org/2000/svg", "g");
    List<Element> out = new ArrayList<>();
    for (int i = 0; i < gs.getLength(); i++) {
      Element g = (Element) gs.item(i);
      if (g.getAttribute("class").equals("run")) {
        out.add(g);
      }
    }
    return out;
  }

  @Test
  void theSvgIsWellFormedWithOneElementPerRunOfPages() throws Exception {
    try (Region r = mixedRegion()) {
      RegionSnapshot s = r.describe();
      Document d = parseXml(s.toSvg("a caption with <markup> & \"quotes\""));
      assertEquals("svg", d.getDocumentElement().getLocalName());
      assertTrue(d.getDocumentElement().getTextContent().contains("a caption with <markup> & \"quotes\""));
      List<Element> runs = runs(d);
      // One row (40 pages < COLUMNS): one element per maximal run of equal pages.
      assertEquals(s.runs().size(), runs.size(), "one element per run: " + s.runs());
      long next = 0;
      for (Element g : runs) {
        long first = Long.parseLong(g.getAttribute("data-first"));
        long n = Long.parseLong(g.getAttribute("data-pages"));
        assertEquals(next, first);
        long dirty = 0;
        long touched = 0;
        for (long p = first; p < first + n; p++) {
          assertEquals(s.mode(p).toString(), g.getAttribute("data-mode"), "page " + p);
          dirty += s.dirty(p) ? 1 : 0;
          touched += s.touched(p) ? 1 : 0;
        }
        assertEquals(dirty, Long.parseLong(g.getAttribute("data-dirty")));
        assertEquals(touched, Long.parseLong(g.getAttribute("data-touched")));
        assertEquals(dirty > 0, hasRect(g, "dirty"), "a dirty bar where pages are dirty: page " + first);
        assertEquals(touched > 0, hasRect(g, "touched"), "a touched bar where pages are touched: page " + first);
        assertEquals(1, g.getElementsByTagNameNS("*", "title").getLength());
        next += n;
      }
      assertEquals(r.pages(), next);
    }
  }

  private static boolean hasRect(Element g, String cls) {
    NodeList rects = g.getElementsByTagNameNS("*", "rect");
    for (int i = 0; i < rects.getLength(); i++) {
      if (((Element) rects.item(i)).getAttribute("class").equals(cls)) {
        return true;
      }
    }
    return false;
  }

  @Test
  void theTextShowsEveryPageAndALegend() {
    try (Region r = mixedRegion()) {
      RegionSnapshot s = r.describe();
      String text = s.toText();
      String[] lines = text.split("\n");
      assertEquals(s.toString(), lines[0]);
      String modes = lines[1].substring(lines[1].indexOf("0  ") + 3).replace(" ", "");
      String bits = lines[2].trim().replace(" ", "");
      assertEquals(r.pages(), modes.length(), text);
      assertEquals(r.pages(), bits.length(), text);
      for (int p = 0; p < r.pages(); p++) {
        AccessSet m = s.mode(p);
        char want = m.contains(org.mpsprot.Access.READ) ? '#' : m.isEmpty() ? 'w' : 'r';
        assertEquals(want, modes.charAt(p), "page " + p + ":\n" + text);
        char wantBits = ".dtb".charAt((s.dirty(p) ? 1 : 0) | (s.touched(p) ? 2 : 0));
        assertEquals(wantBits, bits.charAt(p), "page " + p + ":\n" + text);
      }
      assertTrue(text.contains("mode: # no access ({READ, WRITE} or {READ})  r read-only ({WRITE})  w read-write ({})"), text);
      assertTrue(text.contains("bits: . neither  d dirty  t touched  b dirty and touched"), text);
      String ansi = s.toText(true);
      assertTrue(ansi.contains("\u001b[31md\u001b[0m"), ansi);
      assertEquals(text, ansi.replaceAll("\u001b\\[[0-9]+m", ""), "colours add nothing but colours");
      assertFalse(text.contains("\u001b"));
      assertTrue(s.toString().contains("40 pages of " + page + " bytes, policy UNPROTECT"), s.toString());
      assertTrue(s.toString().contains("dirty 5, touched 3"), s.toString());
    }
  }

  @Test
  void aOneTebibyteRegionIsSummarisedWithinABound() throws Exception {
    // 2^28 pages of 4 KiB (1 TiB), built without the OS: worst case, a state change every 128
    // pages (2 million runs), and the ordinary case, three protected ranges.
    long pages = 1L << 28;
    RegionSnapshot.Builder b = RegionSnapshot.builder(0x100000000000L, 4096, BarrierPolicy.UNPROTECT);
    AccessSet[] modes = {AccessSet.WRITE, AccessSet.EMPTY, AccessSet.ALL, AccessSet.READ};
    for (long p = 0, i = 0; p < pages; p += 128, i++) {
      b.add(128, modes[(int) (i % 4)], i % 3 == 0, i % 5 == 0);
    }
    RegionSnapshot busy = b.build();
    assertEquals(pages, busy.pages());
    assertEquals(pages / 128, busy.runs().size());
    assertEquals(pages / RegionSnapshot.MAX_CELLS, busy.pagesPerCell());
    String svg = busy.toSvg();
    assertTrue(svg.length() < 1_200_000, "SVG of " + svg.length() + " chars");
    List<Element> runs = runs(parseXml(svg));
    assertTrue(runs.size() <= RegionSnapshot.MAX_CELLS, runs.size() + " elements");
    assertEquals("mixed", runs.get(0).getAttribute("data-mode"));
    long covered = 0;
    for (Element g : runs) {
      assertEquals(covered, Long.parseLong(g.getAttribute("data-first")));
      covered += Long.parseLong(g.getAttribute("data-pages"));
    }
    assertEquals(pages, covered);
    String text = busy.toText();
    assertTrue(text.split("\n").length <= 2 * RegionSnapshot.MAX_CELLS / RegionSnapshot.COLUMNS + 6, text);
    assertTrue(text.contains("one character = " + busy.pagesPerCell() + " pages"), text);

    RegionSnapshot calm = RegionSnapshot.builder(0x100000000000L, 4096, BarrierPolicy.UNPROTECT)
        .add(pages / 2, AccessSet.WRITE, false, false).add(1, AccessSet.EMPTY, true, false)
        .add(pages / 2 - 1, AccessSet.ALL, false, false).build();
    assertEquals(3, calm.runs().size());
    assertEquals(AccessSet.EMPTY, calm.mode(pages / 2));
    assertTrue(calm.dirty(pages / 2));
    assertFalse(calm.dirty(pages / 2 + 1));
    String calmSvg = calm.toSvg();
    assertTrue(calmSvg.length() < 64 * 1024, "SVG of " + calmSvg.length() + " chars");
    List<Element> calmRuns = runs(parseXml(calmSvg));
    assertTrue(calmRuns.size() <= 40, calmRuns.size() + " elements"); // about one per row
    Element dirtyCell = null;
    for (Element g : calmRuns) {
      if (!g.getAttribute("data-dirty").equals("0")) {
        assertEquals(null, dirtyCell, "one cell holds the dirty page");
        dirtyCell = g;
      }
    }
    long first = Long.parseLong(dirtyCell.getAttribute("data-first"));
    assertTrue(first <= pages / 2 && pages / 2 < first + Long.parseLong(dirtyCell.getAttribute("data-pages")));
    assertEquals("mixed", dirtyCell.getAttribute("data-mode"));
    assertEquals("1", dirtyCell.getAttribute("data-dirty"));
  }

  @Test
  void aLargeRealRegionIsSummarisedAndMatchesItsBitmaps() throws Exception {
    long pages = 1L << 18; // 1 GiB with 4 KiB pages: 128 pages a cell
    try (Region r = prot.reserve(pages * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.WRITE);
      long written = pages / 2 + 3;
      org.mpsprot.Accessors.putLong(r.base() + written * page, 1);
      RegionSnapshot s = r.describe();
      assertEquals(pages, s.pages());
      BitSet want = new BitSet();
      want.set((int) written);
      assertEquals(want, r.dirtyPages());
      assertTrue(s.dirty(written));
      assertEquals(AccessSet.EMPTY, s.mode(written));
      assertEquals(1, s.dirtyCount());
      assertEquals(pages - 1, s.count(AccessSet.WRITE));
      assertEquals(3, s.runs().size());
      String svg = s.toSvg();
      assertTrue(svg.length() < 64 * 1024, "SVG of " + svg.length() + " chars");
      List<Element> runs = runs(parseXml(svg));
      long dirtyElements = runs.stream().filter(g -> !g.getAttribute("data-dirty").equals("0")).count();
      assertEquals(1, dirtyElements);
    }
  }

  @Test
  void describeOnAClosedRegionThrowsRegionClosedException() {
    Region r = prot.reserve(2 * page);
    r.close();
    RegionClosedException e = assertThrows(RegionClosedException.class, r::describe);
    assertTrue(e.getMessage().contains("was closed"), e.getMessage());
  }

  /**
   * The guarantee under concurrent faults: a page shown opened by a write fault is shown dirty.
   * Two threads write pages of a read-only UNPROTECT region (each write faults, the handler opens
   * the page and sets its bit) while describe() runs again and again.
   */
  @Test
  void underConcurrentFaultsAPageShownOpenedIsShownWithItsBit() throws Exception {
    int pages = 4096;
    try (Region r = prot.reserve(pages * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.WRITE);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      List<Thread> writers = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        int start = t;
        Thread w = new Thread(() -> {
          try {
            ByteBuffer m = r.mutatorView();
            for (int round = 0; !stop.get(); round++) {
              for (int p = start; p < pages && !stop.get(); p += 2) {
                m.putInt(p * (int) page + 4 * (round % 64), round);
              }
            }
          } catch (Throwable e) {
            failure.set(e);
          }
        });
        writers.add(w);
        w.start();
      }
      int opened = 0;
      try {
        long end = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < end) {
          RegionSnapshot s = r.describe();
          for (int p = 0; p < pages; p++) {
            if (s.mode(p).isEmpty()) {
              opened++;
              assertTrue(s.dirty(p), "page " + p + " shown opened but not dirty");
            }
          }
          r.harvest(AccessSet.WRITE); // protect again: the writers fault again
        }
      } finally {
        stop.set(true);
        for (Thread w : writers) {
          w.join();
        }
      }
      assertEquals(null, failure.get());
      assertTrue(opened > 0, "the writers opened pages while snapshots were taken");
    }
  }
}
