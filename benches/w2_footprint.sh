#!/usr/bin/env bash
# W2's code footprint: how much distinct machine code one connection's
# life (connect, handshake, request, response, close, TIME-WAIT) runs
# through, and what that costs in instruction-cache misses, tcpstate and
# smoltcp 0.14.0 side by side. Deterministic (valgrind callgrind).
#
# - footprint: the instructions of the bench binary that `compare --w2
#   ENGINE N` executes at least N times (on average once per connection
#   or more), their bytes, and the 64-byte cache lines they lie in; with
#   the line count, the share of those lines' bytes that is executed code;
# - I1 misses per connection: callgrind's cache simulation (the host's
#   L1i, 32 KiB 8-way here), (misses at 2N - misses at N) / N;
# - Ir per connection, the same way, and split by the kind of source file
#   the executed code comes from (engine, host, inlined std, copies,
#   checksums; benches/cg_split.py).
#
# A connection whose lines do not fit in L1i misses on most of them every
# time: those misses (10-15 cycles each from L2) come on top of Ir, which
# is why W2's wall-clock ratio is worse than its Ir ratio.
#
# Usage: benches/w2_footprint.sh [N]     (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
. benches/bench_exe.sh
needs "W2 footprint" valgrind objdump python3
exe=$(bench_exe compare)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
objdump -d --no-show-raw-insn "$exe" >"$out/dis.txt"

for engine in tcpstate smoltcp; do
  valgrind --tool=callgrind --dump-instr=yes --dump-line=no --compress-pos=no --compress-strings=no \
    --callgrind-out-file="$out/$engine.instr" \
    "$exe" --w2 "$engine" "$N" >/dev/null 2>&1
  for n in "$N" $((2 * N)); do
    valgrind --tool=callgrind --cache-sim=yes --compress-strings=no --compress-pos=no \
      --callgrind-out-file="$out/$engine.cache.$n" \
      "$exe" --w2 "$engine" "$n" >/dev/null 2>"$out/$engine.cache.$n.log"
  done
done

python3 - "$out" "$exe" "$N" <<'PY'
import re, sys
sys.path.insert(0, "benches")
import cg_split
out, exe, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

# Instruction sizes from the disassembly (the distance to the next one).
sizes, prev = {}, None
for line in open(f"{out}/dis.txt"):
    if re.match(r"^[0-9a-f]+ <", line):
        prev = None
        continue
    m = re.match(r"^\s+([0-9a-f]+):", line)
    if m:
        a = int(m.group(1), 16)
        if prev is not None:
            sizes[prev] = min(a - prev, 15)
        prev = a

def footprint(path):
    """Self cost per instruction address of the bench binary's object."""
    counts = {}
    for ob, _, pos, ir in cg_split.self_costs(path):
        if ob == exe:
            a = int(pos, 16)
            counts[a] = counts.get(a, 0) + ir
    hot = [a for a, c in counts.items() if c >= n and a in sizes]
    lines = {a // 64 for a in hot}
    nbytes = sum(sizes[a] for a in hot)
    return len(hot), nbytes, len(lines)

def cache(engine, k):
    text = open(f"{out}/{engine}.cache.{k}.log").read()
    ir = int(re.search(r"I\s+refs:\s+([\d,]+)", text).group(1).replace(",", ""))
    i1 = int(re.search(r"I1\s+misses:\s+([\d,]+)", text).group(1).replace(",", ""))
    return ir, i1

print(f"W2 code footprint (instructions run at least {n} times in {n} connections)")
for engine in ("tcpstate", "smoltcp"):
    k, b, l = footprint(f"{out}/{engine}.instr")
    ir1, i11 = cache(engine, n)
    ir2, i12 = cache(engine, 2 * n)
    print(
        f"{engine:9} {k:6,} instructions, {b:7,} B in {l:5,} lines of 64 B "
        f"({l * 64:7,} B, {b / (l * 64):.0%} executed); per connection: "
        f"{round((ir2 - ir1) / n):8,} Ir, {round((i12 - i11) / n) + 0:6,} I1 misses"
    )
print("Ir per connection by kind of source file (benches/cg_split.py)")
for engine in ("tcpstate", "smoltcp"):
    split = cg_split.per_unit(f"{out}/{engine}.cache.{n}", f"{out}/{engine}.cache.{2 * n}", n)
    print(f"{engine:9} {cg_split.text(split)}")
PY
