"""Benchmark: one Monte Carlo replication — simulate a 5,000-firm x 10-year panel, fit the
firm + year FE inverted-U model with firm-clustered SEs, run the Lind–Mehlum test.

Ours: the engine's batched path (:func:`tradeq.montecarlo.batching.run_replications`: the
simulator and :mod:`tradeq.models.grid_fe` batched over a chunk of replications -- ``lax.map`` on
a CPU, compiled with :mod:`tradeq.cpu_compiler_options` -- and chunks on ``--workers``
threads, each on its own XLA CPU device) plus the vectorised inverted-U test. Reference: a pyfixest loop on
the same panels in the same run — per replication ``simulate_grid`` (one panel, same key)
-> DataFrame -> ``pf.feols(..., vcov={"CRV1": "firm"})`` -> :func:`tradeq.models.utest.utest`.
The two give the same b1, b2 (checked, to the tolerance of pyfixest's default demeaning)
and the same inverted-U verdicts. Times are wall-clock per replication, with process CPU
time alongside. The two are timed in ``--rounds`` rounds, each one timed run of ours
(``--reps`` replications) followed at once by the pyfixest loop (``--pf-reps``, the first
untimed), so that both sides of each ratio see the machine in the same state (a shared
machine's speed drifts within minutes); the speedup is the median of
the rounds' ratios. Before the rounds, ours runs once untimed: that compiles, and warms the
memory allocator (XLA's temporary buffers are fresh ``mmap``s until glibc raises its
threshold, which makes the first few runs of a process slower); pyfixest's untimed first
replication warms numba. The breakdown shows what the simulator and the estimator each
cost. Measured results, dated, are in ``docs/performance.md`` ("Monte Carlo engine").

    python benchmarks/montecarlo.py [--reps 64] [--rounds 7] [--pf-reps 12] [--firms 5000] [--workers N]

The last line is ``speedup=<pyfixest per-replication time / ours>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import tradeq  # noqa: E402

tradeq.setup_runtime()

from tradeq.cpu_compiler_options import compiler_options_for  # noqa: E402
from tradeq.dgp.firm_panel import FirmPanelParams, grid_to_frame, simulate_grid  # noqa: E402
from tradeq.models.grid_fe import fit_grid  # noqa: E402
from tradeq.models.grid_reduce import grid_total  # noqa: E402
from tradeq.models.singletons import drop_singletons  # noqa: E402
from tradeq.models.utest import utest  # noqa: E402
from tradeq.montecarlo.batching import run_replications  # noqa: E402
from tradeq.montecarlo.estimators import FixedEffects  # noqa: E402
from tradeq.montecarlo.keys import replication_key  # noqa: E402
from tradeq.montecarlo.studies import Setting  # noqa: E402

FORMULA = "quality ~ Market + I(Market**2) + scale + age + roa + rdebt + fic | firm + year"


def timed(fn, repeat: int = 1):
    """(result, wall s, cpu s) of the call with the median wall time among ``repeat`` calls."""
    runs = []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        runs.append((time.perf_counter() - w, time.process_time() - c, out))
    wall, cpu, out = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    return out, wall, cpu


def components(setting, seed, chunk):
    """Per-replication cost of the simulator alone and of the estimator alone (one batch on
    the default device, ``lax.map`` as the engine runs it on CPU). The simulator is timed
    returning one sum per column, so that writing the whole batch's panels out (which the
    engine never does) is not counted."""
    keys = jax.vmap(lambda r: replication_key(seed, setting, r))(jnp.arange(chunk))
    cols = ("quality", "Market", "scale", "age", "roa", "rdebt", "fic", "present")
    def simulate(k):
        g = simulate_grid(k, setting.params, setting.n_firms, setting.n_years)
        return {c: g[c] for c in cols}

    opts = compiler_options_for(jax.default_backend())  # as the engine compiles its batches
    sim = jax.jit(lambda ks: jax.lax.map(simulate, ks), compiler_options=opts)
    sim_sums = jax.jit(lambda ks: jax.lax.map(lambda k: {c: grid_total(v) for c, v in simulate(k).items()}, ks),
                       compiler_options=opts)

    def fit(g):
        m = g["Market"]
        X = jnp.stack([m, m * m, g["scale"], g["age"], g["roa"], g["rdebt"], g["fic"]])
        return fit_grid(g["quality"], X, g["present"], vcovs=("cluster",)).coef

    fit_b = jax.jit(lambda gs: jax.lax.map(fit, gs), compiler_options=opts)
    panels = jax.block_until_ready(sim(keys))
    jax.block_until_ready(fit_b(panels))
    jax.block_until_ready(sim_sums(keys))
    _, ws, cs = timed(lambda: jax.block_until_ready(sim_sums(keys)), 3)
    _, wf, cf = timed(lambda: jax.block_until_ready(fit_b(panels)), 3)
    return ws / chunk, cs / chunk, wf / chunk, cf / chunk


def pyfixest_loop(setting, seed, reps, backend):
    import pyfixest as pf

    out, t_sim, t_fit, t_all, cpu = [], 0.0, 0.0, 0.0, 0.0
    for r in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        g = simulate_grid(replication_key(seed, setting, r), setting.params, setting.n_firms, setting.n_years)
        frame = grid_to_frame(g, setting.params)
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pf.feols(FORMULA, frame, vcov={"CRV1": "firm"}, demeaner_backend=backend)
        b, V = fit.coef().to_numpy()[:2], np.asarray(fit._vcov)[:2, :2]
        # the test's interval: the range of Market over the estimation sample (singletons out)
        m = frame.Market.to_numpy()[drop_singletons(frame[["firm", "year"]].to_numpy())]
        u = utest(b, V, m.min(), m.max(), df=float(fit._df_t))
        t2 = time.perf_counter()
        if r:  # the first replication warms up numba / JAX
            t_sim += t1 - t0
            t_fit += t2 - t1
            t_all += t2 - t0
            cpu += time.process_time() - c0
        out.append((b, u.reject))
    n = reps - 1
    return out, t_all / n, t_sim / n, t_fit / n, cpu / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=5000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--reps", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=7, help="rounds of (ours, pyfixest) timings; medians reported")
    ap.add_argument("--pf-reps", type=int, default=12)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend", default="numba", help="pyfixest demeaner backend (numba is its default)")
    args = ap.parse_args()

    setting = Setting(params=FirmPanelParams(), n_firms=args.firms, n_years=args.years)
    est = FixedEffects(vcovs=("cluster",))
    print(f"panel: {args.firms:,} firms x {args.years} years; jax {jax.__version__}, {os.cpu_count()} CPUs")

    def go():
        raw = run_replications(setting, [est], args.seed, args.reps, chunk_size=args.chunk, workers=args.workers)
        return raw, est.records(raw["est"][est.name], 0.95)

    go()  # compile, warm up
    rounds = []
    for _ in range(args.rounds):
        (raw, (records, tests)), wall, cpu = timed(go)
        res, per_pf, pf_sim, pf_fit, pf_cpu = pyfixest_loop(setting, args.seed, args.pf_reps, args.backend)
        rounds.append({"ours": wall / args.reps, "ours_cpu": cpu / args.reps, "pf": per_pf, "pf_sim": pf_sim,
                       "pf_fit": pf_fit, "pf_cpu": pf_cpu, "ratio": per_pf / (wall / args.reps)})
    med = {k: float(np.median([r[k] for r in rounds])) for k in rounds[0]}
    ws, cs, wf, cf = components(setting, args.seed, args.chunk)

    def listed(key, scale=1e3):
        return ", ".join(f"{scale * r[key]:.2f}" for r in rounds)

    print(f"ours     : {1e3 * med['ours']:8.2f} ms/rep wall ({1e3 * med['ours_cpu']:.2f} ms CPU), {args.reps} reps, "
          f"chunk {args.chunk}; median of {args.rounds} rounds ({listed('ours')})")
    print(f"           simulate {1e3 * ws:.2f} ms wall ({1e3 * cs:.2f} CPU), estimate + clustered SE "
          f"{1e3 * wf:.2f} ms wall ({1e3 * cf:.2f} CPU) per rep, one batch on one device")
    print(f"pyfixest : {1e3 * med['pf']:8.2f} ms/rep wall ({1e3 * med['pf_cpu']:.2f} ms CPU; {args.backend} demeaner; "
          f"simulate + DataFrame {1e3 * med['pf_sim']:.2f}, feols + utest {1e3 * med['pf_fit']:.2f}), "
          f"{args.pf_reps - 1} reps; median of {args.rounds} rounds ({listed('pf')})")
    print(f"rounds   : pyfixest / ours per round {listed('ratio', 1.0)} (each round times both, back to back)")
    b_ours = raw["est"]["fe"]["coef"][: len(res)]
    b_pf = np.array([b for b, _ in res])
    err = float(np.max(np.abs(b_ours - b_pf) / np.abs(b_pf)))
    same_test = bool(np.array_equal(tests[0].reject[: len(res)], [r for _, r in res]))
    # pyfixest's default demeaning stops at an absolute change of 1e-6 per sweep, so it
    # agrees to ~1e-6 relative here (tightened, it agrees to 1e-9: tests/tradeq/montecarlo).
    print(f"check    : max relative difference of b1, b2 over {len(res)} panels = {err:.1e}; "
          f"same inverted-U verdicts: {same_test}")
    if err > 1e-4 or not same_test:
        raise SystemExit("ours and the pyfixest loop disagree")
    print(f"estimator only: pyfixest feols + utest / our estimate + SE = {med['pf_fit'] / wf:.1f}x; "
          f"CPU time per replication, whole loop: {med['pf_cpu'] / med['ours_cpu']:.1f}x")
    print(f"speedup={med['ratio']:.1f}")


if __name__ == "__main__":
    main()
