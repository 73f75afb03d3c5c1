# Sourced by the callgrind scripts of benches/ (w4.sh, w1_ir.sh,
# w2_footprint.sh, endpoint_bulk.sh), from the repository root.
#
#   exe=$(bench_exe NAME)   builds a bench target at the bench profile and
#                           prints its executable's path
#   needs LABEL TOOL...     see below
bench_exe() {
  local name=$1 exe
  exe=$(cargo bench --bench "$name" --no-run --message-format=json 2>/dev/null \
    | sed -n "s/.*\"executable\":\"\([^\"]*${name}[^\"]*\)\".*/\1/p" | tail -1)
  [ -x "$exe" ] || { echo "could not build benches/$name.rs" >&2; return 1; }
  echo "$exe"
}

# needs LABEL TOOL...: ends the script (status 0) with "LABEL skipped: TOOL
# not installed" when one of the tools is missing.
needs() {
  local label=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$label skipped: $tool not installed"; exit 0; }
  done
}
