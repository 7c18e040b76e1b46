"""scikit-optimize's gp_minimize on the functions of examples/gp_synthetic.rs.

    /work/venv-peers/bin/python bench/gp_vs_skopt.py [--seeds 10] [--evals 50] [--functions hartmann6]

(scikit-optimize 0.10.2, scikit-learn 1.9.1.) Defaults of gp_minimize throughout:
10 random initial points, acq_func="gp_hedge", acq_optimizer="lbfgs", n_points=10000,
n_restarts_optimizer=5, noise="gaussian". Prints the median regret after 10, 25 and 50
evaluations and, as its last line, one JSON object shaped as the example's:
{"n_seeds", "n_evals", "median_regret": {"skopt": {function: {budget: median}}},
"final_regrets": {"skopt": {function: [per seed]}}, "seconds": {function: mean seconds}}.
"""

import argparse
import json
import math
import time
import warnings

import numpy as np
from skopt import gp_minimize

H_ALPHA = [1.0, 1.2, 3.0, 3.2]
H_A = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
]
H_P = [
    [1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
    [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
    [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
    [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0],
]


def branin(x):
    x1, x2 = x
    b = 5.1 / (4 * math.pi**2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(x):
    return -sum(
        H_ALPHA[i] * math.exp(-sum(H_A[i][j] * (x[j] - 1e-4 * H_P[i][j]) ** 2 for j in range(6)))
        for i in range(4)
    )


PROBLEMS = [
    ("branin", branin, [(-5.0, 10.0), (0.0, 15.0)], 5 / (4 * math.pi)),
    ("hartmann6", hartmann6, [(0.0, 1.0)] * 6, -3.3223680114155147),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evals", type=int, default=50)
    parser.add_argument("--functions", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    budgets = [b for b in (10, 25, 50) if b <= args.evals]
    medians, finals, seconds = {}, {}, {}
    warnings.simplefilter("ignore")
    only = [n for n in args.functions.split(",") if n]
    for name, f, dims, minimum in PROBLEMS:
        if only and name not in only:
            continue
        runs = []
        started = time.time()
        for seed in range(args.seeds):
            res = gp_minimize(f, dims, n_calls=args.evals, random_state=seed)
            runs.append(np.minimum.accumulate(res.func_vals) - minimum)
        seconds[name] = (time.time() - started) / args.seeds
        medians[name] = {}
        for b in budgets:
            m = float(np.median([r[b - 1] for r in runs]))
            print(f" skopt {name:>10} regret after {b:>3}: {m:.6f}", flush=True)
            medians[name][str(b)] = m
        finals[name] = [float(r[args.evals - 1]) for r in runs]
    print(
        json.dumps(
            {
                "n_seeds": args.seeds,
                "n_evals": args.evals,
                "median_regret": {"skopt": medians},
                "final_regrets": {"skopt": finals},
                "seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
