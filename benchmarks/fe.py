"""Benchmark: firm + year FE regression with firm-clustered SEs on a paper-sized panel.

Compares ``tradeq.models.fixed_effects`` (array core ``fit_fe`` and end-to-end ``feols``) with
pyfixest 0.60 on every demeaner backend that runs here, on the same data in the same run,
and checks the estimates agree. Run: ``python benchmarks/fe.py [--quick]``.

The panel is the project's calibrated DGP (``tradeq.dgp.firm_panel``) at the paper's size;
pass any DataFrame with the same columns to :func:`run` to benchmark other data.

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


if __name__ == "__main__":
    import tradeq

    tradeq.setup_runtime()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a 60k-row panel instead of the full one")
    args = ap.parse_args()
    run(reps=args.reps, quick=args.quick)
