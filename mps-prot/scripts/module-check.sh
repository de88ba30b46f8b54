#!/usr/bin/env bash
# module-check.sh -- the main jar as a module (README "Depending on mps-prot"): a modular
# application that says `requires org.mpsprot;` compiles and runs against the jars a user's
# build gets (mps-prot, mps-prot-native, JNA), all on the module path.
#
# It checks, and exits non-zero with what it saw when one fails:
# 1. `jar --describe-module` names the automatic module `org.mpsprot` (the manifest's
#    Automatic-Module-Name), and `org.mpsprot.shim` for the native jar (the name derived from
#    its file name, mps.prot.native, would not be legal: `native` is a keyword);
# 2. the jar is still a multi-release jar (Multi-Release: true), and when this build compiled
#    the FFM backend, the jar holds it under META-INF/versions/22;
# 3. javac compiles a module `org.mpsprot.check` that requires org.mpsprot, and java runs it
#    from the module path: it reserves a region, protects a page, reads it through the
#    mutator's view, and verifies with sync(); it prints the module its Prot came from and the
#    backend (on JDK 22+ with --enable-native-access for the two modules that call native
#    code, so the FFM backend is used).
#
# Usage: module-check.sh JAR CLASSPATH
#   JAR        the main jar (target/mps-prot-VERSION.jar)
#   CLASSPATH  the main module's runtime class path as Maven resolves it (its classes
#              directory, which is left out, then mps-prot-native's jar and JNA's)
# Environment: JAVA_HOME, the JDK to use (the one running Maven); default: java on PATH.
set -euo pipefail

jar_file=$1
classpath=$2
bin=${JAVA_HOME:+$JAVA_HOME/bin/}
work=$(mktemp -d "${TMPDIR:-/tmp}/mpsprot-module-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
  echo "module-check: FAILED: $*" >&2
  exit 1
}

# The module path: the main jar, then every jar of its runtime class path (the classes
# directory is the main jar's content, already there).
modpath=$jar_file
native_jar=
IFS=: read -r -a entries <<<"$classpath"
for e in "${entries[@]}"; do
  [ -f "$e" ] || continue
  case "$e" in
    *.jar) modpath="$modpath:$e" ;;
  esac
  case "$(basename "$e")" in
    mps-prot-native*.jar) native_jar=$e ;;
  esac
done
[ -n "$native_jar" ] || fail "no mps-prot-native jar in the class path '$classpath'"

describe=$("${bin}jar" --describe-module --file "$jar_file" 2>&1) || fail "jar --describe-module: $describe"
# Its output: "No module descriptor found. Derived automatic module.", a blank line, then
# "NAME@VERSION automatic" and the module's requires and contains.
module_line() { echo "$1" | grep -E '^[A-Za-z0-9_.]+(@[^ ]*)? automatic$' | head -1; }
[[ "$(module_line "$describe")" == org.mpsprot[@\ ]* ]] \
  || fail "jar --describe-module --file $jar_file: expected 'org.mpsprot@VERSION automatic', saw: $(module_line "$describe")"
describe_native=$("${bin}jar" --describe-module --file "$native_jar" 2>&1) \
  || fail "jar --describe-module --file $native_jar: $describe_native"
[[ "$(module_line "$describe_native")" == org.mpsprot.shim[@\ ]* ]] \
  || fail "jar --describe-module --file $native_jar: expected 'org.mpsprot.shim@VERSION automatic', saw: $(module_line "$describe_native")"

jar_abs=$(cd "$(dirname "$jar_file")" && pwd)/$(basename "$jar_file")
mkdir -p "$work/manifest"
(cd "$work/manifest" && "${bin}jar" xf "$jar_abs" META-INF/MANIFEST.MF) || fail "$jar_file: cannot read its manifest"
manifest=$(tr -d '\r' <"$work/manifest/META-INF/MANIFEST.MF")
echo "$manifest" | grep -qx 'Multi-Release: true' || fail "$jar_file: no 'Multi-Release: true' in the manifest"
echo "$manifest" | grep -qx 'Automatic-Module-Name: org.mpsprot' || fail "$jar_file: no 'Automatic-Module-Name: org.mpsprot'"
classes_dir=$(dirname "$jar_file")/classes
if [ -d "$classes_dir/META-INF/versions/22" ]; then
  "${bin}jar" tf "$jar_file" | grep -qx 'META-INF/versions/22/org/mpsprot/RegionSegments.class' \
    || fail "$jar_file: this build compiled the FFM backend, but the jar has no META-INF/versions/22/org/mpsprot/RegionSegments.class"
fi

mkdir -p "$work/src/org.mpsprot.check/org/mpsprot/check/app" "$work/out"
cat >"$work/src/org.mpsprot.check/module-info.java" <<'EOF'
module org.mpsprot.check {
  requires org.mpsprot;
}
EOF
cat >"$work/src/org.mpsprot.check/org/mpsprot/check/app/Main.java" <<'EOF'
package org.mpsprot.check.app;

import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.SyncReport;
import org.mpsprot.os.NativeBackend;

public final class Main {
  public static void main(String[] args) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region heap = prot.reserve(4 * page)) {
      heap.alias().putLong(8, 42);
      heap.protect(0, page, AccessSet.WRITE);
      long seen = heap.mutatorView().getLong(8);
      SyncReport report = prot.sync();
      if (seen != 42 || !report.clean()) {
        throw new AssertionError("read " + seen + " through the mutator's view (42 expected); sync: " + report);
      }
    }
    System.out.println("module-check: Prot from module " + Prot.class.getModule().getName()
        + ", this code in " + Main.class.getModule().getName()
        + ", backend " + NativeBackend.current().kind().name().toLowerCase());
  }
}
EOF
"${bin}javac" -d "$work/out" --module-path "$modpath" \
  --module-source-path "$work/src" -m org.mpsprot.check \
  || fail "javac of a module that requires org.mpsprot, module path $modpath"

flags=()
version=$("${bin}java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [ "${version%%.*}" -ge 22 ]; then
  flags+=(--enable-native-access=org.mpsprot,com.sun.jna)
fi
out=$("${bin}java" "${flags[@]}" --module-path "$work/out:$modpath" -m org.mpsprot.check/org.mpsprot.check.app.Main 2>&1) \
  || fail "java -m org.mpsprot.check: $out"
echo "$out"
echo "$out" | grep -q 'Prot from module org.mpsprot, this code in org.mpsprot.check' \
  || fail "the module did not run from the module path: $out"
if [ "${version%%.*}" -ge 22 ] && [ -d "$classes_dir/META-INF/versions/22" ]; then
  echo "$out" | grep -q 'backend ffm' || fail "JDK $version with the FFM classes in the jar, but: $out"
fi
echo "module-check: OK (JDK $version)"
