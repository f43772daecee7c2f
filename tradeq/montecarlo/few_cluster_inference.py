"""Few-cluster inference on one simulated panel, as the Monte Carlo studies use it.

One slope, four kinds of inference, all through the core's few-cluster functions (no
numerics here):

* ``cr1``: the Liang–Zeger CRV1 standard error with pyfixest's small-sample factor
  ``G/(G-1) (N-1)/(N-k)`` (``ClusterDesign.ssc``, nested FE counted as pyfixest does), t with
  G - 1 degrees of freedom;
* ``crv3``: the leave-one-cluster-out jackknife variance ``(G-1)/G sum_g (b_(g) - b)^2``
  (:func:`tradeq.models.crv3.crv3_from_blocks`; MacKinnon, Nielsen & Webb 2023, JAE), t(G-1);
* ``wcr_<weights>``: the restricted wild cluster bootstrap (WCR) test of ``b = b0`` with a
  CRV1-studentised statistic, the symmetric p-value (boottest's tie rule: ``|t*| > |t|``
  strictly), and the confidence set by test inversion (:func:`tradeq.models.wild.ci.invert_test`).

FE nested in the clusters are projected out, the others are dummy columns
(:func:`tradeq.models.wild.cluster_design`), so CR1, CRV3 and WCR refer to the same model as
pyfixest's ``feols(y ~ x | fe1 + fe2, vcov={"CRV1": cluster})``.

Per replication (:func:`slope_inference`) the outputs are scalars in one dict; the host
estimators stack them over replications and :func:`inference_records` turns the stacks into
the engine's :class:`~tradeq.montecarlo.estimators.EstimateRecord` /
:class:`~tradeq.montecarlo.estimators.TestRecord`: a parameter's interval per label and the
test ``size`` (rejection of the true value at ``1 - level``; for the t-based labels this is
the complement of covering, for WCR the p-value at the truth, the same event as the inverted
interval excluding it up to the bisection tolerance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from tradeq.models.crv3 import cluster_blocks, crv3_from_blocks
from tradeq.models.wild import cluster_design, wild_distribution
from tradeq.models.wild.ci import invert_test

from .estimators import EstimateRecord, TestRecord

#: Wild bootstrap weights the studies report (Mammen is available in the core too).
WILD_WEIGHTS = ("rademacher", "webb", "mammen")

#: Bisection tolerance of the inverted wild interval, in CR1 standard errors.
CI_TOL_SE = 1e-4


def inference_labels(weights: Sequence[str]) -> tuple[str, ...]:
    """The variant names: ``cr1``, ``crv3``, then ``wcr_<w>`` per weight type."""
    return ("cr1", "crv3", *(f"wcr_{w}" for w in weights))


def empty_inference(weights: Sequence[str]) -> dict[str, float]:
    """The outputs of a replication whose design failed (every value NaN)."""
    out = {"estimate": np.nan, "n_clusters": np.nan, "se_cr1": np.nan, "se_crv3": np.nan}
    for w in weights:
        out |= {f"p_{w}": np.nan, f"lo_{w}": np.nan, f"hi_{w}": np.nan}
    return out


def slope_inference(y, X, fe, clusters, j: int, b0: float, seeds: Sequence[int], *,
                    weights: Sequence[str] = ("rademacher", "webb"), wild_reps: int = 399,
                    level: float = 0.95) -> dict[str, float]:
    """CR1 / CRV3 standard errors and WCR p-value at ``b0`` and inverted interval of the
    coefficient of ``X[:, j]`` in ``y ~ X | fe``, clustered by ``clusters``.

    ``y`` (n,), ``X`` (n, k), ``fe`` (n, m) integer codes (or None), ``clusters`` (n,);
    ``seeds`` one int seed per weight type (the wild draws). ``wild_reps`` draws per
    bootstrap (all 2^G sign vectors when Rademacher and 2^G <= wild_reps). Returns scalars:
    ``estimate``, ``n_clusters``, ``se_cr1``, ``se_crv3``, and per weight ``p_<w>``,
    ``lo_<w>``, ``hi_<w>``. Raises ``ValueError`` when the design is degenerate.
    """
    cd = cluster_design(y, X, fe, clusters)
    blocks = cluster_blocks(cd.y, cd.X, cd.clusters)
    R = cd.restriction(np.eye(cd.n_regressors)[j])
    jack = crv3_from_blocks(blocks)
    out = {"n_clusters": float(blocks.G), "se_crv3": float(jack.se[j])}
    for w, seed in zip(weights, seeds):
        dist = wild_distribution(blocks, R, weights=w, reps=wild_reps, null="restricted", key=int(seed), ssc=cd.ssc)
        out["estimate"], out["se_cr1"] = dist.estimate, dist.se
        out[f"p_{w}"] = float(dist.pvalue(b0, "symmetric", "strict")[0])
        lo, hi, _ = invert_test(dist, level=level, ptype="symmetric", tie_rule="strict", tol=CI_TOL_SE * dist.se)
        out[f"lo_{w}"], out[f"hi_{w}"] = lo, hi
    if not weights:
        out["estimate"] = float(jack.coef[j])
        out["se_cr1"] = np.nan
    return out


def inference_records(prefix: str, parameter: str, raw: dict, truth, weights: Sequence[str],
                      level: float) -> tuple[list[EstimateRecord], list[TestRecord]]:
    """Records of the stacked outputs ``raw`` (each (R,)) of :func:`slope_inference`:
    labels ``<prefix>/<variant>`` (:func:`inference_labels`), the interval of ``parameter``
    and the test ``size`` (the true value ``truth`` (R,) rejected at ``1 - level``)."""
    est = np.asarray(raw["estimate"], float)
    truth = np.broadcast_to(np.asarray(truth, float), est.shape)
    df = np.asarray(raw["n_clusters"], float) - 1.0
    q = stats.t.ppf(0.5 + level / 2.0, np.where(df > 0, df, np.nan))
    records, tests = [], []
    for variant in ("cr1", "crv3"):
        se = np.asarray(raw[f"se_{variant}"], float)
        lo, hi = est - q * se, est + q * se
        records.append(EstimateRecord(f"{prefix}/{variant}", parameter, est, se, lo, hi))
        reject = np.where(np.isfinite(se), np.abs(est - truth) > q * se, np.nan)
        tests.append(TestRecord(f"{prefix}/{variant}", "size", reject))
    for w in weights:
        label = f"{prefix}/wcr_{w}"
        lo, hi, p = (np.asarray(raw[f"{k}_{w}"], float) for k in ("lo", "hi", "p"))
        records.append(EstimateRecord(label, parameter, est, None, lo, hi))
        tests.append(TestRecord(label, "size", np.where(np.isfinite(p), p <= 1.0 - level, np.nan)))
    return records, tests
