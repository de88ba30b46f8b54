#!/usr/bin/env bash
# aarch64-java.sh -- the Java side on aarch64: the Java test suite and the demo on an aarch64
# JDK 17 under qemu-user, at 4 KiB pages and (a smaller set) at 16 and 64 KiB pages
# (docs/design/os.md .os.aarch64.java).
#
# 1. The JDK: Debian's arm64 OpenJDK 17 and the libraries it needs, fetched with
#    `apt-get download` through a private apt configuration that sees only arm64 (its own
#    sources list, lists, status and cache), unpacked with `dpkg -x` into a private root that
#    is both qemu's sysroot (-L) and the JDK. Nothing is installed system-wide, no
#    `dpkg --add-architecture`. The root is kept in a cache directory (MPSPROT_AARCH64_CACHE,
#    default ~/.cache/mps-prot) and reused while its package list is unchanged.
# 2. Child processes: a JVM under qemu-user cannot execve an aarch64 binary by itself (child
#    JVMs, the JDK's jspawnhelper). On Linux 6.7+ the suite runs inside a private user+mount
#    namespace that mounts its own binfmt_misc instance and registers qemu-aarch64 there; the
#    host's binfmt_misc is never touched. Where that is impossible, a wrapper JDK home whose
#    bin/java runs qemu stands in for child JVMs (-Dmpsprot.child.java) and the JDK launches
#    processes with FORK.
# 3. The tests: through Surefire's `jvm` parameter, from the reactor root after test-compile,
#    so that mps-prot sees this build's native classes. The tests learn that they run under
#    emulation from -Dmpsprot.emulated=qemu-user (org.mpsprot.testing.Emulation): the few that
#    cannot run under qemu skip or scale themselves and print why.
#
# Where it cannot run (no qemu-aarch64, no apt-get/dpkg, no Debian archive keyring, Debian's
# mirror unreachable, not an x86-64 Linux host) it prints one "SKIPPED" line with the reason
# and exits 0; with REQUIRE_CROSS=1 (.ci/run) that is an error (exit 1).
#
# Usage: mps-prot/scripts/aarch64-java.sh [--quick]
#   --quick  only the 4 KiB run of the native-side tests (for development)
#   --test LIST [PAGESIZE]  only these tests (Surefire's -Dtest), at 4096 or PAGESIZE bytes
#   --prepare  only step 1 (the JDK fetched or reused, and checked to start under qemu); the
#            last line is "aarch64-java: prepared root=ROOT java=JAVA version=PACKAGE" (the
#            difftest's aarch64 JIT corpus uses it), or the SKIPPED line as above
# Environment: MVN (the mvn command), MPSPROT_MAVEN_ARGS (extra Maven arguments, e.g. the
# local repository), MPSPROT_AARCH64_CACHE, MPSPROT_DEBIAN_MIRROR,
# MPSPROT_DEBIAN_SECURITY_MIRROR, MPSPROT_AARCH64_BINFMT=wrapper (force the fallback).
set -euo pipefail
{ # the whole script is read before it runs (an edit while it runs cannot change its course)

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
quick=0
only=
prepare=0
what="the Java suite on aarch64 under qemu-user"
case "${1:-}" in
  --quick) quick=1 ;;
  --prepare) prepare=1; what="the aarch64 JDK 17 under qemu-user" ;;
  --test) only=${2:?--test needs a list of test classes}; only_pages=${3:-4096} ;;
esac

say() { echo "aarch64-java: $*"; }
skip() {
  if [ "${REQUIRE_CROSS:-0}" = 1 ]; then
    say "ERROR: cannot prepare $what: $* (REQUIRE_CROSS=1: this is an error, not a skip)" >&2
    exit 1
  fi
  say "SKIPPED: $what: $*"
  exit 0
}
have() { command -v "$1" >/dev/null 2>&1; }
now() { date +%s; }
start_all=$(now)

# ---- preconditions -----------------------------------------------------------------------
[ "$(uname -s)" = Linux ] || skip "not Linux ($(uname -s))"
[ "$(uname -m)" = x86_64 ] || skip "the host is $(uname -m), not x86-64 (on an aarch64 host run mvn -B verify natively)"
if ! have qemu-aarch64 && [ "$(id -u)" = 0 ] && have apt-get; then
  sh "$top/mps-prot-native/scripts/ensure-tools.sh"
