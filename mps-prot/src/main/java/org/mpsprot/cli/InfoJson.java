package org.mpsprot.cli;

import java.util.List;
import java.util.Locale;
import org.mpsprot.Prot;
import org.mpsprot.barrier.Availability;
import org.mpsprot.barrier.Strategies;
import org.mpsprot.barrier.WriteBarrierStrategy;
import org.mpsprot.model.RangeRules;
import org.mpsprot.os.NativeBackend;
import org.mpsprot.os.ProtOs;
import org.mpsprot.os.ShimProtOs;
import org.mpsprot.os.linux.LinuxProtOs;

/**
 * {@code info --json}: the facts {@code info} prints, as one JSON object (RFC 8259) on one line,
 * for scripts and CI logs. Keys, in this order:
 *
 * <pre>
 * {"platform": "linux-x86-64",
 *  "os": {"name": "Linux", "arch": "amd64", "kernel": "Linux 6.18.44"},
 *  "page_size": 4096,                        ProtGranularity, asked of the OS
 *  "jdk": {"vm": ..., "version": ..., "feature": 17, "home": ...},
 *  "backend": {"kind": "jna" | "ffm", "detail": why this backend},
 *  "handler": {"installed": true | false},
 *  "limits": {"max_region_pages": 2147483647, "max_region_bytes": ..., "max_live_regions": 1024,
 *             "mappings": 231 | null, "max_map_count": 65530 | null},   null: not Linux, or unreadable
 *  "backends": [{"name": ..., "available": ..., "detail": ...}, ...],   dirty-tracking backends
 *  "strategies": [{"name": "fault" | "uffd" | "soft-dirty" | "cards", "available": ...,
 *                  "reason": what it rests on, or why not}, ...]}
 * </pre>
 *
 * Strings are escaped as RFC 8259 requires; numbers are integers; nothing else is printed on
 * stdout. Keys are only ever added, never renamed or removed, within a major version.
 */
final class InfoJson {
  private InfoJson() {}

  static String json(Prot prot, ProtOs os) {
    StringBuilder b = new StringBuilder("{");
    b.append("\"platform\": ").append(quote(os.platform()));
    b.append(", \"os\": {\"name\": ").append(quote(System.getProperty("os.name")))
        .append(", \"arch\": ").append(quote(System.getProperty("os.arch")))
        .append(", \"kernel\": ").append(quote(os.kernel())).append('}');
    b.append(", \"page_size\": ").append(prot.granularity());
    b.append(", \"jdk\": {\"vm\": ").append(quote(System.getProperty("java.vm.name")))
        .append(", \"version\": ").append(quote(System.getProperty("java.runtime.version")))
        .append(", \"feature\": ").append(Runtime.version().feature())
        .append(", \"home\": ").append(quote(System.getProperty("java.home"))).append('}');
    NativeBackend backend = NativeBackend.current();
    b.append(", \"backend\": {\"kind\": ").append(quote(backend.kind().name().toLowerCase(Locale.ROOT)))
        .append(", \"detail\": ").append(quote(backend.detail())).append('}');
    b.append(", \"handler\": {\"installed\": ").append(prot.handlerInstalled()).append('}');
    boolean linux = os instanceof LinuxProtOs;
    long maxMapCount = linux ? LinuxProtOs.maxMapCount() : -1;
    b.append(", \"limits\": {\"max_region_pages\": ").append(RangeRules.MAX_REGION_PAGES)
        .append(", \"max_region_bytes\": ").append(RangeRules.maxRegionSize(prot.granularity()))
        .append(", \"max_live_regions\": ").append(ShimProtOs.MAX_REGIONS)
        .append(", \"mappings\": ").append(linux ? String.valueOf(LinuxProtOs.mapCount()) : "null")
        .append(", \"max_map_count\": ").append(maxMapCount >= 0 ? String.valueOf(maxMapCount) : "null")
        .append('}');
    b.append(", \"backends\": [");
    List<ProtOs.Backend> backends = os.probeBackends();
    for (int i = 0; i < backends.size(); i++) {
      ProtOs.Backend x = backends.get(i);
      b.append(i == 0 ? "" : ", ").append("{\"name\": ").append(quote(x.name()))
          .append(", \"available\": ").append(x.available())
          .append(", \"detail\": ").append(quote(x.detail())).append('}');
    }
    b.append("], \"strategies\": [");
    List<WriteBarrierStrategy> strategies = Strategies.all();
    for (int i = 0; i < strategies.size(); i++) {
      WriteBarrierStrategy s = strategies.get(i);
      Availability a = s.availability();
      b.append(i == 0 ? "" : ", ").append("{\"name\": ").append(quote(s.name()))
          .append(", \"available\": ").append(a.available())
          .append(", \"reason\": ").append(quote(a.reason())).append('}');
    }
    return b.append("]}").toString();
  }

  /** A JSON string: quotes, backslashes and every control character escaped (RFC 8259 s7). */
  static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (ch < 0x20 || ch == 0x7f) {
            b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
          } else {
            b.append(ch);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
