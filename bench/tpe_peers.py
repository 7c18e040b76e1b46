"""Peers of examples/tpe_synthetic.rs: the same four functions, seeds, budgets and regret,
minimised by Optuna, hyperopt and scikit-optimize; prints a table and, as its last line,
the same JSON shape as the Rust example (plus "n_seeds_by_sampler", "seconds", "versions";
"regrets_by_budget" is {sampler: {function: {budget: [regret, per seed]}}}, as the example's).

Install (a venv outside the repository; these exact versions were used and work together,
scikit-optimize 0.10.2 runs with numpy 2.4.6, scipy 1.17.1 and scikit-learn 1.9.1):

    python3 -m venv /work/venv-peers
    /work/venv-peers/bin/pip install optuna==5.0.0 hyperopt==0.3.0 scikit-optimize==0.10.2 \
        numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1

Run:

    /work/venv-peers/bin/python bench/tpe_peers.py [--seeds 30] [--evals 100]
        [--samplers "optuna TPE,optuna random,hyperopt TPE,skopt GP,skopt forest"]
        [--seeds-for "skopt GP=10"]   # fewer seeds for a slow sampler; the JSON records it

Samplers, each with its library's defaults except where said:
- "optuna TPE": `TPESampler(seed=s, multivariate=True)`. In Optuna 5.0.0 `multivariate=None`
  (the default) already means True for one objective, and the other defaults are the ones
  mlp-tune's `TpeOptions::default()` copies (n_startup_trials 10, n_ei_candidates 24,
  prior_weight 1, magic clip on, endpoints off, constant_liar True, group False), so this
  is Optuna's default TPE, set explicitly. Study direction "minimize" on f (mlp-tune
  maximises -f: the same ranking).
- "optuna random": `RandomSampler(seed=s)`.
- "hyperopt TPE": `fmin(algo=tpe.suggest, rstate=np.random.default_rng(s))` (its defaults:
  20 startup draws, 24 EI candidates, gamma 0.25, independent per parameter).
- "skopt GP": `gp_minimize(random_state=s)` (10 initial random points, gp_hedge).
- "skopt forest": `forest_minimize(random_state=s)` (extra trees, EI).
scikit-optimize's `dummy_minimize` (random search) is not offered: with scikit-learn 1.9.1
it fails (`is_regressor(None)` raises AttributeError); the random baselines are Optuna's
`RandomSampler` and mlp-tune's `ParamDistributions::sample`.

Time (2 shared cores, load 4 to 6): per seed, all four functions, Optuna TPE 0.5 to 1.6 s,
hyperopt 1 to 2 s, skopt forest 54 to 76 s, skopt GP 158 to 195 s: 30 seeds of GP take
one and a half hours or more.

The functions and their minima are documented in examples/tpe_synthetic.rs; the
definitions below must stay the same as there (the driver compares `check_values`).
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

import numpy as np

warnings.filterwarnings("ignore")

BUDGETS = [10, 25, 50, 100]

# ---------------------------------------------------------------------------------------
# The functions, on a dict of parameter name -> value.

H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
H_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
H_P = np.array(
    [
        [1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
        [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
        [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
        [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0],
    ]
)


def branin(p):
    x1, x2 = float(p["x1"]), float(p["x2"])
    b = 5.1 / (4.0 * math.pi * math.pi)
    c = 5.0 / math.pi
    t = 1.0 / (8.0 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * math.cos(x1) + 10.0


def hartmann6(p):
    x = [float(p[f"x{j}"]) for j in range(6)]
    total = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(6):
            inner += H_A[i, j] * (x[j] - 1e-4 * H_P[i, j]) ** 2
        total += H_ALPHA[i] * math.exp(-inner)
    return -total


def styblinski_tang8(p):
    s = 0.0
    for j in range(8):
        x = float(p[f"x{j}"])
        s += x**4 - 16.0 * x * x + 5.0 * x
    return 0.5 * s


def mixed(p):
    offset = {"a": 1.0, "b": 0.0, "c": 0.5}[p["kind"]]
    u = math.log10(float(p["lr"])) + 2.0
    v = (float(p["n"]) - 20.0) / 8.0
    return offset + u * u + u * v + v * v


# Each parameter: (name, kind, args): ("float", low, high), ("logfloat", low, high),
# ("int", low, high) with high included, ("cat", choices). Names in the Rust space's
# (sorted) order.
def _box(dim, low, high):
    return [(f"x{j}", "float", (low, high)) for j in range(dim)]


PROBLEMS = {
    "branin": dict(
        f=branin,
        space=[("x1", "float", (-5.0, 10.0)), ("x2", "float", (0.0, 15.0))],
        minimum=5.0 / (4.0 * math.pi),
        probe={"x1": 1.0, "x2": 2.0},
    ),
    "hartmann6": dict(
        f=hartmann6,
        space=_box(6, 0.0, 1.0),
        minimum=-3.3223680114155147,
        probe={f"x{j}": v for j, v in enumerate([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])},
    ),
    "styblinski_tang8": dict(
        f=styblinski_tang8,
        space=_box(8, -5.0, 5.0),
        minimum=8.0 * -39.16616570377142,
        probe={f"x{j}": v for j, v in enumerate([-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])},
    ),
    "mixed": dict(
        f=mixed,
        space=[
            ("kind", "cat", (["a", "b", "c"],)),
            ("lr", "logfloat", (1e-4, 1.0)),
            ("n", "int", (1, 64)),
        ],
        minimum=0.0,
        probe={"kind": "c", "lr": 0.003, "n": 33},
    ),
}

# ---------------------------------------------------------------------------------------
# Samplers: each returns the list of f values in evaluation order.


def run_optuna(problem, seed, n_evals, kind):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if kind == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    f = problem["f"]

    def objective(trial):
        p = {}
        for name, k, args in problem["space"]:
            if k == "float":
                p[name] = trial.suggest_float(name, *args)
            elif k == "logfloat":
                p[name] = trial.suggest_float(name, *args, log=True)
            elif k == "int":
                p[name] = trial.suggest_int(name, *args)
            else:
                p[name] = trial.suggest_categorical(name, args[0])
        return f(p)

    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=n_evals)
    return [t.value for t in study.trials]


def run_hyperopt(problem, seed, n_evals):
    from hyperopt import Trials, fmin, hp, tpe

    space = {}
    for name, k, args in problem["space"]:
        if k == "float":
            space[name] = hp.uniform(name, *args)
        elif k == "logfloat":
            space[name] = hp.loguniform(name, math.log(args[0]), math.log(args[1]))
        elif k == "int":
            space[name] = hp.uniformint(name, *args)
        else:
            space[name] = hp.choice(name, args[0])
    trials = Trials()
    fmin(
        problem["f"],
        space,
        algo=tpe.suggest,
        max_evals=n_evals,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return list(trials.losses())


def run_skopt(problem, seed, n_evals, kind):
    import skopt
    from skopt.space import Categorical, Integer, Real

    dims = []
    for name, k, args in problem["space"]:
        if k == "float":
            dims.append(Real(*args, name=name))
        elif k == "logfloat":
            dims.append(Real(*args, prior="log-uniform", name=name))
        elif k == "int":
            dims.append(Integer(*args, name=name))
        else:
            dims.append(Categorical(args[0], name=name))
    names = [d.name for d in dims]
    f = problem["f"]

    def objective(x):
        return f(dict(zip(names, x)))

    minimize = {"gp": skopt.gp_minimize, "forest": skopt.forest_minimize}[kind]
    res = minimize(objective, dims, n_calls=n_evals, random_state=seed)
    return [float(v) for v in res.func_vals]


SAMPLERS = {
    "optuna TPE": lambda p, s, n: run_optuna(p, s, n, "tpe"),
    "optuna random": lambda p, s, n: run_optuna(p, s, n, "random"),
    "hyperopt TPE": run_hyperopt,
    "skopt GP": lambda p, s, n: run_skopt(p, s, n, "gp"),
    "skopt forest": lambda p, s, n: run_skopt(p, s, n, "forest"),
}


def regret_at(values, minimum, budgets):
    out, best = {}, math.inf
    for i, v in enumerate(values, start=1):
        if v < best:
            best = v
        if i in budgets:
            out[i] = best - minimum
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument(
        "--seeds-for",
        default="",
        help='comma-separated "SAMPLER=N": use seeds 0..N for that sampler (recorded)',
    )
    args = ap.parse_args()
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    for s in samplers:
        if s not in SAMPLERS:
            sys.exit(f"unknown sampler {s!r}; known: {', '.join(SAMPLERS)}")
    seeds_for = {s: args.seeds for s in samplers}
    for item in filter(None, (x.strip() for x in args.seeds_for.split(","))):
        name, n = item.rsplit("=", 1)
        if name.strip() in seeds_for:
            seeds_for[name.strip()] = int(n)
    budgets = [b for b in BUDGETS if b <= args.evals]

    medians, finals, seconds, by_budget = {}, {}, {}, {}
    for sampler in samplers:
        medians[sampler], finals[sampler], by_budget[sampler] = {}, {}, {}
        start = time.perf_counter()
        for fname, problem in PROBLEMS.items():
            per_budget = {b: [] for b in sorted(set(budgets) | {args.evals})}
            for seed in range(seeds_for[sampler]):
                values = SAMPLERS[sampler](problem, seed, args.evals)
                if len(values) != args.evals:
                    sys.exit(f"{sampler} on {fname}: {len(values)} evaluations, not {args.evals}")
                for b, r in regret_at(values, problem["minimum"], per_budget).items():
                    per_budget[b].append(r)
            medians[sampler][fname] = {str(b): statistics.median(per_budget[b]) for b in budgets}
            finals[sampler][fname] = per_budget[args.evals]
            by_budget[sampler][fname] = {str(b): per_budget[b] for b in budgets}
        seconds[sampler] = round(time.perf_counter() - start, 1)
        print(f"# {sampler}: {seeds_for[sampler]} seeds, {seconds[sampler]} s", file=sys.stderr, flush=True)

    print(f"median regret, {args.evals} evaluations (seeds per sampler: {seeds_for})")
    print(f"{'function':<18} {'sampler':<16}" + "".join(f" {'@' + str(b):>12}" for b in budgets))
    for fname in PROBLEMS:
        for sampler in samplers:
            row = medians[sampler][fname]
            print(f"{fname:<18} {sampler:<16}" + "".join(f" {row[str(b)]:>12.4e}" for b in budgets))
    import hyperopt
    import optuna
    import skopt

    out = {
        "n_seeds": args.seeds,
        "n_seeds_by_sampler": seeds_for,
        "n_evals": args.evals,
        "budgets": budgets,
        "median_regret": medians,
        "final_regrets": finals,
        "regrets_by_budget": by_budget,
        "check_values": {name: p["f"](p["probe"]) for name, p in PROBLEMS.items()},
        "seconds": seconds,
        "versions": {
            "optuna": optuna.__version__,
            "hyperopt": hyperopt.__version__,
            "skopt": skopt.__version__,
            "numpy": np.__version__,
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
