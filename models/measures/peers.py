"""Peer information from customs data: leave-one-out industry aggregates (SPEC 1b).

The information-spillover study (Shi Ruizhen & Sang Baichuan 2023, 财经论丛 39(8)) measures
what a firm can learn from the other exporters of its industry in a year. For firm f in
industry-year g (n_g exporters, export values v):

    peer_sum_f       = Σ_{f' in g, f' != f} v_f'           = S_g - v_f
    peer_mean_f      = peer_sum_f / (n_g - 1)
    peer_diversity_f = |∪_{f' != f} pairs(f')|             distinct product × destination
                     = D_g - #{pairs of g exported by f alone}
    n_exporters_g    = n_g                                  exporter density (f included)

``peer_mean`` is the export-scale measure we recommend: ``peer_sum`` = ``peer_mean`` x
(n_g - 1) mixes the scale of the peers with their number, which the density channel
already carries (the study interacts density with the spillover), so the mean keeps the
two apart. Both are returned. A distinct count cannot be had by subtracting the firm's own
count (a pair the firm shares with a peer stays); the pairs only f exports are counted and
subtracted instead. In a group with one exporter every peer measure is NaN, and how many
such groups and rows there are is reported.

Cross-industry exposure through an input-output linkage matrix W (J, J), W_jk the link of
industry j to industry k (e.g. the share of j's intermediate inputs bought from k):

    W~_jk = W_jk / Σ_{k' != j} W_jk'  for k != j,   W~_jj = 0                     (rows sum to 1)
    network_x_jt = Σ_k W~_jk x_kt

with x the industry-year *totals* (export value S_kt, distinct pairs D_kt): an industry with
no exporters contributes 0, which a mean could not express. The own industry is excluded by
the zero diagonal, so no leave-one-out is needed; a row of W with no off-diagonal link
gives NaN exposure (reported in ``isolated``).

Shapes: firm-year rows (n,); pairs (m,) as (row index, integer pair key); groups G.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codes import dense_codes, distinct_sorted, runs


@dataclass(frozen=True)
class PeerMeasures:
    """Per firm-year row (n,): ``n_exporters``, ``peer_sum``, ``peer_mean``,
    ``peer_diversity``, ``own_only_pairs``; per group (G,): ``group_total`` (S_g),
    ``group_pairs`` (D_g), ``group_exporters`` (n_g); ``n_single_firm_groups`` and
    ``n_single_firm_rows`` (rows whose peer measures are NaN)."""

    n_exporters: np.ndarray
    peer_sum: np.ndarray
    peer_mean: np.ndarray
    peer_diversity: np.ndarray
    own_only_pairs: np.ndarray
    group_total: np.ndarray
    group_pairs: np.ndarray
    group_exporters: np.ndarray
    n_single_firm_groups: int
    n_single_firm_rows: int


def _codes(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-d array of integer codes; got {a.dtype} {a.shape}")
    if a.size and a.min() < 0:
        raise ValueError(f"{name} codes must be non-negative")
    return a


def leave_one_out_scale(group, value, n_groups: int | None = None):
    """(n_exporters (n,), peer_sum (n,), peer_mean (n,), S_g (G,)); NaN peers where n_g = 1."""
    group = _codes(group, "group")
    value = np.asarray(value, dtype=np.float64)
    if value.shape != group.shape:
        raise ValueError(f"value {value.shape} and group {group.shape} must have the same shape")
    if not np.isfinite(value).all() or (value < 0).any():
        raise ValueError("export values must be finite and non-negative")
    G = int(group.max()) + 1 if n_groups is None and group.size else (n_groups or 0)
    n_g = np.bincount(group, minlength=G)
    S_g = np.bincount(group, weights=value, minlength=G)
    n = n_g[group]
    alone = n < 2
    peer_sum = np.where(alone, np.nan, S_g[group] - value)
    with np.errstate(invalid="ignore", divide="ignore"):
        peer_mean = np.where(alone, np.nan, peer_sum / (n - 1))
    return n, peer_sum, peer_mean, S_g


def leave_one_out_diversity(group, pair_row, pair_key, n_groups: int | None = None):
    """(peer_diversity (n,), own_only_pairs (n,), D_g (G,)) from the (row, key) pairs.

    ``pair_row`` indexes the firm-year rows of ``group``; repeated (row, key) pairs count once.
    """
    group = _codes(group, "group")
    pair_row, pair_key = _codes(pair_row, "pair_row"), _codes(pair_key, "pair_key")
    if pair_row.shape != pair_key.shape:
        raise ValueError("pair_row and pair_key must have the same shape")
    n = group.size
    if pair_row.size and pair_row.max() >= n:
        raise ValueError(f"pair_row indexes {n} firm-year rows; got {int(pair_row.max())}")
    G = int(group.max()) + 1 if n_groups is None and group.size else (n_groups or 0)
    key_code, K = dense_codes(pair_key)
    K = max(K, 1)
    # distinct (group, key) cells; one firm per row and one row per firm in a group, so the
    # distinct (row, key) pairs inside a cell are its distinct exporters
    row_key = distinct_sorted(pair_row.astype(np.int64) * K + key_code)
    rows, key_code = row_key // K, row_key % K
    cell = group[rows].astype(np.int64) * K + key_code
    order = np.argsort(cell)
    starts, exporters = runs(cell[order])
    D_g = np.bincount(cell[order][starts] // K, minlength=G)
    sole = rows[order[starts[exporters == 1]]]
    own_only = np.bincount(sole, minlength=n)
    alone = np.bincount(group, minlength=G)[group] < 2
    diversity = np.where(alone, np.nan, (D_g[group] - own_only).astype(np.float64))
    return diversity, own_only, D_g


def peer_measures(group, value, pair_row, pair_key) -> PeerMeasures:
    """Scale, diversity and density of every firm-year's peers (module docstring)."""
    group = _codes(group, "group")
    G = int(group.max()) + 1 if group.size else 0
    n, peer_sum, peer_mean, S_g = leave_one_out_scale(group, value, G)
    diversity, own_only, D_g = leave_one_out_diversity(group, pair_row, pair_key, G)
    n_g = np.bincount(group, minlength=G)
    return PeerMeasures(
        n_exporters=n,
        peer_sum=peer_sum,
        peer_mean=peer_mean,
        peer_diversity=diversity,
        own_only_pairs=own_only,
        group_total=S_g,
        group_pairs=D_g,
        group_exporters=n_g,
        n_single_firm_groups=int((n_g == 1).sum()),
        n_single_firm_rows=int((n < 2).sum()),
    )


