#!/usr/bin/env bash
# W4: instructions (valgrind callgrind, Ir) per in-order 1460-byte data
# segment on the receive path (W4-rx: IPv4 parse and validation, checksums,
# lookup, state machine, copy into the receive buffer) and on the send path
# (W4-tx: the sender's output step: segment choice, copy out of the send
# buffer, TCP and IPv4 headers, checksums). tcpstate and smoltcp 0.14.0 side
# by side, with and without checksums.
#
# Each engine runs the W1 per-packet traffic twice, with N1 and N2 data
# segments; callgrind counts only the server's receive function
# (`w4_rx_<engine>`) or the client's send function (`w4_tx_<engine>`),
# and the figure is (Ir(N2) - Ir(N1)) / (segments(N2) - segments(N1)), so
# the handshake and warm-up cancel out.
#
# Usage: benches/w4.sh [N1 N2]     (default 2000 12000)
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${1:-2000}
N2=${2:-12000}
. benches/bench_exe.sh
needs "W4" valgrind
exe=$(bench_exe compare)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# ir PATH ENGINE N [--no-csum] -> "IR SEGMENTS"
ir() {
  local path=$1 engine=$2 n=$3; shift 3
  local log="$out/$path-$engine-$n$*.log"
  valgrind --tool=callgrind --toggle-collect="*w4_${path}_${engine}*" \
    --callgrind-out-file="$out/cg.out" "$exe" --w4 "$engine" "$n" "$@" >"$log.stdout" 2>"$log"
  local collected segs
  collected=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")
  segs=$(sed -n 's/^w4 pass [a-z]*: \([0-9]*\) data segments.*/\1/p' "$log.stdout")
  echo "$collected $segs"
}


# fused: tcpstate's host lets the engine verify the TCP checksum
# (Connection::on_segment_unverified); smoltcp's side is W4-rx's.
for path in rx tx; do
  modes=(csum nocsum)
  if [ $path = rx ]; then modes=(csum fused nocsum); fi
  for mode in "${modes[@]}"; do
    flag=()
    label="W4-$path"
    if [ $mode = nocsum ]; then flag=(--no-csum); label="W4-$path-nocsum"; fi
    if [ $mode = fused ]; then flag=(--fused); label="W4-$path-fused"; fi
    declare -A r=()
    for engine in tcpstate smoltcp; do
      f=("${flag[@]}")
      if [ $engine = smoltcp ] && [ $mode = fused ]; then f=(); fi
      read -r i1 s1 <<<"$(ir $path $engine "$N1" "${f[@]}")"
      read -r i2 s2 <<<"$(ir $path $engine "$N2" "${f[@]}")"
      r[$engine]=$(( (i2 - i1) / (s2 - s1) ))
    done
    ratio=$(awk -v t="${r[tcpstate]}" -v s="${r[smoltcp]}" 'BEGIN { printf "%.2f", s / t }')
    echo "$label tcpstate ${r[tcpstate]} Ir smoltcp ${r[smoltcp]} Ir ratio $ratio"
  done
done
