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
    no restarts (scipy's L-BFGS-B, default tolerances) and its LML;
  - `converged`: the same fit (same start, no restarts) run to the optimum itself, through
    `GaussianProcessRegressor(optimizer=converged_optimizer)`: scipy's L-BFGS-B with
    LBFGSB_OPTIONS (no tolerance: it runs until its line search can lower nothing), then
    `polish_newton` (below: at most NEWTON_STEPS safeguarded Newton steps with a Hessian
    from central differences of the gradient). Then the fitted hyperparameters, the LML,
    the projected gradient left and the smallest eigenvalue of the free Hessian (which
    bound how far from the true optimum the point can be: rounding of the gradient over
    that eigenvalue), and the posterior mean/std and EI/PI/LCB at the probe points with
    those hyperparameters, as scikit-optimize predicts (below);
  - `posterior`: at fixed hyperparameters, mean and std at probe points from a
    GaussianProcessRegressor with the noise-free kernel and alpha = noise + 1e-10 (which is
    how scikit-optimize predicts: the white noise is fitted, then left out of the std), and
    scikit-optimize's gaussian_ei / gaussian_pi / gaussian_lcb at those points.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import scipy.linalg
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


# The converged fit: scipy's L-BFGS-B with no stopping tolerance (ftol = gtol = 0: it stops
# when its line search fails to lower the objective, which happens at the gradient's
# rounding level, or after maxiter iterations), then Newton steps.
LBFGSB_OPTIONS = {"ftol": 0.0, "gtol": 0.0, "maxiter": 1000}
NEWTON_STEPS = 10
NEWTON_FD_STEP = 1e-5


def projected_gradient(theta, grad, lo, hi):
    return float(np.max(np.abs(np.clip(theta - grad, lo, hi) - theta)))


def free_hessian(fun_grad, theta, free):
    """Central differences of the gradient on the free coordinates, symmetrized."""
    h = np.zeros((len(free), len(free)))
    for a, i in enumerate(free):
        up, down = theta.copy(), theta.copy()
        up[i] += NEWTON_FD_STEP
        down[i] -= NEWTON_FD_STEP
        h[:, a] = (fun_grad(up)[1][free] - fun_grad(down)[1][free]) / (2 * NEWTON_FD_STEP)
    return 0.5 * (h + h.T)


def free_coordinates(theta, grad, lo, hi):
    """The coordinates not held at a bound by a gradient pointing out of the box."""
    held = ((theta <= lo) & (grad > 0)) | ((theta >= hi) & (grad < 0))
    return np.flatnonzero(~held)


def polish_newton(fun_grad, theta, bounds):
    """Safeguarded Newton on the free coordinates (mlp-tune's lbfgsb::polish_newton, step
    for step): Hessian of the free block by central differences of the gradient (step
    NEWTON_FD_STEP), step -H^-1 g by Cholesky, clipped to the box, kept only if it strictly
    lowers the projected gradient; stop at the first step not kept, a Hessian that is not
    positive definite, a non-finite value or a step that changes nothing."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    theta = np.clip(np.asarray(theta, float), lo, hi)
    value, grad = fun_grad(theta)
    pg = projected_gradient(theta, grad, lo, hi)
    for _ in range(NEWTON_STEPS):
        if pg == 0.0:
            break
        free = free_coordinates(theta, grad, lo, hi)
        if len(free) == 0:
            break
        try:
            chol = np.linalg.cholesky(free_hessian(fun_grad, theta, free))
        except np.linalg.LinAlgError:
            break
        step = scipy.linalg.cho_solve((chol, True), -grad[free])
        new = theta.copy()
        new[free] = np.clip(theta[free] + step, lo[free], hi[free])
        if np.array_equal(new, theta) or not np.all(np.isfinite(new)):
            break
        new_value, new_grad = fun_grad(new)
        if not (np.isfinite(new_value) and np.all(np.isfinite(new_grad))):
            break
        new_pg = projected_gradient(new, new_grad, lo, hi)
        if new_pg >= pg:
            break
        theta, value, grad, pg = new, new_value, new_grad, new_pg
    return theta, value


def converged_optimizer(obj_func, initial_theta, bounds):
    """scikit-learn's `optimizer` callable: (obj_func, initial_theta, bounds) -> (theta,
    min value), obj_func(theta) returning the negated LML and its gradient."""
    result = scipy.optimize.minimize(
        obj_func, initial_theta, jac=True, method="L-BFGS-B", bounds=bounds,
        options=LBFGSB_OPTIONS,
    )
    return polish_newton(obj_func, result.x, bounds)


def skopt_posterior(x, y, constant, length, noise, probes, y_opt, xi, kappa):
    """Mean, std and acquisitions as scikit-optimize predicts: the noise-free kernel with
    alpha = noise + 1e-10."""
    pred = GaussianProcessRegressor(
        ConstantKernel(constant, "fixed") * Matern(np.asarray(length), "fixed", nu=2.5),
        alpha=noise + 1e-10,
        normalize_y=True,
        optimizer=None,
    ).fit(x, y)
    mean, std = pred.predict(probes, return_std=True)
    return {
        "mean": mean.tolist(),
        "std": std.tolist(),
        "ei": gaussian_ei(probes, pred, y_opt=y_opt, xi=xi).tolist(),
        "pi": gaussian_pi(probes, pred, y_opt=y_opt, xi=xi).tolist(),
        "lcb": gaussian_lcb(probes, pred, kappa=kappa).tolist(),
    }


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

    converged = GaussianProcessRegressor(
        kernel(d), alpha=1e-10, normalize_y=True, optimizer=converged_optimizer
    ).fit(x, y)
    c_theta = converged.kernel_.theta
    bounds = converged.kernel_.bounds
    lo, hi = bounds[:, 0], bounds[:, 1]

    def objective(t):
        v, g = gpr.log_marginal_likelihood(t, eval_gradient=True)
        return -v, -g

    _, c_grad = objective(c_theta)
    free = free_coordinates(c_theta, c_grad, lo, hi)
    c_hyper = np.exp(c_theta)

    constant, length, noise = hyper
    return {
        "name": name,
        "d": d,
        "x": x.ravel().tolist(),
        "y": y.tolist(),
        "lml": lml,
        "fitted": {
            "theta": theta.tolist(),
            "lml": float(fitted.log_marginal_likelihood_value_),
        },
        "converged": {
            "theta": c_theta.tolist(),
            "lml": float(converged.log_marginal_likelihood_value_),
            "projected_gradient": projected_gradient(c_theta, c_grad, lo, hi),
            "free": free.tolist(),
            "min_free_hessian_eigenvalue": float(
                np.linalg.eigvalsh(free_hessian(objective, c_theta, free))[0]
            ),
            "posterior": skopt_posterior(
                x, y, c_hyper[0], c_hyper[1 : d + 1], c_hyper[d + 1], probes, y_opt, xi, kappa
            ),
        },
        "posterior": {
            "hyper": {"constant": constant, "length_scales": list(length), "noise": noise},
            "probes": probes.ravel().tolist(),
            "y_opt": y_opt,
            "xi": xi,
            "kappa": kappa,
            **skopt_posterior(x, y, constant, length, noise, probes, y_opt, xi, kappa),
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

    # A noisier 3-d objective with more points: every hyperparameter interior and the
    # optimum well-conditioned (the converged fit's parity case without bounds).
    x = rng.uniform(size=(25, 3))
    y = (
        np.sin(5 * x[:, 0])
        + (x[:, 1] - 0.3) ** 2 * 4
        + 0.5 * np.cos(3 * x[:, 2])
        + 0.3 * rng.normal(size=25)
    )
    probes = rng.uniform(size=(6, 3))
    cases.append(
        case(
            "interior_3d",
            x,
            y,
            [[0.0, 0.0, 0.0, 0.0, 0.0], [1.5, -0.4, 0.4, 0.7, -5.2]],
            (4.6, [0.65, 1.45, 1.98], 0.0054),
            probes,
            float(y.min()),
            0.01,
            1.96,
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
