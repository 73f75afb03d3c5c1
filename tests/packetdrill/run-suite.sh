#!/usr/bin/env bash
# Runs tcpstate's packetdrill runner (examples/packetdrill.rs) over every
# `*.pkt` under DIR, each from its own folder (so that `../common/...`
# resolves as with the real tool), and prints one line per script:
# `PASS path`, `FAIL path:LINE: why` or `UNSUPPORTED path:LINE: what`, with
# paths relative to DIR, sorted. The counts go to stderr.
#
#   tests/packetdrill/run-suite.sh DIR [RUNNER-OPTION...]
#
# Used for the public collections: google/packetdrill's gtests/net/tcp
# (tests/packetdrill/linux-suite.sh makes LINUX.md from it), nplab's
# packetdrill, ligurio/packetdrill-testcases and freebsd-net/tcp-testsuite.
set -euo pipefail

if [ $# -lt 1 ]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
dir=$(cd "$1" && pwd)
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$repo" && cargo build --quiet --features testing --example packetdrill)
runner=${CARGO_TARGET_DIR:-$repo/target}/debug/examples/packetdrill

out=$(mktemp)
trap 'rm -f "$out"' EXIT
(cd "$dir" && find . -name '*.pkt' | sed 's|^\./||' | sort) | while read -r s; do
    base=$(basename "$s")
    # At most 60 s and 4 GB each: a runaway script cannot take the machine.
    line=$(cd "$dir/$(dirname "$s")" && ulimit -v 4000000 &&
        timeout 60 "$runner" "$@" "$base" | tail -n 1) ||
        true
    [ -n "$line" ] || line="FAIL $base:0: the runner did not finish in 60 s"
    # The runner names the script as it was given; put the path back.
    printf '%s\n' "$line" | sed "s|^\([A-Z]*\) $base|\1 $s|"
done | tee "$out"
printf '%s PASS, %s FAIL, %s UNSUPPORTED of %s scripts under %s\n' \
    "$(grep -c '^PASS' "$out" || true)" "$(grep -c '^FAIL' "$out" || true)" \
    "$(grep -c '^UNSUPPORTED' "$out" || true)" "$(wc -l <"$out")" "$dir" >&2
