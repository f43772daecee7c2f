"""The design of the Bayesian mediation model (:mod:`tradeq.models.bayes.mediation`'s docstring has
the equations): per equation the FE-demeaned regressors, the sufficient statistics and the
least-squares solution the collapsed likelihood needs, with the data-scaled prior scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .design import demean, fe_rank, interact, sufficient_stats

AUTOSCALE = 2.5


@dataclass(frozen=True)
class Equation:
    """One Gaussian equation's sufficient statistics.

    ``Q`` = Z'Z (k, k), ``Qinv`` its inverse, ``theta_hat`` (k,) least squares, ``s`` the
    least-squares residual sd, ``rss_hat``, ``n_eff``; ``prior`` (k,) the coefficients'
    prior sds (the path entries are replaced by tau in the hierarchical model),
    ``sigma_prior`` the HalfNormal scale of σ; ``logdet_Q`` = log|Q|.
    """

    names: tuple[str, ...]
    Q: np.ndarray
    Qinv: np.ndarray
    theta_hat: np.ndarray
    s: float
    rss_hat: float
    n_eff: float
    prior: np.ndarray
    sigma_prior: float
    logdet_Q: float

    @property
    def k(self) -> int:
        return int(self.theta_hat.shape[0])


@dataclass(frozen=True)
class MediationDesign:
    """The two equations' whitened sufficient statistics and where each path sits in θ.

    Mediator θ_m = [a (G), d_m (p)]; outcome θ_y = [c' (G), (q (G)), b (G), d_y (p)].
    """

    mediator: Equation
    outcome: Equation
    group_names: tuple[str, ...]
    control_names: tuple[str, ...]
    quadratic: bool
    n: int
    fe_rank: int
    hyper_center: np.ndarray  # (3,) starting means of mu_a, mu_b, mu_c
    hyper_scale: np.ndarray  # (3,) unit of mu_a, mu_b, mu_c (and of tau) in the sampler
    path_prior: np.ndarray  # (3,) s_a, s_b, s_c
    group_n: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.group_names)


def _sd(v: np.ndarray, name: str) -> float:
    sd = float(np.std(v))
    if not np.isfinite(sd) or sd <= 0:
        raise ValueError(f"{name} has no variation (sd {sd}); cannot scale its prior")
    return sd


def _equation(Z: np.ndarray, y: np.ndarray, names, n_eff: float, prior: np.ndarray, sigma_prior: float) -> Equation:
    ss = sufficient_stats(Z, y, n_eff)
    # Factor the correlation form: the raw Z'Z mixes columns of very different scales.
    d = np.sqrt(np.diag(ss.ZtZ))
    if np.any(d <= 0):
        raise ValueError(f"a column of the design has no within variation: {[n for n, v in zip(names, d) if v <= 0]}")
    try:
        Lc = np.linalg.cholesky(ss.ZtZ / np.outer(d, d))
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"the design {list(names)} is collinear after removing the fixed effects") from exc
    Cinv = scipy.linalg.cho_solve((Lc, True), np.eye(Z.shape[1]))
    Qinv = Cinv / np.outer(d, d)
    logdet = float(2.0 * np.sum(np.log(np.diag(Lc))) + 2.0 * np.sum(np.log(d)))
    s = float(np.sqrt(ss.rss_hat / max(n_eff - Z.shape[1], 1.0)))
    return Equation(tuple(names), ss.ZtZ, 0.5 * (Qinv + Qinv.T), ss.coef_hat, s, ss.rss_hat, float(n_eff),
                    np.asarray(prior, float), float(sigma_prior), logdet)


def _expand(x, groups, G):
    return interact(np.asarray(x, float).reshape(-1), groups, G)


def _groups(groups, group_names, n):
    if groups is None:
        return np.zeros(n, np.int64), ("pooled",)
    groups = np.asarray(groups, np.int64).reshape(-1)
    group_names = tuple(str(g) for g in group_names)
    G = len(group_names)
    counts = np.bincount(groups, minlength=G) if groups.size else np.zeros(G, int)
    if groups.shape[0] != n or groups.min() < 0 or groups.max() >= G or np.any(counts == 0):
        raise ValueError(f"group codes must cover 0..{G - 1} with no empty group; counts {counts.tolist()}")
    return groups, group_names


def build_mediation_design(
    x, m, y, *, controls=None, x2=None, fe=None, groups=None, group_names=None,
    control_names=None, marginalize_fe: bool = True, within=None, mediator_rows: dict | None = None,
    autoscale: float = AUTOSCALE,
) -> MediationDesign:
    """Expand by group, FE-demean and reduce to sufficient statistics.

    Shapes: ``x``, ``m``, ``y`` (n,) raw; ``controls`` (n, p) or None; ``x2`` (n,) raw
    square of x (the outcome equation's quadratic term) or None; ``fe`` (n, k_fe) int codes or
    None (then the columns are centred: an intercept); ``groups`` (n,) int codes into
    ``group_names`` or None (one group, ``"pooled"``).

    ``mediator_rows``: the mediator equation on its own rows, a dict with ``x``, ``m`` (n_m,),
    ``fe`` (n_m, k) and optionally ``controls`` (n_m, p_m), ``groups`` (n_m,). For a mediator
    measured at a coarser level (one value per province-year) these are the province-year
    cells: the copies of one cell across its firms are not independent observations, and
    counting them as such would make the posterior of ``a`` far too narrow (the Bayesian
    counterpart of clustering the mediator equation by province). ``autoscale``: the priors'
    rule (module docstring; 2.5 by default).
    """
    x, m, y = (np.asarray(v, float).reshape(-1) for v in (x, m, y))
    n = x.shape[0]
    W = np.zeros((n, 0)) if controls is None else np.asarray(controls, float).reshape(n, -1)
    p = W.shape[1]
    control_names = tuple(control_names) if control_names is not None else tuple(f"control{j}" for j in range(p))
    groups, group_names = _groups(groups, group_names, n)
    G = len(group_names)
    counts = np.bincount(groups, minlength=G)
    fe = np.zeros((n, 0), np.int32) if fe is None else np.asarray(fe).reshape(n, -1)
    quadratic = x2 is not None
    Q = _expand(x2, groups, G) if quadratic else np.zeros((n, 0))
    raw = np.column_stack([y, _expand(x, groups, G), Q, _expand(m, groups, G), W])
    dm, _, _ = demean(raw, fe, within)
    y_t, Zy = dm[:, 0], dm[:, 1:]
    n_eff = float(n - fe_rank(fe)) if marginalize_fe else float(n)

    # the mediator equation: the same rows, or its own (coarser) rows
    mr = {"x": x, "m": m, "controls": W, "fe": fe, "groups": groups} if mediator_rows is None else dict(mediator_rows)
    x_m, m_m = (np.asarray(mr[k], float).reshape(-1) for k in ("x", "m"))
    n_m = x_m.shape[0]
    W_m = np.zeros((n_m, 0)) if mr.get("controls") is None else np.asarray(mr["controls"], float).reshape(n_m, -1)
    fe_m = np.zeros((n_m, 0), np.int32) if mr.get("fe") is None else np.asarray(mr["fe"]).reshape(n_m, -1)
    g_m = np.zeros(n_m, np.int64) if (mr.get("groups") is None and G == 1) else np.asarray(mr.get("groups"), np.int64)
    if mediator_rows is not None:
        g_m, _ = _groups(g_m, group_names, n_m)
    raw_m = np.column_stack([m_m, _expand(x_m, g_m, G), W_m])
    dm_m, _, _ = demean(raw_m, fe_m, within)
    n_eff_m = float(n_m - fe_rank(fe_m)) if marginalize_fe else float(n_m)
    names_m = tuple(f"control{j}" for j in range(W_m.shape[1])) if mediator_rows is not None else control_names

    sd_x, sd_m, sd_y = _sd(x, "the core variable x"), _sd(m, "the mediator"), _sd(y, "the outcome")
    s_a, s_b, s_c = autoscale * _sd(m_m, "the mediator") / _sd(x_m, "x"), autoscale * sd_y / sd_m, autoscale * sd_y / sd_x
    sd_w = np.array([_sd(W[:, j], control_names[j]) for j in range(p)])
    sd_wm = np.array([_sd(W_m[:, j], names_m[j]) for j in range(W_m.shape[1])])
    gn = list(group_names)
    med = _equation(
        dm_m[:, 1:], dm_m[:, 0],
        [f"a[{g}]" for g in gn] + [f"d_m[{c}]" for c in names_m], n_eff_m,
        np.concatenate([np.full(G, s_a), autoscale * _sd(m_m, "the mediator") / sd_wm]), _sd(m_m, "the mediator"),
    )
    s_q = autoscale * sd_y / _sd(np.asarray(x2, float), "x²") if quadratic else 1.0
    out = _equation(
        Zy, y_t,
        [f"direct[{g}]" for g in gn] + ([f"q[{g}]" for g in gn] if quadratic else []) + [f"b[{g}]" for g in gn]
        + [f"d_y[{c}]" for c in control_names], n_eff,
        np.concatenate([np.full(G, s_c), np.full(G if quadratic else 0, s_q), np.full(G, s_b), autoscale * sd_y / sd_w]),
        sd_y,
    )
    r = fe_rank(fe)
    # Starting point and unit of the population means: the groups' least-squares paths.
    qk = G if quadratic else 0
    paths = np.stack([med.theta_hat[:G], out.theta_hat[G + qk : 2 * G + qk], out.theta_hat[:G]])  # (3, G)
    se_m, se_y = med.s * np.sqrt(np.diag(med.Qinv)), out.s * np.sqrt(np.diag(out.Qinv))
    se = np.stack([se_m[:G], se_y[G + qk : 2 * G + qk], se_y[:G]])
    centre = paths.mean(axis=1)
    scale = paths.std(axis=1) + se.mean(axis=1) + 1e-12
    return MediationDesign(
        mediator=med, outcome=out, group_names=group_names, control_names=control_names, quadratic=quadratic,
        n=n, fe_rank=r, hyper_center=centre, hyper_scale=scale, path_prior=np.array([s_a, s_b, s_c]),
        group_n=counts,
    )


