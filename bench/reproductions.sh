#!/usr/bin/env bash
# The textbook searches, ours and scikit-learn's, one after the other in the same run, with
# the ratio of wall times. Same work on both sides:
#   california_random_search --sklearn-analog  vs  sklearn_reference.py random-search
#     (the same 10 candidates, 3-fold CV, SGD with early stopping: same scores expected)
#   digits_grid_search                           vs  sklearn_reference.py grid-digits
# Both sides use 2 threads (N_JOBS). PYTHON: a Python with scikit-learn 1.9.1, installed
# outside the repo as ../shared/bench/README.md says.
#
#   bench/reproductions.sh [PYTHON]
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
python=${1:-${SKLEARN_PYTHON:-/work/venv-sklearn/bin/python}}
ref="$shared/bench/sklearn_reference.py"
jobs=${N_JOBS:-2}

build_examples california_random_search digits_grid_search

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); $("$python" -c 'import sklearn; print("scikit-learn", sklearn.__version__)')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); n_jobs $jobs on both sides"
echo
printf '| task | side | best score | test metric | seconds |\n|---|---|---|---|---|\n'
row() { # task side json-file test-field seconds-field
  local j; j=$(tail -n 1 "$3")
  printf '| %s | %s | %.6f | %.6f | %.1f |\n' "$1" "$2" "$(echo "$j" | field best_score)" \
    "$(echo "$j" | field "$4")" "$(echo "$j" | field "$5")"
}
"$bin/california_random_search" --sklearn-analog --n-jobs "$jobs" >"$out/ours_rs" 2>/dev/null
row "random search (analog)" mlp-tune "$out/ours_rs" test_mse search_seconds
"$python" "$ref" random-search --n-jobs "$jobs" --data "$MLP_TUNE_DATA/california_housing.csv" >"$out/sk_rs" 2>/dev/null
row "random search (analog)" scikit-learn "$out/sk_rs" test_mse search_seconds
"$bin/digits_grid_search" --n-jobs "$jobs" >"$out/ours_dg" 2>/dev/null
row "digits grid" mlp-tune "$out/ours_dg" test_accuracy search_seconds
"$python" "$ref" grid-digits --n-jobs "$jobs" --data "$MLP_TUNE_DATA/digits.csv.gz" >"$out/sk_dg" 2>/dev/null
row "digits grid" scikit-learn "$out/sk_dg" test_accuracy search_seconds
echo
for t in rs dg; do
  o=$(tail -n 1 "$out/ours_$t" | field search_seconds)
  s=$(tail -n 1 "$out/sk_$t" | field search_seconds)
  python3 -c "print('$t: mlp-tune is %.1fx faster' % ($s / $o))"
done
