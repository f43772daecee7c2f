"""The shipped fe_coverage study, reduced (fewer firms), asserting what the full study shows:
coverage within the nominal band wherever the variance's assumptions hold, and
under-coverage of firm-clustered intervals under province-year shocks.

Tolerances come from the Monte Carlo SE of a coverage estimate at the nominal level,
``sqrt(0.95 · 0.05 / R)``, times a Bonferroni-adjusted normal quantile so that the whole
family of checks fails with probability about 1% when every interval is exact.
"""

from pathlib import Path

import numpy as np
import pytest
from composing import compose_config
from omegaconf import OmegaConf
from scipy import stats

from tradeq.montecarlo.engine import run_study
from tradeq.montecarlo.studies import build_study

CONF = Path(__file__).resolve().parents[3] / "conf"
REPS = 1000
N_FIRMS = 250


@pytest.fixture(scope="module")
def study_ds(tmp_path_factory):
    # the host-side few-cluster estimator has its own reduced test (test_mc_few_clusters.py)
    cfg = compose_config("simulate", ["study=fe_coverage", f"study.reps={REPS}", f"study.grid.n_firms=[{N_FIRMS}]",
                                      "~study.estimators.fc"])
    study = build_study(OmegaConf.to_container(cfg.study, resolve=True))
    ds, _ = run_study(study, seed=20240601, results_dir=tmp_path_factory.mktemp("cov"), progress=False)
    return ds


@pytest.mark.slow
def test_coverage_nominal_where_assumptions_hold(study_ds):
    ds = study_ds
    level = float(ds.attrs["level"])
    se = np.sqrt(level * (1 - level) / REPS)
    valid = ds.assumptions_hold.values.astype(bool)  # (setting, estimator)
    cov = ds.coverage.values  # (setting, estimator, parameter)
    checks = cov[valid]  # (n valid pairs, parameter)
    assert checks.size >= 18  # iid: 4 variances, heteroskedastic: 3, AR(1): 2; b1 and b2
    z = stats.norm.isf(0.01 / (2 * checks.size))
    bad = [(str(ds.error.values[i]), str(ds.estimator.values[j]), round(float(c), 3))
           for i, j in zip(*np.nonzero(valid)) for c in cov[i, j] if abs(c - level) > z * se]
    assert not bad, f"coverage outside {level} ± {z:.2f}·{se:.4f}: {bad}"


@pytest.mark.slow
def test_firm_clustering_undercovers_under_province_year_shocks(study_ds):
    ds = study_ds
    level = float(ds.attrs["level"])
    se = np.sqrt(level * (1 - level) / REPS)
    py = int(np.flatnonzero(ds.error.values == "province_year")[0])
    assert not ds.assumptions_hold.sel(estimator="fe/cluster").values[py]
    z = stats.norm.isf(0.01 / 2)
    for par in ("b1", "b2"):
        c = float(ds.coverage.isel(setting=py).sel(estimator="fe/cluster", parameter=par))
        assert c < level - z * se, (par, c)
        # the reported MC SE is the binomial one
        mc = float(ds.coverage_mcse.isel(setting=py).sel(estimator="fe/cluster", parameter=par))
        assert mc == pytest.approx(np.sqrt(c * (1 - c) / REPS))
        # province clusters span the shocks: far better, though CR1 with 31 unequal clusters
        # still under-covers (declared valid nowhere; see conf/study/fe_coverage.yaml)
        prov = float(ds.coverage.isel(setting=py).sel(estimator="fe/cluster_province", parameter=par))
        assert prov > c + 0.05, (par, prov, c)  # 0.876 vs 0.768 for b1 (1,000 replications)
