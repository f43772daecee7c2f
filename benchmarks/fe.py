"""Benchmark: firm + year FE regression with firm-clustered SEs on a paper-sized panel.

Default mode: compares ``tradeq.models.fixed_effects`` (array core ``fit_fe`` and end-to-end
``feols``) with pyfixest 0.60 on every demeaner backend that runs here, on the same data in
the same run, and checks the estimates agree. Run: ``python benchmarks/fe.py [--quick]``.

The panel is the project's calibrated DGP (``tradeq.dgp.firm_panel``) at the paper's size;
pass any DataFrame with the same columns to :func:`run` to benchmark other data.

Scale mode (``--scale``): the same regression at 0.5M, 1.5M, 5M and 10M rows of the
simulator's firm panel (more firms, 10 years, the paper's rows per firm; see
:func:`make_scale_panel`), each size and tool in a fresh process: warm time (median of
``--reps`` fits after an untimed first one) and peak resident memory of ours (``feols``) and
of pyfixest's default (rust MAP) where it fits in memory (``--pyfixest-max-rows``). It
prints the time per million rows, whose constancy is what "linear in rows" means, and ends
with ``speedup=`` at the largest size both ran. Panels are cached in ``--cache``.

Peak memory: JAX allocates its buffers outside Python's allocator, so ``tracemalloc``
does not see them. Each measurement runs in a fresh subprocess that reports
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (peak resident set, KiB on Linux) before and
after the fit; the difference is the fit's own peak above the loaded data and libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

N_ROWS = 594_596
N_FIRMS = 120_000
YEARS = np.arange(2004, 2014)
REGRESSORS = ["Market", "I(Market ** 2)", "scale", "age", "roa", "rdebt", "fic"]
FORMULA = "quality ~ Market + I(Market**2) + scale + age + roa + rdebt + fic | firm + year"


def make_panel(n_rows: int = N_ROWS, n_firms: int = N_FIRMS, seed: int = 20240601) -> pd.DataFrame:
    """The project's paper-calibrated synthetic firm panel (``tradeq.dgp.firm_panel``).

    ``n_rows`` firm-years over ``n_firms`` firms and 10 years (unbalanced, contiguous spells;
    firms seen once are singletons), seeded; columns firm, year, quality, Market and the
    controls, as in SPEC 1a.
    """
    from tradeq.dgp.firm_panel import FirmPanelParams, simulate_firm_panel

    frame, _ = simulate_firm_panel(FirmPanelParams(), n_firms=n_firms, n_years=len(YEARS), seed=seed, n_obs=n_rows)
    return frame


def _median_time(fn, reps: int, slow_s: float = float("inf")) -> tuple[float, object, int, float, float]:
    """Median wall time of ``reps`` calls after one untimed warm-up call (JIT compilation,
    caches). If the first timed call takes longer than ``slow_s`` it is not repeated.
    Returns (median s, last result, number of timed calls, min s, median process CPU s)."""
    out = fn()
    times, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if times[0] > slow_s:
            break
    return statistics.median(times), out, len(times), min(times), statistics.median(cpu)


def _ours(df: pd.DataFrame, reps: int):
    from tradeq.formula import design_from_formula, feols
    from tradeq.models.fixed_effects import fit_fe

    design = design_from_formula(df, FORMULA, cluster=["firm"])
    core = _median_time(lambda: fit_fe(design, vcov="cluster"), reps)
    e2e = _median_time(lambda: feols(df, FORMULA, vcov="cluster", cluster="firm"), reps)
    return core, e2e


def _pyfixest_backends():
    """Every demeaner pyfixest 0.60 offers (``pyfixest.demeaners``): MAP with the rust,
    numba and jax backends, LSMR with the rust "within" solver, SciPy (the "cupy" backend
    on CPU), torch and CuPy. Those whose package is missing are reported, not run."""
    import importlib.util

    from pyfixest.demeaners import LsmrDemeaner, MapDemeaner

    backends = {
        "rust (MAP, default)": (MapDemeaner(backend="rust"), None),
        "numba (MAP)": (MapDemeaner(backend="numba"), "numba"),
        "jax (MAP)": (MapDemeaner(backend="jax"), "jax"),
        "within (LSMR, rust)": (LsmrDemeaner(backend="within"), None),
        "scipy (LSMR, cpu)": (LsmrDemeaner(backend="cupy", device="cpu"), "scipy"),
        "torch (LSMR, cpu)": (LsmrDemeaner(backend="torch", device="cpu"), "torch"),
        "cupy (LSMR, gpu)": (LsmrDemeaner(backend="cupy", device="auto"), "cupy"),
    }
    out, missing = {}, {}
    for name, (dm, pkg) in backends.items():
        if pkg is not None and importlib.util.find_spec(pkg) is None:
            missing[name] = f"{pkg} is not installed"
        else:
            out[name] = dm
    return out, missing


def _pyfixest(df: pd.DataFrame, reps: int):
    import pyfixest as pf

    results = {}
    backends, failures = _pyfixest_backends()
    for name, dm in backends.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = _median_time(
                    lambda dm=dm: pf.feols(FORMULA, df, vcov={"CRV1": "firm"}, demeaner=dm), reps, slow_s=5.0
                )
            results[name] = res
        except Exception as exc:  # a backend that does not run here
            failures[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
    return results, failures


_MEM_SCRIPT = """
import json, sys, warnings
sys.path.insert(0, {root!r})
warnings.simplefilter("ignore")
import tradeq
tradeq.setup_runtime()
import benchmarks.fe as B

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # kB -> MiB

