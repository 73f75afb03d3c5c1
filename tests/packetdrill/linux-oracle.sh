#!/usr/bin/env bash
# Linux's column of tests/packetdrill/LINUX.md: runs every script of
# google/packetdrill's gtests/net/tcp against this machine's kernel with the
# real packetdrill tool, each script in a network namespace of its own that
# is deleted afterwards. Root only. Writes one line per script,
# `NAME PASSES/RUNS`, to OUT (default tests/packetdrill/linux-verdicts.txt);
# a script is Linux-passing when PASSES >= 1.
#
#   sudo tests/packetdrill/linux-oracle.sh SUITE PACKETDRILL [RUNS] [OUT] [SCRIPT...]
#
# With SCRIPT names (paths under tcp/, as in OUT), only those run and their
# lines in OUT are replaced; the others are kept.
#
# SUITE is a checkout of google/packetdrill's gtests/net (the folder holding
# tcp/ and common/); PACKETDRILL the tool built from gtests/net/packetdrill
# (`./configure && make`; needs bison and flex). RUNS defaults to 3: the
# kernel's timers tick every 4 ms, so a few timing lines are flaky on Linux
# too. Per-run logs go to $LOG_DIR (default target/linux-oracle/).
#
# Only documentation addresses are used (RFC 5737): the kernel is 192.0.2.1
# behind the gateway 192.0.2.2, the scripted peer 198.51.100.1.
#
# The suite runs under CUBIC, as upstream intends. A namespace cannot
# switch its default congestion control away from the host's (BBR here), so
# `ip` is wrapped: the route packetdrill adds for the peer's prefix gets
# `congctl cubic`.
#
# As upstream's run_all.py, every script gets `--define`s for the symbols
# some scripts leave to the command line: TFO_COOKIE (the Fast Open cookie
# Linux gives the peer: SipHash-2-4 of the two addresses under the key
# defaults.sh sets, so it depends on the addresses; for ours it is
# 9bb0e43fb3b59641, which tcpstate's runner computes the same way) and CODE
# (the ICMP code, host_unreachable).
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
suite=$(cd "$1" && pwd)
pd=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
runs=${3:-3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${4:-$repo/tests/packetdrill/linux-verdicts.txt}
shift $(($# < 4 ? $# : 4))
tfo_cookie=${TFO_COOKIE:-9bb0e43fb3b59641}
log_dir=${LOG_DIR:-$repo/target/linux-oracle}
per_script_timeout=${TIMEOUT:-300}

[ "$(id -u)" -eq 0 ] || { echo "run as root (network namespaces, tun)" >&2; exit 1; }
[ -d "$suite/tcp" ] || { echo "$suite/tcp: no such folder" >&2; exit 1; }
[ -x "$pd" ] || { echo "$pd: not executable" >&2; exit 1; }

real_ip=$(command -v ip)
wrap=$(mktemp -d)
trap 'rm -rf "$wrap"' EXIT
cat >"$wrap/ip" <<EOF
#!/bin/sh
# packetdrill routes the peer's prefix with \`ip -4 route add P dev tun0 via G\`.
case " \$* " in
    *" route add "*) exec $real_ip "\$@" congctl cubic ;;
esac
exec $real_ip "\$@"
EOF
chmod +x "$wrap/ip"

mkdir -p "$log_dir"
if [ $# -gt 0 ]; then
    scripts=$(printf '%s\n' "$@" | sort)
else
    scripts=$(cd "$suite/tcp" && find . -name '*.pkt' | sed 's|^\./||' | sort)
fi
: >"$out.tmp"
for s in $scripts; do
    pass=0
    for run in $(seq 1 "$runs"); do
        ns="tcpst-pd-$$-$run"
        ip netns add "$ns"
        ip netns exec "$ns" ip link set lo up
        log="$log_dir/$(echo "$s" | tr / _).$run.log"
        rc=0
        (cd "$suite/tcp/$(dirname "$s")" &&
            timeout "$per_script_timeout" ip netns exec "$ns" env PATH="$wrap:$PATH" \
                "$pd" --local_ip=192.0.2.1 --gateway_ip=192.0.2.2 \
                --netmask_ip=255.255.255.0 --remote_ip=198.51.100.1 \
                --define=TFO_COOKIE="$tfo_cookie" --define=CODE=host_unreachable \
                "$(basename "$s")") >"$log" 2>&1 || rc=$?
        ip netns del "$ns"
        echo "exit status $rc" >>"$log"
        if [ "$rc" -eq 0 ]; then
            pass=$((pass + 1))
        fi
    done
    echo "$s $pass/$runs" | tee -a "$out.tmp"
done
if [ $# -gt 0 ] && [ -f "$out" ]; then
    # Keep the other scripts' lines.
    awk 'NR == FNR { new[$1] = $0; next } { print ($1 in new) ? new[$1] : $0; seen[$1] = 1 }
         END { for (s in new) if (!(s in seen)) print new[s] }' "$out.tmp" "$out" |
        sort >"$out.new"
    mv "$out.new" "$out"
    rm -f "$out.tmp"
else
    mv "$out.tmp" "$out"
fi
echo "$(awk '$2 !~ /^0\// {n++} END {print n+0}' "$out") of $(wc -l <"$out") scripts pass on Linux $(uname -r) at least once in $runs runs"
