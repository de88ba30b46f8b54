#!/bin/sh
# difftest.sh -- differential test of the stepping decoders against GNU objdump
#
# Compiles the corpus (prog_*.c beside this script) with gcc for x86-64 and aarch64 at
# several optimisation levels (plus a static link, which brings in glibc's hand-written
# assembly), disassembles every binary with objdump, and feeds every instruction to
# difftest.c, which runs our decoders on its bytes.  From objdump's text the script
# derives what the decoder must say:
#   - x86-64 mov/movzx/movsx/movsxd/movd/movq with a memory operand (no segment
#     override, no MMX, no 32-bit addressing): ACCEPT with objdump's length, access kind,
#     size, register or immediate operand, and base/index/scale/displacement (and, for
#     rip-relative operands, the target address objdump prints);
#   - aarch64 ldr/str/ldur/stur (all widths, signed forms), ldp/stp/ldpsw/ldnp/stnp with
#     a [..] operand (v0..v31): ACCEPT with the same access kind, size, data
#     registers, base, index, extend, shift, offset and writeback; ldar/stlr/ldlar/stllr/
#     ldapr/ldapur*/stlur* and the LSE atomics (cas, casp, ld<op>, st<op>, swp, every
#     ordering and width): ACCEPT with those fields and the operation and ordering;
#   - every other instruction objdump shows (lock, rep, string ops, AVX/EVEX, fs:/gs:,
#     exclusives, prefetch, literal loads, SIMD structures,
#     ALU forms, branches, ...): REFUSE.
# For aarch64 it also checks step_aarch64_access_kind on every instruction: R for loads,
# W for stores and read-modify-writes, 0 for non-memory instructions; 0 ("unknown")
# is tolerated, and counted, only for memory instructions outside the stepped set.
#
# Usage: difftest.sh [output-dir]      (make difftest)
# Prints "difftest: N passed, N failed" and exits non-zero on any disagreement.
# The aarch64 half is skipped, with a message, when aarch64-linux-gnu-gcc or
# aarch64-linux-gnu-objdump is missing (Debian: gcc-aarch64-linux-gnu,
# binutils-aarch64-linux-gnu); the x86-64 half likewise without an x86-64 gcc/objdump.
# HotSpot's JIT code is a corpus too (JitWorkload.java under C1 and C2, see below): x86-64
# from JAVA, aarch64 from the arm64 JDK 17 of mps-prot/scripts/aarch64-java.sh under
# qemu-aarch64; for each the heap coverage is printed ("coverage ..." lines), and a missing
# JDK prints a SKIPPED line with the reason.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../main/c" && pwd)
out=${1:-${TMPDIR:-/tmp}/mpsprot-difftest}
mkdir -p "$out"
HOSTCC=${HOSTCC:-gcc}
host=$(uname -m)

$HOSTCC -std=c11 -O2 -Wall -Wextra -Werror -I"$src" -o "$out/difftest" \
  "$here/difftest.c" "$src/step_x86_64.c" "$src/step_aarch64.c"

have() { command -v "$1" >/dev/null 2>&1; }

