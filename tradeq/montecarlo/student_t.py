"""Coverage of the Student-t inverted U under firm and year effects (a validation-matrix row).

Data sets, each a balanced panel of ``N_FIRMS`` firms × ``N_YEARS`` years (few years per firm,
where the fixed effects take a large share of the degrees of freedom, n_eff / n = 0.74):

    y_it = b1 x_it + b2 x_it² + beta c_it + alpha_i + delta_t + sigma · t_nu,
    x_it = 4 + 0.5 u_i + 0.4 v_it,  c_it ~ N(0, 1),  alpha_i ~ N(0, 1),  delta_t ~ N(0, 0.3²),

with the parameters drawn from the fit's prior (the calibration check) or fixed at
:data:`TRUTH` (nu = 5 degrees of freedom). Each is fitted by the pooled
Bayesian inverted U with ``likelihood="student_t"`` (:mod:`tradeq.models.bayes.numpyro_model`),
one NUTS chain per data set, the data sets vectorised
(:func:`tradeq.models.bayes.numpyro_model.sample_batch`, one compilation for all), and the
95% equal-tailed intervals of b1, b2 and sigma are checked against the truth. The prior is
fixed across data sets (weakly informative, on the scales of the data-scaled defaults).

``form="explicit"`` is the model the fits use (the effects sampled explicitly,
:mod:`tradeq.models.bayes.student_t`); ``form="profile"`` the demeaned rows alone, the
profile likelihood that understates sigma and the posterior sds.

Regenerate the fixture (``tests/fixtures/student_t_coverage.json``)::

    python -m tradeq.montecarlo.student_t --reps 200 --seed 0 --out tests/fixtures/student_t_coverage.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

N_FIRMS = 60
N_YEARS = 4
TRUTH = {"b1": 0.8, "b2": -0.1, "beta": 0.2, "sigma": 0.5, "nu": 5.0}
CENTER = 4.0
LEVEL = 0.95
PARAMETERS = ("b1", "b2", "sigma")


def simulate_design(rng: np.random.Generator, truth: dict = TRUTH):
    """One data set as a :class:`tradeq.models.design.Design` (module docstring), ``truth``'s
    b1, b2, beta, sigma and nu."""
    from tradeq.models.design import Design

    firm = np.repeat(np.arange(N_FIRMS), N_YEARS)
    year = np.tile(np.arange(N_YEARS), N_FIRMS)
    n = firm.size
    x = 4.0 + 0.5 * rng.standard_normal(N_FIRMS)[firm] + 0.4 * rng.standard_normal(n)
    c = rng.standard_normal(n)
    e = truth["sigma"] * rng.standard_t(truth["nu"], n)
    y = (truth["b1"] * x + truth["b2"] * x**2 + truth["beta"] * c + rng.standard_normal(N_FIRMS)[firm]
         + 0.3 * rng.standard_normal(N_YEARS)[year] + e)
    return Design(y=y, X=np.column_stack([x, x**2, c]), x_names=("Market", "I(Market ** 2)", "c"),
                  fe=np.column_stack([firm, year]).astype(np.int32), fe_names=("firm", "year"),
                  cluster=np.zeros((n, 0), np.int32), cluster_names=(), row_id=np.arange(n), y_name="y")


def prior(truth: str):
    """The fits' prior: ``"prior"``, the one the truths are drawn from (:func:`draw_truth`);
    ``"fixed"``, weakly informative on the data's scales (sd(y) ~ 1.2, sd(x) ~ 0.64,
    sd((x - 4)^2) ~ 0.57)."""
    from tradeq.models.bayes.priors import PriorScales

    if truth == "prior":
        return PriorScales(slope=0.5, b2=0.2, tau_slope=0.5, tau_b2=0.2, beta=(0.5,), sigma=0.5)
    return PriorScales(slope=5.0, b2=5.0, tau_slope=5.0, tau_b2=5.0, beta=(3.0,), sigma=1.2)


def draw_truth(rng: np.random.Generator) -> dict:
    """Parameters from ``prior("prior")`` (pooled model, numpyro_model's priors): slope, b2, beta
    normal, sigma half-normal, nu ~ Gamma(2, 0.1); b1 = slope - 2 c b2."""
    p = prior("prior")
    slope, b2 = p.slope * rng.standard_normal(), p.b2 * rng.standard_normal()
    return {"b1": slope - 2 * CENTER * b2, "b2": b2, "beta": p.beta[0] * rng.standard_normal(),
            "sigma": abs(p.sigma * rng.standard_normal()), "nu": rng.gamma(p.nu_shape, 1.0 / p.nu_rate)}


def batched_data(reps: int, seed: int, form: str, truth: str = "prior") -> tuple[dict[str, np.ndarray], list[dict]]:
    """The model data of ``reps`` data sets, stacked on a leading axis, and their truths."""
    from tradeq.models.bayes.design import build_group_design, sufficient_stats
    from tradeq.models.bayes.numpyro_model import model_data

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 14]))
    parts, truths = [], []
    for _ in range(reps):
        truths.append(draw_truth(rng) if truth == "prior" else dict(TRUTH))
        gd = build_group_design(simulate_design(rng, truths[-1]), None, None, "Market", center=CENTER)
        ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
        parts.append(model_data(gd, ss, rows=True, explicit_fe=form == "explicit"))
    return {k: np.stack([p[k] for p in parts]) for k in parts[0]}, truths


def coverage_of_draws(draws: dict[str, np.ndarray], truths: list[dict], level: float = LEVEL) -> dict:
    """Coverage of the truths by the equal-tailed ``level`` intervals, draws (reps, L, ...),
    and the z-scores (posterior mean - truth) / posterior sd (mean 0, sd 1 when calibrated)."""
    alpha = (1.0 - level) / 2.0
    out = {}
    for name in PARAMETERS:
        d = np.asarray(draws[name]).reshape(draws[name].shape[0], -1)
        t = np.array([tr[name] for tr in truths])
        lo, hi = np.quantile(d, [alpha, 1 - alpha], axis=1)
        hit = (lo <= t) & (t <= hi)
        z = (d.mean(axis=1) - t) / d.std(axis=1, ddof=1)
        p = float(hit.mean())
        out[name] = {"coverage": p, "mc_se": math.sqrt(p * (1 - p) / hit.size),
                     "mc_se_nominal": math.sqrt(level * (1 - level) / hit.size),
                     "mean": float(d.mean(axis=1).mean()), "mean_sd": float(d.std(axis=1, ddof=1).mean()),
                     "sd_of_means": float(d.mean(axis=1).std(ddof=1)),
                     "z_mean": float(z.mean()), "z_sd": float(z.std(ddof=1))}
    return out


def student_t_coverage(reps: int, seed: int, *, form: str = "explicit", truth: str = "prior", draws: int = 400,
                       tune: int = 400, chunk: int | None = None) -> dict:
    """95% interval coverage of b1, b2 and sigma with Monte Carlo SEs over ``reps`` data sets.

    ``truth="prior"`` (the calibration check, as in simulation-based calibration, Talts et al.
    2018): each data set's parameters are drawn from the prior the fit uses, so a correctly
    computed posterior covers with exactly 95% on average. ``truth="fixed"``: :data:`TRUTH` in
    every data set, fitted with a weakly informative prior (frequentist coverage at one point,
    which the prior on nu may pull: a documented region, not a defect of the likelihood).

    Returns ``{"b1"|"b2"|"sigma": {"coverage", "mc_se", "mc_se_nominal", "mean", "mean_sd",
    "sd_of_means", "z_mean", "z_sd"},
    "reps", "seed", "form", "level", "truth", "divergent_share", "design"}``; ``mc_se`` is the
    binomial SE at the measured coverage, ``mc_se_nominal`` at the nominal one; ``mean_sd`` is the
    average posterior sd, ``sd_of_means`` the sd of the posterior means over data sets (equal
    for a calibrated posterior). ``form``: "explicit" (the fits' model) or "profile".
    """
    from tradeq.models.bayes.fit import dense_sites
    from tradeq.models.bayes.numpyro_model import make_model, sample_batch

    if form not in ("explicit", "profile"):
        raise ValueError(f"form must be 'explicit' or 'profile', got {form!r}")
    if truth not in ("prior", "fixed"):
        raise ValueError(f"truth must be 'prior' or 'fixed', got {truth!r}")
    data, truths = batched_data(int(reps), int(seed), form, truth)
    model = make_model(prior(truth), 1, center=CENTER, hierarchical=False, likelihood="student_t")
    out, divergent = sample_batch(model, data, seed=int(seed), draws=int(draws), tune=int(tune), target_accept=0.9,
                                  dense_mass=dense_sites(False, 1, "student_t"), chunk=chunk)
    result = coverage_of_draws(out, truths)
    result.update({"reps": int(reps), "seed": int(seed), "form": form, "level": LEVEL,
                   "truth": "drawn from the prior" if truth == "prior" else dict(TRUTH),
                   "draws": int(draws), "tune": int(tune), "divergent_share": float(np.mean(divergent)),
                   "design": f"{N_FIRMS} firms x {N_YEARS} years, firm and year effects, Student-t(nu=5) errors"})
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m tradeq.montecarlo.student_t --reps R --seed S [--form F] [--out PATH]``."""
    import tradeq

    tradeq.setup_runtime()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--form", default="explicit", choices=("explicit", "profile"))
    ap.add_argument("--truth", default="prior", choices=("prior", "fixed"))
    ap.add_argument("--chunk", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    result = student_t_coverage(args.reps, args.seed, form=args.form, truth=args.truth, chunk=args.chunk)
    result["command"] = ("python -m tradeq.montecarlo.student_t " + " ".join(sys.argv[1:] if argv is None else argv)).strip()
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
