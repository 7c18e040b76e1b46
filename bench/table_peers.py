"""The Python peers on the California tabular benchmark (issue 15, section 4): Optuna,
hyperopt and scikit-optimize look up the same numbers as examples/california_table.rs.

    /work/venv-peers/bin/python bench/table_peers.py --targets '[-0.2743, ...]'
        [--seeds 8] [--trials 30] [--samplers "optuna TPE,optuna random,hyperopt TPE,skopt GP"]

bench/table_vs_peers.sh runs the Rust example first and passes its per-seed random-search
bests as --targets (one per seed 0..seeds-1).

The table (bench/table/california_table.json) holds the 3-fold CV neg MSE of every
configuration of a discretized space: activation {relu, tanh}, learning_rate_init {3e-4,
1e-3, 3e-3, 1e-2, 3e-2}, n_hidden {0, 1, 2, 3}, n_neurons {10, 30, 50, 70, 90}, solver {sgd,
adam}: 400 configurations, 9 of which failed (null in the table, -inf for the Rust example).
california_table.rs gives every search that space as five lists (`Distribution::List`,
unordered choices); here each peer gets the same five unordered choices, with the same
values in the same order:

- "optuna TPE": `TPESampler(seed=s)`, Optuna 5.0.0's defaults (multivariate for one
  objective, 10 startup trials, 24 EI candidates, ...), `suggest_categorical` for every
  parameter; the objective is the configuration's MSE (minimised); a failed one returns
  NaN, which fails the trial (invisible to TPE, as a failed fit is to mlp-tune's TPE).
- "optuna random": `RandomSampler(seed=s)`, the same objective (a sanity row: it draws with
  replacement, while the Rust random search samples the 400-configuration grid without).
- "hyperopt TPE": `fmin(tpe.suggest, rstate=np.random.default_rng(s))`, its defaults (20
  startup draws), `hp.choice` for every parameter; a failed configuration is reported as
  `STATUS_FAIL` (invisible to its model, as a failed or infinite trial is to mlp-tune's GP).
- "skopt GP": `gp_minimize(random_state=s, n_calls=trials)`, its defaults (10 initial
  points, gp_hedge; an all-categorical space gets its Hamming kernel and acquisition by
  sampling), a `Categorical` per parameter; it cannot take an infinite value, so a failed
  configuration counts as the worst finite MSE of the table.
- "optuna TPE ordinal" (extra, not in the default list): the numbers as ordered
  parameters, `suggest_int` for n_hidden (0..3), n_neurons (10..90, step 20) and the index
  of learning_rate_init (0..4, i.e. log-spaced), categorical activation and solver: the same
  400 configurations, told to TPE as ordered.

Statistics, as california_table.rs computes them: per seed the best score after each trial,
the first trial (from 1) whose best reaches that seed's target (31 when none of the 30 does),
and the regret (table optimum minus the best score) after 10, 20 and 30 trials; medians
over the seeds. The targets are the Rust random search's per-seed bests: they depend on
mlp-tune's random stream (RandomizedSearchCV with random_state(seed) samples 30 distinct
configurations), so they are a common reference passed in, not recomputed here.

Prints a table and, as its last line, one JSON object: {"seeds", "trials", "optimum",
"targets", "trials_to_random_best": {sampler: median}, "trials_to_random_best_per_seed":
{sampler: [..]}, "regret": {sampler: {"10", "20", "30": median}}, "seconds", "versions"}.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

TABLE = Path(__file__).resolve().parent / "table" / "california_table.json"
NAMES = ["activation", "learning_rate_init", "n_hidden", "n_neurons", "solver"]


def load_table(path):
    table = json.loads(Path(path).read_text())
    axes = {name: [] for name in NAMES}
    scores = {}
    for params, score in zip(table["params"], table["mean_test_score"]):
        if sorted(params) != NAMES:
            sys.exit(f"unexpected parameters {sorted(params)}")
        for name in NAMES:
            if params[name] not in axes[name]:
                axes[name].append(params[name])
        scores[tuple(params[n] for n in NAMES)] = -math.inf if score is None else float(score)
    return axes, scores


def key(p):
    return tuple(p[n] for n in NAMES)


def run_optuna(axes, score, seed, trials, kind):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if kind == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)
    lr = axes["learning_rate_init"]

    def objective(trial):
        if kind == "ordinal":
            p = {
                "activation": trial.suggest_categorical("activation", axes["activation"]),
                "learning_rate_init": lr[trial.suggest_int("learning_rate_index", 0, len(lr) - 1)],
                "n_hidden": trial.suggest_int("n_hidden", 0, 3),
                "n_neurons": trial.suggest_int("n_neurons", 10, 90, step=20),
                "solver": trial.suggest_categorical("solver", axes["solver"]),
            }
        else:
            p = {n: trial.suggest_categorical(n, axes[n]) for n in NAMES}
        found.append(score[key(p)])
        # A failed configuration fails the trial (NaN: Optuna records it as FAIL), so
        # that it is invisible to the sampler, as a failed fit is to mlp-tune's TPE.
        return math.nan if math.isinf(found[-1]) else -found[-1]

    found = []
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=trials)
    return found


def run_hyperopt(axes, score, seed, trials):
    from hyperopt import STATUS_FAIL, STATUS_OK, Trials, fmin, hp, tpe

    space = {n: hp.choice(n, axes[n]) for n in NAMES}
    found = []

    def objective(p):
        s = score[key(p)]
        found.append(s)
        if math.isinf(s):
            return {"status": STATUS_FAIL}
        return {"loss": -s, "status": STATUS_OK}

    fmin(
        objective,
        space,
        algo=tpe.suggest,
        max_evals=trials,
        trials=Trials(),
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return found


def run_skopt(axes, score, seed, trials):
    import skopt
    from skopt.space import Categorical

    worst = max(-s for s in score.values() if math.isfinite(s))
    dims = [Categorical(axes[n], name=n) for n in NAMES]
    found = []

    def objective(x):
        s = score[key(dict(zip(NAMES, x)))]
        found.append(s)
        return -s if math.isfinite(s) else worst

    skopt.gp_minimize(objective, dims, n_calls=trials, random_state=seed)
    return found


SAMPLERS = {
    "optuna TPE": lambda a, s, seed, n: run_optuna(a, s, seed, n, "tpe"),
    "optuna random": lambda a, s, seed, n: run_optuna(a, s, seed, n, "random"),
    "hyperopt TPE": run_hyperopt,
    "skopt GP": run_skopt,
    "optuna TPE ordinal": lambda a, s, seed, n: run_optuna(a, s, seed, n, "ordinal"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", default=str(TABLE))
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--targets", required=True, help="JSON list: the target score of each seed")
    ap.add_argument("--samplers", default="optuna TPE,optuna random,hyperopt TPE,skopt GP")
    args = ap.parse_args()
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    for s in samplers:
        if s not in SAMPLERS:
            sys.exit(f"unknown sampler {s!r}; known: {', '.join(SAMPLERS)}")
    axes, score = load_table(args.table)
    optimum = max(score.values())
    targets = json.loads(args.targets)
    if len(targets) < args.seeds:
        sys.exit(f"{len(targets)} targets for {args.seeds} seeds")
    # Each target is a table score (the Rust side's CV score of a looked-up configuration):
    # snap it to the table's own value so that reaching the same configuration counts.
    values = sorted(set(score.values()))
    snapped = []
    for t in targets[: args.seeds]:
        nearest = min(values, key=lambda v: abs(v - t))
        if abs(nearest - t) > 1e-9 * max(1.0, abs(t)):
            sys.exit(f"target {t} is not a score of the table")
        snapped.append(nearest)

    budgets = [b for b in (10, 20, args.trials) if b <= args.trials]
    reach, regret, seconds = {}, {}, {}
    for sampler in samplers:
        start = time.perf_counter()
        curves = []
        for seed in range(args.seeds):
            found = SAMPLERS[sampler](axes, score, seed, args.trials)
            if len(found) != args.trials:
                sys.exit(f"{sampler}, seed {seed}: {len(found)} trials, not {args.trials}")
            best, curve = -math.inf, []
            for s in found:
                best = max(best, s)
                curve.append(best)
            curves.append(curve)
        seconds[sampler] = round(time.perf_counter() - start, 1)
        reach[sampler] = [
            next((i + 1 for i, b in enumerate(c) if b >= t), args.trials + 1)
            for c, t in zip(curves, snapped)
        ]
        regret[sampler] = {
            str(b): statistics.median(optimum - c[b - 1] for c in curves) for b in budgets
        }
        print(f"# {sampler}: {seconds[sampler]} s", file=sys.stderr, flush=True)

    print(
        f"table: {len(score)} configurations, optimum {optimum:.4f}; {args.trials} trials, "
        f"{args.seeds} seeds; targets: mlp-tune's random-search best per seed"
    )
    print(
        f"{'search':<20} trials to the random best (median, per seed)"
        f"{'':<14} regret at " + " / ".join(str(b) for b in budgets) + " (median)"
    )
    for sampler in samplers:
        r = regret[sampler]
        print(
            f"{sampler:<20} {statistics.median(reach[sampler]):>5.1f} {str(reach[sampler]):<36}"
            + "   "
            + " / ".join(f"{r[str(b)]:.4f}" for b in budgets)
        )
    import hyperopt
    import optuna
    import skopt

    print(
        json.dumps(
            {
                "seeds": args.seeds,
                "trials": args.trials,
                "optimum": optimum,
                "targets": snapped,
                "trials_to_random_best": {s: statistics.median(reach[s]) for s in samplers},
                "trials_to_random_best_per_seed": reach,
                "regret": regret,
                "seconds": seconds,
                "versions": {
                    "optuna": optuna.__version__,
                    "hyperopt": hyperopt.__version__,
                    "skopt": skopt.__version__,
                    "numpy": np.__version__,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
