"""Benchmark: the sufficient-statistics hierarchical inverted U against row-level PyMC.

    .venv/bin/python benchmarks/bayes.py [--sizes 2000,8000,16000,32000,64000,128000,256000] [--budget-s S]

1. A full-size synthetic firm panel (594,596 firm-years, 120,000 firms, 10 years, firm and
   year effects, East/Central/West x SOE/non-SOE groups with their own b1_g, b2_g; SOE ~4%)
   from :func:`tradeq.dgp.firm_panel.simulate_firm_panel` (a small numpy generator if that
   module is unavailable).
2. Ours: :func:`tradeq.models.bayes.fit_bayes` (NumPyro, sufficient statistics, slopes integrated
   out: :mod:`tradeq.models.bayes.collapsed`), 4 chains x 1000 warm-up + 1000 draws, in this fresh
   process: the wall time includes the within transformation, JIT compilation and
   sampling. Then the joint non-centred sampler
   (``collapse=False``) on the same data for context.
3. Row-level PyMC, the same model with the likelihood summed over within-transformed rows
   (PyMC's own NUTS, ``nuts_sampler="pymc"``, and nutpie), on the first 2k, 8k, 32k, ...
   rows (whole firms, stratified by group), each in a child process with a 10-minute
   timeout, up the ladder while the time predicted for the next size (linear in n) fits in
   10 minutes (and in ``--budget-s`` per sampler, if given). Both get all cores (PyMC's
   default would use one on a 2-core machine). Wall time is the ``pm.sample`` call
   (compilation included, as for ours).

ESS/s = the smallest bulk ESS over all b1_g, b2_g per second of *sampling*: the sampler
call's wall time less its one-off compilation (XLA's compile time for ours, measured by
:func:`tradeq.models.compile_clock.compile_clock`; for PyMC the call's time outside its own
sampling-loop clock, i.e. compiling the model and starting the chains) -- the usual
definition, the same for every sampler, and the one that grows with data size and draws.
End-to-end figures (fresh process: within transformation, compilation, sampling, DataTree;
ESS / that wall time) are printed beside it. The last line is
``speedup=<our ESS/s / row-level PyMC's best ESS/s, both on the same 64,000 rows>``
(``--headline-rows``): a fixed size both finish, so the ratio does not depend on how far
PyMC's ladder got on a loaded machine (if no PyMC sampler finishes it, the largest size one
did, said in the output). Ours at full size is printed beside it for context.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import tradeq  # noqa: E402

tradeq.setup_runtime()  # host devices for parallel chains and float64, before JAX starts

from tradeq.models.design import Design  # noqa: E402

N_FIRMS, N_YEARS, N_OBS = 120_000, 10, 594_596
CORE = "Market"
CONTROLS = ("scale", "age", "roa", "rdebt", "fic")
# East/Central/West x SOE/non-SOE (the simulator's label order: SOE first within a region),
# loosely after the paper's split samples; turning points 3.9-4.3.
GROUP_B1 = (0.010, 0.056, 0.040, 0.102, 0.080, 0.166)
GROUP_B2 = (-0.0012, -0.0071, -0.0050, -0.0121, -0.0095, -0.0196)
PER_RUN_LIMIT_S = 600


def simulate(seed: int = 0) -> tuple[Design, np.ndarray, list[str]]:
    """The full-size panel as a Design (firm + year FE) with region x ownership codes."""
    try:
        from tradeq.dgp.firm_panel import FirmPanelParams, group_labels, simulate_firm_panel
    except ImportError:
        return simulate_numpy(seed)
    params = FirmPanelParams(group_by="region_ownership", group_b1=GROUP_B1, group_b2=GROUP_B2)
    frame, _ = simulate_firm_panel(params, n_firms=N_FIRMS, n_years=N_YEARS, seed=seed, n_obs=N_OBS)
    names = list(group_labels("region_ownership"))
    groups = frame["group"].map({name: i for i, name in enumerate(names)}).to_numpy(dtype=np.int64)
    x = frame[CORE].to_numpy(float)
    X = np.column_stack([x, x**2] + [frame[c].to_numpy(float) for c in CONTROLS])
    fe = np.column_stack([np.unique(frame[c].to_numpy(), return_inverse=True)[1] for c in ("firm", "year")])
    return _design(frame["quality"].to_numpy(float), X, fe), groups, names


def simulate_numpy(seed: int = 0) -> tuple[Design, np.ndarray, list[str]]:
    """Fallback generator: provinces with a drifting Market index, firm + year effects."""
    rng = np.random.default_rng(seed)
    n_prov, region_of_prov = 30, np.repeat([0, 1, 2], 10)
    market = rng.uniform(3.8, 4.6, n_prov)[:, None] + 0.05 * np.arange(N_YEARS) + 0.17 * rng.standard_normal((n_prov, N_YEARS))
    prov_p = np.where(region_of_prov == 0, 0.906 / 10, np.where(region_of_prov == 1, 0.065 / 10, 0.029 / 10))
    prov = rng.choice(n_prov, N_FIRMS, p=prov_p / prov_p.sum())
    soe = rng.random(N_FIRMS) < 0.0376
    g_firm = 2 * region_of_prov[prov] + np.where(soe, 0, 1)
    years = [rng.choice(N_YEARS, size=min(N_YEARS, max(1, k)), replace=False) for k in rng.poisson(4.0, N_FIRMS) + 1]
    firm = np.repeat(np.arange(N_FIRMS), [len(y) for y in years])
    year = np.concatenate(years)
    keep = np.sort(rng.permutation(firm.size)[:N_OBS]) if firm.size > N_OBS else np.arange(firm.size)
    firm, year = firm[keep], year[keep]
    x = market[prov[firm], year]
    g = g_firm[firm]
    c = rng.standard_normal((firm.size, len(CONTROLS)))
    b1, b2 = np.array(GROUP_B1), np.array(GROUP_B2)
    y = b1[g] * x + b2[g] * x**2 + c @ np.full(len(CONTROLS), 0.01) + rng.normal(0, 0.08, N_FIRMS)[firm] + 0.02 * year + 0.07 * rng.standard_normal(firm.size)
    names = [f"{r}:{o}" for r in ("East", "Central", "West") for o in ("SOE", "non-SOE")]
    return _design(y, np.column_stack([x, x**2, c]), np.column_stack([firm, year])), g.astype(np.int64), names


def _design(y, X, fe) -> Design:
    n = y.shape[0]
    return Design(
        y=y, X=X, x_names=(CORE, f"I({CORE} ** 2)", *CONTROLS), fe=fe.astype(np.int32), fe_names=("firm", "year"),
        cluster=np.zeros((n, 0), np.int32), cluster_names=(), row_id=np.arange(n), y_name="quality",
    )


def slope_ess(post) -> tuple[float, float]:
    """(min, median) bulk ESS over all b1_g and b2_g."""
    import arviz_stats

    ess = arviz_stats.ess(post[["b1", "b2"]], method="bulk")
    values = np.concatenate([ess["b1"].values.ravel(), ess["b2"].values.ravel()])
    return float(values.min()), float(np.median(values))


def run_ours(design, groups, names, **kw) -> dict:
    from tradeq.models.bayes import fit_bayes

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dt = fit_bayes(design, groups=groups, group_names=names, core=CORE, seed=0, progress=False, **kw)
    wall = time.perf_counter() - start
    ess_min, ess_med = slope_ess(dt["posterior"].to_dataset())
    sampling_only = dt.attrs["sampling_s"] - dt.attrs["compile_s"]
    return {
        "wall_s": wall, "prep_s": dt.attrs["prep_s"], "sampling_s": dt.attrs["sampling_s"],
        "compile_s": dt.attrs["compile_s"], "ess_min": ess_min, "ess_median": ess_med,
        "ess_per_s": ess_min / sampling_only, "ess_per_wall_s": ess_min / wall, "divergences": dt.attrs["divergences"],
        "max_rhat": dt.attrs["max_rhat"], "chain_method": dt.attrs["chain_method"], "warnings": len(caught),
        "b2_mean": dt["posterior"]["b2"].mean(("chain", "draw")).values.round(4).tolist(),
    }


def firm_subset(design, groups, n_rows: int, min_rows: int = 40) -> np.ndarray:
    """Rows of whole firms, about n_rows, stratified by group (each keeps its share of the
    panel but at least ``min_rows``), firms in a fixed random order."""
    firm = design.fe[:, 0]
    rng = np.random.default_rng(1)
    chosen = []
    for g in range(groups.max() + 1):
        firms = rng.permutation(np.unique(firm[groups == g]))
        counts = np.bincount(firm[groups == g], minlength=firm.max() + 1)[firms]
        target = max(n_rows * np.mean(groups == g), min_rows)
        chosen.append(firms[: int(np.searchsorted(np.cumsum(counts), target)) + 1])
    return np.flatnonzero(np.isin(firm, np.concatenate(chosen)))


def pymc_child(npz: str, sampler: str, out: str) -> None:
    """In a child process: the row-level PyMC model on the saved within-transformed rows."""
    from tradeq.models.bayes.priors import PriorScales
    from tradeq.models.bayes.pymc_model import build_model, sample_pymc

    d = np.load(npz, allow_pickle=False)
    meta = json.loads(str(d["meta"]))
    prior = PriorScales(**{k: tuple(v) if k == "beta" else v for k, v in meta["prior"].items()})
    data = {"Z": d["Z"], "y": d["y"], "n_fe": d["n_fe"]}
    model = build_model(data, prior, group_names=tuple(meta["groups"]), control_names=tuple(meta["controls"]), center=meta["center"])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # both cores: PyMC assumes hyper-threads and would otherwise run the chains one by one
        post, stats, info = sample_pymc(model, draws=1000, tune=1000, chains=4, seed=0, target_accept=0.9, progress=False, nuts_sampler=sampler, cores=os.cpu_count())
    wall = time.perf_counter() - start
    import xarray as xr

    ds = xr.Dataset({k: (("chain", "draw", "group"), post[k]) for k in ("b1", "b2")})
    ess_min, ess_med = slope_ess(ds)
    sampling_only = info["sampling_s"] - info["compile_s"]
    Path(out).write_text(json.dumps({
        "wall_s": wall, "compile_s": info["compile_s"], "ess_min": ess_min, "ess_median": ess_med,
        "ess_per_s": ess_min / sampling_only, "ess_per_wall_s": ess_min / wall, "divergences": int(stats["diverging"].sum())}))


def run_pymc(design, groups, names, rows, sampler: str, timeout: float, tmp: Path) -> dict | None:
    from tradeq.models.bayes.design import build_group_design

    sub = Design(
        y=design.y[rows], X=design.X[rows], x_names=design.x_names, fe=design.fe[rows], fe_names=design.fe_names,
        cluster=design.cluster[rows], cluster_names=(), row_id=rows,
    )
    gd = build_group_design(sub, groups[rows], names, CORE)
    n_fe = gd.n - gd.n_eff()
    npz = tmp / f"rows_{rows.size}.npz"
    meta = {"prior": json.loads(gd.prior.to_json()), "groups": list(gd.group_names), "controls": list(gd.control_names), "center": gd.center}
    np.savez(npz, Z=gd.Z, y=gd.y, n_fe=np.float64(n_fe), meta=json.dumps(meta))
    out = tmp / f"pymc_{sampler}_{rows.size}.json"
    try:
        subprocess.run([sys.executable, __file__, "--child", str(npz), sampler, str(out)], timeout=timeout, check=True, capture_output=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as err:
        print(f"  pymc[{sampler}] n={rows.size} failed: {err.stderr.decode()[-500:]}", flush=True)
        return None
    return json.loads(out.read_text())


HEADLINE_ROWS = 64_000


def _subset(design, rows) -> Design:
    return Design(y=design.y[rows], X=design.X[rows], x_names=design.x_names, fe=design.fe[rows], fe_names=design.fe_names,
                  cluster=design.cluster[rows], cluster_names=(), row_id=rows)


def report_ours(label: str, res: dict) -> None:
    print(f"{label}: wall={res['wall_s']:.1f}s prep={res['prep_s']:.1f}s sampler call={res['sampling_s']:.1f}s of which "
          f"compile={res['compile_s']:.1f}s chain_method={res['chain_method']} min bulk ESS(b1,b2)={res['ess_min']:.0f} "
          f"median={res['ess_median']:.0f} ESS/s={res['ess_per_s']:.1f} (per wall second {res['ess_per_wall_s']:.1f}) "
          f"divergences={res['divergences']} max_rhat={res['max_rhat']:.3f}", flush=True)


def pymc_ladder(design, groups, names, sizes: list[int], sampler: str, budget_s: float | None, tmp: Path) -> list[dict]:
    """Row-level PyMC up the size ladder while the next size's predicted time fits."""
    deadline = time.perf_counter() + (budget_s if budget_s else float("inf"))
    done: list[dict] = []
    for size in sizes:
        rows = firm_subset(design, groups, size)
        remaining = deadline - time.perf_counter()
        limit = min(PER_RUN_LIMIT_S, max(remaining, 1.0))
        if done and done[-1]["wall_s"] * rows.size / done[-1]["n"] > limit:
            print(f"  pymc[{sampler}] n={rows.size}: skipped (predicted over {limit:.0f}s)", flush=True)
            break
        res = run_pymc(design, groups, names, rows, sampler, limit, tmp)
        if res is None:
            print(f"  pymc[{sampler}] n={rows.size}: did not finish in {limit:.0f}s", flush=True)
            break
        res |= {"n": rows.size, "target": size, "sampler": sampler}
        print(f"row-level pymc[{sampler}] n={rows.size}: wall={res['wall_s']:.1f}s compile={res['compile_s']:.1f}s "
              f"min bulk ESS={res['ess_min']:.0f} ESS/s={res['ess_per_s']:.2f} (per wall second "
              f"{res['ess_per_wall_s']:.2f}) divergences={res['divergences']}", flush=True)
        done.append(res)
    return done