# ---- objdump -M intel text -> "x86_64 addr bytes<TAB>expected<TAB>-<TAB>text" ----------
PREP_X86='
function hexval(s,   i, c, v) {
  v = 0; s = tolower(s); sub(/^0x/, "", s)
  for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + c - 1 }
  return v
}
function strip0(s) { s = tolower(s); sub(/^0x/, "", s); sub(/^0+/, "", s); return s == "" ? "0" : s }
function ours(m) { return m == "mov" || m == "movzx" || m == "movsx" || m == "movsxd" || m == "movd" || m == "movq" || alu(m) || sse(m) || vex(m) || evexm(m) || fp(m) }
function evexm(m) { return m ~ /^vmov(dqu(8|16|32|64)|dqa(32|64))$/ }
function fp(m) { return m ~ /^v?((add|sub|mul|div|min|max|sqrt)s[sd]|cvt(ss2sd|sd2ss|si2ss|si2sd|tss2si|tsd2si|ss2si|sd2si)|u?comis[sd])$/ }
function sse(m) { return m ~ /^mov(ss|sd|ups|upd|aps|apd|dqu|dqa)$/ }
function vex(m) { return m ~ /^vmov(ss|sd|ups|upd|aps|apd|dqu|dqa|d|q)$/ }
function alu(m) { return m ~ /^(add|or|adc|sbb|and|sub|xor|cmp|test|inc|dec|neg|not|shl|shr|sar|xchg|xadd|cmpxchg|push|pop)$/ }
function expect(t, nbytes, bytes,   locked, c, comment, mn, ops, rest, n, P, i, mem, other, kind, size, m, inner, T, k, base, idx, scale, disp, ea, term, star, mk, ev, p0, p1, p2, rp) {
  comment = ""
  c = index(t, "#"); if (c) { comment = substr(t, c + 1); t = substr(t, 1, c - 1) }
  sub(/[ ]+$/, "", t); sub(/^[ ]+/, "", t)
  if (!match(t, /^[^ ]+/)) return "REFUSE"
  mn = substr(t, 1, RLENGTH); ops = substr(t, RLENGTH + 1); sub(/^[ ]+/, "", ops)
  if (mn == "data16" || mn ~ /^rex/) {
    rest = ops; match(rest, /^[^ ]+/)
    if (ours(substr(rest, 1, RLENGTH)) || substr(rest, 1, RLENGTH) ~ /^(scas|lods|stos|rep|repz|repnz)$/) return "SKIP" # a redundant prefix objdump names
    return "REFUSE"
  }
  if (mn ~ /^(rep|repz|repnz)$/ && ops ~ /^(rex|data16)/) return "SKIP" # redundant prefixes
  if (mn ~ /^(rep|repz|repnz)$/ && match(ops, /^(scas|lods|stos) /)) { # string ops, one
    rp = mn; mn = substr(ops, 1, 4); ops = substr(ops, 6); sub(/^[ ]+/, "", ops) # iteration a step
    if (rp == "repnz" && mn != "scas") return "REFUSE" # F2 before LODS/STOS: undocumented
    mn = rp "." mn
  }
  if (mn ~ /^((rep|repz|repnz)\.)?(scas|lods|stos)$/) {
    n = split(ops, P, ",")
    if (n != 2) return "REFUSE"
    mem = index(P[1], "PTR") ? 1 : 2; other = P[3 - mem]; m = P[mem]
    rp = mn ~ /lods$/ ? " PTR ds:\\[rsi\\]$" : " PTR es:\\[rdi\\]$"
    if (m !~ rp) return "REFUSE" # fs:/gs:, addr32
    if (other !~ /^(al|ax|eax|rax)$/) return "REFUSE"
    size = m ~ /^BYTE/ ? 1 : m ~ /^WORD/ ? 2 : m ~ /^DWORD/ ? 4 : 8
    return "ACCEPT len=" nbytes " kind=" (mn ~ /stos$/ ? "W" : "R") " size=" size " mn=" mn " reg=" other \
           " mem=base=" (mn ~ /lods$/ ? "rsi" : "rdi") ",index=none,scale=1,disp=0x0"
  }
  if (mn == "{evex}") { # objdump marks an EVEX form that VEX could encode
    if (!match(ops, /^[^ ]+/)) return "REFUSE"
    mn = substr(ops, 1, RLENGTH); ops = substr(ops, RLENGTH + 1); sub(/^[ ]+/, "", ops)
  }
  locked = 0
  if (mn == "lock") {
    if (!match(ops, /^[^ ]+/)) return "REFUSE"
    mn = substr(ops, 1, RLENGTH); ops = substr(ops, RLENGTH + 1); sub(/^[ ]+/, "", ops)
    locked = 1
    if (!alu(mn) || mn ~ /^(cmp|test|push|pop|shl|shr|sar)$/) return "REFUSE"
  }
  if (!ours(mn)) return "REFUSE"
  if (index(ops, "PTR") == 0) return "REFUSE"
  if (ops ~ /(fs|gs|es|cs|ss):/) return "REFUSE"
  n = split(ops, P, ",")
  if (fp(mn)) {
    # scalar SSE/VEX arithmetic: the memory operand last; reg= the other operands
    if (bytes ~ /^62/ || index(P[n], "PTR") == 0 || n < 2 || n > 3 || (n == 3 && mn !~ /^v/)) return "REFUSE"
    if (n == 3 && mn ~ /^v(u?comis|cvtt?s[sd]2si)/) return "REFUSE"
    other = P[1]; for (i = 2; i < n; i++) other = other "," P[i]
    if (other ~ /PTR|mm(1[6-9]|2[0-9]|3[01])/) return "REFUSE"
    mem = n
  } else {
  if (n != 2 && !(n == 1 && mn ~ /^(inc|dec|neg|not|push|pop)$/)) return "REFUSE"
  if (n == 1 && mn !~ /^(inc|dec|neg|not|push|pop)$/) return "REFUSE"
  if (mn ~ /^(push|pop)$/ && P[1] !~ /^QWORD PTR/) return "REFUSE"
  mem = 0
  for (i = 1; i <= n; i++) {
    if (P[i] ~ /^(es|cs|ss|ds|fs|gs)$/ || P[i] ~ /^mm[0-7]$/ || P[i] == "?") return "REFUSE"
    if (index(P[i], "PTR")) mem = i
  }
  other = n == 1 ? "none" : P[3 - mem]
  }
  if (sse(mn) && other !~ /^xmm[0-9]+$/) return "REFUSE"
  # EVEX (AVX-512) moves: the opmask {kN} and {z} of either operand become " mask=kN[z]";
  # {z} on a store or without a mask, broadcasts and the rest of {..} are refused (#UD)
  mk = ""; ev = (vex(mn) || evexm(mn)) && bytes ~ /^62/
  if (evexm(mn) && !ev) return "REFUSE"
  if (ev) {
    if (n != 2) return "REFUSE"
    # fields objdump does not check: V-prime clear, APX B4/X4, EVEX.b, length 11, and a W
    # the SDM does not list for the opcode (what the CPU does with them is not stated)
    p0 = hexval(substr(bytes, 3, 2)); p1 = hexval(substr(bytes, 5, 2)); p2 = hexval(substr(bytes, 7, 2))
    if (int(p2 / 8) % 2 == 0 || int(p0 / 8) % 2 == 1 || int(p1 / 4) % 2 == 0 || int(p2 / 16) % 2 == 1 || int(p2 / 32) % 4 == 3) return "REFUSE"
    if ((mn ~ /^vmov(ups|aps|ss)$/ && p1 >= 128) || (mn ~ /^vmov(upd|apd|sd)$/ && p1 < 128)) return "REFUSE"
    if (ops ~ /\{k[1-7]\}/) { match(ops, /\{k[1-7]\}/); mk = " mask=k" substr(ops, RSTART + 2, 1) }
    if (ops ~ /\{z\}/) { if (mk == "" || mem == 1) return "REFUSE"; mk = mk "z" }
    if (mk != "" && mn ~ /^vmov[dq]$/) return "REFUSE"
    gsub(/\{(k[1-7]|z)\}/, "", P[1]); gsub(/\{(k[1-7]|z)\}/, "", P[2])
    if (P[1] P[2] ~ /[{}]/) return "REFUSE"
    other = P[3 - mem]
    if (other !~ /^[xyz]mm([0-9]|[12][0-9]|3[01])$/) return "REFUSE"
  } else {
  if (vex(mn) && other !~ /^[xy]mm([0-9]|1[0-5])$/) return "REFUSE" # xmm16.. only with EVEX
  if (vex(mn) && n != 2) return "REFUSE"
  }
  kind = mem == 1 ? "W" : "R"
  if (fp(mn)) kind = "R"
  if (mn ~ /^(cmp|test|push)$/) kind = "R"
  if (mn ~ /^(pop|xchg|xadd|cmpxchg)$/) kind = "W"
  if (alu(mn) && locked && mn != "xchg") mn = "lock." mn
  m = P[mem]
  if (m ~ /^BYTE PTR /) size = 1
  else if (m ~ /^WORD PTR /) size = 2
  else if (m ~ /^DWORD PTR /) size = 4
  else if (m ~ /^QWORD PTR /) size = 8
  else if (m ~ /^XMMWORD PTR /) size = 16
  else if (m ~ /^YMMWORD PTR /) size = 32
  else if (m ~ /^ZMMWORD PTR /) size = 64
  else return "REFUSE"
  sub(/^[A-Z]+ PTR /, "", m)
  base = "none"; idx = "none"; scale = 1; disp = ""
  if (m ~ /^ds:/) {
    disp = substr(m, 4)
  } else if (m ~ /^\[.*\]$/) {
    inner = substr(m, 2, length(m) - 2)
    if (inner ~ /(^|[+*-])e[a-z][a-z]/ || inner ~ /r[0-9]+d/ || inner ~ /eiz/) return "REFUSE" # addr32
    gsub(/-/, "+-", inner)
    k = split(inner, T, "+")
    for (i = 1; i <= k; i++) {
      term = T[i]
      if (term == "") continue
      star = index(term, "*")
      if (star) { idx = substr(term, 1, star - 1); scale = substr(term, star + 1) + 0 }
      else if (term ~ /^-?0x/) disp = term
      else base = term
    }
    if (idx == "riz") idx = "none"
  } else return "REFUSE"
  if (idx == "none") scale = 1
  if (disp == "") disp = "0x0"
  ea = ""
  if (base == "rip" && comment != "") { sub(/^[ ]+/, "", comment); split(comment, T, " "); ea = ",ea=" strip0(T[1]) }
  return "ACCEPT len=" nbytes " kind=" kind " size=" size " mn=" mn " reg=" other \
         " mem=base=" base ",index=" idx ",scale=" scale ",disp=" disp ea mk
}
function flush(   i, j, s) {
  for (i = 0; i < n; i++) {
    s = B[i]; j = i + 1
    while (length(s) < 32 && j < n && !G[j] && hexval(A[j]) == hexval(A[j - 1]) + length(B[j - 1]) / 2) { s = s B[j]; j++ }
    s = substr(s, 1, 32)
    print "x86_64 " A[i] " " s "\t" expect(T[i], length(B[i]) / 2, B[i]) "\t-\t" T[i]
  }
  n = 0; split("", G)
}
BEGIN { FS = "\t"; n = 0 }
/^Disassembly of section/ { flush(); next }
/^[ ]*[0-9a-f]+:\t/ {
  a = $1; sub(/^[ ]+/, "", a); sub(/:$/, "", a)
  b = $2; gsub(/ /, "", b)
  if (b == "") next
  A[n] = a; B[n] = b; T[n] = $3; n++
  next
}
/^\t\.\.\./ { G[n] = 1; next }
END { flush() }
'

