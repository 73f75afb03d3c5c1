"""Self cost by kind of source file, from callgrind output written with
`--compress-strings=no --compress-pos=no` (line positions): used by
benches/w1_ir.sh and benches/w2_footprint.sh to say where an engine's
instructions go, with code inlined across crates counted where its source
lies (callgrind's `fi=`/`fe=` lines), not in the function it was inlined
into.

Kinds:
  copies    glibc's memcpy/memmove
  checksums tcpstate's src/wire/checksum.rs
  engine    the engine's own source: tcpstate's src/ (besides checksum.rs)
            and the crates it uses (hashbrown, siphasher, heapless), or
            smoltcp's (its checksums included: they are not a file of
            their own there)
  host      benches/ (the bench's IPv4 header, in-memory pipe, buffer
            pool and driving loop)
  std       Rust's core/alloc/std, inlined into either of the above
  other     the rest (libc besides memcpy: malloc, free)
"""
import re

KINDS = ["copies", "checksums", "engine", "host", "std", "other"]


def kind(path):
    if "memmove" in path or "memcpy" in path:
        return "copies"
    if path.endswith("src/wire/checksum.rs"):
        return "checksums"
    if path.startswith("/rustc/"):
        return "std"
    if "benches/" in path:
        return "host"
    if "/.cargo/registry/" in path or path.startswith("src/") or "/src/" in path:
        return "engine"
    return "other"


def self_costs(path):
    """(object, source file, position, Ir) for every self cost of a
    callgrind output written with `--compress-strings=no
    --compress-pos=no`; the position is an address (`0x...`, with
    `--dump-instr=yes`) or a line."""
    ob, fl, skip = "", "", False
    for line in open(path):
        if line.startswith("ob="):
            ob = line[3:].strip()
            continue
        if line.startswith(("fl=", "fi=", "fe=")):
            fl = line[3:].strip()
            continue
        if line.startswith("calls="):
            skip = True  # the next cost line is the call's, not self cost
            continue
        m = re.match(r"^(0x[0-9a-f]+|\d+) (\d+)", line)
        if m:
            if skip:
                skip = False
                continue
            yield ob, fl, m.group(1), int(m.group(2))


def split(path):
    """Self cost (the first event, Ir) by kind of source file."""
    cost = {}
    for _, fl, _, ir in self_costs(path):
        k = kind(fl)
        cost[k] = cost.get(k, 0) + ir
    return cost


def per_unit(small, large, units):
    """(cost in `large` - cost in `small`) / units, by kind: the setup
    both runs share cancels out."""
    a, b = split(small), split(large)
    return {k: (b.get(k, 0) - a.get(k, 0)) / units for k in KINDS}


def text(costs):
    return ", ".join(f"{k} {round(costs.get(k, 0)):,}" for k in KINDS)