def reset_peak():
    with open("/proc/self/clear_refs", "w") as fh:  # "5": reset the peak RSS (VmHWM)
        fh.write("5")

df = B.make_panel(*{size})
if {which!r} == "ours":
    from tradeq.formula import feols
    fit = lambda: feols(df, B.FORMULA, vcov="cluster", cluster="firm")
else:
    import pyfixest as pf
    fit = lambda: pf.feols(B.FORMULA, df, vcov={{"CRV1": "firm"}})
out = {{}}
for phase in ("first", "warm"):
    base = status("VmRSS")
    reset_peak()
    fit()
    out[phase] = (status("VmHWM") - base, status("VmHWM"))
print(json.dumps(out))
"""


def _peak_rss_subprocess(which: str, quick: bool) -> dict:
    """Peak resident memory of one end-to-end fit, in a fresh process (MiB).

    ``tracemalloc`` only sees Python's allocator, not JAX/XLA or NumPy buffers, so this
    reads the kernel's high-water mark instead: the peak is reset (``/proc/self/clear_refs``)
    right before the fit and ``VmHWM`` is read after it. Returns, for the first (compiling)
    and a second (warm) fit, (peak above the RSS before the fit, absolute peak RSS of the
    process with the data and libraries loaded).
    """
    size = (60_000, 12_000) if quick else ()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = _MEM_SCRIPT.format(root=root, size=size, which=which)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(df: pd.DataFrame | None = None, reps: int = 5, quick: bool = False) -> float:
    if df is None:
        df = make_panel(60_000, 12_000) if quick else make_panel()
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"panel: {len(df):,} rows, {df['firm'].nunique():,} firms, {df['year'].nunique()} years, "
          f"7 regressors, firm + year FE, SE clustered by firm")
    (t_core, _, _, m_core, c_core), (t_e2e, fit, _, m_e2e, c_e2e) = _ours(df, reps)
    print(f"ours fit_fe(design) [array core]:     {t_core * 1e3:7.1f} ms median of {reps} after warm-up "
          f"(min {m_core * 1e3:.1f}, cpu {c_core * 1e3:.1f})")
    print(f"ours feols(df, formula) [end-to-end]: {t_e2e * 1e3:7.1f} ms (min {m_e2e * 1e3:.1f}, cpu {c_e2e * 1e3:.1f})")
    print(f"ours within route: {fit.extras['within_method']}, singletons dropped: {fit.n_singletons}")

    results, failures = _pyfixest(df, reps)
    for name, (t, _, n, tmin, cpu) in results.items():
        note = "" if n > 1 or reps == 1 else "  (one timed run after warm-up: over 5 s, not repeated)"
        print(f"pyfixest {name:22s}: {t * 1e3:8.1f} ms (min {tmin * 1e3:.1f}, cpu {cpu * 1e3:.1f}){note}")
    for name, why in failures.items():
        print(f"pyfixest {name:22s}: skipped ({why})")
    best = min(results, key=lambda k: results[k][0])
    t_best, pfit = results[best][0], results[best][1]
    print(f"pyfixest fastest: {best} {t_best * 1e3:.1f} ms")

    def rel_diff(ref):
        cp = ref.coef().reindex(list(fit.x_names)).to_numpy()
        sp = ref.se().reindex(list(fit.x_names)).to_numpy()
        return np.max(np.abs(fit.coef / cp - 1)), np.max(np.abs(fit.se / sp - 1))

    dc, ds = rel_diff(pfit)
    print(f"max rel diff vs pyfixest {best} (its default fixef_tol=1e-6): coef {dc:.2e}, se {ds:.2e}")
    import pyfixest as pf
    from pyfixest.demeaners import MapDemeaner

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tight_dm = MapDemeaner(fixef_tol=1e-12, fixef_maxiter=100_000)
        tight = pf.feols(FORMULA, df, vcov={"CRV1": "firm"}, demeaner=tight_dm)
    dc, ds = rel_diff(tight)
    print(f"max rel diff vs pyfixest rust MAP at fixef_tol=1e-12: coef {dc:.2e}, se {ds:.2e}; "
          f"N {fit.n_obs} vs {tight._N}")
    for who in ("ours", "pyfixest"):
        try:
            mem = _peak_rss_subprocess(who, quick)
            (d1, a1), (d2, a2) = mem["first"], mem["warm"]
            print(f"peak RSS {who:8s}: +{d2:.0f} MiB above the loaded data while fitting (absolute "
                  f"{a2:.0f} MiB); first, compiling call +{d1:.0f} MiB (absolute {a1:.0f} MiB)")
        except (OSError, subprocess.CalledProcessError, ValueError, KeyError) as exc:
            print(f"peak RSS {who}: not measured ({type(exc).__name__})")
    print(f"speedup (end-to-end) = {t_best / t_e2e:.2f}x; (array core) = {t_best / t_core:.2f}x")
    speedup = t_best / t_e2e
    print(f"speedup={speedup:.2f}")
    return speedup


# ---------------------------------------------------------------------------------------
# Scale mode
# ---------------------------------------------------------------------------------------

SCALE_ROWS = (500_000, 1_500_000, 5_000_000, 10_000_000)
SCALE_COLUMNS = ["firm", "year", "quality", "Market", "scale", "age", "roa", "rdebt", "fic"]
#: Rows simulated in one draw: the simulator's grid is (years, firms) and peaks at ~1.5 GB here.
SCALE_DRAW_ROWS = 2_500_000
PYFIXEST_MAX_ROWS = 2_000_000  # pyfixest peaks at ~1.2 GB per million rows: 5M rows would need ~6 GB


def make_scale_panel(n_rows: int, seed: int = 20240601) -> pd.DataFrame:
    """``n_rows`` firm-years of the simulator's panel at the paper's rows per firm (594,596 /
    120,000) over 10 years, only the formula's columns.

    Independent draws of at most :data:`SCALE_DRAW_ROWS` rows (seeds ``seed + i``) with firm
    ids offset and concatenated: the same firm x year structure as one large draw (firms are
    independent given the province-year index), with the memory of one draw.
    """
    from tradeq.dgp.firm_panel import FirmPanelParams, simulate_firm_panel

    parts, offset, left, i = [], 0, n_rows, 0
    while left > 0:
        rows = min(SCALE_DRAW_ROWS, left)
        firms = max(1, round(rows * N_FIRMS / N_ROWS))
        frame, _ = simulate_firm_panel(FirmPanelParams(), n_firms=firms, n_years=len(YEARS), seed=seed + i,
                                       n_obs=rows)
        part = {c: frame[c].to_numpy() for c in SCALE_COLUMNS}
        part["firm"] = part["firm"] + offset
        parts.append(part)
        offset, left, i = offset + firms, left - rows, i + 1
        del frame
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in SCALE_COLUMNS})


def _write_scale_panel(n_rows: int, path: str) -> None:
    import tradeq

    tradeq.setup_runtime()
    df = make_scale_panel(n_rows)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **{c: df[c].to_numpy() for c in df.columns})
    os.replace(tmp, path)


def _cached_panel_path(n_rows: int, cache: str) -> str:
    """The panel of ``n_rows`` rows as an .npz in ``cache``, simulated (in a subprocess, for
    its memory) the first time."""
    path = os.path.join(cache, f"firm_panel_{n_rows}.npz")
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--scale-make", str(n_rows), path], check=True)
    return path


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def _scale_child(path: str, which: str, reps: int) -> None:
    """In a fresh process: load the panel, fit once untimed, then ``reps`` timed fits; print
    one JSON line (times, CPU times, RSS with the data loaded, peak RSS while fitting)."""
    import tradeq

    tradeq.setup_runtime()
    with np.load(path) as z:
        df = pd.DataFrame({c: z[c] for c in z.files})
    if which == "ours":
        from tradeq.formula import feols

        fit = lambda: feols(df, FORMULA, vcov="cluster", cluster="firm")
    else:
        import pyfixest as pf

        fit = lambda: pf.feols(FORMULA, df, vcov={"CRV1": "firm"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        fit()
        first = time.perf_counter() - t0
        base = _status_mib("VmRSS")
        with open("/proc/self/clear_refs", "w") as fh:  # "5": reset the peak RSS (VmHWM)
            fh.write("5")
        times, cpu = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            fit()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    print(json.dumps({"first": first, "times": times, "cpu": cpu, "rss_data": base, "peak": _status_mib("VmHWM")}))


def _scale_measure(path: str, which: str, reps: int) -> dict:
    here = os.path.abspath(__file__)
    out = subprocess.run([sys.executable, here, "--scale-child", path, which, str(reps)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_scale(sizes=SCALE_ROWS, reps: int = 3, pyfixest_max_rows: int = PYFIXEST_MAX_ROWS, cache: str | None = None):
    """Time and peak memory against rows (see the module docstring); returns the speedup at
    the largest size both tools ran."""
    cache = cache or os.path.join(tempfile.gettempdir(), "tradeq-bench")
    import jax
    import jaxlib

    print(f"scale mode: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; jax {jax.__version__}, "
          f"jaxlib {jaxlib.__version__}; warm fits, median of {reps}; feols firm + year FE, 7 regressors, "
          "SE clustered by firm")
    print(f"{'rows':>11} {'tool':9} {'median s':>9} {'min s':>7} {'cpu s':>7} {'s/M rows':>9} "
          f"{'peak GiB':>9} {'data GiB':>9} {'first s':>8}")
    speedup = float("nan")
    for n in sizes:
        path = _cached_panel_path(n, cache)
        res = {"ours": _scale_measure(path, "ours", reps)}
        if n <= pyfixest_max_rows:
            res["pyfixest"] = _scale_measure(path, "pyfixest", reps)
        for who, r in res.items():
            med = statistics.median(r["times"])
            print(f"{n:>11,} {who:9} {med:9.3f} {min(r['times']):7.3f} {statistics.median(r['cpu']):7.3f} "
                  f"{med / (n / 1e6):9.3f} {r['peak'] / 1024:9.2f} {r['rss_data'] / 1024:9.2f} {r['first']:8.2f}")
        if "pyfixest" in res:
            speedup = statistics.median(res["pyfixest"]["times"]) / statistics.median(res["ours"]["times"])
        else:
            print(f"{n:>11,} pyfixest  skipped (above --pyfixest-max-rows={pyfixest_max_rows:,}: memory)")
    print(f"speedup={speedup:.2f}")
    return speedup


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--scale-child":
        _scale_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "--scale-make":
        _write_scale_panel(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=None, help="timed fits per measurement (default 5; 3 in --scale)")
    ap.add_argument("--quick", action="store_true", help="a 60k-row panel instead of the full one")
    ap.add_argument("--scale", action="store_true", help="time and memory at 0.5M, 1.5M, 5M and 10M rows")
    ap.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")], default=list(SCALE_ROWS),
                    help="rows for --scale, comma separated (default 5e5,1.5e6,5e6,1e7)")
    ap.add_argument("--pyfixest-max-rows", type=int, default=PYFIXEST_MAX_ROWS)
    ap.add_argument("--cache", default=None, help="folder for the --scale panels (default: $TMPDIR/tradeq-bench)")
    args = ap.parse_args()
    if args.scale:
        run_scale(args.sizes, reps=args.reps or 3, pyfixest_max_rows=args.pyfixest_max_rows, cache=args.cache)
    else:
        import tradeq

        tradeq.setup_runtime()
        run(reps=args.reps or 5, quick=args.quick)
