#!/usr/bin/env bash
# Issue 8's comparison: Hyperband against the textbook random search on the same task with
# the same maximum epochs (100), run alternately in the same session, with medians.
#
#   bench/hyperband_vs_random.sh            # REPEAT=1 SEEDS="42" N_JOBS=2 by default
#   SEEDS="42 1 2 3 4 5 6 7" bench/hyperband_vs_random.sh
#   HB_CONFIGS=";--no-early-stopping" bench/hyperband_vs_random.sh   # ';'-separated extra flags
#
# For each seed it runs, REPEAT times and alternating,
#   california_random_search --seed S                          (n_iter 10, max_iter 100, early stopping)
#   california_hyperband --seed S --max-epochs 100 --min-epochs 4 CONFIG   (for each CONFIG;
#                          its defaults, early stopping included, are the random search's)
# and prints the median wall time (the examples' `search_seconds`, refit included), the
# test MSE (the same on every repeat: the searches are deterministic) and the ratio.
#
# Then "time to target" (TARGET, default 0.29): a search that ends above the target test
# MSE has not reached it, so the random search is also run with RS_ITERS (default
# "20 30 40") candidates until one reaches it, and the time of that single run is its time
# to target (the time of the earlier, shorter runs is not added: the figure favours the
# random search). A Hyperband configuration is run once as given; above the target it
# counts as not reached ("-", infinite in the medians).
# Data: MLP_TUNE_DATA (default ../shared/datasets).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
repeat=${REPEAT:-1}
seeds=${SEEDS:-42}
jobs=${N_JOBS:-2}
target_mse=${TARGET:-0.29}
rs_iters=${RS_ITERS:-20 30 40}
IFS=';' read -r -a configs <<<"${HB_CONFIGS:-}"
[ ${#configs[@]} -eq 0 ] && configs=("")

build_examples california_random_search california_hyperband

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); n_jobs $jobs; repeats $repeat (medians); target test MSE $target_mse"
for k in "${!configs[@]}"; do
  echo "Hyperband config $k: --max-epochs 100 --min-epochs 4 ${configs[$k]}"
done
echo

# One line per (seed, search): seed, search label, median seconds, test MSE.
rows="$out/rows"
: >"$rows"
for seed in $seeds; do
  r=()
  declare -A h=()
  for _ in $(seq "$repeat"); do
    "$bin/california_random_search" --seed "$seed" --n-jobs "$jobs" >"$out/r" 2>/dev/null
    r+=("$(tail -n 1 "$out/r" | field search_seconds)")
    for k in "${!configs[@]}"; do
      # shellcheck disable=SC2086
      "$bin/california_hyperband" --seed "$seed" --n-jobs "$jobs" --max-epochs 100 --min-epochs 4 \
        ${configs[$k]} >"$out/h$k" 2>/dev/null
      h[$k]="${h[$k]:-} $(tail -n 1 "$out/h$k" | field search_seconds)"
    done
  done
  echo "$seed rs10 $(median "${r[@]}") $(tail -n 1 "$out/r" | field test_mse)" >>"$rows"
  for k in "${!configs[@]}"; do
    # shellcheck disable=SC2086
    echo "$seed hb$k $(median ${h[$k]}) $(tail -n 1 "$out/h$k" | field test_mse)" >>"$rows"
  done
  unset h
  # The random search's time to target: more candidates until it reaches it.
  if ! python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" \
    "$(tail -n 1 "$out/r" | field test_mse)" "$target_mse"; then
    for n in $rs_iters; do
      "$bin/california_random_search" --seed "$seed" --n-jobs "$jobs" --n-iter "$n" >"$out/rn" 2>/dev/null
      mse=$(tail -n 1 "$out/rn" | field test_mse)
      echo "$seed rs$n $(tail -n 1 "$out/rn" | field search_seconds) $mse" >>"$rows"
      if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$mse" "$target_mse"; then
        break
      fi
    done
  fi
done

python3 - "$rows" "$target_mse" "${#configs[@]}" <<'PY'
import statistics, sys
rows, target, n_configs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
by_seed = {}
for line in open(rows):
    seed, label, secs, mse = line.split()
    by_seed.setdefault(seed, {})[label] = (float(secs), float(mse))
inf = float("inf")

def fmt(t):
    return "-" if t == inf else f"{t:.2f}"

head = "| seed | random search (n_iter 10) s, test MSE |"
for k in range(n_configs):
    head += f" Hyperband {k} s, test MSE, ratio |"
print(head)
print("|---" * (2 + n_configs) + "|")
ratios = {k: [] for k in range(n_configs)}
for seed, runs in by_seed.items():
    rs, rm = runs["rs10"]
    line = f"| {seed} | {rs:.2f}, {rm:.4f} |"
    for k in range(n_configs):
        hs, hm = runs[f"hb{k}"]
        ratios[k].append(hs / rs)
        line += f" {hs:.2f}, {hm:.4f}, {hs / rs:.2f} |"
    print(line)
print("| median ratio | |" + "".join(f" {statistics.median(ratios[k]):.2f} |" for k in range(n_configs)))
print()
print(f"Time to reach test MSE <= {target} (s; '-' = not reached):")
head = "| seed | random search (n_iter that reached it) |" + "".join(
    f" Hyperband {k} |" for k in range(n_configs))
print(head)
print("|---" * (2 + n_configs) + "|")
rs_t, hb_t = [], {k: [] for k in range(n_configs)}
for seed, runs in by_seed.items():
    reached = [(int(l[2:]), s) for l, (s, m) in runs.items() if l.startswith("rs") and m <= target]
    t, n = (min(reached, key=lambda p: p[0])[1], min(reached)[0]) if reached else (inf, None)
    rs_t.append(t)
    line = f"| {seed} | {fmt(t)} ({n if n else 'not by ' + str(max(int(l[2:]) for l in runs if l.startswith('rs')))}) |"
    for k in range(n_configs):
        hs, hm = runs[f"hb{k}"]
        ht = hs if hm <= target else inf
        hb_t[k].append(ht)
        line += f" {fmt(ht)} |"
    print(line)
print(f"| median | {fmt(statistics.median(rs_t))} |" + "".join(
    f" {fmt(statistics.median(hb_t[k]))} |" for k in range(n_configs)))
print("| reached | " + f"{sum(t < inf for t in rs_t)}/{len(rs_t)} |" + "".join(
    f" {sum(t < inf for t in hb_t[k])}/{len(rs_t)} |" for k in range(n_configs)))
PY
echo "load at the end: $(cut -d' ' -f1 /proc/loadavg)"
