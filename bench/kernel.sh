#!/usr/bin/env bash
# The measurements of issue #20 (the small-product kernel), ours and scikit-learn's
# alternated in the same run, REPEAT rounds (default 3), medians:
#   analog search   california_random_search --sklearn-analog  vs  sklearn_reference.py random-search
#                   (and ours on 1 thread, less exposed to other work on the machine)
#   textbook search california_random_search (textbook space)  vs  the same random-search
#   digits grid     digits_grid_search                         vs  sklearn_reference.py grid-digits
#     (all with N_JOBS threads on both sides, default 2)
#   small epoch     bench_epoch --task small (8 -> 30 -> 1)     vs  sklearn_reference.py fit-regressor
#   60-wide step    bench_epoch --task small --hidden 60,60,60: GFLOP/s against one core's
#                   FMA peak (measured by bench_epoch with a tiny loop)
#   wide f64        bench_epoch --task wide --threads 2         vs  sklearn_reference.py wide-epoch
# With OLD=DIR (a folder holding bench_epoch, california_random_search and digits_grid_search
# built from an earlier commit) the same runs of those binaries come in each round too, so
# before and after are measured in the same run.
#
#   [OLD=/tmp/old] [REPEAT=3] bench/kernel.sh [PYTHON]
#
# PYTHON: a Python with scikit-learn 1.9.1 (default $SKLEARN_PYTHON, else
# /work/venv-sklearn/bin/python), installed outside the repo as ../shared/bench/README.md says.
# SKIP_SKLEARN_SEARCH=1 skips scikit-learn's random search (about 1-3 minutes a run).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
python=${1:-${SKLEARN_PYTHON:-/work/venv-sklearn/bin/python}}
ref="$shared/bench/sklearn_reference.py"
repeat=${REPEAT:-3}
jobs=${N_JOBS:-2}
old=${OLD:-}

build_examples bench_epoch california_random_search digits_grid_search

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores; $("$python" -c 'import sklearn; print("scikit-learn", sklearn.__version__)')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); load at start $(cut -d' ' -f1-3 /proc/loadavg); repeats: $repeat (medians); n_jobs $jobs"
[ -n "$old" ] && echo "before: binaries in $old"
echo

results="$out/results"
: >"$results"
record() { # task side value [extra]
  echo "$1|$2|$3|${4:-}" >>"$results"
}
sides=(new)
[ -n "$old" ] && sides=(old new)
binary() { # side name
  if [ "$1" = old ]; then echo "$old/$2"; else echo "$bin/$2"; fi
}
last() { tail -n 1 "$1"; }

