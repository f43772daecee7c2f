"""Fixed-effects OLS on a dense (firm, year) grid with a presence mask: static shapes, so
``jax.vmap`` runs it on many simulated panels at once.

This is :func:`tradeq.models.fixed_effects.fit_fe` for the special layout the simulator
(:func:`tradeq.dgp.firm_panel.simulate_grid`) produces — every firm-year array is
(T, F), year-major, with a boolean ``present`` mask — and it gives the same numbers (tested
to 1e-8 against ``fit_fe`` and pyfixest). Cells that are absent, or dropped as singletons, are
carried as zero rows: they add nothing to any sum below.

Steps for ``absorb="firm_year"`` (firm + year FE), with ``w`` (T, F) the kept cells:

1. Singletons: iterate ``w <- w & (n_i > 1) & (n_t > 1)`` (``n_i``, ``n_t`` kept cells per
   firm / year) to its fixed point — the largest subset in which every FE level present has
   at least two rows, which is what the sequential removal of
   :func:`tradeq.models.singletons.drop_singletons` converges to whatever the order.
2. Firm demeaning: ``M~_it = w_it (M_it - Mbar_i)`` with ``Mbar_i`` the mean over firm i's
   kept years — exact one-way demeaning, as :func:`tradeq.models.within.demean_by_group`.
3. Year effects by Frisch–Waugh–Lovell on the firm-demeaned year dummies ``D~``::

       A  = D~'D~ = diag(n_t) - W' diag(1/n_i) W                 (T, T)
       R  = D~'M~ = sum_i M~_it                                  (T, p)
       G  = A^+ R                                                (T, p)
       M"_it = M~_it - w_it (G_t - sum_s w_is G_s / n_i)         (= M~ - D~ G)

   ``A`` is singular (the dummies sum to the firm dummies, so ``A 1 = 0``; absent years
   give zero rows); any generalised inverse gives the same projection, and the
   eigen-decomposition pseudo-inverse also handles disconnected firm-year graphs. This
   is the ``"fwl"`` route of :mod:`tradeq.models.within` with the firm FE as the big dimension.
   ``M"`` itself is not formed: ``M"'M" = M~'M~ - R'A^+R`` gives the cross-products.
4. OLS on ``M" = [y", X"]``: ``b = (X"'X")^{-1} X"'y"``, residuals ``u = y" - X" b``
   (one combination ``(1, -b)`` of the columns of ``M~`` minus its year part).
5. Variances with pyfixest's small-sample corrections, using the functions of
   :mod:`tradeq.models.vcov` (``ssc_*``, ``cluster_meat``, ``hc_meat``) on the cell scores
   ``s_it = x"_it u_it``; cluster sums over a firm or a year are sums along a grid axis.

``absorb="firm"`` skips step 3 (and drops firm singletons only); ``absorb="none"`` is
pooled OLS with an intercept, partialled out by demeaning over all cells (FWL: the same
slopes and slope variances; the intercept itself is not reported).

Variance types (``vcovs``): ``iid``, ``hc1``, ``cluster`` (by firm), ``twoway`` (firm and
year, Cameron-Gelbach-Miller with the firm-year cell as intersection, which makes the
intersection term the HC meat), ``cluster_outer`` (by a grouping of firms given as (F,)
codes, e.g. province; firms must nest in it). Degrees of freedom follow
:func:`tradeq.models.vcov.df_k` / :func:`tradeq.models.vcov.df_t`: FE levels are counted among kept
cells, and an FE nested in a cluster dimension counts as one parameter (the firm FE in
firm, two-way and outer clusters; the year FE in the year cluster of two-way clustering,
and in an outer cluster when all kept cells share one outer group).

Shapes: ``y`` (T, F); ``X`` (k, T, F), the regressors stacked column by column;
``mask`` (T, F) bool. Everything is pure and jit / vmap friendly; static: ``absorb``,
``vcovs``, ``n_outer``.

Why year-major: the sums over a firm's years in steps 1-2 and 5 are then sums of T
contiguous rows of F values, which vectorise, instead of sums over runs of T = 10
adjacent values (measured on one CPU core: the simulate-and-fit replication of a 5,000 x
10 panel 1.1 ms faster), and the simulator's arrays come in that layout, so nothing is
transposed on the way.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import vcov as V
from .grid_reduce import grid_total

ABSORB = ("none", "firm", "firm_year")
GRID_VCOVS = ("iid", "hc1", "cluster", "twoway", "cluster_outer")

#: Eigenvalues of ``D~'D~`` below this fraction of the largest are treated as zero. The
#: exact null directions come out near 1e-16 relative; a genuine direction of a connected
#: panel is of the order of (smallest year count) / (largest year count).
PINV_RTOL = 1e-10


class GridFit(NamedTuple):
    """Result of :func:`fit_grid` (a pytree: vmapped fits stack along a leading axis).

    ``coef`` (k,); ``vcov[name]`` (k, k) and ``df_t[name]`` () for each requested variance;
    ``n_obs`` kept cells; ``n_firms``/``n_years`` FE levels present (firms / years with a
    kept cell); ``n_outer`` outer clusters present; ``rss``; ``keep`` (T, F) the
    estimation sample (mask minus singletons).
    """

    coef: jax.Array
    vcov: dict
    df_t: dict
    n_obs: jax.Array
    n_firms: jax.Array
    n_years: jax.Array
    n_outer: jax.Array
    rss: jax.Array
    keep: jax.Array


# ---------------------------------------------------------------------------------------
# Estimation sample
# ---------------------------------------------------------------------------------------


def drop_singletons_grid(mask: jax.Array, absorb: str = "firm_year") -> jax.Array:
    """(T, F) bool: ``mask`` (T, F) without singleton cells of the absorbed FEs (step 1)."""
    if absorb == "none":
        return mask
    if absorb == "firm":
        # One FE dimension: a single pass reaches the fixed point.
        return mask & (jnp.sum(mask, axis=0, keepdims=True) > 1)

    def step(keep):
        return keep & (jnp.sum(keep, axis=1, keepdims=True) > 1) & (jnp.sum(keep, axis=0, keepdims=True) > 1)

    def cond(state):
        return state[1]

    def body(state):
        keep, _ = state
        new = step(keep)
        return new, grid_total(new != keep, "any")

    keep, _ = jax.lax.while_loop(cond, body, (mask, jnp.asarray(True)))
    return keep


# ---------------------------------------------------------------------------------------
# Within transformation on the grid
# ---------------------------------------------------------------------------------------


def _pinv_psd(A: jax.Array, rtol: float = PINV_RTOL) -> jax.Array:
    """Moore-Penrose inverse of a symmetric positive semi-definite ``A`` (eigh)."""
    lam, Q = jnp.linalg.eigh(A)
    cut = rtol * jnp.max(jnp.abs(lam))
    inv = jnp.where(lam > cut, 1.0 / jnp.where(lam > cut, lam, 1.0), 0.0)
    return (Q * inv[None, :]) @ Q.T


class _Projection(NamedTuple):
    """The FE projection of a year-major block M (p, T, F), summarised (see :func:`_project`)."""

    Mt: jax.Array  # (p, T, F) firm-demeaned columns, zero outside the kept cells
    Gam: jax.Array  # (p, T) year coefficients of the firm-demeaned year dummies
    Gbar: jax.Array  # (p, F) firm means of Gam over kept years
    gram: jax.Array  # (p, p) cross-products of the fully demeaned columns M"


def _project(M: jax.Array, keep: jax.Array, absorb: str) -> _Projection:
    """Steps 2-3 of the module docstring without forming ``M"`` itself; ``M`` (p, T, F)
    and ``keep`` (T, F) year-major.

    ``M" = M~ - w (G_t - Gbar_i)``; its cross-products follow from those of ``M~`` by FWL,
    ``M"'M" = M~'M~ - R'A^+R`` — so ``M"`` is never written out, which saves passes over
    the (p, T, F) block (the fit is bound by memory traffic, not arithmetic).
    """
    w = keep.astype(M.dtype)
    p = M.shape[0]
    if absorb not in ABSORB:
        raise ValueError(f"absorb must be one of {ABSORB}, got {absorb!r}")
    if absorb == "none":
        # The intercept, partialled out: demeaning over the kept cells (exact by FWL for
        # the slopes and their variances, and better conditioned than a column of ones).
        mean = jax.vmap(grid_total)(M * w) / jnp.maximum(grid_total(w), 1.0)
        Mt = w * (M - mean[:, None, None])
    else:
        n_i = jnp.sum(w, axis=0)
        inv_i = jnp.where(n_i > 0, 1.0 / jnp.where(n_i > 0, n_i, 1.0), 0.0)
        firm_mean = jnp.sum(M * w, axis=1) * inv_i  # (p, F)
        Mt = w * (M - firm_mean[:, None, :])
    # Written out once: left to itself, XLA computes M~ twice, once in this (p, T, F)
    # shape and once in the flattened one of the product below (measured on one CPU core,
    # the simulate-and-fit replication of a 5,000 x 10 panel: 0.4 ms faster with it).
    Mt = jax.lax.optimization_barrier(Mt)
    flat = Mt.reshape(p, -1)
    gram = flat @ flat.T
    zero_T, zero_F = jnp.zeros((p, w.shape[0]), M.dtype), jnp.zeros((p, w.shape[1]), M.dtype)
    if absorb != "firm_year":
        return _Projection(Mt, zero_T, zero_F, gram)
    A = jnp.diag(jnp.sum(w, axis=1)) - (w * inv_i[None, :]) @ w.T  # (T, T)
    R = jnp.sum(Mt, axis=2)  # (p, T) = (D'M~)' = (D~'M~)' (M~ is orthogonal to the firm dummies)
    Ap = _pinv_psd(A)
    Gam = R @ Ap  # (p, T); A^+ is symmetric
    Gbar = (Gam @ w) * inv_i  # (p, F)
    return _Projection(Mt, Gam, Gbar, gram - R @ Ap @ R.T)


def _year_part(P: _Projection, w: jax.Array, c: jax.Array | None = None) -> jax.Array:
    """``w (G_t - Gbar_i)`` (p, T, F), or its combination ``c'`` (T, F) for weights c (p,)."""
    if c is None:
        return w * (P.Gam[:, :, None] - P.Gbar[:, None, :])
    return w * ((c @ P.Gam)[:, None] - (c @ P.Gbar)[None, :])


