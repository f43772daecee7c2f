"""The cluster bootstrap of the mediation model when the mediator equation has its own fixed effects.

The cluster papers write the mediator equation with province effects only (their eq. 3,
``M_it = b0 + b1 IC_it + controls + phi_i + e``) while the total and outcome equations keep
province and year effects. The bootstrap of :func:`tradeq.models.mediation.bootstrap_indirect`
demeans one design by one set of fixed effects; here the common part of the two sets (the
province) is projected out of every column, and the fixed effects only one side has (the year)
enter as dummy columns — demeaned by the common part, which by Frisch–Waugh–Lovell is the same
regression as absorbing them — in that side's equations only:

    Z = M_B [x, (x²), W, (1), D_outcome, D_mediator, m, y]
    total, outcome:  x, (x²), W, (1), D_outcome        mediator:  x, W, (1), D_mediator

(B the common FE; the constant only without any). Each replicate solves the three equations
from the resampled clusters' cross-products of Z with the core's statistic
(:func:`tradeq.models.mediation.path_statistic`), exactly as ``bootstrap_indirect`` does with
its own layout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeq import progress
from tradeq.errors import DataError
from tradeq.models.bootstrap import bootstrap_crossproducts, cluster_codes, cluster_crossproducts, cluster_sums
from tradeq.models.mediation import MediationBootstrap, MediationLayout, effects_from_paths, path_statistic
from tradeq.models.within import within_transform

MAX_DUMMIES = 500


def _dummies(frame: pd.DataFrame, columns) -> list[np.ndarray]:
    out = []
    for c in columns:
        codes = pd.factorize(frame[c])[0]
        out += [(codes == g).astype(np.float64) for g in range(1, int(codes.max()) + 1)]
    if len(out) > MAX_DUMMIES:
        raise DataError(f"model.mediator_fe: the fixed effects {list(columns)} that only one equation has need "
                        f"{len(out)} dummy columns (more than {MAX_DUMMIES})")
    return out


def _split(paths: np.ndarray) -> dict:
    eff = effects_from_paths(paths)
    return {**{k: v for k, v in eff.items() if k != "paths"}, **eff["paths"]}


def bootstrap_with_mediator_fe(frame: pd.DataFrame, raw: dict, fe, mediator_fe, labels, *, n_boot: int,
                               key: int) -> MediationBootstrap:
    """The cluster bootstrap (module docstring) on the rows ``raw["row_id"]`` of ``frame``.

    ``raw``: the outcome equation's raw columns (``y``, ``x``, ``m``, ``x2`` or None, ``W``);
    ``fe`` / ``mediator_fe`` the two equations' FE columns; ``labels`` (n,) the resampled unit.
    """
    rows = frame.iloc[raw["row_id"]]
    common = [f for f in fe if f in mediator_fe]
    only_out = [f for f in fe if f not in common]
    only_med = [f for f in mediator_fe if f not in common]
    shared = [raw["x"]] + ([raw["x2"]] if raw["x2"] is not None else []) + list(raw["W"].T)
    if not common:
        shared.append(np.ones_like(raw["x"]))
    d_out, d_med = _dummies(rows, only_out), _dummies(rows, only_med)
    Z = np.column_stack([*shared, *d_out, *d_med, raw["m"], raw["y"]])
    if common:
        codes = np.column_stack([pd.factorize(rows[c])[0] for c in common]).astype(np.int32)
        Z, _, converged = within_transform(Z, codes)
        if not converged:
            raise DataError("the within transformation for the mediation bootstrap did not converge")
    k, a, b = len(shared), len(d_out), len(d_med)
    i2 = 1 if raw["x2"] is not None else -1
    base = tuple(range(k))
    out_cols = base + tuple(range(k, k + a))
    layout = MediationLayout(x2=i2, m=k + a + b, y=k + a + b + 1, total=out_cols,
                             mediator=tuple(i for i in base if i != i2) + tuple(range(k + a, k + a + b)),
                             outcome=out_cols + (k + a + b,))
    codes, G = cluster_codes(labels)
    S = cluster_crossproducts(Z, codes, G)
    T = cluster_sums(np.column_stack([raw["x"], np.ones_like(raw["x"])]), codes, G)
    with progress.counted("bootstrap", int(n_boot), "draws") as advance:
        est, draws, jack = bootstrap_crossproducts(S, key, int(n_boot), path_statistic, layout, sums=T,
                                                   jackknife=True, progress=advance)
    return MediationBootstrap(estimate={k_: float(v) for k_, v in _split(est).items()}, draws=_split(draws),
                              jackknife=_split(jack), n_boot=int(n_boot), n_clusters=G)
