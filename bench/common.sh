# Shared set-up of the bench scripts (sourced, not run): the repository root as the working
# directory, the shared data, a scratch folder removed on exit, and small JSON helpers.
# After sourcing: $here, $shared, $target, $out, $bin, MLP_TUNE_DATA exported;
# build_examples NAME... builds release examples; field KEY reads a key of the JSON object
# on stdin; median V... prints the median of its arguments.
cd "$(dirname "$0")/.."
here=$(pwd)
shared="$here/../shared"
export MLP_TUNE_DATA=${MLP_TUNE_DATA:-$shared/datasets}
target=${CARGO_TARGET_DIR:-$here/target}
bin="$target/release/examples"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

build_examples() {
  local args=()
  for name in "$@"; do args+=(--example "$name"); done
  cargo build --release "${args[@]}" >&2
}
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(v) for v in sys.argv[1:]))" "$@"; }
