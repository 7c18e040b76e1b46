#!/usr/bin/env bash
# Issue 15, section 4: mlp-tune's TpeSampler against Optuna 5.0.0, hyperopt 0.3.0 and
# scikit-optimize 0.10.2 on the same synthetic functions, seeds, budgets and regret, in the
# same run. PYTHON is the interpreter of a venv (outside the repository) holding the peers:
#
#   python3 -m venv /work/venv-peers
#   /work/venv-peers/bin/pip install optuna==5.0.0 hyperopt==0.3.0 scikit-optimize==0.10.2 \
#       numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1
#
#   bench/tpe_vs_peers.sh /work/venv-peers/bin/python
#   SEEDS=30 EVALS=100 SLOW_SEEDS=10 bench/tpe_vs_peers.sh /work/venv-peers/bin/python
#
# SEEDS (default 30) seeds 0..SEEDS-1 for mlp-tune (TPE and random) and the fast peers
# (Optuna TPE and random, hyperopt TPE); SLOW_SEEDS (default SEEDS) for scikit-optimize's
# GP and forest, which take about 160 s and 55 s per seed here (all four functions): the
# table says how many seeds each sampler had. SAMPLERS (default all) is passed to
# bench/tpe_peers.py. Everything runs under `nice -n 10`.
#
# Prints the machine and load, both tables, a check that both languages evaluate the same
# functions (f at a probe point), then median regret per function and budget for every
# sampler side by side, and the ratio mlp-tune TPE / Optuna TPE median regret at each
# budget (target at 100 evaluations: <= 1.1).
set -euo pipefail
python=${1:?usage: bench/tpe_vs_peers.sh PYTHON (the peers venv interpreter)}
cd "$(dirname "$0")/.."
seeds=${SEEDS:-30}
evals=${EVALS:-100}
slow_seeds=${SLOW_SEEDS:-$seeds}
samplers=${SAMPLERS:-optuna TPE,optuna random,hyperopt TPE,skopt GP,skopt forest}
target=${CARGO_TARGET_DIR:-$(pwd)/target}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

nice -n 10 cargo build --release --example tpe_synthetic >&2

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores"
echo "start: $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "seeds $seeds (scikit-optimize GP/forest: $slow_seeds), evaluations $evals"
echo
nice -n 10 "$target/release/examples/tpe_synthetic" --seeds "$seeds" --evals "$evals" \
  | tee "$out/ours.txt"
echo
nice -n 10 "$python" bench/tpe_peers.py --seeds "$seeds" --evals "$evals" \
  --samplers "$samplers" --seeds-for "skopt GP=$slow_seeds,skopt forest=$slow_seeds" \
  | tee "$out/peers.txt"
echo
echo "end: $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

"$python" - "$out/ours.txt" "$out/peers.txt" <<'EOF'
import json, sys

ours = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
peers = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
for name, v in ours["check_values"].items():
    w = peers["check_values"][name]
    if abs(v - w) > 1e-9 * max(1.0, abs(v)):
        sys.exit(f"the functions differ: {name} gives {v} in Rust, {w} in Python")
print("functions checked: Rust and Python agree at the probe points")
budgets = [str(b) for b in ours["budgets"]]
med = {**ours["median_regret"], **peers["median_regret"]}
n_seeds = {s: ours["n_seeds"] for s in ours["median_regret"]}
n_seeds.update(peers["n_seeds_by_sampler"])
print()
print("median regret (best-so-far minus the known minimum) per evaluation budget")
print(f"{'function':<18} {'sampler':<16} {'seeds':>5}" + "".join(f" {'@' + b:>11}" for b in budgets))
for fname in ours["median_regret"]["mlp-tune TPE"]:
    for s in med:
        print(f"{fname:<18} {s:<16} {n_seeds[s]:>5}" + "".join(f" {med[s][fname][b]:>11.3e}" for b in budgets))
if "optuna TPE" in med:
    print()
    print("ratio mlp-tune TPE / Optuna TPE median regret (target at the last budget: <= 1.1)")
    print(f"{'function':<18}" + "".join(f" {'@' + b:>9}" for b in budgets) + "  verdict")
    for fname in ours["median_regret"]["mlp-tune TPE"]:
        r = [med["mlp-tune TPE"][fname][b] / med["optuna TPE"][fname][b] if med["optuna TPE"][fname][b] > 0 else float("nan") for b in budgets]
        verdict = "ok" if r[-1] <= 1.1 else "WORSE than 1.1x"
        print(f"{fname:<18}" + "".join(f" {x:>9.2f}" for x in r) + f"  {verdict}")
EOF
