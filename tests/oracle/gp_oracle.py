"""Parity oracle for mlp-tune's Gaussian process (src/model_selection/gp/) against
scikit-learn's GaussianProcessRegressor and scikit-optimize's acquisition functions.

Run (from the repository root) with scikit-learn 1.9.1, scipy 1.17.1 and scikit-optimize
0.10.2 in a venv outside the repo:

    python3 -m venv /work/venv-gp && /work/venv-gp/bin/pip install \
        scikit-learn==1.9.1 scikit-optimize==0.10.2
    /work/venv-gp/bin/python tests/oracle/gp_oracle.py

It writes tests/data/gp_oracle.json, read by tests/gp_parity.rs. The kernel is the one
scikit-optimize cooks for gp_minimize: ConstantKernel(1, (0.01, 1000)) *
Matern(ones(d), (0.01, 100), nu=2.5) + WhiteKernel(1, (1e-5, 1e5)), with alpha = 1e-10
and normalize_y = True. For each data set (inputs in the unit box, written out in full):
  - `lml`: the log marginal likelihood and its gradient at given theta (log
    hyperparameters: constant, length scales, noise), from
    `log_marginal_likelihood(theta, eval_gradient=True)`;
  - `fitted`: the hyperparameters scikit-learn's own fit finds from the kernel's start with
    no restarts (scipy's L-BFGS-B, default tolerances), its LML, and the same optimum
    polished with tight tolerances (`tight_theta`), which tells how far scipy's default
    stop is from the optimum;
  - `posterior`: at fixed hyperparameters, mean and std at probe points from a
    GaussianProcessRegressor with the noise-free kernel and alpha = noise + 1e-10 (which is
    how scikit-optimize predicts: the white noise is fitted, then left out of the std), and
    scikit-optimize's gaussian_ei / gaussian_pi / gaussian_lcb at those points.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import scipy.optimize
import sklearn
import skopt
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from skopt.acquisition import gaussian_ei, gaussian_lcb, gaussian_pi


def kernel(d, constant=1.0, length=None, noise=1.0, fixed=False):
    length = np.ones(d) if length is None else np.asarray(length, float)
    bounds = "fixed" if fixed else None
    k = ConstantKernel(constant, bounds or (0.01, 1000.0)) * Matern(
        length, bounds or [(0.01, 100.0)] * d, nu=2.5
    )
    return k + WhiteKernel(noise, bounds or (1e-5, 1e5))


def case(name, x, y, thetas, hyper, probes, y_opt, xi, kappa):
    d = x.shape[1]
    gpr = GaussianProcessRegressor(kernel(d), alpha=1e-10, normalize_y=True, optimizer=None)
    gpr.fit(x, y)
    lml = []
    for theta in thetas:
        value, grad = gpr.log_marginal_likelihood(np.asarray(theta), eval_gradient=True)
        lml.append({"theta": list(theta), "value": float(value), "grad": grad.tolist()})

    fitted = GaussianProcessRegressor(
        kernel(d), alpha=1e-10, normalize_y=True, n_restarts_optimizer=0
    ).fit(x, y)
    theta = fitted.kernel_.theta
    bounds = fitted.kernel_.bounds

    def objective(t):
        v, g = gpr.log_marginal_likelihood(t, eval_gradient=True)
        return -v, -g

    tight = scipy.optimize.minimize(
        objective,
        theta,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 100000},
    )

    constant, length, noise = hyper
    pred = GaussianProcessRegressor(
        ConstantKernel(constant, "fixed") * Matern(np.asarray(length), "fixed", nu=2.5),
        alpha=noise + 1e-10,
        normalize_y=True,
        optimizer=None,
    ).fit(x, y)
    mean, std = pred.predict(probes, return_std=True)
    return {
        "name": name,
        "d": d,
        "x": x.ravel().tolist(),
        "y": y.tolist(),
        "lml": lml,
        "fitted": {
            "theta": theta.tolist(),
            "lml": float(fitted.log_marginal_likelihood_value_),
            "tight_theta": tight.x.tolist(),
            "tight_lml": float(-tight.fun),
        },
        "posterior": {
            "hyper": {"constant": constant, "length_scales": list(length), "noise": noise},
            "probes": probes.ravel().tolist(),
            "mean": mean.tolist(),
            "std": std.tolist(),
            "y_opt": y_opt,
            "xi": xi,
            "kappa": kappa,
            "ei": gaussian_ei(probes, pred, y_opt=y_opt, xi=xi).tolist(),
            "pi": gaussian_pi(probes, pred, y_opt=y_opt, xi=xi).tolist(),
            "lcb": gaussian_lcb(probes, pred, kappa=kappa).tolist(),
        },
    }


def main():
    rng = np.random.RandomState(20261207)
    cases = []

    # A noisy 3-d objective.
    x = rng.uniform(size=(14, 3))
    y = np.sin(5 * x[:, 0]) + (x[:, 1] - 0.3) ** 2 * 4 + 0.2 * x[:, 2] + 0.05 * rng.normal(size=14)
    probes = np.vstack([rng.uniform(size=(6, 3)), x[:2]])
    cases.append(
        case(
            "noisy_3d",
            x,
            y,
            [[0.0, 0.0, 0.0, 0.0, 0.0], [0.5, -1.2, 0.3, 1.5, -4.0], [2.0, -3.0, -0.5, 2.0, -9.0]],
            (1.7, [0.3, 0.8, 2.0], 0.01),
            probes,
            float(y.min()),
            0.01,
            1.96,
        )
    )

    # A noise-free 2-d objective: the fitted noise goes to its lower bound.
    x = rng.uniform(size=(10, 2))
    y = (x[:, 0] - 0.4) ** 2 + np.cos(3 * x[:, 1])
    probes = rng.uniform(size=(5, 2))
    cases.append(
        case(
            "smooth_2d",
            x,
            y,
            [[0.0, 0.0, 0.0, 0.0], [1.0, -0.7, -0.2, -11.0]],
            (0.8, [0.5, 0.25], 1e-5),
            probes,
            float(y.min()),
            0.05,
            2.6,
        )
    )

    out = {
        "versions": {
            "sklearn": sklearn.__version__,
            "skopt": skopt.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
        },
        "cases": cases,
    }
    path = pathlib.Path(__file__).resolve().parents[1] / "data" / "gp_oracle.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
