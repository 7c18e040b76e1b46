#!/usr/bin/env bash
# Issue 8's comparison: Hyperband against the textbook random search on the same task with
# the same maximum epochs (100), run alternately in the same session, with medians.
#
#   bench/hyperband_vs_random.sh            # REPEAT=3 SEEDS="42" N_JOBS=2 by default
#   SEEDS="42 1 2 3" REPEAT=3 bench/hyperband_vs_random.sh
#   HB_ARGS="--early-stopping" bench/hyperband_vs_random.sh   # extra Hyperband flags
#
# For each seed it runs, REPEAT times and alternating,
#   california_random_search --seed S                       (max_iter 100, early stopping)
#   california_hyperband --seed S --max-epochs 100 --min-epochs 4
# and prints the median wall time (the examples' `search_seconds`, refit included), the
# test MSE (the same on every repeat: the searches are deterministic) and the ratio.
# Data: MLP_TUNE_DATA (default ../shared/datasets).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
repeat=${REPEAT:-3}
seeds=${SEEDS:-42}
jobs=${N_JOBS:-2}

build_examples california_random_search california_hyperband

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); n_jobs $jobs; repeats $repeat (medians)"
echo
printf '| seed | random search s | its test MSE | Hyperband s | its test MSE | Hyperband / random |\n'
printf '|---|---|---|---|---|---|\n'
for seed in $seeds; do
  r=() h=()
  for _ in $(seq "$repeat"); do
    "$bin/california_random_search" --seed "$seed" --n-jobs "$jobs" >"$out/r" 2>/dev/null
    r+=("$(tail -n 1 "$out/r" | field search_seconds)")
    "$bin/california_hyperband" --seed "$seed" --n-jobs "$jobs" --max-epochs 100 --min-epochs 4 \
      ${HB_ARGS:-} >"$out/h" 2>/dev/null
    h+=("$(tail -n 1 "$out/h" | field search_seconds)")
  done
  rm=$(median "${r[@]}")
  hm=$(median "${h[@]}")
  python3 - "$seed" "$rm" "$(tail -n 1 "$out/r" | field test_mse)" "$hm" \
    "$(tail -n 1 "$out/h" | field test_mse)" <<'PY'
import sys
seed, rs, rt, hs, ht = sys.argv[1], *map(float, sys.argv[2:])
print(f"| {seed} | {rs:.2f} | {rt:.4f} | {hs:.2f} | {ht:.4f} | {hs / rs:.2f} |")
PY
done
echo "load at the end: $(cut -d' ' -f1 /proc/loadavg)"
