#!/usr/bin/env bash
# A search run in shards by GNU parallel equals the same search run in one process.
#
#   bench/shard_parallel.sh [SPEC] [SHARDS]      (default: examples/specs/diabetes_grid.toml, 4)
#
# Runs `mlp-tune run SPEC` in one folder, and in another: for every round, `SHARDS` shards
# at once under GNU parallel (`mlp-tune shard --index {} --count N`), then `mlp-tune plan`
# (exit 3: another round), and at the end `mlp-tune merge`. Then compares the two results:
# cv_results without the timing columns, the best candidate and score, the test score and
# the refitted model (model.json, byte for byte). Exits non-zero on any difference.
# Needs GNU parallel (Debian: apt-get install parallel) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-examples/specs/diabetes_grid.toml}
shards=${2:-4}
command -v parallel >/dev/null || { echo "GNU parallel is not installed (apt-get install parallel)"; exit 2; }
cargo build --release --bin mlp-tune --quiet
bin=$PWD/target/release/mlp-tune
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/one" "$work/sharded"
cp "$spec" "$work/one/spec.toml"
cp "$spec" "$work/sharded/spec.toml"

"$bin" run "$work/one/spec.toml" --quiet --out "$work/one/results" | tail -n 1

rounds=0
while true; do
  set +e
  "$bin" plan "$work/sharded/spec.toml" > "$work/plan.txt" 2>/dev/null
  code=$?
  set -e
  [ "$code" -eq 0 ] && break
  [ "$code" -eq 3 ] || { cat "$work/plan.txt"; echo "plan failed ($code)"; exit 1; }
  rounds=$((rounds + 1))
  echo "round $rounds: $(tail -n 1 "$work/plan.txt")"
  seq 0 $((shards - 1)) | parallel --halt now,fail=1 \
    "$bin" shard "$work/sharded/spec.toml" --index {} --count "$shards" > /dev/null
done
"$bin" merge "$work/sharded/spec.toml" --out "$work/sharded/results" 2>/dev/null | tail -n 1

python3 - "$work/one/results" "$work/sharded/results" <<'PY'
import json, sys
one, sharded = sys.argv[1], sys.argv[2]
a = json.load(open(f"{one}/cv_results.json"))
b = json.load(open(f"{sharded}/cv_results.json"))
bad = [k for k in a if "time" not in k and a[k] != b[k]]
ra = json.load(open(f"{one}/result.json"))
rb = json.load(open(f"{sharded}/result.json"))
bad += [k for k in ("best_params", "best_score", "test_score") if ra[k] != rb[k]]
if open(f"{one}/model.json").read() != open(f"{sharded}/model.json").read():
    bad.append("model.json")
if bad:
    sys.exit(f"sharded run differs from one process in: {bad}")
print(f"sharded == one process: cv_results ({len(a['params'])} rows, timings aside), best, test score, refitted model")
PY
echo "rounds: $rounds, shards per round: $shards"