fi
have qemu-aarch64 || skip "no qemu-aarch64 (apt-get install qemu-user, as root)"
for tool in apt-get dpkg-deb find; do
  have "$tool" || skip "no $tool (needs a Debian or Ubuntu host)"
done
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ ! -r "$keyring" ] && [ "$(id -u)" = 0 ]; then # e.g. Ubuntu: Debian's keys are a package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debian-archive-keyring >/dev/null 2>&1 || true
fi
[ -r "$keyring" ] || skip "no Debian archive keyring at $keyring (apt-get install debian-archive-keyring)"

# ---- 1. the aarch64 JDK in a private root --------------------------------------------------
cache=${MPSPROT_AARCH64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mps-prot}
root=$cache/aarch64-jdk17
apt=$cache/aarch64-apt
packages="openjdk-17-jre-headless openjdk-17-jdk-headless libc6 libgcc-s1 libstdc++6 zlib1g"
jhome=$root/usr/lib/jvm/java-17-openjdk-arm64
java=$jhome/bin/java

# The host's Debian mirror when it has one (a Debian host may use a local mirror), else
# deb.debian.org. The root is Debian 12 (bookworm) whatever the host is.
host_uri() { # $1: a regex the URI must match
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -v '^[[:space:]]*#' | grep -oE '(https?|file)://[^ ]+' | grep -E "$1" | head -1 || true
}
mirror=${MPSPROT_DEBIAN_MIRROR:-$(host_uri '/debian/?$')}
mirror=${mirror:-http://deb.debian.org/debian}
security=${MPSPROT_DEBIAN_SECURITY_MIRROR:-$(host_uri '/debian-security/?$')}
security=${security:-http://deb.debian.org/debian-security}
want="bookworm arm64 $mirror $security $packages"

if [ -x "$java" ] && [ "$(cat "$root/.mpsprot-complete" 2>/dev/null)" = "$want" ]; then
  say "aarch64 JDK: reusing $jhome"
else
  t=$(now)
  say "aarch64 JDK: fetching $packages (arm64, Debian 12) from $mirror into $root"
  rm -rf "$root" "$apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/sources.d" \
    "$apt/prefs.d" "$apt/debs" "$root"
  : > "$apt/status"
  cat > "$apt/sources.list" <<EOF
deb [arch=arm64 signed-by=$keyring] $mirror bookworm main
deb [arch=arm64 signed-by=$keyring] $mirror bookworm-updates main
deb [arch=arm64 signed-by=$keyring] $security bookworm-security main
EOF
  # Only the host's proxy settings carry over; none of its apt.conf.d hooks run.
  { apt-config dump 2>/dev/null | grep -E '^Acquire::(http|https|ftp)::Proxy' || true
    cat <<EOF
Dir::Etc::sourcelist "$apt/sources.list";
Dir::Etc::sourceparts "$apt/sources.d";
Dir::Etc::parts "$apt/parts";
Dir::Etc::preferences "$apt/preferences";
Dir::Etc::preferencesparts "$apt/prefs.d";
Dir::State "$apt";
Dir::State::lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Dir::Cache::archives "$apt/cache/archives";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
Debug::NoLocking "true";
Acquire::Languages "none";
EOF
    # apt's download sandbox user (_apt) cannot enter a root-owned cache under /root.
    [ "$(id -u)" = 0 ] && echo 'APT::Sandbox::User "root";'
  } > "$apt/apt.conf"
  export APT_CONFIG=$apt/apt.conf
  if ! apt-get -q update > "$apt/update.log" 2>&1 || grep -qE '^(E: |W: (Failed to fetch|Some index))' "$apt/update.log"; then
    sed 's/^/  /' "$apt/update.log" | tail -5
    skip "apt-get update of Debian's arm64 lists failed (no network to $mirror?); see $apt/update.log"
  fi
  # shellcheck disable=SC2086
  if ! (cd "$apt/debs" && apt-get -q download $(printf '%s:arm64 ' $packages)) > "$apt/download.log" 2>&1; then
    sed 's/^/  /' "$apt/download.log" | tail -5
    skip "apt-get download of the arm64 packages failed; see $apt/download.log"
  fi
  unset APT_CONFIG
  for deb in "$apt"/debs/*.deb; do
    dpkg-deb -x "$deb" "$root"
  done
  # Debian's JDK has absolute symlinks (lib/jvm.cfg -> /etc/java-17-openjdk/jvm-arm64.cfg, ...)
  # that would resolve on the host, outside the root: point them into it.
  fixed=0
  while IFS= read -r link; do
    target=$(readlink "$link")
    case "$target" in
      /*) ln -sfn "$root$target" "$link"; fixed=$((fixed + 1)) ;;
    esac
  done < <(find "$root" -type l)
  [ -x "$java" ] || skip "the unpacked packages have no $java"
  ls "$apt"/debs/ | sed -n 's/^\(openjdk-17-jre-headless_[^_]*\)_.*/\1/p' > "$root/.mpsprot-version"
  echo "$want" > "$root/.mpsprot-complete"
  rm -rf "$apt" # the lists (about 120 MB) are needed again only for a new package list
  say "aarch64 JDK: $(du -sh "$root" | cut -f1) in $root, $fixed absolute symlinks re-pointed, $(( $(now) - t )) s"
fi

export QEMU_LD_PREFIX=$root
unset QEMU_PAGESIZE
version=$(qemu-aarch64 "$java" -version 2>&1 | head -1) \
  || skip "the aarch64 JDK does not start under qemu-aarch64: $version"
say "aarch64 JDK: $version ($(qemu-aarch64 --version | head -1))"
if [ $prepare = 1 ]; then
  say "prepared root=$root java=$java version=$(cat "$root/.mpsprot-version" 2>/dev/null || echo unknown)"
  exit 0
fi

# ---- 2. binfmt_misc in a private namespace, or the wrapper ------------------------------
# binfmt_misc rule for aarch64 ELF executables (e_ident: 64-bit, little-endian, version 1;
# e_type 2 or 3 via the mask; e_machine 0xb7 = EM_AARCH64).
magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
qemu=$(command -v qemu-aarch64)
# Runs "$@" in a new user+mount namespace with its own binfmt_misc instance that runs aarch64
# ELF files with qemu-aarch64 (Linux 6.7+: binfmt_misc mounts are per user namespace).
in_ns() {
  unshare --user --map-root-user --mount --propagation private -- sh -c '
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || exit 97
    printf "%s" ":mpsprot-aarch64:M::$1:$2:$3:F" > /proc/sys/fs/binfmt_misc/register || exit 98
    shift 3
    exec "$@"' sh "$magic" "$mask" "$qemu" "$@"
}
mode=namespace
if [ "${MPSPROT_AARCH64_BINFMT:-}" = wrapper ]; then
  mode=wrapper
elif ! probe=$(in_ns "$java" -version 2>&1); then
  say "no private binfmt_misc (needs unprivileged user namespaces and Linux 6.7+; $(uname -r)): ${probe%%$'\n'*}"
  mode=wrapper
fi
wrap=$cache/aarch64-jdk17-wrapper
jvm_flags=""
child_flags="-Dmpsprot.emulated=qemu-user"
if [ $mode = wrapper ]; then
  # A JDK home whose bin/java is a host script that runs qemu: Surefire and ChildJvm start
  # JVMs with it; the JDK's own launcher (jspawnhelper) is aarch64, so FORK instead.
  mkdir -p "$wrap/bin"
  cat > "$wrap/bin/java" <<EOF
#!/bin/sh
exec "$qemu" -L "$root" \${QEMU_PAGESIZE:+-p \$QEMU_PAGESIZE} "$java" "\$@"
EOF
  chmod +x "$wrap/bin/java"
  jvm=$wrap/bin/java
  jvm_flags="$jvm_flags -Djdk.lang.Process.launchMechanism=FORK -Dmpsprot.child.java=$jvm"
  child_flags="$child_flags -Djdk.lang.Process.launchMechanism=FORK"
  run() { "$@"; }
  say "child processes: wrapper $jvm (no binfmt_misc; processes launched with FORK)"
else
  jvm=$java
  run() { in_ns "$@"; }
  say "child processes: binfmt_misc of a private user+mount namespace (the host's is untouched)"
fi

# ---- 3. the runs ----------------------------------------------------------------------------
mvn=${MVN:-mvn}
cd "$top"
# The jar for the demo: built here (no tests) when missing or older than a source.
jar=mps-prot/target/mps-prot.jar
if [ ! -f "$jar" ] || [ -n "$(find mps-prot/src/main mps-prot-native/src/main -newer "$jar" -type f | head -1)" ]; then
  say "building $jar (mvn package -DskipTests)"
  # shellcheck disable=SC2086
  "$mvn" -B -q ${MPSPROT_MAVEN_ARGS:-} -Dmpsprot.tools.skip=true -DskipTests -Dmaven.javadoc.skip=true package
fi

failed=()
summary=()
# suite NAME PAGESIZE TESTS [EXTRA_JVM_FLAGS]: one Surefire run on the aarch64 JVM.
suite() {
  local name=$1 pagesize=$2 tests=$3 extra=${4:-} t rc=0
  t=$(now)
  echo
  say "== $name: $(( pagesize / 1024 )) KiB pages${extra:+, $extra}"
  # shellcheck disable=SC2086
  QEMU_PAGESIZE=$pagesize run "$mvn" -B ${MPSPROT_MAVEN_ARGS:-} -pl mps-prot -am \
    -Dmpsprot.tools.skip=true -Dmpsprot.ccheck.skip=true -Dsurefire.failIfNoSpecifiedTests=false \
    -Djvm="$jvm" -Dtest.jvm.flags="$jvm_flags $extra" -Dmpsprot.child.flags="$child_flags" \
    -Dmpsprot.emulated=qemu-user ${tests:+-Dtest="$tests"} \
    test-compile surefire:test || rc=$?
  summary+=("$name, $(( pagesize / 1024 )) KiB: $([ $rc = 0 ] && echo passed || echo FAILED) in $(( $(now) - t )) s")
  [ $rc = 0 ] || failed+=("$name at $(( pagesize / 1024 )) KiB")
}
demo() {
  local pagesize=$1 t rc=0
  t=$(now)
  echo
  say "== demo --depth 8 on aarch64: $(( pagesize / 1024 )) KiB pages"
  QEMU_PAGESIZE=$pagesize run "$jvm" $child_flags -jar "$jar" demo --depth 8 || rc=$?
  summary+=("demo --depth 8, $(( pagesize / 1024 )) KiB: $([ $rc = 0 ] && echo passed || echo FAILED) in $(( $(now) - t )) s")
  [ $rc = 0 ] || failed+=("demo at $(( pagesize / 1024 )) KiB")
}

say "the fault-injection tests (org.mpsprot.inject, Surefire execution fault-injection) are not run" \
  "here: they need the -DMPSPROT_INJECT build of the shim, which exists for x86-64 only"
# Everything the pom's default run has (it excludes org.mpsprot.inject); the pure-Java tests
# are cheap and run too.
all=
# What steps JIT-compiled stores and loads, again with C2 only (-XX:-TieredCompilation), so
# that the stepped instructions are C2's, not C1's.
c2='StepEndToEndTest,NoLostWritesTest,JvmCoexistenceTest,HandoffTest,BarrierNoLostWritesTest'
# At 16 and 64 KiB: what takes its sizes from the granularity (the module, stepping, the fault
# path, the write barriers, the read-barrier collector); the demo below runs every collector.
pages='ProtModuleTest,StepEndToEndTest,NoLostWritesTest,BarrierNoLostWritesTest,ReadBarrierTest,HeapApiTest'

if [ -n "$only" ]; then
  suite "$only" "$only_pages" "$only"
elif [ $quick = 1 ]; then
  suite "native side (quick)" 4096 "$pages"
else
  suite "the Java suite" 4096 "$all"
  suite "stepping with C2 only" 4096 "$c2" "-XX:-TieredCompilation"
  demo 4096
  if qemu-aarch64 -p 65536 "$java" -version >/dev/null 2>&1; then
    suite "page-size set" 16384 "$pages"
    suite "page-size set" 65536 "$pages"
    demo 65536
  else
    say "SKIPPED: the 16 and 64 KiB runs: this qemu-aarch64 has no -p (QEMU_PAGESIZE); qemu 7.2 has it, newer qemu removed it"
    failed_p=1
  fi
fi

echo
say "summary ($(qemu-aarch64 --version | head -1 | sed 's/ *Copyright.*//'), $(cat "$root/.mpsprot-version" 2>/dev/null), children via $mode):"
for line in "${summary[@]}"; do say "  $line"; done
say "  total $(( $(now) - start_all )) s"
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}" >&2
  exit 1
fi
if [ "${failed_p:-0}" = 1 ] && [ "${REQUIRE_CROSS:-0}" = 1 ]; then
  say "ERROR: the 16 and 64 KiB runs did not run (REQUIRE_CROSS=1)" >&2
  exit 1
fi
exit 0
}