# ---- aarch64 objdump text -> "aarch64 addr word<TAB>expected<TAB>akind<TAB>text" ------
PREP_ARM='
function akind(mn, ops) {
  if (mn == "dc") return (ops ~ /^(zva|gva|gzva),/) ? "W" : "0"
  if (mn ~ /^(prfm|prfum)$/) return "0"
  if (mn ~ /^prf[bhwd]$/) return "R"   # SVE prefetches: classified with SVE loads
  if (mn ~ /^(swp|cas)/) return "W"
  if (mn ~ /^(ld|st)(add|clr|eor|set|smax|smin|umax|umin)/) return "W"
  if (mn ~ /^ld/) return "R"
  if (mn ~ /^st/) return "W"
  return "0"
}
function stepped(mn) {
  return mn ~ /^(ldr|str|ldrb|strb|ldrh|strh|ldrsb|ldrsh|ldrsw|ldur|stur|ldurb|sturb|ldurh|sturh|ldursb|ldursh|ldursw|ldp|stp|ldpsw|ldnp|stnp)$/
}
function regsize(r,   c) {
  c = substr(r, 1, 1)
  if (c == "x") return 8
  if (c == "w") return 4
  if (c == "b") return 1
  if (c == "h") return 2
  if (c == "s") return 4
  if (c == "d") return 8
  if (c == "q") return 16
  return 0
}
function ordered(mn) { return mn ~ /^(ldar|ldlar|stlr|stllr|ldapr)[bh]?$/ || mn ~ /^(ldapur(b|h|sb|sh|sw)?|stlur[bh]?)$/ }
function atomic(mn) {
  return mn ~ /^(ld|st)(add|clr|eor|set|smax|smin|umax|umin)(a|l|al)?[bh]?$/ || mn ~ /^swp(a|l|al)?[bh]?$/ || mn ~ /^casp?(a|l|al)?[bh]?$/
}
# LDAR/STLR/LDAPR/RCpc and the LSE atomics: "op=<operation> ord=<a|l|al|->" follow the
# memory operand; regs list Rs then Rt (CASP: Rs, Rs+1, Rt, Rt+1; ST<op>: Rs, zr).
function expect_atomic(mn, ops,   o, regs, R, nr, mem, inner, P, np, disp, op, rest, sz, ord, size, zr) {
  o = index(ops, "[")
  regs = substr(ops, 1, o - 1); gsub(/[ ,]+$/, "", regs); gsub(/ /, "", regs)
  mem = substr(ops, o); if (mem !~ /\]$/) return "REFUSE"
  inner = substr(mem, 2, length(mem) - 2); np = split(inner, P, ", ")
  disp = np >= 2 ? substr(P[2], 2) + 0 : 0
  nr = split(regs, R, ",")
  if (ordered(mn)) {
    ord = mn ~ /^(stlr|stllr|stlur)/ ? "l" : "a"
    if (mn ~ /^(ldar|ldlar|stlr|stllr|ldapr|ldapur|stlur)b$/ || mn ~ /^ldapursb$/) size = 1
    else if (mn ~ /^(ldar|ldlar|stlr|stllr|ldapr|ldapur|stlur)h$/ || mn ~ /^ldapursh$/) size = 2
    else if (mn == "ldapursw") size = 4
    else size = regsize(R[1])
    return "ACCEPT kind=" (mn ~ /^ld/ ? "R" : "W") " size=" size " regs=" regs \
           " mem=base=" P[1] ",index=none,ext=none,shift=0,disp=" disp ",wb=none op=- ord=" ord
  }
  if (mn ~ /^cas/) { op = mn ~ /^casp/ ? "casp" : "cas"; rest = substr(mn, length(op) + 1) }
  else if (mn ~ /^swp/) { op = "swp"; rest = substr(mn, 4) }
  else { rest = substr(mn, 3); match(rest, /^(add|clr|eor|set|smax|smin|umax|umin)/); op = substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1) }
  sz = ""
  if (rest ~ /[bh]$/) { sz = substr(rest, length(rest)); rest = substr(rest, 1, length(rest) - 1) }
  ord = rest == "" ? "-" : rest
  if (mn ~ /^st/) { zr = substr(R[1], 1, 1) == "x" ? "xzr" : "wzr"; regs = regs "," zr } # ST<op>: Rt = zr
  size = sz == "b" ? 1 : sz == "h" ? 2 : regsize(R[1]) * (op == "casp" ? 2 : 1)
  return "ACCEPT kind=W size=" size " regs=" regs \
         " mem=base=" P[1] ",index=none,ext=none,shift=0,disp=" disp ",wb=none op=" op " ord=" ord
}
function hexword(s,   i, v) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
function expect(mn, ops, word,   o, regs, R, nr, i, mem, cl, inner, after, P, np, base, idx, ext, shift, disp, wb, E, elem, num, v) {
  if (mn ~ /^(ldar|ldlar|stlr|stllr)[bh]?$/) { # Rs and Rt2 are should-be-one fields: we refuse
    v = hexword(word)                           # the CONSTRAINED UNPREDICTABLE other values
    if (int(v / 65536) % 32 != 31 || int(v / 1024) % 32 != 31) return "REFUSE"
  }
  if ((ordered(mn) || atomic(mn)) && index(ops, "[")) return expect_atomic(mn, ops)
  if (!stepped(mn) || index(ops, "[") == 0) return "REFUSE"
  o = index(ops, "[")
  regs = substr(ops, 1, o - 1); gsub(/[ ,]+$/, "", regs); gsub(/ /, "", regs)
  mem = substr(ops, o)
  cl = index(mem, "]")
  inner = substr(mem, 2, cl - 2); after = substr(mem, cl + 1)
  np = split(inner, P, ", ")
  base = P[1]; idx = "none"; ext = "none"; shift = 0; disp = 0; wb = "none"
  if (np >= 2) {
    if (P[2] ~ /^#/) disp = substr(P[2], 2) + 0
    else { idx = P[2]; ext = "lsl" }
  }
  if (np >= 3) { split(P[3], E, " "); ext = E[1]; if (E[2] != "") shift = substr(E[2], 2) + 0 }
  if (after == "!") wb = "pre"
  else if (after ~ /^, #/) { wb = "post"; disp = substr(after, 4) + 0 }
  nr = split(regs, R, ",")
  for (i = 1; i <= nr; i++) {
    if (wb != "none" && base != "sp" && R[i] ~ /^[xw][0-9]+$/ && substr(R[i], 2) + 0 == substr(base, 2) + 0) return "REFUSE"
  }
  if (nr == 2 && mn ~ /^ld/ && R[1] == R[2]) return "REFUSE"
  if (mn ~ /^(ldrb|strb|ldrsb|ldurb|sturb|ldursb)$/) elem = 1
  else if (mn ~ /^(ldrh|strh|ldrsh|ldurh|sturh|ldursh)$/) elem = 2
  else if (mn ~ /^(ldrsw|ldursw|ldpsw)$/) elem = 4
  else elem = regsize(R[1])
  return "ACCEPT kind=" (mn ~ /^ld/ ? "R" : "W") " size=" elem * nr " regs=" regs \
         " mem=base=" base ",index=" idx ",ext=" ext ",shift=" shift ",disp=" disp ",wb=" wb
}
BEGIN { FS = "\t" }
/^[ ]*[0-9a-f]+:\t/ {
  a = $1; sub(/^[ ]+/, "", a); sub(/:$/, "", a)
  w = $2; gsub(/ /, "", w)
  if (length(w) != 8) next
  mn = $3; ops = $4
  sub(/[ ]*\/\/.*$/, "", ops); sub(/[ ]+$/, "", ops)
  text = $3 " " $4
  if (mn == ".word" || mn == ".short" || mn == ".byte") next    # data, not code
  if (mn == ".inst") { print "aarch64 " a " " w "\tREFUSE\t0\t" text; next }
  print "aarch64 " a " " w "\t" expect(mn, ops, w) "\t" akind(mn, ops) "\t" text
}
'

# ---- driver output -> counts, and the first disagreements --------------------------
COMPARE='
BEGIN { FS = "\t" }
{
  got = $1; gotk = $2; want = $3; wantk = $4; text = $5
  if (want == "SKIP") { skipped++; next }
  total++
  if (want ~ /^ACCEPT/) acc++; else ref++
  bad = got != want
  if (!bad && wantk != "-" && gotk != wantk) {
    if (gotk == "0" && want == "REFUSE" && wantk != "0") unknown++
    else bad = 1
  }
  if (bad) {
    failed++
    if (failed <= 20) printf("  DISAGREE %s: %s\n    want %s [%s]\n    got  %s [%s]\n", label, text, want, wantk, got, gotk)
  }
}
END {
  if (total == 0) { printf("  NOTHING COMPARED for %s (a broken pipeline?)\n", label); failed = 1 }
  printf("%s %d %d %d %d %d %d\n", label, total + 0, acc + 0, ref + 0, failed + 0, skipped + 0, unknown + 0) > summary
}
'

# ---- HotSpot JIT code: heap coverage (driver output -> counts) ----------------------
# A heap memory access: an instruction with a [..] operand whose base register is not
# the stack pointer, the thread register (r15) or rip, and is not lea, nop, a prefetch, a
# cache flush, a branch through memory or an fs:/gs: (thread-local) access.
COVERAGE='
BEGIN { FS = "\t" }
function heap(t,   c, mn, inner, P) {
  c = index(t, "#"); if (c) t = substr(t, 1, c - 1)
  sub(/^[ ]+/, "", t)
  match(t, /^[^ ]+/); mn = substr(t, 1, RLENGTH)
  while (mn ~ /^(lock|rep|repz|repnz|repe|repne|data16|addr32|notrack|bnd|rex(\.[WRXB]+)?|cs|ds|es|ss|fs|gs|\{[a-z]+\})$/) {
    t = substr(t, RLENGTH + 1); sub(/^[ ]+/, "", t); match(t, /^[^ ]+/); mn = substr(t, 1, RLENGTH)
  }
  if (mn ~ /^(lea|nop|prefetch|clflush|clwb|cldemote|call|jmp|bnd)/) return ""
  if (t ~ /(fs|gs):/) return ""
  if (!match(t, /\[[^]]*\]/)) return ""
  inner = substr(t, RSTART + 1, RLENGTH - 2)
  split(inner, P, /[+-]/)
  if (P[1] ~ /[*]/ || P[1] ~ /^0x/ || P[1] ~ /^(rsp|esp|r15|rip)$/) return ""
  return mn
}
{ mn = heap($5); if (mn == "") next; total++
  if ($1 ~ /^ACCEPT/) stepped++; else { R[mn]++ } }
END {
  printf("coverage %s: %d heap memory-access instructions, %d step (%.2f%%)\n", label, total, stepped, total ? 100 * stepped / total : 0)
  n = 0; for (m in R) { M[++n] = m }
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (R[M[j]] > R[M[i]]) { t = M[i]; M[i] = M[j]; M[j] = t }
  line = ""; for (i = 1; i <= n && i <= 12; i++) line = line sprintf(" %s %d", M[i], R[M[i]])
  if (n) printf("  refused, most frequent first:%s\n", line)
}
'

# aarch64 (objdump's text in field 5: "mnemonic operands"): an instruction with a [..]
# operand whose base is not sp (the stack) or x28 (rthread, HotSpot's thread register), and
# is not a prefetch (prfm, prfum); DC ZVA/GVA/GZVA with such a base count too (they write a
# block of zeros). PC-relative accesses (load literal) have no [..] and are not counted.
# x27 (rheapbase, the compressed-oops base when the heap is not zero-based) and x29 (which
# C2 allocates like any other register) count: through them the code reaches the heap.
COVERAGE_ARM='
BEGIN { FS = "\t" }
function heap(t,   mn, ops, inner, P) {
  match(t, /^[^ ]+/); mn = substr(t, 1, RLENGTH); ops = substr(t, RLENGTH + 2)
  if (mn ~ /^(prfm|prfum|prf[bhwd])$/) return ""
  if (mn == "dc") return (ops ~ /^(zva|gva|gzva),/ && ops !~ /, (sp|x28)$/) ? "dc." substr(ops, 1, index(ops, ",") - 1) : ""
  if (!match(ops, /\[[^]]*\]/)) return ""
  inner = substr(ops, RSTART + 1, RLENGTH - 2)
  split(inner, P, ", ")
  if (P[1] ~ /^(sp|x28)$/) return ""
  return mn
}
{ mn = heap($5); if (mn == "") next; total++
  if ($1 ~ /^ACCEPT/) stepped++; else { R[mn]++ } }
