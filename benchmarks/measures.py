"""Benchmark: raw customs records to firm-year KSW quality and peer measures, against pandas.

Ours is :func:`tradeq.raw.pipeline.build_panel` (DuckDB for the relational steps, the FE
replica's within transform for the demand regression, NumPy group-bys for the peers) on
parquet files; it also builds Market and the controls. The peer tool is the
straightforward in-memory pandas implementation a careful applied economist writes
(read, filter, merge, groupby-sum; singletons, residuals and min-max by
``groupby().transform``; leave-one-out sums and the distinct pair counts by transforms and
``drop_duplicates``), with the same σ rule. Both read the same files, in fresh
subprocesses, and the panels are checked to agree. Run:
``python benchmarks/measures.py [--sizes 1e6,3e6,1e7] [--data-dir DIR]``.

Per size and side: wall seconds of the call (imports and JAX start-up excluded), CPU seconds
of the process over the call (``getrusage``: on a machine shared with other jobs the wall
time stretches, the CPU time does not; with 2 free cores the wall time is at most the CPU
time), peak resident memory (``ru_maxrss``). The last line is
``speedup=<pandas CPU s / ours CPU s>`` at the largest size: on a shared machine the wall
times measure the other jobs as much as ours, the CPU seconds measure the work. The CPU ratio
does not credit ours for using two threads where pandas uses one (the wall ratio on free
cores would), so it is the conservative one; both ratios are printed per size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _usage() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 2**20  # CPU s, peak GiB (KiB on Linux)


def generate(n_records: int, folder: Path, seed: int = 0) -> None:
    """Simulated customs records, register and price indices as parquet files."""
    from tradeq.dgp.raw_customs import simulate_customs
    from tradeq.dgp.raw_firms import simulate_register
    from tradeq.dgp.raw_prices import simulate_price_indices

    register, firms = simulate_register(max(2_000, n_records // 50), seed=seed)
    customs, _ = simulate_customs(firms.frame, n_records, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    customs.drop(columns="line").to_parquet(folder / "customs.parquet", index=False)
    register.to_parquet(folder / "register.parquet", index=False)
    simulate_price_indices(seed=seed)[0].to_parquet(folder / "prices.parquet", index=False)


def ours(folder: Path) -> pd.DataFrame:
    from tradeq.raw.pipeline import PanelSettings, build_panel

    panel, _ = build_panel(folder / "customs.parquet", folder / "register.parquet", folder / "prices.parquet",
                           settings=PanelSettings(threads=2, memory_limit="3GB"))
    return panel[["firm_id", "year", "quality", "peer_scale", "peer_diversity"]]


def _pandas_sigma(lines: pd.DataFrame) -> pd.Series:
    from tradeq.raw.sigmas import resolve_sigmas

    pairs = lines[["hs3", "destination"]].drop_duplicates()
    table = resolve_sigmas(pairs)
    return lines.merge(table, on=["hs3", "destination"], how="left")["sigma"].to_numpy()


def pandas_baseline(folder: Path) -> pd.DataFrame:
    rec = pd.read_parquet(folder / "customs.parquet")
    reg = pd.read_parquet(folder / "register.parquet", columns=["firm_id", "year", "industry"])
    rec = rec.dropna(subset=["firm_id", "year", "hs8", "destination"])
    rec = rec[(rec["quantity"] > 0) & (rec["value"] > 0)]
    rec = rec.merge(reg, on=["firm_id", "year"])
    keys = ["firm_id", "year", "industry", "hs8", "destination"]
    lines = rec.groupby(keys, as_index=False, observed=True, sort=False)[["value", "quantity"]].sum()
    del rec
    lines["hs3"] = lines["hs8"].str[:3]
    lines["sigma"] = _pandas_sigma(lines)
    # KSW: y on product-destination-year effects = demeaning within the cell
    q = lines[lines["sigma"].notna()].copy()
    q["y"] = np.log(q["quantity"]) + q["sigma"] * np.log(q["value"] / q["quantity"])
    cell = ["hs8", "destination", "year"]
    q = q[q.groupby(cell)["y"].transform("size") > 1]
    q["quality"] = (q["y"] - q.groupby(cell)["y"].transform("mean")) / (q["sigma"] - 1)
    lo = q.groupby("hs8")["quality"].transform("min")
    hi = q.groupby("hs8")["quality"].transform("max")
    q["r"] = (q["quality"] - lo) / (hi - lo)
    q = q[q["r"].notna()]
    q["vr"] = q["value"] * q["r"]
    tq = q.groupby(["firm_id", "year"])[["vr", "value"]].sum()
    tq = (tq["vr"] / tq["value"]).rename("quality")
    del q
    # peers: leave-one-out mean export value and distinct product x destination pairs of the others
    fy = lines.groupby(["firm_id", "year", "industry"], as_index=False)["value"].sum()
    g = fy.groupby(["industry", "year"])["value"]
    n, S = g.transform("size"), g.transform("sum")
    fy["peer_scale"] = ((S - fy["value"]) / (n - 1)).where(n > 1)
    pairs = lines[["firm_id", "year", "industry", "hs8", "destination"]]
    exporters = pairs.groupby(["industry", "year", "hs8", "destination"])["firm_id"].transform("size")
    own_only = pairs[exporters == 1].groupby(["firm_id", "year"]).size().rename("own_only")
    D = pairs.drop_duplicates(["industry", "year", "hs8", "destination"]).groupby(["industry", "year"]).size()
    fy = fy.join(own_only, on=["firm_id", "year"]).join(D.rename("D"), on=["industry", "year"])
    fy["peer_diversity"] = (fy["D"] - fy["own_only"].fillna(0)).where(n > 1)
    return fy.join(tq, on=["firm_id", "year"]).dropna(subset=["quality"])[
        ["firm_id", "year", "quality", "peer_scale", "peer_diversity"]]


def _child(side: str, folder: str, out: str) -> None:
    import tradeq

    tradeq.setup_runtime()
    fn = ours if side == "ours" else pandas_baseline
    cpu0, _ = _usage()
    t0 = time.perf_counter()
    panel = fn(Path(folder))
    wall = time.perf_counter() - t0
    cpu1, peak = _usage()
    panel.to_parquet(Path(out) / f"{side}.parquet", index=False)
    print(json.dumps({"wall_s": wall, "cpu_s": cpu1 - cpu0, "peak_gib": peak, "rows": len(panel)}))


def _run(side: str, folder: Path, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, __file__, "--child", side, str(folder), str(out)], env=env,
                         capture_output=True, text=True, check=False)
    if res.returncode:
        raise RuntimeError(f"{side} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _agreement(out: Path) -> dict:
    a, b = pd.read_parquet(out / "ours.parquet"), pd.read_parquet(out / "pandas.parquet")
    m = a.merge(b, on=["firm_id", "year"], suffixes=("", "_pd"))
    diff = {c: float(np.nanmax(np.abs(m[c] - m[f"{c}_pd"]) / np.maximum(1.0, np.abs(m[c]))))
            for c in ("quality", "peer_scale", "peer_diversity")}
    return {"rows": (len(a), len(b), len(m)), **diff}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1e6,3e6,1e7")
    ap.add_argument("--data-dir", default=None, help="keep the generated inputs here (reused when present)")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    base = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="tradeq-bench-measures-"))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} at start")
    print(f"{'records':>10} {'side':>7} {'wall s':>8} {'cpu s':>8} {'peak GiB':>9} {'rows':>9}")
    ratio = float("nan")
    for n in sizes:
        folder = base / f"n{n}"
        if not (folder / "customs.parquet").is_file():
            subprocess.run([sys.executable, __file__, "--generate", str(n), str(folder)], check=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
        n_rec = len(pd.read_parquet(folder / "customs.parquet", columns=["year"]))
        with tempfile.TemporaryDirectory() as tmp:
            res = {side: _run(side, folder, Path(tmp)) for side in ("ours", "pandas")}
            agree = _agreement(Path(tmp))
        for side, r in res.items():
            print(f"{n_rec:>10} {side:>7} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['peak_gib']:>9.2f} {r['rows']:>9}")
        ratio = res["pandas"]["cpu_s"] / res["ours"]["cpu_s"]
        print(f"{'':>10} agreement (max relative difference): quality {agree['quality']:.1e}, "
              f"peer_scale {agree['peer_scale']:.1e}, peer_diversity {agree['peer_diversity']:.1e}; "
              f"rows ours/pandas/both {agree['rows']}; cpu ratio {ratio:.2f}, "
              f"wall ratio {res['pandas']['wall_s'] / res['ours']['wall_s']:.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"speedup={ratio:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "--generate":
        generate(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
