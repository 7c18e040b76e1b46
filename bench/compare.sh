#!/usr/bin/env bash
# Side-by-side benchmark of mlp-tune and scikit-learn on the same machine in the same run.
#
#   bench/compare.sh [PYTHON]
#
# PYTHON is a Python with scikit-learn 1.9.1 installed (default: $SKLEARN_PYTHON, else
# /work/venv-sklearn/bin/python); install it OUTSIDE the repo as ../shared/bench/README.md
# says. Data: MLP_TUNE_DATA (default ../shared/datasets).
#
# Runs, each REPEAT times (default 3, env REPEAT) alternating ours and scikit-learn's, and
# reports medians:
#   small: examples/bench_epoch --task small  vs  sklearn_reference.py fit-regressor (SGD, 20 epochs)
#   wide:  examples/bench_epoch --task wide   vs  sklearn_reference.py wide-epoch [--f32]
#   search: examples/california_random_search --n-jobs 1 vs --n-jobs 2 in pairs (wall time, CPU, max RSS)
# Set SKIP_SEARCH=1 to skip the search runs (about 2 × the search time), SKIP_EPOCHS=1 to
# run only them; THREADS=N gives our fits N kernel threads (default 1).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
python=${1:-${SKLEARN_PYTHON:-/work/venv-sklearn/bin/python}}
ref="$shared/bench/sklearn_reference.py"
repeat=${REPEAT:-3}
threads=${THREADS:-1}

build_examples bench_epoch california_random_search

last_json() { tail -n 1 "$1"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores; $("$python" -c 'import sklearn; print("scikit-learn", sklearn.__version__)')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); repeats: $repeat (medians); our kernel threads: $threads"
echo

declare -A ours theirs gf
run_pair() { # name, our args, their args
  local name=$1 our_args=$2 their_args=$3
  local o=() t=() g=()
  for _ in $(seq "$repeat"); do
    # shellcheck disable=SC2086
    "$bin/bench_epoch" $our_args --threads "$threads" >"$out/ours" 2>&1
    o+=("$(last_json "$out/ours" | field seconds_per_epoch)")
    g+=("$(last_json "$out/ours" | field gflops)")
    # shellcheck disable=SC2086
    "$python" "$ref" $their_args >"$out/theirs" 2>&1
    local j
    j=$(last_json "$out/theirs")
    if echo "$j" | grep -q '"seconds_per_epoch"'; then
      t+=("$(echo "$j" | field seconds_per_epoch)")
    else
      t+=("$(echo "$j" | field epoch_seconds)")
    fi
  done
  ours[$name]=$(median "${o[@]}")
  theirs[$name]=$(median "${t[@]}")
  gf[$name]=$(median "${g[@]}")
}

if [ "${SKIP_EPOCHS:-0}" != 1 ]; then
run_pair "small f64" "--task small --dtype f64" "fit-regressor --solver sgd --epochs 20"
run_pair "wide f64" "--task wide --dtype f64" "wide-epoch --batch 200"
run_pair "wide f32" "--task wide --dtype f32" "wide-epoch --batch 200 --f32"

printf '| task | mlp-tune s/epoch | scikit-learn s/epoch | speed-up | mlp-tune GFLOP/s |\n'
printf '|---|---|---|---|---|\n'
for name in "small f64" "wide f64" "wide f32"; do
  python3 - "$name" "${ours[$name]}" "${theirs[$name]}" "${gf[$name]}" <<'PY'
import sys
name, o, t, g = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"| {name} | {o:.4f} | {t:.4f} | {t / o:.1f}× | {g:.1f} |")
PY
done
fi

if [ "${SKIP_SEARCH:-0}" != 1 ]; then
  echo
  # REPEAT pairs of runs (1 job, then 2 jobs); each pair's ratio and the medians.
  runs="$out/search_runs"
  : >"$runs"
  for _ in $(seq "$repeat"); do
    line=""
    for jobs in 1 2; do
      /usr/bin/time -v "$bin/california_random_search" --n-jobs "$jobs" >"$out/search$jobs" 2>"$out/time$jobs"
      secs=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/time$jobs" |
        python3 -c "import sys; p=sys.stdin.read().strip().split(':'); print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))")
      cpu=$(sed -n 's/^[[:space:]]*User time (seconds): //p' "$out/time$jobs")
      rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$out/time$jobs")
      line="$line $secs $cpu $rss"
    done
    echo "$line" >>"$runs"
  done
  python3 - "$runs" <<'PY'
import statistics, sys
runs = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print("| search (california_random_search) | wall s, 1 job | wall s, 2 jobs | speed-up | user CPU s, 1 / 2 jobs | max RSS MiB, 1 / 2 jobs | memory ratio |")
print("|---|---|---|---|---|---|---|")
for k, (s1, c1, r1, s2, c2, r2) in enumerate(runs, 1):
    print(f"| pair {k} | {s1:.2f} | {s2:.2f} | {s1 / s2:.2f}× | {c1:.1f} / {c2:.1f} | {r1 / 1024:.1f} / {r2 / 1024:.1f} | {r2 / r1:.2f}× |")
med = lambda i: statistics.median(r[i] for r in runs)
print(f"| median | {med(0):.2f} | {med(3):.2f} | {med(0) / med(3):.2f}× (median pair {statistics.median(r[0] / r[3] for r in runs):.2f}×) | "
      f"{med(1):.1f} / {med(4):.1f} | {med(2) / 1024:.1f} / {med(5) / 1024:.1f} | {med(5) / med(2):.2f}× |")
PY
fi
