#!/usr/bin/env bash
# Instructions (valgrind callgrind, Ir) per data datagram through two
# Endpoints in a bulk transfer (benches/endpoint_bulk.rs): the sender's
# `poll_transmit` (tx: segment choice, copy out of the send buffer, the
# header written in front of the payload, checksum or its offload) and the
# receiver's `on_datagram` (rx: parse, lookup, checksum, state machine,
# copy into the receive buffer), in three modes: plain (software
# checksums), offload (checksums left to the device), gso (64 KiB
# super-segments, offload).
#
# Each mode runs twice (M1 and M2 MiB); the figure is the difference in Ir
# over the difference in datagrams, so setup and handshake cancel out.
#
# Usage: benches/endpoint_bulk.sh [M1 M2]     (default 4 8)
set -euo pipefail
cd "$(dirname "$0")/.."
M1=${1:-4}
M2=${2:-8}
. benches/bench_exe.sh
needs "endpoint_bulk" valgrind
exe=$(bench_exe endpoint_bulk)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# ir MODE MIB TOGGLE... -> "IR DATAGRAMS"
ir() {
  local mode=$1 mib=$2; shift 2
  local log="$out/$mode-$mib.log" toggles=()
  for t in "$@"; do toggles+=(--toggle-collect="$t"); done
  valgrind --tool=callgrind "${toggles[@]}" --callgrind-out-file="$out/cg.out" \
    "$exe" --mode "$mode" --mib "$mib" --reps 1 >"$log.stdout" 2>"$log"
  echo "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")" \
    "$(sed -n 's/.*MiB, \([0-9]*\) datagrams.*/\1/p' "$log.stdout")"
}

for path in tx rx; do
  # The sender's loop calls hand_over for each datagram: toggled off
  # inside it for tx, and the only thing counted for rx.
  if [ $path = tx ]; then toggles=('*sender_tx*' '*hand_over*'); else toggles=('*hand_over*'); fi
  for mode in plain offload gso; do
    read -r i1 d1 <<<"$(ir $mode "$M1" "${toggles[@]}")"
    read -r i2 d2 <<<"$(ir $mode "$M2" "${toggles[@]}")"
    echo "endpoint-$path-$mode $(( (i2 - i1) / (d2 - d1) )) Ir per datagram"
  done
done
