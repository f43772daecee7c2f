"""Small known-truth firm panels with group-specific inverted-U slopes, for the tests.

    Market_pt = a_p + trend_t + within_sd · u_pt         (province-year index)
    y_it = b1_g Market + b2_g Market^2 + beta · c_it + alpha_i + delta_t + sigma e_it

Firms sit in provinces (4 per region), the group of a firm is region x ownership and is
fixed over time, spells are unbalanced. The province-year noise is what identifies the
slopes once firm and year effects are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeq.models.design import Design

REGIONS = ("East", "Central", "West")
OWNERSHIP = ("non-SOE", "SOE")
GROUP_NAMES = tuple(f"{r}:{o}" for r in REGIONS for o in OWNERSHIP)

# Turning points 4.0-4.2, curvature varying by group (cf. the paper's split samples).
B2 = np.array([-0.07, -0.05, -0.10, -0.06, -0.12, -0.09])
B1 = -2.0 * B2 * np.array([4.05, 4.15, 4.10, 4.00, 4.20, 4.05])


@dataclass(frozen=True)
class Panel:
    design: Design
    groups: np.ndarray
    group_names: tuple[str, ...]
    b1: np.ndarray
    b2: np.ndarray
    beta: np.ndarray
    sigma: float


def simulate_panel(
    seed: int,
    *,
    n_firms: int = 400,
    n_years: int = 8,
    b1: np.ndarray = B1,
    b2: np.ndarray = B2,
    beta: tuple[float, ...] = (0.02, -0.03),
    sigma: float = 0.05,
    region_p: tuple[float, float, float] = (0.6, 0.25, 0.15),
    soe_p: float = 0.15,
    within_sd: float = 0.25,
    fe: bool = True,
) -> Panel:
    """A firm-year panel; ``fe=False`` drops the firm and year effects (and FE codes)."""
    rng = np.random.default_rng(seed)
    n_prov = 4 * len(REGIONS)
    prov_region = np.repeat(np.arange(len(REGIONS)), 4)
    a_p = rng.uniform(3.5, 4.6, n_prov)
    trend = 0.05 * (np.arange(n_years) - n_years / 2)
    market = a_p[:, None] + trend[None, :] + within_sd * rng.standard_normal((n_prov, n_years))

    region = rng.choice(len(REGIONS), n_firms, p=region_p)
    prov = np.array([rng.choice(np.flatnonzero(prov_region == r)) for r in region])
    soe = (rng.random(n_firms) < soe_p).astype(int)
    group_of_firm = region * 2 + soe
    start = rng.integers(0, n_years - 1, n_firms)
    length = rng.integers(2, n_years + 1, n_firms)
    end = np.minimum(start + length, n_years)
    firm = np.repeat(np.arange(n_firms), end - start)
    year = np.concatenate([np.arange(s, e) for s, e in zip(start, end)])
    n = firm.size

    x = market[prov[firm], year]
    g = group_of_firm[firm]
    controls = np.column_stack([rng.normal(0.0, 1.0, n) + 0.3 * x, rng.normal(0.0, 1.0, n)])
    y = b1[g] * x + b2[g] * x**2 + controls @ np.asarray(beta) + sigma * rng.standard_normal(n)
    if fe:
        y = y + rng.normal(0.0, 0.3, n_firms)[firm] + rng.normal(0.0, 0.1, n_years)[year] + 0.2 * x.mean()
    X = np.column_stack([x, x**2, controls])
    names = ("Market", "I(Market ** 2)", "scale", "roa")
    if not fe:
        X = np.column_stack([X, np.ones(n)])
        names = names + ("Intercept",)
    fe_codes = np.column_stack([firm, year]).astype(np.int32) if fe else np.zeros((n, 0), np.int32)
    design = Design(
        y=y,
        X=X,
        x_names=names,
        fe=fe_codes,
        fe_names=("firm", "year") if fe else (),
        cluster=np.zeros((n, 0), np.int32),
        cluster_names=(),
        row_id=np.arange(n),
        y_name="quality",
    )
    return Panel(design, g.astype(np.int64), GROUP_NAMES, np.asarray(b1), np.asarray(b2), np.asarray(beta), sigma)


def dummy_within(M: np.ndarray, fe: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Exact within transform by FWL in numpy: demean by the first FE, then residualise on
    the other FEs' demeaned dummies by least squares (small panels only).

    Same signature as :func:`tradeq.models.within.within_transform`; the studies use it because
    every panel there has a different size, and the JAX transform compiles per shape.
    """

    def demean(A, codes):
        counts = np.bincount(codes)
        means = np.stack([np.bincount(codes, weights=A[:, j]) for j in range(A.shape[1])], axis=1) / np.maximum(counts, 1)[:, None]
        return A - means[codes]

    M = np.asarray(M, dtype=float)
    Mb = demean(M, fe[:, 0])
    if fe.shape[1] == 1:
        return Mb, 0, True
    S = np.column_stack([(fe[:, j][:, None] == np.unique(fe[:, j])[None, :]).astype(float) for j in range(1, fe.shape[1])])
    Sb = demean(S, fe[:, 0])
    return Mb - Sb @ np.linalg.lstsq(Sb, Mb, rcond=None)[0], 0, True


def switching_group_panel(seed: int, *, n_firms: int = 300, n_years: int = 8, shift: float = 0.3):
    """Equal inverted-U curves in two groups, a group that changes within firm (and year),
    correlated with x, and a level shift ``shift`` between the groups (issue 14, defect 1)."""
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(n_years), n_firms)
    x = 4.0 + 0.4 * rng.standard_normal(n_firms)[firm] + 0.3 * rng.standard_normal(firm.size)
    g = (x + 0.3 * rng.standard_normal(firm.size) > 4.0).astype(np.int64)
    y = (0.8 * x - 0.1 * x**2 + shift * g + rng.normal(0, 0.3, n_firms)[firm] + rng.normal(0, 0.1, n_years)[year]
         + 0.1 * rng.standard_normal(firm.size))
    design = Design(y=y, X=np.column_stack([x, x**2]), x_names=("Market", "I(Market ** 2)"),
                    fe=np.column_stack([firm, year]).astype(np.int32), fe_names=("firm", "year"),
                    cluster=np.zeros((firm.size, 0), np.int32), cluster_names=(), row_id=np.arange(firm.size),
                    y_name="quality")
    return design, g