for round in $(seq "$repeat"); do
  echo "round $round/$repeat, load $(cut -d' ' -f1 /proc/loadavg)" >&2
  for side in "${sides[@]}"; do
    "$(binary "$side" california_random_search)" --sklearn-analog --n-jobs "$jobs" >"$out/rs" 2>/dev/null
    record analog "$side" "$(last "$out/rs" | field search_seconds)" "$(last "$out/rs" | field best_score)"
    "$(binary "$side" california_random_search)" --sklearn-analog --n-jobs 1 >"$out/rs1" 2>/dev/null
    record analog1 "$side" "$(last "$out/rs1" | field search_seconds)" "$(last "$out/rs1" | field best_score)"
    "$(binary "$side" california_random_search)" --n-jobs "$jobs" >"$out/tb" 2>/dev/null
    record textbook "$side" "$(last "$out/tb" | field search_seconds)" "$(last "$out/tb" | field best_score)"
    "$(binary "$side" digits_grid_search)" --n-jobs "$jobs" >"$out/dg" 2>/dev/null
    record digits "$side" "$(last "$out/dg" | field search_seconds)" "$(last "$out/dg" | field best_score)"
    "$(binary "$side" bench_epoch)" --task small >"$out/sm" 2>&1
    record small "$side" "$(last "$out/sm" | field seconds_per_epoch)"
    "$(binary "$side" bench_epoch)" --task small --hidden 60,60,60 --epochs 30 >"$out/w60" 2>&1
    j=$(last "$out/w60")
    peak=$(echo "$j" | python3 -c "import json,sys; print(json.loads(sys.stdin.read()).get('peak_gflops_one_core', 'nan'))")
    record wide60 "$side" "$(echo "$j" | field seconds_per_epoch)" "$(echo "$j" | field gflops) $peak"
    "$(binary "$side" bench_epoch)" --task wide --threads 2 >"$out/wd" 2>&1
    record wide "$side" "$(last "$out/wd" | field seconds_per_epoch)" "$(last "$out/wd" | field gflops)"
  done
  if [ "${SKIP_SKLEARN_SEARCH:-0}" != 1 ]; then
    "$python" "$ref" random-search --n-jobs "$jobs" --data "$MLP_TUNE_DATA/california_housing.csv" >"$out/skrs" 2>/dev/null
    record analog sklearn "$(last "$out/skrs" | field search_seconds)" "$(last "$out/skrs" | field best_score)"
  fi
  "$python" "$ref" grid-digits --n-jobs "$jobs" --data "$MLP_TUNE_DATA/digits.csv.gz" >"$out/skdg" 2>/dev/null
  record digits sklearn "$(last "$out/skdg" | field search_seconds)" "$(last "$out/skdg" | field best_score)"
  "$python" "$ref" fit-regressor --solver sgd --epochs 20 --data "$MLP_TUNE_DATA/california_housing.csv" >"$out/skfr" 2>/dev/null
  record small sklearn "$(last "$out/skfr" | field seconds_per_epoch)"
  "$python" "$ref" wide-epoch --batch 200 >"$out/skwd" 2>/dev/null
  record wide sklearn "$(last "$out/skwd" | field epoch_seconds)" "$(last "$out/skwd" | field gflops)"
done
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
data = {}
for task, side, value, extra in rows:
    data.setdefault((task, side), []).append((float(value), extra))
med = lambda task, side: statistics.median(v for v, _ in data[(task, side)]) if (task, side) in data else None
runs = lambda task, side: " ".join(f"{v:.4g}" for v, _ in data.get((task, side), []))
names = {
    "analog": "analog search (`california_random_search --sklearn-analog`), s",
    "analog1": "the same on 1 thread (ours only), s",
    "textbook": "textbook search (`california_random_search`), s",
    "digits": "`digits_grid_search`, s",
    "small": "small-net epoch (8 → 30 → 1, SGD, batch 32), s",
    "wide60": "60-wide epoch (8 → 60 → 60 → 60 → 1, batch 32), s",
    "wide": "wide f64 epoch (784 → 512 → 512 → 10, batch 200, 2 threads), s",
}
# The textbook search has no scikit-learn twin: it is compared with the analog's.
reference = {"analog": "analog", "textbook": "analog", "digits": "digits", "small": "small", "wide": "wide"}
print("| task | before | after | after vs before | scikit-learn | after vs scikit-learn |")
print("|---|---|---|---|---|---|")
for task, name in names.items():
    new, old = med(task, "new"), med(task, "old")
    sk = med(reference.get(task, ""), "sklearn")
    cells = [name, f"{old:.4g}" if old else "", f"{new:.4g}" if new else "",
             f"{old / new:.2f}×" if old and new else "", f"{sk:.4g}" if sk else "",
             f"{sk / new:.1f}×" if sk and new else ""]
    print("| " + " | ".join(cells) + " |")
print()
for side in ("old", "new"):
    for task in ("wide60", "wide"):
        if (task, side) in data:
            extras = [e.split() for _, e in data[(task, side)]]
            gf = statistics.median(float(e[0]) for e in extras)
            line = f"{side} {task}: median {gf:.1f} GFLOP/s"
            if task == "wide60" and len(extras[0]) > 1 and extras[0][1] != "nan":
                peak = statistics.median(float(e[1]) for e in extras)
                line += f", one core's FMA peak {peak:.1f} GFLOP/s: {100 * gf / peak:.0f}%"
            print(line)
print()
print("all runs (seconds):")
for (task, side) in sorted(data):
    print(f"  {task} {side}: {runs(task, side)}  best scores/extras: {' '.join(e for _, e in data[(task, side)])}")
PY
