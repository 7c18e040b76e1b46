#!/usr/bin/env bash
# Issue 15's BOHB comparison: california_bohb against california_hyperband on the same task,
# per seed, run alternately in the same session.
#
#   bench/bohb_vs_hyperband.sh                       # SEEDS="42 1 2 3 4 5 6 7" N_JOBS=2
#   HB_FLAGS="--max-brackets 3" bench/bohb_vs_hyperband.sh   # Hyperband on BOHB's schedule
#   BOHB_FLAGS="--max-brackets 3" bench/bohb_vs_hyperband.sh # BOHB with other flags
#
# For each seed it runs `california_hyperband --seed S $HB_FLAGS` and `california_bohb
# --seed S $BOHB_FLAGS`, reads their JSON last lines, and counts a search as reaching the target
# (TARGET, default test MSE 0.29) when its refitted model's test MSE is at or below it; its
# time to target is then its `search_seconds` (refit included), otherwise infinite.
# Prints one row per seed and the medians (time to target, test MSE) and how many seeds
# reached the target. Data: MLP_TUNE_DATA (default ../shared/datasets, or the embedded copy).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
seeds=${SEEDS:-42 1 2 3 4 5 6 7}
jobs=${N_JOBS:-2}
target_mse=${TARGET:-0.29}
hb_flags=${HB_FLAGS:-}
bohb_flags=${BOHB_FLAGS:-}

build_examples california_hyperband california_bohb

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); n_jobs $jobs; target test MSE $target_mse; Hyperband flags: ${hb_flags:-(defaults)}; BOHB flags: ${bohb_flags:-(defaults)}"
printf '%-6s %12s %10s %12s %10s\n' seed hb_seconds hb_mse bohb_seconds bohb_mse
hb_t=() hb_m=() bo_t=() bo_m=() hb_hit=0 bo_hit=0
for seed in $seeds; do
  # shellcheck disable=SC2086
  "$bin/california_hyperband" --seed "$seed" --n-jobs "$jobs" $hb_flags | tail -n 1 >"$out/hb.json"
  # shellcheck disable=SC2086
  "$bin/california_bohb" --seed "$seed" --n-jobs "$jobs" $bohb_flags | tail -n 1 >"$out/bohb.json"
  hs=$(field search_seconds <"$out/hb.json"); hm=$(field test_mse <"$out/hb.json")
  bs=$(field search_seconds <"$out/bohb.json"); bm=$(field test_mse <"$out/bohb.json")
  printf '%-6s %12.2f %10.4f %12.2f %10.4f\n' "$seed" "$hs" "$hm" "$bs" "$bm"
  hb_m+=("$hm"); bo_m+=("$bm")
  if python3 -c "import sys; sys.exit(0 if float('$hm') <= $target_mse else 1)"; then
    hb_t+=("$hs"); hb_hit=$((hb_hit + 1))
  else
    hb_t+=(inf)
  fi
  if python3 -c "import sys; sys.exit(0 if float('$bm') <= $target_mse else 1)"; then
    bo_t+=("$bs"); bo_hit=$((bo_hit + 1))
  else
    bo_t+=(inf)
  fi
done
n=$(wc -w <<<"$seeds")
echo "Hyperband: reached the target on $hb_hit of $n seeds; median time to target $(median "${hb_t[@]}") s; median test MSE $(median "${hb_m[@]}")"
echo "BOHB:      reached the target on $bo_hit of $n seeds; median time to target $(median "${bo_t[@]}") s; median test MSE $(median "${bo_m[@]}")"