END {
  printf("coverage %s: %d heap memory-access instructions, %d step (%.2f%%)\n", label, total, stepped, total ? 100 * stepped / total : 0)
  n = 0; for (m in R) { M[++n] = m }
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (R[M[j]] > R[M[i]]) { t = M[i]; M[i] = M[j]; M[j] = t }
  line = ""; for (i = 1; i <= n && i <= 12; i++) line = line sprintf(" %s %d", M[i], R[M[i]])
  if (n) printf("  refused, most frequent first:%s\n", line)
}
'

# The compiled methods of a PrintAssembly log (JDK 17+ without hsdis prints the code bytes
# in hex), C1 or C2 ("Compiled method (c1)"), as one hex string: each [MachCode] block's
# bytes in address order, the blocks separated by 16 bytes of sep (x86-64: int3, cc;
# aarch64: udf #0, 00).
EXTRACT='
/^Compiled method \(/ { keep = ($0 ~ "^Compiled method \\(" comp "\\)"); next }
/^\[MachCode\]/ { inmc = keep; next }
/^\[\/MachCode\]/ { if (inmc) for (i = 0; i < 16; i++) printf("%s", sep); inmc = 0; next }
inmc && /^  0x[0-9a-f]+: [0-9a-f][0-9a-f]/ {
  line = $0; sub(/^  0x[0-9a-f]+: /, "", line); gsub(/[ |]/, "", line); printf("%s", line)
}
END { printf("\n") }
'

summary="$out/summary.txt"
: > "$summary"

run_set() { # arch cc objdump flags...
  arch=$1; cc=$2; objdump=$3; shift 3
  for prog in "$here"/prog_*.c; do
    name=$(basename "$prog" .c)
    for flags in "$@"; do
      tag=$(echo "$flags" | tr -c 'A-Za-z0-9=.\n-' '_' | tr -s '_')
      bin="$out/$arch/$name$tag"
      mkdir -p "$out/$arch"
      # shellcheck disable=SC2086
      $cc $flags -w -o "$bin" "$prog"
      if [ "$arch" = x86_64 ]; then
        $objdump -d -M intel --insn-width=16 "$bin" | awk "$PREP_X86"
      else
        $objdump -d "$bin" | awk "$PREP_ARM"
      fi | "$out/difftest" | awk -v label="$arch:$name$tag" -v summary="$out/one.txt" "$COMPARE"
      cat "$out/one.txt" >> "$summary"
    done
  done
}

x86_cc=""; x86_objdump=""
if [ "$host" = x86_64 ] && have gcc && have objdump; then x86_cc=gcc; x86_objdump=objdump
elif have x86_64-linux-gnu-gcc && have x86_64-linux-gnu-objdump; then
  x86_cc=x86_64-linux-gnu-gcc; x86_objdump=x86_64-linux-gnu-objdump
fi
arm_cc=""; arm_objdump=""
if [ "$host" = aarch64 ] && have gcc && have objdump; then arm_cc=gcc; arm_objdump=objdump
elif have aarch64-linux-gnu-gcc && have aarch64-linux-gnu-objdump; then
  arm_cc=aarch64-linux-gnu-gcc; arm_objdump=aarch64-linux-gnu-objdump
fi

if [ -n "$x86_cc" ]; then
  run_set x86_64 "$x86_cc" "$x86_objdump" -O0 -O1 -O2 -O3 "-O2 -fstack-protector-all" \
    "-O2 -fno-pie -no-pie" "-O3 -march=x86-64-v3" "-Os -static"
  # Generated: 20,000 EVEX encodings of the move opcodes (10 11 28 29 6F 7F 6E 7E D6) with
  # random pp, W, vector length (L'L 11 too), opmask, {z}, EVEX.b, V', vvvv, R/R'/X/B and
  # addressing forms (disp8*N, SIB, rip-relative, register direct), as raw bytes.
  if have xxd; then
    awk -v starts="$out/x86_64/gen_evex.starts" -v pad=cccccccccccccccccccccccccccccccc 'BEGIN { srand(62); split("10 11 28 29 6f 7f 6e 7e d6", O, " ")
      for (i = 0; i < 20000; i++) {
        r = rand() < 0.5; x = rand() < 0.8; b = rand() < 0.8; rr = rand() < 0.5
        p0 = r * 128 + x * 64 + b * 32 + rr * 16 + 1
        if (rand() < 0.03) p0 += 8
        vvvv = rand() < 0.95 ? 15 : int(rand() * 16)
        p1 = int(rand() * 2) * 128 + vvvv * 8 + (rand() < 0.97 ? 4 : 0) + int(rand() * 4)
        aaa = rand() < 0.4 ? 0 : int(rand() * 8)
        p2 = (rand() < 0.25 ? 128 : 0) + int(rand() * 4) * 32 + (rand() < 0.1 ? 16 : 0) + (rand() < 0.95 ? 8 : 0) + aaa
        op = O[1 + int(rand() * 9)]; reg = int(rand() * 8); f = int(rand() * 6)
        if (f == 0) m = sprintf("%02x", reg * 8 + 3)
        else if (f == 1) m = sprintf("%02x%02x", 64 + reg * 8 + 3, int(rand() * 256))
        else if (f == 2) m = sprintf("%02x%02x%02x", 64 + reg * 8 + 4, int(rand() * 256), int(rand() * 256))
        else if (f == 3) m = sprintf("%02x%02x%02x00%02x", 128 + reg * 8 + 4, int(rand() * 256), int(rand() * 256), int(rand() * 2) * 255)
        else if (f == 4) m = sprintf("%02x%02x000000", reg * 8 + 5, int(rand() * 256))
        else m = sprintf("%02x", 192 + reg * 8 + int(rand() * 8))
        printf("62%02x%02x%02x%s%s%s", p0, p1, p2, op, m, pad)
        printf("%x\n", at) > starts; at += 5 + length(m) / 2 + 16 } }' \
      | xxd -r -p > "$out/x86_64/gen_evex.bin"
    # each followed by 16 int3 (cc) bytes, so that objdump is back in step after an
    # encoding it calls bad; compared at the generated instructions only
    $x86_objdump -D -b binary -m i386:x86-64 -M intel --insn-width=16 "$out/x86_64/gen_evex.bin" \
      | awk "$PREP_X86" | awk 'NR == FNR { S[$1] = 1; next } { split($0, W, " ") } W[2] in S' \
        "$out/x86_64/gen_evex.starts" - \
      | "$out/difftest" | awk -v label="x86_64:gen_evex" -v summary="$out/one.txt" "$COMPARE"
    cat "$out/one.txt" >> "$summary"
  fi
