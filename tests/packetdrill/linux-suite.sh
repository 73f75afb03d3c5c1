#!/usr/bin/env bash
# Regenerates tests/packetdrill/LINUX.md: for every script of
# google/packetdrill's gtests/net/tcp, Linux's verdict on this machine
# (tests/packetdrill/linux-verdicts.txt, made by linux-oracle.sh as root),
# tcpstate's verdict (run here with run-suite.sh) and why they differ
# (tests/packetdrill/linux-notes.txt, else the runner's own reason).
#
#   tests/packetdrill/linux-suite.sh SUITE
#
# SUITE is a checkout of google/packetdrill's gtests/net (holding tcp/ and
# common/). Only facts go into the table: names, verdicts, line numbers and
# reasons in our words; no text of the scripts (they are GPL-2.0).
set -euo pipefail

if [ $# -ne 1 ]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
suite=$(cd "$1" && pwd)
verdicts="$here/linux-verdicts.txt"
notes="$here/linux-notes.txt"
out="$here/LINUX.md"
ours=$(mktemp)
trap 'rm -f "$ours"' EXIT

"$here/run-suite.sh" "$suite/tcp" >"$ours" 2>/dev/null
# The suite's commit: from its git checkout, or SUITE_COMMIT for an export.
commit=${SUITE_COMMIT:-$(git -C "$suite" rev-parse --short HEAD 2>/dev/null || echo "?")}

awk -v verdicts="$verdicts" -v notes="$notes" -v commit="$commit" '
# Our words for a runner message: no script text.
function reason(v, msg,    n, what, m) {
    n = msg; sub(/:.*/, "", n)
    what = msg; sub(/^[0-9]+: /, "", what)
    if (v == "UNSUPPORTED") {
        if (what ~ /^shell command `/) {
            m = what; sub(/^shell command `/, "", m); sub(/[ `].*/, "", m)
            what = "shell command " m
        }
        gsub(/`/, "", what)
        return "line " n ": unsupported: " what
    }
    if (what ~ /tolerance/) return "line " n ": a segment at another time"
    if (what ~ /differ\)$/) {
        m = what; sub(/.*\(/, "", m); sub(/ differ\)$/, "", m)
        return "line " n ": a segment differs (" m ")"
    }
    if (what ~ /^`assert/) {
        m = what; sub(/.*failed \(/, "", m); sub(/\)$/, "", m)
        return "line " n ": tcp_info differs (" m " here)"
    }
    if (what ~ /would block|still blocked/) return "line " n ": a call blocks"
    if (what ~ /to return at/) return "line " n ": a call returns at another time"
    if (what ~ /got = |got value/) {
        m = what; sub(/.*got (= |value )/, "", m)
        return "line " n ": a call returns " m
    }
    if (what ~ /no packet|got `>/) return "line " n ": another segment or none"
    if (what ~ /syntax error/) return "line " n ": syntax"
    return "line " n ": fails"
}
# What no engine has (the list of issue 15). Not md5/md5-only-on-client-ack,
# although it stops at a grep of /proc/net/tcp: what it tests is TCP-MD5
# (RFC 2385), an engine feature tcpstate lacks, so it counts as a failure.
function socket_layer(r) {
    return r ~ /ZEROCOPY|TIMESTAMPING|epoll|splice|sendfile|IP_FREEBIND|control messages|shell command \/bin\/rm/
}
BEGIN {
    FS = " "
    while ((getline l < verdicts) > 0) {
        split(l, a, " "); lin[a[1]] = a[2]
    }
    FS = "\t"
    while ((getline l < notes) > 0) {
        if (l ~ /^#/ || l == "") continue
        split(l, a, "\t"); note[a[1]] = a[2]
    }
    FS = " "
}
{
    v = $1; s = $2; sub(/:[0-9]+:$/, "", s); sub(/:$/, "", s)
    msg = $0; sub(/^[A-Z]+ [^ ]+ ?/, "", msg)
    if (match($2, /:[0-9]+:$/)) { ln = substr($2, RSTART + 1, RLENGTH - 2); msg = ln ": " msg }
    names[++count] = s; ours[s] = v; why[s] = (v == "PASS") ? "" : reason(v, msg)
}
END {
    total = 0; lpass = 0; both = 0; sock = 0; tpass = 0
    for (i = 1; i <= count; i++) {
        s = names[i]; total++
        lp = (s in lin) && lin[s] !~ /^0\//
        if (ours[s] == "PASS") tpass++
        if (lp) { lpass++; if (ours[s] == "PASS") both++; else if (socket_layer(why[s])) sock++ }
    }
    print "# google/packetdrill `gtests/net/tcp` on Linux and on tcpstate"
    print ""
    print "Facts only: the scripts are GPL-2.0 and are not in this repository."
    print "Suite: google/packetdrill " commit ", " total " scripts."
    print ""
    print "- Linux (this machine, `linux-oracle.sh`, 3 runs, a pass in any run counts): **" lpass " of " total "** pass."
    printf "- tcpstate (`linux-suite.sh`, in memory): **%d of those %d** pass (%.0f %%); %d of the others need socket-layer features no engine has (MSG_ZEROCOPY, SO_TIMESTAMPING, epoll, splice, sendfile, control messages), so **%d of %d** (%.0f %%) leaving those out.\n", both, lpass, 100 * both / lpass, sock, both, lpass - sock, 100 * both / (lpass - sock)
    print "- tcpstate passes " tpass " of all " total "."
    print ""
    print "Regenerate: `tests/packetdrill/linux-suite.sh SUITE` (tcpstate column and this file) and, as root, `tests/packetdrill/linux-oracle.sh SUITE PACKETDRILL` (Linux column, `linux-verdicts.txt`). Reasons come from `linux-notes.txt`, else from the runner."
    print ""
    print "| script | Linux | tcpstate | why they differ |"
    print "|---|---|---|---|"
    for (i = 1; i <= count; i++) {
        s = names[i]
        l = (s in lin) ? ((lin[s] ~ /^0\//) ? "fail" : "pass (" lin[s] ")") : "?"
        t = tolower(ours[s])
        r = ""
        if ((s in note) && !(l ~ /^pass/ && t == "pass")) r = note[s]
        else if ((l ~ /^pass/) != (t == "pass")) r = why[s]
        if ((s in note) && t != "pass" && (l ~ /^pass/)) r = note[s] " (" why[s] ")"
        gsub(/\|/, "\\|", r)
        print "| " s " | " l " | " t " | " r " |"
    }
}' "$ours" >"$out"
head -n 8 "$out" | tail -n 4