def within_grid(M: jax.Array, keep: jax.Array, absorb: str = "firm_year") -> jax.Array:
    """Residuals ``M"`` of every column of ``M`` (p, T, F) on the absorbed FE dummies,
    over the kept cells ``keep`` (T, F); zero outside them. Steps 2-3 of the module
    docstring. Columns lead so that each is a contiguous (T, F) panel."""
    P = _project(M, keep, absorb)
    return P.Mt - _year_part(P, keep.astype(M.dtype))


# ---------------------------------------------------------------------------------------
# Degrees of freedom
# ---------------------------------------------------------------------------------------


def _df_k(k: int, levels: list, nested: list) -> jax.Array:
    """:func:`tradeq.models.vcov.df_k` for traced level counts: ``k + sum G_j - (m - 1)``, with each
    nested FE counted as one parameter (``nested`` entries are traced booleans)."""
    m = len(levels)
    if m == 0:
        return jnp.asarray(float(k))
    out = k + sum(levels) - (m - 1)
    for G, nest in zip(levels, nested):
        out = out - jnp.where(nest, G - 1.0, 0.0)
    return out


# ---------------------------------------------------------------------------------------
# The fit
# ---------------------------------------------------------------------------------------


def _grid_vcov(name, k, levels, firm, bread, rss, N, cell_scores, S_firm, s, G_f, G_y, G_o, outer, n_outer):
    """``(vcov (k, k), t degrees of freedom)`` of one variance of :func:`fit_grid` (module docstring):
    the bread, the scores ``s`` (k, T, F) and their cluster sums, pyfixest's small-sample factors."""
    yes, no = jnp.asarray(True), jnp.asarray(False)
    if name in ("iid", "hc1"):
        dfk = _df_k(k, levels, [no, no][:len(levels)])
        if name == "iid":
            vcov = bread * (V.ssc_iid(N, dfk) * rss / (N - 1.0))
        else:
            vcov = V.ssc_hc1(N, dfk) * (bread @ V.hc_meat(cell_scores) @ bread)
        df_t = N - dfk
    elif name == "cluster":
        # The firm FE is the cluster variable; a year level would be nested only if it
        # held one firm, i.e. one row — a singleton, already dropped.
        dfk = _df_k(k, levels, [firm, no][:len(levels)])
        meat = S_firm.T @ S_firm
        vcov = V.ssc_crv1(N, dfk, G_f) * (bread @ meat @ bread)
        df_t = G_f - 1.0
    elif name == "twoway":
        dfk = _df_k(k, levels, [firm, yes][:len(levels)])
        S_year = jnp.sum(s, axis=2)  # (k, T)
        # The intersection of firm and year clusters is the cell: its meat is the HC one.
        meat = S_firm.T @ S_firm + S_year @ S_year.T - V.hc_meat(cell_scores)
        Gm = jnp.minimum(G_f, G_y)
        vcov = V.ssc_crv1(N, dfk, Gm) * (bread @ meat @ bread)
        df_t = Gm - 1.0
    else:  # cluster_outer
        # Year FE nested in the outer clusters only when every kept cell shares one group.
        year_nested = G_o <= 1.0
        dfk = _df_k(k, levels, [firm, year_nested][:len(levels)])
        meat = V.cluster_meat(S_firm, outer, n_clusters=n_outer)
        vcov = V.ssc_crv1(N, dfk, G_o) * (bread @ meat @ bread)
        df_t = G_o - 1.0
    return vcov, df_t


