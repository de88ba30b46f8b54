package org.mpsprot;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A picture of a region's state at one moment, from {@link Region#describe()}: per page, the
 * recorded protection ({@link #mode(long)}), the dirty bit (a write fault opened the page since
 * the last harvest) and the touched bit (a read fault opened it), with the region's policy.
 * Rendered as text ({@link #toText()}) or as an SVG image ({@link #toSvg()}) a person would rather
 * look at than read (docs/barriers.md shows a harvest cycle with them).
 *
 * <p>Immutable and thread-safe. The pages are stored as runs of equal state (5 bytes a run), so a
 * region protected in a few ranges costs a few runs whatever its size; a region whose every page
 * differs from the next costs 5 bytes a page. Page indexes are region-relative, {@code 0 <= page
 * < pages()}.
 *
 * <p>Rendering is bounded whatever the size: a region of at most {@link #MAX_CELLS} pages is drawn
 * one cell per page; a larger one is drawn in {@link #MAX_CELLS} cells or fewer, each summarising
 * {@link #pagesPerCell()} consecutive pages (a mode shown as mixed when they differ, a bit shown
 * when any of them has it, with the counts in the SVG cell's tooltip). Rows hold at most
 * {@link #COLUMNS} cells, and the cells of a row that look the same are drawn as one element, so
 * the SVG of a 1 TiB region protected in a few ranges is a few kilobytes and never more than
 * about 1 MB.
 *
 * <p>A snapshot can also be built without a region ({@link #builder}), for example from a model of
 * the protocol, to compare or draw it.
 */
public final class RegionSnapshot {
  /** The most cells a rendering has: one per page up to this many pages. */
  public static final int MAX_CELLS = 2048;

  /** The most cells in a row of a rendering. */
  public static final int COLUMNS = 64;

  private static final int DIRTY = 4;
  private static final int TOUCHED = 8;

  private final long base;
  private final long pageSize;
  private final BarrierPolicy policy;
  private final int pages;
  private final int runs;
  /** The first page of run i; ascending, runFirst[0] == 0. */
  private final int[] runFirst;
  /** Run i's state: AccessSet bits | DIRTY | TOUCHED. */
  private final byte[] runState;
  private final long[] modeCount = new long[4];
  private final long dirtyCount;
  private final long touchedCount;

  private RegionSnapshot(Builder b) {
    this.base = b.base;
    this.pageSize = b.pageSize;
    this.policy = b.policy;
    this.pages = b.pages;
    this.runs = b.runs;
    this.runFirst = Arrays.copyOf(b.runFirst, b.runs);
    this.runState = Arrays.copyOf(b.runState, b.runs);
    long dirty = 0;
    long touched = 0;
    for (int i = 0; i < runs; i++) {
      long n = runEnd(i) - runFirst[i];
      modeCount[runState[i] & 3] += n;
      dirty += (runState[i] & DIRTY) != 0 ? n : 0;
      touched += (runState[i] & TOUCHED) != 0 ? n : 0;
    }
    this.dirtyCount = dirty;
    this.touchedCount = touched;
  }

  /**
   * A builder of a snapshot of the region at {@code base} with pages of {@code pageSize} bytes
   * under {@code policy}: append the pages in order with {@link Builder#add}.
   *
   * @throws IllegalArgumentException if pageSize is not positive
   */
  public static Builder builder(long base, long pageSize, BarrierPolicy policy) {
    return new Builder(base, pageSize, policy);
  }

  /** Appends pages in order, merging equal neighbours into runs. Not thread-safe. */
  public static final class Builder {
    private final long base;
    private final long pageSize;
    private final BarrierPolicy policy;
    private int pages;
    private int runs;
    private int[] runFirst = new int[16];
    private byte[] runState = new byte[16];

    private Builder(long base, long pageSize, BarrierPolicy policy) {
      if (pageSize <= 0) {
        throw new IllegalArgumentException("pageSize " + pageSize + ": must be positive");
      }
      this.base = base;
      this.pageSize = pageSize;
      this.policy = Objects.requireNonNull(policy, "policy");
    }

    /**
     * Appends {@code count} pages of the given state.
     *
     * @throws IllegalArgumentException if count is negative or the pages would exceed
     *     {@link Integer#MAX_VALUE} (a region's most pages)
     */
    public Builder add(long count, AccessSet mode, boolean dirty, boolean touched) {
      Objects.requireNonNull(mode, "mode");
      return add(count, mode.bits() | (dirty ? DIRTY : 0) | (touched ? TOUCHED : 0));
    }

    /** {@link #add(long, AccessSet, boolean, boolean)} with the state packed as the snapshot does. */
    Builder add(long count, int state) {
      if (count < 0 || count > Integer.MAX_VALUE - pages) {
        throw new IllegalArgumentException("add(" + count + ") after " + pages
            + " pages: a snapshot holds 0 to " + Integer.MAX_VALUE + " pages");
      }
      if (count == 0) {
        return this;
      }
      if (runs == 0 || runState[runs - 1] != (byte) state) {
        if (runs == runFirst.length) {
          int grown = (int) Math.min(Integer.MAX_VALUE - 8, runs * 2L);
          runFirst = Arrays.copyOf(runFirst, grown);
          runState = Arrays.copyOf(runState, grown);
        }
        runFirst[runs] = pages;
        runState[runs] = (byte) state;
        runs++;
      }
      pages += (int) count;
      return this;
    }

    /** Appends one page whose state is the record's AccessSet bits and the two bitmaps' bits. */
    public Builder addPage(int modeBits, boolean dirty, boolean touched) {
      return add(1, (modeBits & 3) | (dirty ? DIRTY : 0) | (touched ? TOUCHED : 0));
    }

    /** The snapshot of the pages added so far. */
    public RegionSnapshot build() {
      return new RegionSnapshot(this);
    }
  }

  /** One maximal run of pages {@code [first, first + count)} in the same state. */
  public record Run(long first, long count, AccessSet mode, boolean dirty, boolean touched) {}

  /** The first address of the region's mutator view. */
  public long base() {
    return base;
  }

  /** One past the last address: {@code base() + pages() * pageSize()}. */
  public long limit() {
    return base + pages * pageSize;
  }

  /** The page size (the granularity) in bytes. */
  public long pageSize() {
    return pageSize;
  }

  /** The number of pages. */
  public long pages() {
    return pages;
  }

  /** The region's barrier policy when the snapshot was taken. */
  public BarrierPolicy policy() {
    return policy;
  }

  /**
   * The recorded protection of page {@code page} (as {@link Region#mode} answers for its offset).
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= page < pages()}
   */
  public AccessSet mode(long page) {
    return AccessSet.fromBits(state(page) & 3);
  }

  /**
   * Whether page {@code page}'s dirty bit was set (as in {@link Region#dirtyPages()}).
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= page < pages()}
   */
  public boolean dirty(long page) {
    return (state(page) & DIRTY) != 0;
  }

  /**
   * Whether page {@code page}'s touched bit was set (as in {@link Region#touchedPages()}).
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= page < pages()}
   */
  public boolean touched(long page) {
    return (state(page) & TOUCHED) != 0;
  }

  /** How many pages have exactly this recorded mode. */
  public long count(AccessSet mode) {
    return modeCount[mode.bits()];
  }

  /** How many pages are dirty. */
  public long dirtyCount() {
    return dirtyCount;
  }

  /** How many pages are touched. */
  public long touchedCount() {
    return touchedCount;
  }

  /** The maximal runs of pages in the same state, in page order (an unmodifiable view). */
  public List<Run> runs() {
    return new AbstractList<>() {
      @Override
      public Run get(int i) {
        Objects.checkIndex(i, runs);
        int s = runState[i];
        return new Run(runFirst[i], runEnd(i) - runFirst[i], AccessSet.fromBits(s & 3),
            (s & DIRTY) != 0, (s & TOUCHED) != 0);
      }

      @Override
      public int size() {
        return runs;
      }
    };
  }

  private int runEnd(int i) {
    return i + 1 < runs ? runFirst[i + 1] : pages;
  }

  private int state(long page) {
    Objects.checkIndex(page, (long) pages);
    int i = Arrays.binarySearch(runFirst, 0, runs, (int) page);
    return runState[i >= 0 ? i : -i - 2];
  }

  /** How many pages one cell of a rendering stands for: 1 up to {@link #MAX_CELLS} pages. */
  public long pagesPerCell() {
    return pages <= MAX_CELLS ? 1 : (pages + MAX_CELLS - 1) / MAX_CELLS;
  }

  // ---- Rendering ------------------------------------------------------------------------------

  /** Display classes of a mode: what the mutator may do (a forbidden READ forbids WRITE too). */
  private static final int RW = 0;
  private static final int RO = 1;
  private static final int NA = 2;
  private static final int MIXED = 3;

  private static int displayClass(int modeBits) {
    return modeBits == 0 ? RW : modeBits == AccessSet.WRITE.bits() ? RO : NA;
  }

  /** One cell: pages [first, first + count) summarised. */
  private static final class Cell {
    final long first;
    long count;
    final long[] byMode = new long[4];
    long dirty;
    long touched;

    Cell(long first) {
      this.first = first;
    }

    int displayClass() {
      int c = -1;
      for (int m = 0; m < 4; m++) {
        if (byMode[m] != 0) {
          int d = RegionSnapshot.displayClass(m);
          if (c >= 0 && c != d) {
            return MIXED;
          }
          c = d;
        }
      }
      return c;
    }

    /** The recorded mode if every page has the same, else -1. */
    int exactMode() {
      for (int m = 0; m < 4; m++) {
        if (byMode[m] == count) {
          return m;
        }
      }
      return -1;
    }

    /** 0 none, 1 some, 2 all. */
    static int level(long n, long of) {
      return n == 0 ? 0 : n == of ? 2 : 1;
    }

    /** What the cell looks like: equal looks in a row are drawn as one element. */
    int look() {
      int mode = exactMode();
      return (mode < 0 ? 4 + displayClass() : mode) | level(dirty, count) << 4 | level(touched, count) << 6;
    }
  }

  private List<Cell> cells() {
    long per = pagesPerCell();
    int n = (int) ((pages + per - 1) / per);
    List<Cell> cells = new ArrayList<>(n);
    for (int c = 0; c < n; c++) {
      Cell cell = new Cell(c * per);
      cell.count = Math.min(pages, (c + 1) * per) - c * per;
      cells.add(cell);
    }
    for (int i = 0; i < runs; i++) {
      long from = runFirst[i];
      long to = runEnd(i);
      int s = runState[i];
      for (long c = from / per; c < n && c * per < to; c++) {
        Cell cell = cells.get((int) c);
        long k = Math.min(to, cell.first + cell.count) - Math.max(from, cell.first);
        cell.byMode[s & 3] += k;
        cell.dirty += (s & DIRTY) != 0 ? k : 0;
        cell.touched += (s & TOUCHED) != 0 ? k : 0;
      }
    }
    return cells;
  }

  private int columns(int cells) {
    return Math.max(1, Math.min(COLUMNS, cells));
  }

  /**
   * One line: the region, its size, its policy and how many pages have each protection and each
   * bit. {@link #toText()} is the picture.
   */
  @Override
  public String toString() {
    return String.format(Locale.ROOT, "region [0x%x, 0x%x): %d pages of %d bytes, policy %s; %s", base,
        limit(), pages, pageSize, policy, counts());
  }

  private String counts() {
    return String.format(Locale.ROOT,
        "pages: no access %d, read-only %d, read-write %d; dirty %d, touched %d",
        count(AccessSet.ALL) + count(AccessSet.READ), count(AccessSet.WRITE), count(AccessSet.EMPTY),
        dirtyCount, touchedCount);
  }

  /** {@link #toText(boolean)} without colours. */
  public String toText() {
    return toText(false);
  }

  /**
   * The picture as text, one character per cell ({@link #pagesPerCell()} pages), in rows of
   * {@link #COLUMNS}, each row two lines: the protection and the bits, then a plain legend
   * (always, with or without colours). At most {@code 2 * MAX_CELLS / COLUMNS} rows whatever the
   * size of the region.
   *
   * <pre>
   * mode: # no access ({READ, WRITE} or {READ})  r read-only ({WRITE})  w read-write ({})  ? mixed
   * bits: . neither  d dirty  t touched  b dirty and touched
   * </pre>
   *
   * @param ansi colour the characters with ANSI escape sequences (for a terminal)
   */
  public String toText(boolean ansi) {
    List<Cell> cells = cells();
    int columns = columns(cells.size());
    long per = pagesPerCell();
    int width = String.valueOf(Math.max(0, pages - 1)).length();
    StringBuilder b = new StringBuilder(toString()).append('\n');
    for (int row = 0; row * columns < cells.size(); row++) {
      StringBuilder mode = new StringBuilder();
      StringBuilder bits = new StringBuilder();
      for (int col = 0; col < columns && row * columns + col < cells.size(); col++) {
        if (col > 0 && col % 8 == 0) {
          mode.append(' ');
          bits.append(' ');
        }
        Cell c = cells.get(row * columns + col);
        char m = "rw#?".charAt(c.displayClass() == RW ? 1 : c.displayClass() == RO ? 0 : c.displayClass() == NA ? 2 : 3);
        char t = ".dtb".charAt((c.dirty > 0 ? 1 : 0) | (c.touched > 0 ? 2 : 0));
        mode.append(ansi ? colour(m, c.displayClass() == RW ? "32" : c.displayClass() == RO ? "33"
            : c.displayClass() == NA ? "90" : "35") : String.valueOf(m));
        bits.append(ansi && t != '.' ? colour(t, t == 'd' ? "31" : t == 't' ? "34" : "35") : String.valueOf(t));
      }
      b.append(String.format(Locale.ROOT, "  %" + width + "d  ", cells.get(row * columns).first)).append(mode)
          .append('\n').append(" ".repeat(width + 4)).append(bits).append('\n');
    }
    if (per > 1) {
      b.append(String.format(Locale.ROOT,
          "one character = %d pages: mode ? where they differ; a bit where any of them has it%n", per));
    }
    b.append("mode: # no access ({READ, WRITE} or {READ})  r read-only ({WRITE})  w read-write ({})  ? mixed\n");
    b.append("bits: . neither  d dirty  t touched  b dirty and touched\n");
    return b.toString();
  }

  private static String colour(char c, String code) {
    return "\u001b[" + code + "m" + c + "\u001b[0m";
  }

  /** {@link #toSvg(String)} without a caption. */
  public String toSvg() {
    return toSvg(null);
  }

  private static final int CELL = 16;
  private static final int LEFT = 80;
  private static final String[] FILL = {"#8fd18f", "#f2c94c", "#5b5b5b", "url(#mixed)"};
  private static final String[] CLASS_NAME = {"read-write", "read-only", "no access", "mixed"};

  /**
   * The picture as a standalone SVG 1.1 document: one {@code <g class="run">} per run of cells in
   * a row that look the same (one per page where the pages differ), its fill the protection (green
   * read-write, amber read-only, dark grey no access, hatched mixed), a red bar along its bottom
   * where pages are dirty and a blue bar along its top where pages are touched (pale where only
   * some of a summarised cell's pages are), thin lines between pages (or cells), a
   * {@code <title>} tooltip with the pages and counts, and a legend. Each run element carries
   * {@code data-first}, {@code data-pages}, {@code data-mode} (the recorded AccessSet, or
   * "mixed"), {@code data-dirty} and {@code data-touched} (page counts) for tools. Bounded:
   * at most {@link #MAX_CELLS} runs.
   *
   * @param caption a line drawn above the picture (escaped as XML needs), or null
   */
  public String toSvg(String caption) {
    List<Cell> cells = cells();
    int columns = columns(cells.size());
    int rows = (cells.size() + columns - 1) / columns;
    long per = pagesPerCell();
    int width = Math.max(LEFT + columns * CELL + 12, 600);
    List<String> head = new ArrayList<>();
    int perLine = (width - 16) / 7; // about 7 px a character at 12 px
    if (caption != null) {
      head.addAll(wrap(caption, perLine));
    }
    int bold = head.size();
    head.add(String.format(Locale.ROOT, "region [0x%x, 0x%x): %d pages of %d bytes, policy %s", base, limit(), pages,
        pageSize, policy));
    head.add(counts());
    int top = 14 + head.size() * 16 + 14; // the column scale above the first row
    int legendTop = top + rows * (CELL + 4) + 10;
    int height = legendTop + 78 + (per > 1 ? 18 : 0);
    StringBuilder b = new StringBuilder(4096);
    b.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\""
        + " height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, height, width, height));
    b.append("<defs><pattern id=\"mixed\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\""
        + " patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f2c94c\"/>"
        + "<rect width=\"3\" height=\"6\" fill=\"#5b5b5b\"/></pattern></defs>\n");
    b.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    for (int i = 0; i < head.size(); i++) {
      b.append("<text x=\"8\" y=\"").append(18 + 16 * i).append('"').append(i < bold ? " font-weight=\"bold\"" : "")
          .append('>').append(xml(head.get(i))).append("</text>\n");
    }
    for (int col = 0; col < columns; col += 8) { // page offsets within a row
      b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#555\" font-size=\"10\">+%d</text>\n",
          LEFT + col * CELL, top - 4, col * per));
    }
    for (int row = 0; row < rows; row++) {
      int ry = top + row * (CELL + 4);
      b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#555\">%d</text>\n",
          LEFT - 6, ry + CELL - 3, cells.get(row * columns).first));
      int col = 0;
      while (col < columns && row * columns + col < cells.size()) {
        Cell first = cells.get(row * columns + col);
        int look = first.look();
        int end = col + 1;
        while (end < columns && row * columns + end < cells.size() && cells.get(row * columns + end).look() == look) {
          end++;
        }
        run(b, cells.subList(row * columns + col, row * columns + end), LEFT + col * CELL, ry);
        col = end;
      }
      int rowCells = Math.min(columns, cells.size() - row * columns);
      if (rowCells > 1) { // the page (cell) boundaries: one element per row
        StringBuilder d = new StringBuilder();
        for (int c = 1; c < rowCells; c++) {
          d.append('M').append(LEFT + c * CELL).append(' ').append(ry).append('v').append(CELL);
        }
        b.append("<path class=\"grid\" d=\"").append(d).append("\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n");
      }
    }
    legend(b, legendTop, per);
    return b.append("</svg>\n").toString();
  }

  private void run(StringBuilder b, List<Cell> cells, int x, int y) {
    Cell first = cells.get(0);
    Cell last = cells.get(cells.size() - 1);
    long pagesInRun = last.first + last.count - first.first;
    long dirty = 0;
    long touched = 0;
    for (Cell c : cells) {
      dirty += c.dirty;
      touched += c.touched;
    }
    int mode = first.exactMode();
    int cls = first.displayClass();
    int w = cells.size() * CELL;
    String modeText = mode >= 0 ? AccessSet.fromBits(mode).toString() : "mixed";
    b.append(String.format(Locale.ROOT, "<g class=\"run\" data-first=\"%d\" data-pages=\"%d\" data-mode=\"%s\""
        + " data-dirty=\"%d\" data-touched=\"%d\">", first.first, pagesInRun, modeText, dirty, touched));
    StringBuilder title = new StringBuilder();
    title.append(pagesInRun == 1 ? "page " + first.first : "pages " + first.first + "-" + (first.first + pagesInRun - 1))
        .append(": ").append(CLASS_NAME[cls]);
    if (mode >= 0) {
      title.append(' ').append(modeText);
    } else {
      title.append(String.format(Locale.ROOT, " (no access %d, read-only %d, read-write %d)",
          sum(cells, 3) + sum(cells, 1), sum(cells, 2), sum(cells, 0)));
    }
    title.append(String.format(Locale.ROOT, "; dirty %d, touched %d", dirty, touched));
    b.append("<title>").append(xml(title.toString())).append("</title>");
    b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>", x, y, w,
        CELL, FILL[cls]));
    int dirtyLevel = Cell.level(first.dirty, first.count);
    if (dirtyLevel > 0) {
      b.append(String.format(Locale.ROOT, "<rect class=\"dirty\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"4\""
          + " fill=\"#d62728\"%s/>", x, y + CELL - 4, w, dirtyLevel == 1 ? " fill-opacity=\"0.45\"" : ""));
    }
    int touchedLevel = Cell.level(first.touched, first.count);
    if (touchedLevel > 0) {
      b.append(String.format(Locale.ROOT, "<rect class=\"touched\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"4\""
          + " fill=\"#1f77b4\"%s/>", x, y, w, touchedLevel == 1 ? " fill-opacity=\"0.45\"" : ""));
    }
    b.append("</g>\n");
  }

  private static long sum(List<Cell> cells, int mode) {
    long n = 0;
    for (Cell c : cells) {
      n += c.byMode[mode];
    }
    return n;
  }

  private static void legend(StringBuilder b, int y, long per) {
    String[][] items = {
      {FILL[NA], "no access {READ, WRITE} (or {READ})"},
      {FILL[RO], "read-only {WRITE}"},
      {FILL[RW], "read-write {}"},
      {FILL[MIXED], "mixed (a cell of pages that differ)"},
    };
    for (int i = 0; i < items.length; i++) {
      int x = 8 + (i % 2) * 270;
      int iy = y + (i / 2) * 18;
      b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
          + "<text x=\"%d\" y=\"%d\">%s</text>\n", x, iy, CELL, CELL, items[i][0], x + CELL + 6, iy + CELL - 3,
          xml(items[i][1])));
    }
    int iy = y + 36;
    b.append(String.format(Locale.ROOT, "<rect x=\"8\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#cccccc\"/>"
        + "<rect x=\"8\" y=\"%d\" width=\"%d\" height=\"4\" fill=\"#d62728\"/>"
        + "<text x=\"%d\" y=\"%d\">dirty: a write fault opened it since the last harvest</text>\n",
        iy, CELL, CELL, iy + CELL - 4, CELL, 8 + CELL + 6, iy + CELL - 3));
    iy += 18;
    b.append(String.format(Locale.ROOT, "<rect x=\"8\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#cccccc\"/>"
        + "<rect x=\"8\" y=\"%d\" width=\"%d\" height=\"4\" fill=\"#1f77b4\"/>"
        + "<text x=\"%d\" y=\"%d\">touched: a read fault opened it</text>\n",
        iy, CELL, CELL, iy, CELL, 8 + CELL + 6, iy + CELL - 3));
    if (per > 1) {
      iy += 18;
      b.append(String.format(Locale.ROOT, "<text x=\"8\" y=\"%d\">one cell = %d pages; a pale bar: only some of"
          + " them have the bit</text>\n", iy + CELL - 3, per));
    }
  }

  /** Splits {@code s} at spaces into lines of at most {@code max} characters (longer words stay whole). */
  private static List<String> wrap(String s, int max) {
    List<String> lines = new ArrayList<>();
    StringBuilder line = new StringBuilder();
    for (String word : s.split(" ")) {
      if (line.length() > 0 && line.length() + 1 + word.length() > max) {
        lines.add(line.toString());
        line.setLength(0);
      }
      line.append(line.length() > 0 ? " " : "").append(word);
    }
    lines.add(line.toString());
    return lines;
  }

  private static String xml(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        default -> {
          if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            b.append('?'); // not allowed in XML 1.0
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }
}