else
  echo "difftest: x86-64 half skipped: no x86-64 gcc and objdump (on x86-64 hosts: gcc, binutils)"
fi
if [ -n "$arm_cc" ]; then
  run_set aarch64 "$arm_cc" "$arm_objdump" -O0 -O1 -O2 -O3 "-O2 -march=armv8.1-a" \
    "-O2 -mno-outline-atomics" "-O3 -march=armv8.2-a" "-Os -static"
  # Generated: 30,000 random words of the ordered/CAS class, the atomic-operation class and
  # the RCpc unscaled class (every size, ordering, operation and register field; objdump
  # names what is allocated and shows the rest as undefined), assembled as .inst words.
  awk 'BEGIN { srand(12); for (i = 0; i < 30000; i++) {
    c = i % 3; size = int(rand() * 4); rn = int(rand() * 32); rt = int(rand() * 32)
    rs = rand() < 0.5 ? 31 : int(rand() * 32)
    if (c == 0) w = size * 2^30 + 8 * 2^24 + int(rand() * 2) * 2^23 + int(rand() * 2) * 2^22 + int(rand() * 2) * 2^21 + rs * 2^16 + int(rand() * 2) * 2^15 + (rand() < 0.7 ? 31 : int(rand() * 32)) * 2^10 + rn * 32 + rt
    else if (c == 1) w = size * 2^30 + 56 * 2^24 + int(rand() * 4) * 2^22 + 2^21 + rs * 2^16 + int(rand() * 16) * 2^12 + rn * 32 + rt
    else w = size * 2^30 + 25 * 2^24 + int(rand() * 4) * 2^22 + int(rand() * 512) * 2^12 + rn * 32 + rt
    printf(".inst %.0f\n", w) } }' > "$out/gen_atomics.s"
  mkdir -p "$out/aarch64"
  aarch64_as=$(echo "$arm_objdump" | sed 's/objdump$/as/')
  if have "$aarch64_as"; then
    "$aarch64_as" -o "$out/aarch64/gen_atomics.o" "$out/gen_atomics.s"
    "$arm_objdump" -d "$out/aarch64/gen_atomics.o" | awk "$PREP_ARM" | "$out/difftest" \
      | awk -v label="aarch64:gen_atomics" -v summary="$out/one.txt" "$COMPARE"
    cat "$out/one.txt" >> "$summary"
  fi