@partial(jax.jit, static_argnames=("absorb", "vcovs", "n_outer"))
def fit_grid(
    y: jax.Array,
    X: jax.Array,
    mask: jax.Array,
    *,
    absorb: str = "firm_year",
    vcovs: tuple[str, ...] = ("iid", "hc1", "cluster", "twoway"),
    outer: jax.Array | None = None,
    n_outer: int = 0,
) -> GridFit:
    """OLS of ``y`` (T, F) on the k regressors ``X`` (k, T, F) — ``jnp.stack`` of (T, F)
    panels — with the FEs of ``absorb`` over the cells of ``mask`` (T, F); variances
    ``vcovs`` (see the module docstring). ``outer`` (F,) int codes ``0..n_outer-1`` for
    ``cluster_outer``. Pure; vmappable over every array argument."""
    for v in vcovs:
        if v not in GRID_VCOVS:
            raise ValueError(f"vcov must be one of {GRID_VCOVS}, got {v!r}")
    if "cluster_outer" in vcovs and (outer is None or n_outer < 1):
        raise ValueError("cluster_outer needs outer codes and n_outer")
    k = X.shape[0]
    keep = drop_singletons_grid(mask, absorb)
    w = keep.astype(X.dtype)
    P = _project(jnp.concatenate([y[None], X], axis=0), keep, absorb)
    XX, Xy = P.gram[1:, 1:], P.gram[1:, 0]
    cho = jax.scipy.linalg.cho_factor(XX, lower=True)
    coef = jax.scipy.linalg.cho_solve(cho, Xy)
    bread = jax.scipy.linalg.cho_solve(cho, jnp.eye(k, dtype=X.dtype))
    bread = 0.5 * (bread + bread.T)
    # u = y" - X" b = c'M" with c = (1, -b): one combination of the columns.
    c = jnp.concatenate([jnp.ones(1, X.dtype), -coef])
    u = jnp.einsum("j,jtf->tf", c, P.Mt) - _year_part(P, w, c)  # (T, F), zero outside the sample
    rss = grid_total(u * u)

    N = grid_total(w)
    n_i, n_t = jnp.sum(w, axis=0), jnp.sum(w, axis=1)
    G_f = jnp.sum(n_i > 0).astype(X.dtype)
    G_y = jnp.sum(n_t > 0).astype(X.dtype)
    # FE dimensions and their levels; the intercept of pooled OLS counts as one level
    # (df_k = k + 1, pyfixest's count with the intercept among the regressors) and is
    # never nested (pyfixest has no FE to check then).
    levels = {"none": [jnp.asarray(1.0)], "firm": [G_f], "firm_year": [G_f, G_y]}[absorb]
    yes, no = jnp.asarray(True), jnp.asarray(False)
    firm = no if absorb == "none" else yes  # the firm FE is nested in firm (and coarser) clusters

    # Scores x"_i u_i (k, T, F), x" = x~ - year part, formed here only, for the sandwiches.
    s = u * (P.Mt[1:] - w * (P.Gam[1:, :, None] - P.Gbar[1:, None, :]))
    cell_scores = s.reshape(k, -1).T  # (N_cells, k), as tradeq.models.vcov expects
    S_firm = jnp.sum(s, axis=1).T  # (F, k): cluster sums by firm
    G_o = jnp.asarray(0.0)
    if outer is not None and n_outer:
        G_o = jnp.sum(jax.ops.segment_sum((n_i > 0).astype(X.dtype), outer, n_outer) > 0).astype(X.dtype)

    vc, dft = {}, {}
    for name in vcovs:
        vc[name], dft[name] = _grid_vcov(name, k, levels, firm, bread, rss, N, cell_scores, S_firm, s,
                                         G_f, G_y, G_o, outer, n_outer)
    return GridFit(coef=coef, vcov=vc, df_t=dft, n_obs=N, n_firms=G_f, n_years=G_y,
                   n_outer=G_o, rss=rss, keep=keep)
