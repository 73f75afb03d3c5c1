# Sourced by the callgrind scripts of benches/ (w4.sh, w2_footprint.sh,
# endpoint_bulk.sh), from the repository root: builds a bench target at
# the bench profile and prints its executable's path.
#
#   exe=$(bench_exe NAME)
bench_exe() {
  local name=$1 exe
  exe=$(cargo bench --bench "$name" --no-run --message-format=json 2>/dev/null \
    | sed -n "s/.*\"executable\":\"\([^\"]*${name}[^\"]*\)\".*/\1/p" | tail -1)
  [ -x "$exe" ] || { echo "could not build benches/$name.rs" >&2; return 1; }
  echo "$exe"
}
