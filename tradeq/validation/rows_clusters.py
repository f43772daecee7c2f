"""Rows of few-cluster inference: the ``few_clusters`` study (:mod:`tradeq.montecarlo.few_clusters`)
and firm- vs province-level clustering of the province-year Market index.

* Province simulator, G = 30 / 11 (East) / 8 (Central) province clusters, AR(1) errors
  within province: CR1 with t(G-1) is claimed valid at G = 30 and is a failure region at
  G = 11 and 8 (it over-rejects); CRV3 and WCR (Rademacher, Webb) are claimed valid at all three.
* Firm simulator, 31 provinces (and the firms of the 10 largest), province-year shocks,
  Market varies by province-year:
  firm-clustered CR1 (the market-integration paper's SE) is a failure region (the Moulton
  problem); province CR1 with 31 unequal clusters is one too (it over-rejects); CRV3 and
  WCR are claimed valid. The firm-cluster row comes from the same panels (same seed and
  setting) through the batched FE replica.

Coverage is of the 95% interval (t(G-1) for CR1/CRV3, test inversion for WCR); size is the
rejection of the true slope at 5% (for WCR the bootstrap p-value at the truth).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from tradeq.montecarlo.engine import run_setting
from tradeq.montecarlo.estimators import FixedEffects
from tradeq.montecarlo.few_clusters import FewClusterStudy, _firm_setting, run_samples

from .record import Rate, ValidationRow

LABELS = {"cr1": "CR1, t(G-1)", "crv3": "CRV3, t(G-1)", "wcr_rademacher": "WCR, Rademacher",
          "wcr_webb": "WCR, Webb"}
ASSUMPTION = {"province_30": "province panel, 30 province clusters, AR(1) errors",
              "province_east_11": "East subsample, 11 province clusters, AR(1) errors",
              "province_central_8": "Central subsample, 8 province clusters, AR(1) errors",
              "firm_31": "firm panel, 31 province clusters, province-year shocks",
              "firm_10": "firm panel, the 10 largest provinces as clusters, province-year shocks"}


def _region(sample: str, label: str) -> str:
    if label == "cr1" and sample != "province_30":
        return "failure"
    return "valid"


def _sample_rows(ds, study: FewClusterStudy) -> list[ValidationRow]:
    rows = []
    for i, sample in enumerate(ds["sample"].values):
        d = ds.isel(setting=i).sel(parameter="slope")
        for label, text in LABELS.items():
            e = d.sel(estimator=f"fc/{label}")
            size = ds.isel(setting=i).reject.sel(estimator=f"fc/{label}", test="size").values
            draws = f"; {study.wild_reps} wild draws per replication" if label.startswith("wcr") else ""
            rows.append(ValidationRow(
                group="few_clusters", estimator=f"{text} ({d.slope_name.values} slope)",
                assumption=ASSUMPTION[str(sample)], region=_region(str(sample), label), reps=study.reps,
                coverage=Rate.from_dataset(e.coverage, e.coverage_mcse, e.n_valid), size=Rate.of(size),
                note=f"mean interval length {float(e.ci_length):.3f}{draws}"))
    return rows


def few_cluster_rows(reps: int, seed: int, cache_dir: str | Path | None = None) -> tuple[ValidationRow, ...]:
    study = FewClusterStudy(reps=reps, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        ds, _ = run_samples(study, cache_dir or tmp)
    rows = _sample_rows(ds, study)
    fe = FixedEffects(vcovs=("cluster",))
    firm = run_setting(_firm_setting(study), (fe,), seed, reps).sel(estimator="fe/cluster", parameter="b1")
    rejected = np.abs(firm.estimate - firm.truth) > (firm.conf_high - firm.estimate)
    rows.append(ValidationRow(
        group="few_clusters", estimator="firm-cluster CR1 (b1, Market's slope)", assumption=ASSUMPTION["firm_31"],
        region="failure", reps=reps, coverage=Rate.from_dataset(firm.coverage, firm.coverage_mcse, firm.n_valid),
        size=Rate.of(np.where(np.isfinite(firm.std_error), rejected, np.nan)),
        note=f"{study.n_firms:,} firms x {study.n_years} years, the same panels as the province rows; "
             "Market is constant within province-year, firm clusters ignore the shocks (Moulton)"))
    return tuple(rows)