else
  echo "difftest: aarch64 half skipped: aarch64-linux-gnu-gcc or aarch64-linux-gnu-objdump" \
       "is missing (Debian: apt-get install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu)"
fi

# jit_compare ARCH DIR COMP LABEL: DIR/COMP.bin (code bytes from EXTRACT) disassembled by
# objdump, compared with the decoder like the rest, and the heap coverage printed.
jit_compare() {
  if [ "$1" = x86_64 ]; then
    $x86_objdump -D -b binary -m i386:x86-64 -M intel --insn-width=16 "$2/$3.bin" | awk "$PREP_X86"
  else
    $arm_objdump -D -b binary -m aarch64 "$2/$3.bin" | awk "$PREP_ARM"
  fi | "$out/difftest" > "$2/$3.out"
  awk -v label="$1:hotspot-$3" -v summary="$out/one.txt" "$COMPARE" "$2/$3.out"
  cat "$out/one.txt" >> "$summary"
  if [ "$1" = x86_64 ]; then cov=$COVERAGE; else cov=$COVERAGE_ARM; fi
  awk -v label="$4" "$cov" "$2/$3.out"
}
# comp_flags NAME: the JVM flags of a corpus: c1 (C1 only), c2 (C2 only), *-nolse (no LSE).
comp_flags() {
  case $1 in c1*) printf '%s' -XX:TieredStopAtLevel=1 ;; *) printf '%s' -XX:-TieredCompilation ;; esac
  case $1 in *-nolse) printf ' %s' -XX:-UseLSE ;; esac
}

