#!/usr/bin/env bash
# W1 in instructions: what one 1460-byte data segment of bulk transfer
# costs each engine, and the no-protocol floor, counted by valgrind's
# callgrind (deterministic, unlike W1's MB/s on a shared machine, whose
# run-to-run spread is wider than the gaps it is asked to show).
#
# For each of tcpstate, smoltcp 0.14.0 and the two floors of
# `compare.rs` (`floor`: 4 copies + 2 checksums per byte, `floor3`: 3
# copies + 2 checksums, no protocol, no packets, no IP header), batch and
# per-packet, with checksums: (Ir at N2 MiB - Ir at N1 MiB) / the data
# segments between, so the setup cancels out. Then the 3-copy floor's
# share of tcpstate's instructions (W1's target is 85 % of that floor in
# MB/s), and where tcpstate's and the floor's instructions per segment
# go, by the kind of source file the executed code comes from (see
# benches/cg_split.py: copies, checksums, engine, host, std, other; for
# the floor, "engine" is tcpstate's RingBuffer, which it borrows, and
# "host" its loop).
#
# Usage: benches/w1_ir.sh [N1 N2]     (MiB; default 4 12)
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${1:-4}
N2=${2:-12}
. benches/bench_exe.sh
needs "W1 Ir" valgrind python3
exe=$(bench_exe compare)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for mode in batch per-packet; do
  for engine in tcpstate smoltcp floor floor3; do
    for n in "$N1" "$N2"; do
      valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$out/$engine.$mode.$n" \
        "$exe" --one "$engine" "$n" "$mode" >/dev/null 2>&1
    done
  done
done

python3 - "$out" "$N1" "$N2" <<'PY'
import sys
sys.path.insert(0, "benches")
import cg_split
out, n1, n2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Every run moves whole 1460-byte segments of a MiB-multiple stream.
segs = ((n2 - n1) << 20) / 1460
print(f"W1 Ir per 1460-byte data segment, checksums on ((Ir at {n2} MiB - Ir at {n1} MiB) / segments)")
for mode in ("batch", "per-packet"):
    rows = {
        e: cg_split.per_unit(f"{out}/{e}.{mode}.{n1}", f"{out}/{e}.{mode}.{n2}", segs)
        for e in ("tcpstate", "smoltcp", "floor", "floor3")
    }
    tot = {e: sum(r.values()) for e, r in rows.items()}
    print(f"{mode}: tcpstate {tot['tcpstate']:,.0f}, smoltcp {tot['smoltcp']:,.0f}, "
          f"floor (4 copies) {tot['floor']:,.0f}, floor3 (3 copies) {tot['floor3']:,.0f}; "
          f"floor3 / tcpstate = {tot['floor3'] / tot['tcpstate']:.0%}")
    for e in ("tcpstate", "floor", "floor3"):
        print(f"    {e:8}: {cg_split.text(rows[e])}")
PY