def row_normalised_linkage(W) -> tuple[np.ndarray, np.ndarray]:
    """(W~ (J, J) with zero diagonal and rows summing to 1, isolated (J,) rows with no link)."""
    W = np.array(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"the linkage matrix must be square (J, J); got {W.shape}")
    if not np.isfinite(W).all() or (W < 0).any():
        raise ValueError("linkage weights must be finite and non-negative")
    np.fill_diagonal(W, 0.0)
    rows = W.sum(axis=1)
    isolated = rows <= 0
    W[~isolated] /= rows[~isolated, None]
    return W, isolated


def network_exposure(W, industry_stat) -> tuple[np.ndarray, np.ndarray]:
    """(Σ_k W~_jk x_kt (J, T), isolated (J,)); ``industry_stat`` x (J, T), NaN rows for isolated j."""
    Wn, isolated = row_normalised_linkage(W)
    x = np.asarray(industry_stat, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != Wn.shape[0]:
        raise ValueError(f"industry_stat must be (J={Wn.shape[0]}, T); got {x.shape}")
    out = Wn @ x
    out[isolated] = np.nan
    return out, isolated


def exporter_share(n_exporters, n_firms) -> np.ndarray:
    """Exporter density per firm of the register: exporters / firms (NaN where no firm)."""
    e, f = np.asarray(n_exporters, np.float64), np.asarray(n_firms, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(f > 0, e / f, np.nan)