# HotSpot's own JIT code (issue 12): a short workload run with PrintAssembly under C1 and
# under C2 (about 3 s each), the code bytes disassembled by objdump and compared with the
# decoder like the rest, and the heap coverage printed.  JAVA selects the JVM (default:
# java on the PATH); skipped without java/javac or off x86-64.
JAVA=${JAVA:-java}
if [ -n "$x86_cc" ] && [ "$host" = x86_64 ] && have "$JAVA" && have javac && have xxd; then
  mkdir -p "$out/jit"
  javac -d "$out/jit" "$here/JitWorkload.java"
  jver=$("$JAVA" -version 2>&1 | head -1)
  for comp in c1 c2; do
    # shellcheck disable=SC2046
    "$JAVA" -XX:+UnlockDiagnosticVMOptions -XX:+PrintAssembly $(comp_flags $comp) -cp "$out/jit" JitWorkload 60 \
      > "$out/jit/$comp.txt" 2>&1
    awk -v comp=$comp -v sep=cc "$EXTRACT" "$out/jit/$comp.txt" | xxd -r -p > "$out/jit/$comp.bin"
    jit_compare x86_64 "$out/jit" $comp "x86_64 HotSpot $comp ($jver)"
  done
else
  echo "difftest: the x86-64 HotSpot JIT corpus is skipped (needs x86-64, $JAVA, javac and xxd)"
fi

