#!/usr/bin/env bash
# Runs this project's own scripts (tests/packetdrill/*.pkt) against this
# machine's Linux kernel with the real packetdrill tool, as linux-oracle.sh
# runs the upstream suite: each script with `defaults.sh` first, in a
# network namespace of its own, under CUBIC. Root only. Prints one line per
# script, `NAME PASSES/RUNS`; logs go to $LOG_DIR.
#
#   sudo tests/packetdrill/linux-own.sh SUITE PACKETDRILL [RUNS] [SCRIPT...]
#
# SUITE is a checkout of google/packetdrill's gtests/net (for
# common/defaults.sh and set_sysctls.py, which are not copied here); the
# scripts default to every *.pkt in tests/packetdrill.
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
suite=$(cd "$1" && pwd)
pd=$2
runs=${3:-3}
shift $(($# < 3 ? $# : 3))
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/common" "$tree/tcp"
cp "$suite/common/"* "$tree/common/"
# set_sysctls.py lives in tcp/common/ (upstream's scripts reach it as
# ../../common/ from their folders; ours, one level up, as ../common/).
if [ -d "$suite/tcp/common" ]; then
    cp -L "$suite/tcp/common/"* "$tree/common/"
fi
if [ $# -eq 0 ]; then
    set -- $(cd "$here" && ls ./*.pkt | sed 's|^\./||')
fi
for s in "$@"; do
    # `defaults.sh` after the header comments and `--option` lines (the
    # tool takes options only before the first command), unless the
    # script runs it itself.
    awk '/defaults\.sh/ { done = 1 }
        !done && !/^(\/\/.*|--.*|[[:space:]]*)$/ { print "`../common/defaults.sh`"; done = 1 }
        { print }' "$here/$(basename "$s")" >"$tree/tcp/$(basename "$s")"
done
out=$(mktemp)
LOG_DIR=${LOG_DIR:-$here/../../target/linux-own} \
    "$here/linux-oracle.sh" "$tree" "$pd" "$runs" "$out" "$@" >/dev/null
cat "$out"
rm -f "$out"
