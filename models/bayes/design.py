"""From a :class:`~tradeq.models.design.Design` and group codes to the arrays the Bayesian models use.

Group-specific slopes under fixed effects
-----------------------------------------
The frequentist model with group-specific inverted-U slopes is

    y_it = sum_g 1[g_i = g] (b1_g x_it + b2_g x_it^2) + d'c_it + firm_i + year_t + e_it.

By Frisch–Waugh–Lovell its slopes are those of the regression of M y on M Z, where M
is the annihilator of the fixed-effect dummies and Z the *expanded* design

    Z = [x·1[g=0], …, x·1[g=G-1],  x²·1[g=0], …, x²·1[g=G-1],  c_1, …, c_p]   (n, k = 2G + p).

So the interacted columns are built from the raw x first and demeaned afterwards.

Each group also gets its own level: the main effects ``1[g]`` (g = 1..G-1, group 0 the
reference) enter Z after the controls, with common-slope priors like the controls'. Firm or
year effects absorb them only when the group is constant within firm (region) or within
year (period); for a group that changes within firm (ownership that changes over time) a
level difference between groups would otherwise load onto the group slopes (with a
level shift of 0.3 and a group correlated with x, the slopes of equal curves differed by
many posterior sds; tests/models/bayes/test_bayes_design.py). A main effect the fixed
effects absorb is dropped as collinear (:func:`tradeq.models.collinear.cholesky_collinear`,
its within sum of squares against its centred one, as the FE replica decides), and
``level_names`` lists those kept. Interacting
the already-demeaned x with the group dummy, (M x)·1[g], is a different model once there are
year effects: the year means of x are then pooled across groups, and M((M x)·1[g]) differs
from M(x·1[g]).

Sufficient statistics
---------------------
All k columns enter one Gaussian regression on M y — the group structure lives in which
coefficient multiplies which column, not in separate per-group regressions (the controls'
slopes and sigma are shared, and the year effects are common to all groups). The sufficient
statistics are therefore those of the whole expanded design:
``Z'Z`` (k, k), ``Z'y`` (k,), ``y'y`` and n, with Z, y within-transformed. For theta
(k,) = (b1 (G), b2 (G), beta (p)) the residual sum of squares is

    RSS(theta) = y'y - 2 theta'Z'y + theta'Z'Z theta = RSS_hat + (theta - theta_hat)'Z'Z(theta - theta_hat),

where theta_hat is the least-squares solution and RSS_hat its residual sum of squares. Both
forms are algebraically identical; the second avoids the cancellation of the first when the
fit is good, so it is the one the likelihoods use.

Degrees of freedom of the fixed effects
---------------------------------------
On within-transformed data the Gaussian log likelihood
``-n/2 log(2 pi sigma^2) - RSS/(2 sigma^2)`` is the *profile* likelihood, maximised over the
fixed effects. With ~120,000 firm effects in 594,596 rows it makes sigma about 10% too small
(the incidental-parameter bias of the MLE of sigma), and every slope's posterior sd with it.
Integrating the fixed effects out under a flat prior instead gives exactly

    integral N(y | Z theta + D alpha, sigma^2 I) d alpha
        = (2 pi sigma^2)^{r/2} |D'D|^{-1/2} N-kernel:  -(n - r)/2 log(2 pi sigma^2) - RSS/(2 sigma^2) + const,

with r = rank(D), the number of fixed-effect levels absorbed net of redundancies. The
models use ``n_eff = n - r`` in place of n by default (``marginalize_fe=True``), the exact
marginal likelihood of the FE model under a flat prior on the effects; ``n_eff = n`` gives
the profile likelihood. Singleton firms add one row and one level, so they change neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..collinear import cholesky_collinear, fe_reference
from ..design import Design
from ..fe_rank import fe_rank as dummy_rank
from .priors import AUTOSCALE, PriorScales, default_priors

Demean = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, int, bool]]


@dataclass(frozen=True)
class GroupDesign:
    """The within-transformed expanded design of the group-slope inverted U.

    Shapes (n rows, G groups, p controls, k = 2G + p):

    - ``Z`` (n, k): columns ``[core·1[g] (G), core²·1[g] (G), controls (p)]``, FE-demeaned;
      the last ``len(level_names)`` controls are the group main effects ``1[g]`` the fixed
      effects do not absorb (module docstring).
    - ``y`` (n,): the FE-demeaned outcome.
    - ``groups`` (n,) int codes, ``group_names`` G names, ``control_names`` p names,
      ``coef_names`` k names.
    - ``x_lo``, ``x_hi`` (G,): each group's raw range of the core term; ``x_pooled`` its
      pooled (min, max); ``center`` the reference point c of the curves (see
      :mod:`tradeq.models.bayes.priors`).
    - ``n``: rows; ``fe_rank``: fixed-effect levels absorbed (r above; 1 for the intercept
      when there are no fixed effects).
    - ``prior``: the data-scaled default :class:`PriorScales`.
    - ``fe`` (n, m): the FE codes (for the Student-t likelihood's explicit effects).
    """

    Z: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    group_names: tuple[str, ...]
    control_names: tuple[str, ...]
    coef_names: tuple[str, ...]
    core: str
    x_lo: np.ndarray
    x_hi: np.ndarray
    x_pooled: tuple[float, float]
    center: float
    n: int
    fe_rank: int
    prior: PriorScales
    within_iterations: int = 0
    within_converged: bool = True
    level_names: tuple[str, ...] = ()
    fe: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.group_names)

    @property
    def n_controls(self) -> int:
        return len(self.control_names)

    def n_eff(self, marginalize_fe: bool = True) -> float:
        """Rows less absorbed FE levels (marginal likelihood) or all rows (profile likelihood)."""
        return float(self.n - self.fe_rank) if marginalize_fe else float(self.n)


@dataclass(frozen=True)
class SuffStats:
    """Sufficient statistics of the Gaussian regression of y on Z (see the module docstring).

    ``ZtZ`` (k, k), ``Zty`` (k,), ``yty``, ``n`` rows, ``n_eff`` the count in the
    log(sigma) term, ``coef_hat`` (k,) a least-squares solution and ``rss_hat`` its RSS.
    """

    ZtZ: np.ndarray
    Zty: np.ndarray
    yty: float
    n: int
    n_eff: float
    coef_hat: np.ndarray
    rss_hat: float

    def rss(self, theta: np.ndarray) -> np.ndarray:
        """RSS at theta (..., k), computed from the statistics alone."""
        d = np.asarray(theta) - self.coef_hat
        return self.rss_hat + np.einsum("...i,ij,...j->...", d, self.ZtZ, d)


def square_name(core: str) -> str:
    """The Design's name of the squared core term."""
    return f"I({core} ** 2)"


def interact(x: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """(n, G) columns x·1[g_i = g]."""
    out = np.zeros((x.shape[0], n_groups))
    out[np.arange(x.shape[0]), groups] = x
    return out


def fe_rank(fe: np.ndarray) -> int:
    """Rank of the fixed-effect dummy matrix D, fe (n, m) int codes: exact for any m
    (:func:`tradeq.models.fe_rank.fe_rank`); m = 0 gives 1, the intercept the demeaning removes."""
    return 1 if fe.shape[1] == 0 else dummy_rank(fe)


def level_name(group: str) -> str:
    """The name of the main effect 1[g] of group ``group``."""
    return f"1[{group}]"


def unabsorbed_levels(levels: np.ndarray, within: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Boolean (L,) mask of the main-effect columns to keep.

    ``levels`` (n, L) raw 1[g] columns, ``within`` (n, q + L) the FE-demeaned design whose last
    L columns are theirs, ``before`` (n, q + L) the same columns before demeaning. A column is
    dropped when the fixed effects absorb it, or when it is collinear with the columns before
    it (:func:`tradeq.models.collinear.cholesky_collinear`).
    """
    L = levels.shape[1]
    if L == 0:
        return np.zeros(0, dtype=bool)
    centred = ((before - before.mean(axis=0)) ** 2).sum(axis=0)
    drop = cholesky_collinear(within.T @ within, reference=fe_reference(centred, (before**2).sum(axis=0)))
    return ~drop[-L:]


def _default_demean(M: np.ndarray, fe: np.ndarray) -> tuple[np.ndarray, int, bool]:
    from ..within import within_transform  # imported late: the FE module is optional here

    return within_transform(M, fe)


def demean(M: np.ndarray, fe: np.ndarray, within: Demean | None = None) -> tuple[np.ndarray, int, bool]:
    """Partial the fixed effects out of M (n, p); without FE dimensions, the column means."""
    if fe.shape[1] == 0:
        return M - M.mean(axis=0), 0, True
    return (within or _default_demean)(M, fe)


def group_ranges(x: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's (min, max) of x, shapes (G,), (G,)."""
    lo = np.full(n_groups, np.inf)
    hi = np.full(n_groups, -np.inf)
    np.minimum.at(lo, groups, x)
    np.maximum.at(hi, groups, x)
    return lo, hi


def _check_groups(groups: np.ndarray, group_names: tuple[str, ...], n: int) -> np.ndarray:
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
    if not np.issubdtype(groups.dtype, np.integer):
        raise ValueError(f"groups must be integer codes, got dtype {groups.dtype}")
    if groups.min() < 0 or groups.max() >= len(group_names):
        raise ValueError(f"group codes must lie in 0..{len(group_names) - 1} (one per name in group_names)")
    counts = np.bincount(groups, minlength=len(group_names))
    empty = [group_names[g] for g in np.flatnonzero(counts == 0)]
    if empty:
        raise ValueError(f"groups {empty} have no rows; drop them from group_names")
    return groups.astype(np.int64)


def build_group_design(
    design: Design,
    groups: np.ndarray | None,
    group_names: list[str] | tuple[str, ...] | None,
    core: str,
    *,
    center: float | None = None,
    within: Demean | None = None,
    autoscale: float = AUTOSCALE,
) -> GroupDesign:
    """Expand the core terms by group, then partial out the fixed effects (exact FWL).

    ``groups`` (n,) int codes into ``group_names``; ``None`` pools all rows into one group
    named ``"pooled"``. ``core`` names the linear term; ``I(core ** 2)`` must be in
    ``design.x_names``. Every other column of ``design.X`` except ``Intercept`` is a control.
    ``center`` is the reference point c of the curves (default: the pooled mean of the core
    term). ``within`` replaces :func:`tradeq.models.within.within_transform` (same signature).
    The group main effects 1[g] the FE do not absorb join the controls (module docstring);
    ``autoscale`` is the default priors' rule (:func:`default_priors`).
    """
    names = list(design.x_names)
    sq = square_name(core)
    for term in (core, sq):
        if term not in names:
            raise KeyError(f"term {term!r} is not in the design; its terms are {names}")
    if groups is None:
        groups = np.zeros(design.n, dtype=np.int64)
        group_names = ("pooled",)
    group_names = tuple(str(g) for g in group_names)
    groups = _check_groups(groups, group_names, design.n)
    n_groups = len(group_names)

    x = design.X[:, names.index(core)]
    x2 = design.X[:, names.index(sq)]
    control_idx = [j for j, t in enumerate(names) if t not in (core, sq, "Intercept")]
    controls = design.X[:, control_idx]
    control_names = tuple(names[j] for j in control_idx)
    levels = (groups[:, None] == np.arange(1, n_groups)[None, :]).astype(float)

    raw = np.column_stack([design.y, interact(x, groups, n_groups), interact(x2, groups, n_groups), controls, levels])
    within_all, iterations, converged = demean(raw, design.fe, within)
    keep = unabsorbed_levels(levels, within_all[:, 1:], raw[:, 1:])
    n_cols = raw.shape[1] - levels.shape[1]
    within_all = np.column_stack([within_all[:, :n_cols], within_all[:, n_cols:][:, keep]])
    level_names = tuple(level_name(g) for g, k in zip(group_names[1:], keep) if k)
    controls = np.column_stack([controls, levels[:, keep]])
    control_names = control_names + level_names
    lo, hi = group_ranges(x, groups, n_groups)
    center = float(x.mean()) if center is None else float(center)
    coef_names = (
        tuple(f"{core}:{g}" for g in group_names)
        + tuple(f"{sq}:{g}" for g in group_names)
        + control_names
    )
    return GroupDesign(
        Z=np.ascontiguousarray(within_all[:, 1:]),
        y=np.ascontiguousarray(within_all[:, 0]),
        groups=groups,
        group_names=group_names,
        control_names=control_names,
        coef_names=coef_names,
        core=core,
        x_lo=lo,
        x_hi=hi,
        x_pooled=(float(x.min()), float(x.max())),
        center=center,
        n=design.n,
        fe_rank=fe_rank(design.fe),
        prior=default_priors(design.y, x, controls, center=center, control_names=control_names, autoscale=autoscale),
        within_iterations=int(iterations),
        within_converged=bool(converged),
        level_names=level_names,
        fe=np.asarray(design.fe),
    )


def sufficient_stats(Z: np.ndarray, y: np.ndarray, n_eff: float | None = None) -> SuffStats:
    """Z'Z, Z'y, y'y, n and the least-squares point of Z (n, k), y (n,)."""
    ZtZ = Z.T @ Z
    Zty = Z.T @ y
    coef_hat = np.linalg.lstsq(Z, y, rcond=None)[0]
    resid = y - Z @ coef_hat
    return SuffStats(
        ZtZ=ZtZ,
        Zty=Zty,
        yty=float(y @ y),
        n=int(y.shape[0]),
        n_eff=float(y.shape[0] if n_eff is None else n_eff),
        coef_hat=coef_hat,
        rss_hat=float(resid @ resid),
    )