# aarch64 HotSpot code: the same workload on an aarch64 JDK 17, on an x86-64 host the
# Debian arm64 JDK that mps-prot/scripts/aarch64-java.sh prepares (--prepare: fetched once
# into its cache, then reused) run under qemu-aarch64 (its default CPU, "max", has LSE:
# HotSpot uses CAS/LDADD/SWP), on an aarch64 host JAVA. Four corpora: C1, C2, and both
# again with -XX:-UseLSE (what an ARMv8.0 core without LSE runs: exclusive pairs). The
# captured code (about 25 s under qemu) is kept in $out/jit-aarch64/<key>, the key naming
# the JDK package, the qemu version and JitWorkload.java's checksum, so the second
# `make check` of a CI run (the JDK 25 pass) reuses it; delete the directory to capture
# again. Without the JDK (no qemu-aarch64, no network for the first fetch, ...) a SKIPPED
# line gives the reason; with REQUIRE_CROSS=1 (CI) that is an error.
a64_error=""
a64_jit() {
  t_all=$(date +%s)
  if [ -z "$arm_cc" ]; then
    echo "coverage: aarch64 HotSpot code: SKIPPED: no aarch64 objdump (see above)"; return 0
  fi
  for tool in javac xxd; do
    have $tool || { echo "coverage: aarch64 HotSpot code: SKIPPED: no $tool"; return 0; }
  done
  if [ "$host" = aarch64 ]; then
    have "$JAVA" || { echo "coverage: aarch64 HotSpot code: SKIPPED: no $JAVA"; return 0; }
    a64_run() { "$JAVA" "$@"; }
    a64_ver=$("$JAVA" -version 2>&1 | head -1); a64_pkg=host
    key=$(printf '%s\n' "$a64_ver" | cksum | cut -d' ' -f1)
  else
    script=$(cd "$here/../../../.." && pwd)/mps-prot/scripts/aarch64-java.sh
    if [ ! -f "$script" ] || ! have bash; then
      echo "coverage: aarch64 HotSpot code: SKIPPED: no $script or no bash"; return 0
    fi
    if ! prep=$(bash "$script" --prepare 2>&1); then
      printf '%s\n' "$prep" | sed 's/^/  /'
      a64_error="the aarch64 JDK for the HotSpot corpus could not be prepared (see above)"
      return 0
    fi
    printf '%s\n' "$prep" | grep -v -e '^aarch64-java: prepared ' -e '^aarch64-java: SKIPPED: ' | sed 's/^/  /'
    line=$(printf '%s\n' "$prep" | grep '^aarch64-java: prepared ' | tail -1)
    if [ -z "$line" ]; then
      echo "coverage: aarch64 HotSpot code: SKIPPED: $(printf '%s\n' "$prep" | grep SKIPPED | tail -1 | sed 's/^aarch64-java: SKIPPED: //')"
      return 0
    fi
    a64_root=$(printf '%s\n' "$line" | sed 's/^aarch64-java: prepared root=\(.*\) java=.* version=.*$/\1/')
    a64_java=$(printf '%s\n' "$line" | sed 's/^aarch64-java: prepared root=.* java=\(.*\) version=.*$/\1/')
    a64_pkg=$(printf '%s\n' "$line" | sed 's/^aarch64-java: prepared root=.* java=.* version=\(.*\)$/\1/')
    a64_run() { qemu-aarch64 -L "$a64_root" "$a64_java" "$@"; }
    a64_ver="$a64_pkg, $(qemu-aarch64 --version | head -1 | sed 's/ *(.*//')"
    key=$(printf '%s\n' "$a64_ver" | cksum | cut -d' ' -f1)
  fi
  key=$(printf '%s' "$a64_pkg" | tr -c 'A-Za-z0-9.+~-' '_')-$key-$(cksum < "$here/JitWorkload.java" | cut -d' ' -f1)
  dir=$out/jit-aarch64/$key
  if [ -f "$dir/complete" ]; then
    echo "coverage: aarch64 HotSpot code: reusing the corpus captured in $dir"
  else
    t0=$(date +%s)
    rm -rf "$dir"; mkdir -p "$dir/classes"
    javac --release 17 -d "$dir/classes" "$here/JitWorkload.java"
    for comp in c1 c2 c1-nolse c2-nolse; do
      # shellcheck disable=SC2046
      a64_run -XX:+UnlockDiagnosticVMOptions -XX:+PrintAssembly $(comp_flags $comp) -cp "$dir/classes" \
        JitWorkload 60 > "$dir/$comp.txt" 2>&1 || { a64_error="the aarch64 JVM failed (PrintAssembly, $comp): see $dir/$comp.txt"; return 0; }
      awk -v comp="${comp%-nolse}" -v sep=00 "$EXTRACT" "$dir/$comp.txt" | xxd -r -p > "$dir/$comp.bin"
    done
    printf '%s\n' "$a64_ver" > "$dir/complete"
    echo "coverage: aarch64 HotSpot code captured in $(( $(date +%s) - t0 )) s (kept in $dir)"
  fi
  for comp in c1 c2 c1-nolse c2-nolse; do
    case $comp in *-nolse) what="${comp%-nolse}, -XX:-UseLSE: no ARMv8.1 atomics" ;; *) what=$comp ;; esac
    jit_compare aarch64 "$dir" $comp "aarch64 HotSpot $what ($(cat "$dir/complete"))"
  done
  echo "coverage: aarch64 HotSpot code: $(( $(date +%s) - t_all )) s in all"
}
a64_jit

rc=0
awk '
{ a = $1; sub(/:.*/, "", a); T[a] += $2; A[a] += $3; R[a] += $4; F[a] += $5; S[a] += $6; U[a] += $7 }
END {
  for (a in T) {
    printf("difftest %s: %d instructions compared (%d stepped forms, %d refused), %d disagreed", a, T[a], A[a], R[a], F[a])
    if (S[a]) printf(", %d skipped (redundant prefixes objdump names)", S[a])
    if (U[a]) printf(", %d memory instructions outside the stepped set with access_kind 0 (unknown)", U[a])
    printf("\n"); tt += T[a]; ff += F[a]
  }
  printf("difftest: %d passed, %d failed\n", tt - ff, ff)
  exit ff != 0
}' "$summary" || rc=1
if [ -n "$a64_error" ]; then echo "difftest: FAILED: $a64_error"; rc=1; fi
exit $rc
