"""Benchmark: the wild cluster bootstrap (WCR, Rademacher, 9,999 draws, one hypothesis) of
``tradeq.models.wild.wild_test`` against the ``wildboottest`` package (0.3.2, bootstrap type
"11": CRV1 scores and variance) on the same data in the same run.

(a) a 630-row province panel, 30 provinces x 21 years with province and year effects,
    clustered by province (province FE nested in the clusters and projected out, year FE
    as dummies);
(b) the project's simulated firm panel at the paper's size (594,596 firm-years,
    ``tradeq.dgp.firm_panel`` with its default parameters), firm and year FE, clustered by
    its 31 provinces (firms are nested in provinces: firm FE projected out, year dummies).

Both tools get the same arrays from :func:`tradeq.models.wild.cluster_design`; times are
medians after one untimed call (JIT and numba compilation). The hypothesis is on the
linear term, ``R b = r`` with a non-zero r; wildboottest only tests ``R b = 0``, so it gets
``y - r x`` (the same test). Run: ``python benchmarks/wild.py [--reps 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

B = 9999


def province_panel(seed: int = 7):
    """(y, X, fe, clusters) of a 30 x 21 province-year panel with province and year effects."""
    rng = np.random.default_rng(seed)
    P, T = 30, 21
    prov, year = np.repeat(np.arange(P), T), np.tile(np.arange(T), P)
    x = 1.0 + 0.3 * rng.standard_normal(P)[prov] + 0.02 * year + 0.2 * rng.standard_normal(P * T)
    ctrl = rng.standard_normal((P * T, 3))
    e = np.zeros(P * T)  # AR(1) errors within province
    shocks = rng.standard_normal(P * T)
    for t in range(T):
        rows = year == t
        e[rows] = (0.6 * e[year == t - 1] if t else 0.0) + 0.3 * shocks[rows]
    y = 1.5 * x + ctrl @ np.array([0.05, -0.02, 0.0]) + rng.standard_normal(P)[prov] + 0.1 * year + e
    return y, np.column_stack([x, ctrl]), np.column_stack([prov, year]), prov, 1.5


def firm_panel(seed: int = 20240601):
    """(y, X, fe, clusters) of the simulated firm panel: quality on Market, Market^2 and the
    controls, firm and year FE, province clusters."""
    import pandas as pd

    from tradeq.dgp.firm_panel import FirmPanelParams, simulate_firm_panel

    df, _ = simulate_firm_panel(FirmPanelParams(), n_firms=120_000, n_years=10, seed=seed, n_obs=594_596)
    X = np.column_stack([df.Market, df.Market**2, df.scale, df.age, df.roa, df.rdebt, df.fic])
    fe = np.column_stack([pd.factorize(df.firm)[0], pd.factorize(df.year)[0]])
    return df.quality.to_numpy(), X, fe, pd.factorize(df.province)[0], 0.05


def _median_time(fn, reps):
    out = fn()  # compilation
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _wildboottest(y, X, cl, r):
    from wildboottest.wildboottest import WildboottestCL

    R = np.zeros(X.shape[1])
    R[0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = WildboottestCL(X=X, Y=y - r * X[:, 0], cluster=cl, R=R, B=B, seed=1)
        boot.get_scores(bootstrap_type="11", impose_null=True)
        boot.get_weights(weights_type="rademacher")
        boot.get_numer()
        boot.get_denom()
        boot.get_tboot()
        boot.get_vcov()
        boot.get_tstat()
        boot.get_pvalue(pval_type="two-tailed")
    return boot


def run_case(name, data, reps):
    from tradeq.models.wild import cluster_design, wild_test

    y, X, fe, cl, r = data
    t0 = time.perf_counter()
    d = cluster_design(y, X, fe, cl)
    t_design = time.perf_counter() - t0
    R = d.restriction(np.eye(X.shape[1])[0])
    print(f"{name}: N = {d.y.size:,}, k = {d.X.shape[1]} (after projecting out {sum(d.nested)} nested FE), "
          f"G = {d.n_clusters}; H0: b_1 = {r}; design built in {t_design * 1e3:.0f} ms")
    t_ours, ours = _median_time(lambda: wild_test(d.y, d.X, d.clusters, R, r, reps=B, level=None, key=1), reps)
    t_ci, ci = _median_time(lambda: wild_test(d.y, d.X, d.clusters, R, r, reps=B, level=0.95, key=1), reps)
    t_ref, ref = _median_time(lambda: _wildboottest(d.y, d.X, d.clusters, r), reps)
    print(f"  ours         : {t_ours * 1e3:8.1f} ms  t = {ours.t:.6f}  p = {ours.p:.4f}  draws = {ours.draws}")
    print(f"  ours with CI : {t_ci * 1e3:8.1f} ms  95% set [{ci.ci_lo:.5f}, {ci.ci_hi:.5f}]")
    print(f"  wildboottest : {t_ref * 1e3:8.1f} ms  t = {float(np.squeeze(ref.t_stat)):.6f}  p = {ref.pvalue:.4f}")
    print(f"  p-value difference {abs(ours.p - ref.pvalue):.4f} (Monte Carlo sd "
          f"{np.sqrt(2 * max(ours.p * (1 - ours.p), 1 / B) / B):.4f}); speedup {t_ref / t_ours:.1f}x")
    return t_ref / t_ours, t_ours


def run(reps: int = 3) -> float:
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    run_case("(a) province panel", province_panel(), reps)
    ratio, t_firm = run_case("(b) firm panel", firm_panel(), reps)
    print(f"firm panel: ours {t_firm:.3f} s after compilation (target <= 1 s), {ratio:.1f}x wildboottest")
    print(f"speedup={ratio:.2f}")
    return ratio


if __name__ == "__main__":
    import tradeq

    tradeq.setup_runtime()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    run(reps=args.reps)
