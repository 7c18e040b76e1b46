"""Parity oracle for mlp-tune's TPE sampler (src/model_selection/tpe/) against Optuna.

Run (from the repository root), with Optuna 5.0.0 installed in a venv outside the repo:

    python3 -m venv /work/venv-optuna && /work/venv-optuna/bin/pip install optuna==5.0.0
    /work/venv-optuna/bin/python tests/oracle/tpe_oracle.py

It writes tests/data/tpe_oracle.json, read by tests/tpe_parity.rs. For each case (a search
space in mlp-tune's terms, a fixed history, options) it records, from Optuna's own
internals (a real `Study` with direction="maximize", `_split_trials`,
`TPESampler._build_parzen_estimator`, `_ParzenEstimator.log_pdf`):
  - which trials go below (good) and above (bad);
  - for each group of parameters sampled together (the multivariate group, then every
    parameter sampled alone), the mixture weights and every component per parameter
    (mu/sigma in the transformed space, or the categorical weights);
  - log l(x) - log g(x) at probe points (internal representation);
  - the next three candidates a fresh `TPESampler(seed=...)` proposes (`study.ask` three
    times, the earlier asks still running).

Ties: numpy's default argsort is not stable (on AVX-512 machines the order of equal values
depends on its SIMD kernel). When a history's tied values are ordered differently from a
stable sort, the case is recomputed with `numpy.argsort` forced to be stable (mlp-tune's
documented tie policy), the set of (mu, sigma) per parameter is checked to be the same
either way, and the case is marked `"ties_reordered": true`.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import TPESampler
from optuna.samplers._tpe import sampler as tpe_sampler
from optuna.samplers._tpe.probability_distributions import _BatchedCategoricalDistributions
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "tpe_oracle.json")

# ---------------------------------------------------------------------------------------
# numpy.argsort instrumentation (see the module docstring).
_np_argsort = np.argsort
_argsort_state = {"stable": False, "reordered": False}


def _argsort(a, *args, **kwargs):
    # Only the bandwidth computation's sort of the observations matters: elsewhere (the
    # de-duplication in log_pdf) the order of ties does not change any value.
    if args or kwargs or sys._getframe(1).f_code.co_name != "compute_sigmas":
        return _np_argsort(a, *args, **kwargs)
    default = _np_argsort(a)
    stable = _np_argsort(a, kind="stable")
    if not np.array_equal(default, stable):
        _argsort_state["reordered"] = True
    return stable if _argsort_state["stable"] else default


np.argsort = _argsort

# ---------------------------------------------------------------------------------------
# mlp-tune distributions -> Optuna distributions.


def to_optuna(d):
    k = d["kind"]
    if k == "list":
        return CategoricalDistribution(d["values"])
    if k == "uniform":
        return FloatDistribution(d["loc"], d["loc"] + d["scale"])
    if k == "loguniform":
        return FloatDistribution(d["low"], d["high"], log=True)
    if k == "randint":
        return IntDistribution(d["low"], d["high"] - 1)
    if k == "lograndint":
        return IntDistribution(d["low"], d["high"] - 1, log=True)
    if k == "floatstep":
        return FloatDistribution(d["low"], d["high"], step=d["step"])
    if k == "intstep":
        return IntDistribution(d["low"], d["high"], step=d["step"])
    raise ValueError(k)


def draw(d, rng):
    """A value for a history, in the parameter's range (the history is arbitrary data)."""
    k = d["kind"]
    if k == "list":
        return d["values"][rng.randint(len(d["values"]))]
    if k == "uniform":
        return float(d["loc"] + d["scale"] * rng.random_sample())
    if k == "loguniform":
        a, b = math.log(d["low"]), math.log(d["high"])
        return float(math.exp(a + (b - a) * rng.random_sample()))
    if k == "randint":
        return int(rng.randint(d["low"], d["high"]))
    if k == "lograndint":
        a, b = math.log(d["low"]), math.log(d["high"])
        return int(min(max(int(math.exp(a + (b - a) * rng.random_sample())), d["low"]), d["high"] - 1))
    if k == "floatstep":
        n = round((d["high"] - d["low"]) / d["step"])
        return float(min(d["low"] + rng.randint(n + 1) * d["step"], d["high"]))
    if k == "intstep":
        n = (d["high"] - d["low"]) // d["step"]
        return int(d["low"] + rng.randint(n + 1) * d["step"])
    raise ValueError(k)