def headline_size(finished: list[dict], headline: int) -> int | None:
    """The fixed headline size if some PyMC sampler finished it, else the largest size one did
    (said in the output): the ratio is always at one size both samplers ran."""
    targets = {r["target"] for r in finished}
    if headline in targets:
        return headline
    return max(targets) if targets else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-s", type=float, default=None, help="optional cap on each sampler's row-level runs, seconds")
    ap.add_argument("--sizes", default="2000,8000,16000,32000,64000,128000,256000")
    ap.add_argument("--headline-rows", type=int, default=HEADLINE_ROWS, help="the size of the headline ratio")
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.child:
        pymc_child(*args.child)
        return

    t0 = time.perf_counter()
    design, groups, names = simulate()
    print(f"panel: n={design.n} firms={design.fe[:, 0].max() + 1} years={design.fe[:, 1].max() + 1} "
          f"groups={dict(zip(names, np.bincount(groups).tolist()))} (simulated in {time.perf_counter() - t0:.1f}s)", flush=True)
    ours = run_ours(design, groups, names)
    report_ours("ours at full size (numpyro, sufficient statistics, cold: within + JIT + sampling)", ours)
    print(f"  truth b2={list(GROUP_B2)} posterior mean b2={ours['b2_mean']}", flush=True)
    joint = run_ours(design, groups, names, collapse=False)
    report_ours("ours at full size, joint non-centred sampler (collapse=False)", joint)

    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        finished = [r for sampler in ("pymc", "nutpie")
                    for r in pymc_ladder(design, groups, names, sizes, sampler, args.budget_s, Path(tmp))]
    size = headline_size(finished, args.headline_rows)
    if size is None:
        print("row-level PyMC finished no size in its budget")
        print("speedup=inf")
        return
    best = max((r for r in finished if r["target"] == size), key=lambda r: r["ess_per_s"])
    rows = firm_subset(design, groups, size)
    same = run_ours(_subset(design, rows), groups[rows], names)
    if size != args.headline_rows:
        print(f"note: PyMC did not finish {args.headline_rows} rows; the headline is at {size} rows instead")
    print(f"row-level PyMC at {best['n']} rows: best sampler {best['sampler']} ESS/s={best['ess_per_s']:.2f}")
    report_ours(f"ours on the same {rows.size} rows", same)
    full_s = best["wall_s"] * design.n / best["n"]
    print(f"context: ours at full size ESS/s={ours['ess_per_s']:.1f} (x{ours['ess_per_s'] / best['ess_per_s']:.1f} "
          f"against PyMC at {best['n']} rows); row-level {best['sampler']} extrapolated to n={design.n}: >= "
          f"{full_s / 60:.0f} min")
    print(f"end to end at {rows.size} rows (ESS per wall second, compilation included): "
          f"x{same['ess_per_wall_s'] / best['ess_per_wall_s']:.1f}")
    print(f"total benchmark time {time.perf_counter() - t0:.0f}s")
    print(f"speedup={same['ess_per_s'] / best['ess_per_s']:.1f}")


if __name__ == "__main__":
    main()