def num(x):
    """Floats for JSON: non-finite values as strings."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


# ---------------------------------------------------------------------------------------
# Case construction.


def make_history(space, n, seed, *, absent=None, states=None, score=None, ties=None, digits=None):
    """`n` trials with values drawn from `space`; `absent(i, name)` removes a parameter,
    `states(i)` gives "complete"/"running"/"fail", `score(i, params)` the value."""
    rng = np.random.RandomState(seed)
    trials = []
    for i in range(n):
        params = {}
        for name in sorted(space):
            v = draw(space[name], rng)
            if digits is not None and isinstance(v, float):
                v = float(f"{v:.{digits}g}")  # Short JSON; any in-range value will do.
            if absent is not None and absent(i, name):
                continue
            params[name] = v
        state = states(i) if states else "complete"
        if state == "complete":
            value = score(i, params) if score else float(rng.standard_normal())
            if ties:
                value = round(value * ties) / ties
            if digits is not None:
                value = float(f"{value:.{digits}g}")
        else:
            value = None
        trials.append({"params": params, "state": state, "value": value})
    return trials


def build_study(space, history, seed):
    dists = {name: to_optuna(space[name]) for name in sorted(space)}
    study = optuna.create_study(direction="maximize", sampler=TPESampler(seed=seed))
    for t in history:
        state = {
            "complete": TrialState.COMPLETE,
            "running": TrialState.RUNNING,
            "fail": TrialState.FAIL,
        }[t["state"]]
        study.add_trial(
            optuna.trial.create_trial(
                params=t["params"],
                distributions={k: dists[k] for k in t["params"]},
                value=t["value"],
                state=state,
            )
        )
    return study, dists


def components(mpe, names):
    mix = mpe._mixture_distribution
    out = {"weights": [num(w) for w in mix.weights], "params": {}}
    for name, d in zip(names, mix.distributions):
        if isinstance(d, _BatchedCategoricalDistributions):
            out["params"][name] = {"categorical": [[num(w) for w in row] for row in d.weights]}
        else:
            out["params"][name] = {
                "mu": [num(m) for m in d.mu],
                "sigma": [num(s) for s in d.sigma],
            }
    return out


def run_case(case, stable):
    _argsort_state["stable"] = stable
    space, history, opts = case["space"], case["history"], case.get("options", {})
    seed = case["seed"]
    kwargs = {
        "multivariate": opts.get("multivariate", True),
        "constant_liar": opts.get("constant_liar", True),
        "seed": seed,
    }
    for k in ("prior_weight", "consider_magic_clip", "consider_endpoints"):
        if k in opts:
            kwargs[k] = opts[k]
    study, dists = build_study(space, history, seed)
    sampler = TPESampler(**kwargs)
    study.sampler = sampler

    states = [TrialState.COMPLETE, TrialState.PRUNED]
    if kwargs["constant_liar"]:
        states.append(TrialState.RUNNING)
    trials = study._get_trials(deepcopy=False, states=states, use_cache=False)
    n = sum(t.state != TrialState.RUNNING for t in trials)
    below, above = tpe_sampler._split_trials(study, trials, tpe_sampler.default_gamma(n))
    result = {
        "below": [t.number for t in below],
        "above": [t.number for t in above],
        "groups": [],
    }

    if kwargs["multivariate"]:
        inter = IntersectionSearchSpace(include_pruned=True).calculate(study)
        relative = [k for k, d in inter.items() if not d.single()]
    else:
        relative = []
    result["relative"] = relative
    groups = [relative] if relative else []
    groups += [[k] for k in sorted(space) if k not in relative and not dists[k].single()]
    for g in groups:
        ss = {k: dists[k] for k in g}
        l = sampler._build_parzen_estimator(study, ss, below, handle_below=True)
        a = sampler._build_parzen_estimator(study, ss, above, handle_below=False)
        # Probes: points drawn from both estimators (internal representation).
        pl = l.sample(np.random.RandomState(123), 6)
        pa = a.sample(np.random.RandomState(321), 6)
        probes = {k: np.concatenate([pl[k], pa[k]]) for k in g}
        ratio = l.log_pdf(probes) - a.log_pdf(probes)
        group = {
            "names": g,
            "probes": [[num(probes[k][i]) for k in g] for i in range(len(ratio))],
            "log_ratio": [num(r) for r in ratio],
        }
        if case.get("store_components", True):
            group["below"] = components(l, g)
            group["above"] = components(a, g)
        result["groups"].append(group)

    # The next proposal of a fresh sampler with this seed (the study's own trials are
    # untouched by the estimators above; `ask` adds the new running trial last).
    # Three asks in a row without telling: each earlier proposal is a running trial for
    # the later ones (the constant liar), and the sampler's RandomState carries on.
    result["proposals"] = [
        study.ask(fixed_distributions={k: dists[k] for k in sorted(space)}).params
        for _ in range(3)
    ]
    return result


# ---------------------------------------------------------------------------------------
# Whole searches: a fresh `TPESampler(seed=...)` driving a study from its first trial, so
# that its random startup draws and then its model's proposals are recorded in order. The
# objectives are polynomials of the parameters (tests/tpe_parity.rs computes the same
# expressions in the same order), maximised.

ACT = {"relu": 0.5, "tanh": 0.2, "logistic": 0.0}


def mixed_poly(p):
    return (
        -((p["lr"] - 0.05) ** 2) * 400.0
        - (p["alpha"] * 20.0 - 1.0) ** 2
        - ((p["batch"] - 96) / 64.0) ** 2
        - (p["momentum"] - 0.8) ** 2 * 10.0
        - (p["n_layers"] - 2) ** 2 * 0.3
        - ((p["units"] - 100) / 200.0) ** 2
        + ACT[p["act"]]
        + (0.1 if p["early"] else 0.0)
    )


def table_poly(p):
    return (
        -((p["learning_rate_init"] * 100.0 - 0.8) ** 2)
        - (p["n_hidden"] - 2) ** 2 * 0.2
        - ((p["n_neurons"] - 60) / 40.0) ** 2
        + (0.3 if p["activation"] == "relu" else 0.0)
        + (0.2 if p["solver"] == "adam" else 0.0)
    )


def branin(p):
    x, y = p["x"], p["y"]
    a = y - 5.1 / (4.0 * math.pi**2) * x**2 + 5.0 / math.pi * x - 6.0
    return -(a**2 + 10.0 * (1.0 - 1.0 / (8.0 * math.pi)) * math.cos(x) + 10.0)


OBJECTIVES = {"mixed_poly": mixed_poly, "table_poly": table_poly, "branin": branin}


def run_study(space, objective, seed, n_trials):
    dists = {name: to_optuna(space[name]) for name in sorted(space)}
    study = optuna.create_study(direction="maximize", sampler=TPESampler(seed=seed))
    trials = []
    for _ in range(n_trials):
        trial = study.ask(fixed_distributions=dists)
        value = OBJECTIVES[objective](trial.params)
        study.tell(trial, value)
        trials.append({"params": trial.params, "value": value})
    return trials


def tie_invariant(res):
    """Per group and parameter, the sorted (mu, sigma) pairs: what a tie order cannot change."""
    out = []
    for g in res["groups"]:
        for side in ("below", "above"):
            for name, p in g.get(side, {"params": {}})["params"].items():
                if "mu" in p:
                    out.append(sorted(zip(p["mu"], p["sigma"])))
    return out


def main():
    L = lambda *v: {"kind": "list", "values": list(v)}  # noqa: E731
    cases = []

    def add(name, space, history, seed=0, options=None, store_components=True):
        cases.append(
            {
                "name": name,
                "space": space,
                "history": history,
                "seed": seed,
                "options": options or {},
                "store_components": store_components,
            }
        )

    s = {"x": {"kind": "uniform", "loc": -2.0, "scale": 5.0}}
    add("float_uniform", s, make_history(s, 14, 1), seed=1)
    s = {"lr": {"kind": "loguniform", "low": 1e-5, "high": 1e-1}}
    add("log_float", s, make_history(s, 20, 2), seed=2)
    s = {"n": {"kind": "randint", "low": 1, "high": 100}}
    add("int", s, make_history(s, 20, 3), seed=3)
    s = {"n": {"kind": "intstep", "low": 0, "high": 100, "step": 5}}
    add("int_step", s, make_history(s, 18, 4), seed=4)
    s = {"m": {"kind": "floatstep", "low": 0.0, "high": 1.0, "step": 0.1}}
    add("float_step", s, make_history(s, 18, 5), seed=5)
    s = {"act": L("relu", "tanh", "logistic", "identity")}
    add("categorical", s, make_history(s, 16, 6), seed=6)
    s = {"units": {"kind": "lograndint", "low": 1, "high": 1000}}
    add("log_int", s, make_history(s, 22, 7), seed=7)

    mixed = {
        "act": L("relu", "tanh", "logistic"),
        "alpha": {"kind": "loguniform", "low": 1e-6, "high": 1e-1},
        "batch": {"kind": "intstep", "low": 16, "high": 256, "step": 16},
        "early": L(True, False),
        "lr": {"kind": "uniform", "loc": 0.001, "scale": 0.1},
        "momentum": {"kind": "floatstep", "low": 0.5, "high": 0.95, "step": 0.05},
        "n_layers": {"kind": "randint", "low": 1, "high": 5},
        "units": {"kind": "lograndint", "low": 4, "high": 512},
    }
    add("mixed_12", mixed, make_history(mixed, 12, 8), seed=8)
    add("mixed_40_ramp", mixed, make_history(mixed, 40, 9), seed=9)
    add(
        "mixed_univariate",
        mixed,
        make_history(mixed, 20, 10),
        seed=10,
        options={"multivariate": False},
    )
    add(
        "mixed_options",
        mixed,
        make_history(mixed, 20, 11),
        seed=11,
        options={"prior_weight": 0.5, "consider_endpoints": True, "consider_magic_clip": False},
    )

    cond = {
        "a": {"kind": "uniform", "loc": 0.0, "scale": 1.0},
        "b": {"kind": "loguniform", "low": 0.01, "high": 10.0},
        "c": L(1, 2, 3),
        "d": {"kind": "intstep", "low": 2, "high": 20, "step": 3},
    }
    add(
        "conditional",
        cond,
        make_history(
            cond, 30, 12, absent=lambda i, k: (k == "b" and i % 3 == 0) or (k == "d" and i % 2 == 1)
        ),
        seed=12,
    )

    fr = {
        "x": {"kind": "uniform", "loc": 0.0, "scale": 10.0},
        "n": {"kind": "randint", "low": 0, "high": 30},
        "k": L("a", "b", "c"),
    }
    pattern = ["complete"] * 4 + ["fail", "complete", "running"]
    add(
        "failed_and_running",
        fr,
        make_history(fr, 34, 13, states=lambda i: pattern[i % len(pattern)]),
        seed=13,
    )
    add(
        "running_without_liar",
        fr,
        make_history(fr, 34, 13, states=lambda i: pattern[i % len(pattern)]),
        seed=13,
        options={"constant_liar": False},
    )

    many = {
        "x": {"kind": "uniform", "loc": -5.0, "scale": 10.0},
        "n": {"kind": "randint", "low": 1, "high": 1000},
    }
    add(
        "many_70",
        many,
        make_history(many, 70, 14, score=lambda i, p: -((p["x"] - 1.0) ** 2) - abs(p["n"] - 300) / 100),
        seed=14,
    )

    ties = {
        "n": {"kind": "randint", "low": 0, "high": 5},
        "y": {"kind": "floatstep", "low": 0.0, "high": 2.0, "step": 0.5},
        "z": L("p", "q"),
    }
    add("ties_scores_and_values", ties, make_history(ties, 36, 15, ties=2), seed=15)
    add("startup_boundary", fr, make_history(fr, 10, 16), seed=16)
    # A long search: 275 bad trials x 8 continuous parameters = 2200 truncation masses in
    # one array, past the 2000 where Optuna swaps math.erf for its polynomial erf (at most
    # 1 ulp apart). Components are not stored, to keep the file small.
    long = {k: {"kind": "uniform", "loc": 0.0, "scale": 1.0} for k in "abcdefgh"}
    add(
        "long_300_vectorised_erf",
        long,
        make_history(long, 300, 17, digits=6),
        seed=17,
        store_components=False,
    )

    out = []
    for case in cases:
        _argsort_state["reordered"] = False
        res = run_case(case, stable=False)
        reordered = _argsort_state["reordered"]
        if reordered:
            stable = run_case(case, stable=True)
            assert tie_invariant(stable) == tie_invariant(res), case["name"]
            res = stable
        res["ties_reordered"] = reordered
        case.update(res)
        out.append(case)
        print(f"{case['name']}: below {len(res['below'])}, above {len(res['above'])}, "
              f"groups {[g['names'] for g in res['groups']]}, ties_reordered {reordered}")
    L5 = L(3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    table = {
        "activation": L("relu", "tanh"),
        "learning_rate_init": L5,
        "n_hidden": L(0, 1, 2, 3),
        "n_neurons": L(10, 30, 50, 70, 90),
        "solver": L("sgd", "adam"),
    }
    plane = {
        "x": {"kind": "uniform", "loc": -5.0, "scale": 15.0},
        "y": {"kind": "uniform", "loc": 0.0, "scale": 15.0},
    }
    studies = []
    for name, space, objective, seeds, n in [
        ("mixed", mixed, "mixed_poly", (0, 1, 2), 30),
        ("table", table, "table_poly", (0, 3), 30),
        ("branin", plane, "branin", (5,), 25),
    ]:
        for seed in seeds:
            # With mlp-tune's tie policy (stable argsort), and unmodified for the record.
            _argsort_state["stable"] = True
            trials = run_study(space, objective, seed, n)
            _argsort_state["stable"] = False
            same = run_study(space, objective, seed, n) == trials
            studies.append(
                {"name": f"{name}_seed{seed}", "space": space, "objective": objective,
                 "seed": seed, "trials": trials, "same_with_unstable_argsort": same}
            )
            print(f"study {name} seed {seed}: {n} trials, best "
                  f"{max(t['value'] for t in trials):.6g}, same with numpy's default argsort: {same}")
    doc = {
        "optuna_version": optuna.__version__,
        "numpy_version": np.__version__,
        "cases": out,
        "studies": studies,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
