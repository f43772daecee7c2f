"""Estimators as the Monte Carlo engine sees them: per-replication functions plus the host
step that turns their stacked outputs into intervals and test decisions.

An estimator has up to four parts (:class:`Estimator`):

* ``truth(params)`` — the true value of each parameter it estimates, a JAX function of the
  DGP parameters (traced per replication, so truths drawn from a prior work too);
* ``batched(panel, params, key)`` — pure JAX on one simulated panel (the dict of
  year-major (T, F) arrays from :func:`tradeq.dgp.firm_panel.simulate_grid`); the engine
  batches it together with the simulator (``lax.map`` on a CPU, ``vmap`` elsewhere). Or,
  for estimators that cannot be traced (MCMC, say), ``host = True`` and ``run(panel,
  params, key)`` is called once per replication on NumPy arrays;
* ``records(raw, level)`` — from the outputs stacked over R replications, the
  :class:`EstimateRecord` (estimates, standard errors, interval bounds, each (R,)) and
  :class:`TestRecord` (rejections, (R,) bool) the metrics are computed from;
* optionally ``draw_truth(key, params)`` — replace DGP parameters by draws from a prior
  (simulation-based calibration, :mod:`tradeq.montecarlo.sbc`).

Estimator labels are ``<name>/<variant>`` (``fe/cluster``, ``mediation/bootstrap``): the
point estimates of one name are shared, the variants differ in their inference.

Shipped here: :class:`FixedEffects` (the FE replica on the grid, :mod:`tradeq.models.grid_fe`,
with any set of variances, the inverted-U test, t and Wald tests; ``absorb="none"`` is
pooled OLS) and :class:`Mediation` (Sobel with FE-clustered SEs and a firm-cluster
bootstrap of the indirect effect, both batched).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from tradeq.dgp.firm_panel import CONTROLS, N_PROVINCES, FirmPanelParams
from tradeq.errors import ConfigError
from tradeq.models.bootstrap import kept_cluster_counts, ols_from_crossproducts
from tradeq.models.grid_fe import fit_grid, within_grid
from tradeq.models.grid_reduce import grid_total
from tradeq.models.mediation import sobel
from tradeq.models.tinference import t_interval, t_test_reject
from tradeq.models.utest import utest_batch
from tradeq.models.wald import wald_batch

#: Variances a :class:`FixedEffects` estimator can report. ``cluster`` is by firm,
#: ``twoway`` by firm and year, ``cluster_province`` by province (firms nest in provinces).
FE_VCOVS = ("iid", "hc1", "cluster", "twoway", "cluster_province")
_GRID_VCOV = {"cluster_province": "cluster_outer"}


@dataclass(frozen=True)
class EstimateRecord:
    """One (estimator label, parameter) over R replications; arrays (R,), NaN where absent.

    ``rank`` (R,) and ``n_draws``: for posterior draws, the rank of the truth among
    ``n_draws`` draws (simulation-based calibration).
    """

    estimator: str
    parameter: str
    estimate: np.ndarray
    se: np.ndarray | None = None
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    rank: np.ndarray | None = None
    n_draws: int = 0


@dataclass(frozen=True)
class TestRecord:
    """One (estimator label, test) over R replications: ``reject`` (R,) bool."""

    estimator: str
    test: str
    reject: np.ndarray


class Estimator:
    """Base class; see the module docstring. Subclasses are frozen dataclasses (hashable:
    the engine compiles one batched function per estimator tuple)."""

    name: str
    host: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        raise NotImplementedError

    def truth(self, params: FirmPanelParams) -> dict[str, jax.Array]:
        raise NotImplementedError

    def batched(self, panel: Mapping[str, jax.Array], params: FirmPanelParams, key: jax.Array) -> Any:
        raise NotImplementedError

    def run(self, panel: Mapping[str, np.ndarray], params: FirmPanelParams, key: jax.Array) -> Any:
        raise NotImplementedError

    def records(self, raw: Any, level: float) -> tuple[list[EstimateRecord], list[TestRecord]]:
        raise NotImplementedError

    draw_truth = None  # optional: (key, params) -> params

    def check(self, params: FirmPanelParams) -> None:
        """Raise :class:`ConfigError` when the DGP lacks what the estimator needs."""

    def spec(self) -> dict:
        """Everything that determines the estimator's output (hashed into result file names)."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, name: str, spec: Mapping[str, Any], level: float) -> Estimator:
        """The estimator of a study's config entry ``estimators.<name>`` (``kind`` removed;
        :mod:`tradeq.montecarlo.registry`). Unknown keys are a :class:`ConfigError`."""
        raise NotImplementedError


def _take(name: str, spec: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    """``spec`` as a dict, after checking that it has only the ``known`` keys."""
    unknown = sorted(set(spec) - set(known))
    if unknown:
        raise ConfigError(f"estimator {name!r}: unknown key(s) {unknown}; known: {list(known)}")
    return dict(spec)


def _as_tuple(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (list, tuple)) else (v,)


def _convert(name: str, key: str, v: Any, kind: type) -> Any:
    """``kind(v)``, or a :class:`ConfigError` naming ``estimators.<name>.<key>``."""
    try:
        return kind(v)
    except (TypeError, ValueError):
        raise ConfigError(f"estimator {name!r}: {key} must be {kind.__name__}, got {v!r}") from None


def _core_design(panel: Mapping[str, jax.Array], controls: tuple[str, ...]) -> jax.Array:
    """(2 + p, T, F) regressors Market, Market^2, controls."""
    m = panel["Market"]
    return jnp.stack([m, m * m, *(panel[c] for c in controls)])


def _sample_range(x: jax.Array, keep: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Min and max of ``x`` over the kept cells (the inverted-U test's default interval,
    as :func:`tradeq.pipeline.core_range`: the estimation sample after singletons)."""
    return grid_total(jnp.where(keep, x, jnp.inf), "min"), grid_total(jnp.where(keep, x, -jnp.inf), "max")


# ---------------------------------------------------------------------------------------
# Fixed effects (and pooled OLS)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedEffects(Estimator):
    """``quality ~ Market + Market^2 + controls | absorbed FEs`` on each simulated panel.

    ``absorb``: ``firm_year`` (the paper's model), ``firm`` or ``none`` (pooled OLS with an
    intercept). ``vcovs``: any of :data:`FE_VCOVS`; one estimator label per variance. Tests
    per label: ``utest`` (Lind–Mehlum inverted U on ``utest_interval``, default the
    replication's range of Market in the estimation sample), ``b2=0`` (t test of the
    squared term) and ``wald`` (joint F test of b1 = b2 = 0). Parameters ``b1``, ``b2``.
    """

    name: str = "fe"
    absorb: str = "firm_year"
    vcovs: tuple[str, ...] = ("iid", "hc1", "cluster", "twoway")
    controls: tuple[str, ...] = CONTROLS
    utest_interval: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        bad = [v for v in self.vcovs if v not in FE_VCOVS]
        if bad or not self.vcovs:
            raise ConfigError(f"estimator {self.name!r}: vcov must be a non-empty list of {FE_VCOVS}, got {list(self.vcovs)}")
        unknown = [c for c in self.controls if c not in CONTROLS]
        if unknown:
            raise ConfigError(f"estimator {self.name!r}: unknown controls {unknown}; the panel has {CONTROLS}")
        if self.absorb not in ("none", "firm", "firm_year"):
            raise ConfigError(f"estimator {self.name!r}: absorb must be none, firm or firm_year, got {self.absorb!r}")

    @classmethod
    def from_config(cls, name: str, spec: Mapping[str, Any], level: float) -> FixedEffects:
        """``vcov`` (one name or a list; default ``[cluster]``), ``absorb``, ``controls``, ``utest_interval``."""
        spec = _take(name, spec, ("vcov", "absorb", "controls", "utest_interval"))
        ui = spec.get("utest_interval")
        return cls(name=name, vcovs=_as_tuple(spec.get("vcov", ["cluster"])), absorb=spec.get("absorb", "firm_year"),
                   utest_interval=None if ui is None else tuple(_convert(name, "utest_interval", v, float) for v in ui),
                   **({"controls": tuple(spec["controls"])} if spec.get("controls") is not None else {}))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f"{self.name}/{v}" for v in self.vcovs)

    def spec(self) -> dict:
        return {"kind": "fe", "name": self.name, "absorb": self.absorb, "vcovs": list(self.vcovs),
                "controls": list(self.controls), "utest_interval": self.utest_interval}

    def truth(self, params: FirmPanelParams) -> dict[str, jax.Array]:
        return {"b1": jnp.asarray(params.b1), "b2": jnp.asarray(params.b2)}

    def check(self, params: FirmPanelParams) -> None:
        if params.group_by is not None:
            raise ConfigError(f"estimator {self.name!r} estimates common b1, b2; the DGP has group_by={params.group_by!r}")

    def batched(self, panel, params, key):
        X = _core_design(panel, self.controls)
        grid_vcovs = tuple(_GRID_VCOV.get(v, v) for v in self.vcovs)
        fit = fit_grid(panel["quality"], X, panel["present"], absorb=self.absorb, vcovs=grid_vcovs,
                       outer=panel["province"], n_outer=N_PROVINCES if "cluster_outer" in grid_vcovs else 0)
        lo, hi = _sample_range(panel["Market"], fit.keep)
        return {"coef": fit.coef[:2], "n_obs": fit.n_obs, "x_lo": lo, "x_hi": hi,
                "V": {v: fit.vcov[g][:2, :2] for v, g in zip(self.vcovs, grid_vcovs)},
                "df": {v: fit.df_t[g] for v, g in zip(self.vcovs, grid_vcovs)}}

    def records(self, raw, level):
        coef = np.asarray(raw["coef"])
        if self.utest_interval is not None:
            x_lo, x_hi = (np.full(coef.shape[0], float(v)) for v in self.utest_interval)
        else:
            x_lo, x_hi = np.asarray(raw["x_lo"]), np.asarray(raw["x_hi"])
        alpha = 1.0 - level
        est, tests = [], []
        for v, label in zip(self.vcovs, self.labels):
            V = np.asarray(raw["V"][v])
            df = np.asarray(raw["df"][v])
            # A two-way cluster variance need not be positive (pyfixest does not fix it
            # either): then no standard error and no interval (counted as not covering).
            var = np.diagonal(V, axis1=1, axis2=2)
            se = np.sqrt(np.where(var >= 0, var, np.nan))  # (R, 2)
            for j, par in enumerate(("b1", "b2")):
                lo, hi = t_interval(coef[:, j], se[:, j], df, level)
                est.append(EstimateRecord(label, par, coef[:, j], se[:, j], lo, hi))
            u = utest_batch(coef[:, :2], V, x_lo, x_hi, df, level, shape="inverted_u")
            tests.append(TestRecord(label, "utest", u.reject))
            tests.append(TestRecord(label, "b2=0", t_test_reject(coef[:, 1], se[:, 1], df, alpha=alpha)))
            tests.append(TestRecord(label, "wald", wald_batch(coef, V, df=df).p_F < alpha))
        return est, tests


# ---------------------------------------------------------------------------------------
# Mediation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mediation(Estimator):
    """Product-of-coefficients mediation through the simulated mediator M (SPEC 1a, Tables 6-7).

    Two FE regressions (firm + year FE, ``controls`` in both)::

        M = a Market_lag + controls + FE                      (mediator equation)
        quality = b1 Market + b2 Market^2 + b M + controls + FE   (outcome equation)

    ``Market_lag`` is Market lagged as the DGP's mediator is (``mediator_lag``; lag 0 is
    Market itself). Labels: ``<name>/sobel`` — a and b with ``vcov`` (default firm-cluster)
    t intervals, the indirect effect a·b with the Sobel (1982) normal interval
    ``ab ± z·sqrt(b² se_a² + a² se_b²)`` and test (:func:`tradeq.models.mediation.sobel`);
    ``<name>/bootstrap`` (when ``n_boot > 0``) — a·b with the percentile interval of a
    firm-cluster bootstrap on the fixed FE-demeaned design (as
    :func:`tradeq.models.mediation.bootstrap_indirect`), rejecting a·b = 0 when the interval
    excludes 0. Truths: ``a = med_a``, ``b = med_b``, ``indirect = med_a · med_b``.
    """

    name: str = "mediation"
    vcov: str = "cluster"
    n_boot: int = 199
    controls: tuple[str, ...] = CONTROLS
    level: float = 0.95  # of the bootstrap percentile interval (set from the study's level)

    def __post_init__(self) -> None:
        if self.vcov not in ("iid", "hc1", "cluster", "twoway"):
            raise ConfigError(f"estimator {self.name!r}: vcov must be iid, hc1, cluster or twoway, got {self.vcov!r}")
        if self.n_boot < 0:
            raise ConfigError(f"estimator {self.name!r}: n_boot must be >= 0")

    @classmethod
    def from_config(cls, name: str, spec: Mapping[str, Any], level: float) -> Mediation:
        """``vcov`` (default ``cluster``), ``n_boot`` (default 199), ``controls``; the bootstrap
        interval's level is the study's."""
        spec = _take(name, spec, ("vcov", "n_boot", "controls"))
        n_boot = _convert(name, "n_boot", spec.get("n_boot", 199), int)
        return cls(name=name, vcov=spec.get("vcov", "cluster"), n_boot=n_boot, level=level,
                   **({"controls": tuple(spec["controls"])} if spec.get("controls") is not None else {}))

    @property
    def labels(self) -> tuple[str, ...]:
        return (f"{self.name}/sobel",) + ((f"{self.name}/bootstrap",) if self.n_boot else ())

    def spec(self) -> dict:
        return {"kind": "mediation", "name": self.name, "vcov": self.vcov, "n_boot": self.n_boot,
                "controls": list(self.controls), "level": self.level}

    def check(self, params: FirmPanelParams) -> None:
        if params.mediator == "none":
            raise ConfigError(f"estimator {self.name!r} needs a mediator in the DGP: set dgp.mediator=firm (or province)")

    def truth(self, params):
        a, b = jnp.asarray(params.med_a), jnp.asarray(params.med_b)
        return {"a": a, "b": b, "indirect": a * b}

    def batched(self, panel, params, key):
        ctrl = [panel[c] for c in self.controls]
        m, y, x, xl = panel["mediator"], panel["quality"], panel["Market"], panel["Market_lag"]
        mask = panel["present"]
        Xa = jnp.stack([xl, *ctrl])
        Xb = jnp.stack([x, x * x, *ctrl, m])
        fa = fit_grid(m, Xa, mask, vcovs=(self.vcov,))
        fb = fit_grid(y, Xb, mask, vcovs=(self.vcov,))
        out = {"a": fa.coef[0], "se_a": jnp.sqrt(fa.vcov[self.vcov][0, 0]), "df_a": fa.df_t[self.vcov],
               "b": fb.coef[-1], "se_b": jnp.sqrt(fb.vcov[self.vcov][-1, -1]), "df_b": fb.df_t[self.vcov]}
        if self.n_boot:
            # Z = [Market_lag, Market, Market^2, controls, M, quality], FE-demeaned once on
            # the full sample; per-firm cross-products; replicate r's normal equations are
            # sum_g w_rg Z_g'Z_g (the fixed-design cluster bootstrap of tradeq.models.bootstrap).
            p = len(ctrl)
            Z = within_grid(jnp.stack([xl, x, x * x, *ctrl, m, y]), fa.keep)  # (k, T, F)
            k = Z.shape[0]
            S = jnp.einsum("ptf,qtf->fpq", Z, Z).reshape(Z.shape[2], -1)  # (F, k*k)
            w = kept_cluster_counts(key, jnp.any(fa.keep, axis=0), self.n_boot)
            Mb = (w @ S).reshape(self.n_boot, k, k)
            ctrl_cols = tuple(range(3, 3 + p))
            im, iy = 3 + p, 4 + p
            a_b = ols_from_crossproducts(Mb, (0,) + ctrl_cols, im)[..., 0]
            b_b = ols_from_crossproducts(Mb, (1, 2) + ctrl_cols + (im,), iy)[..., -1]
            ab = a_b * b_b
            ab = jnp.where(jnp.isfinite(ab), ab, jnp.nan)  # singular replicates are left out
            alpha = (1.0 - self.level) / 2.0
            out["boot_sd"] = jnp.nanstd(ab, ddof=1)
            # Linear interpolation, NumPy's default, as tradeq.models.bootstrap.percentile_ci.
            out["boot_ci"] = jnp.nanquantile(ab, jnp.asarray([alpha, 1.0 - alpha]))
        return out

    def records(self, raw, level):
        a, b = np.asarray(raw["a"]), np.asarray(raw["b"])
        se_a, se_b = np.asarray(raw["se_a"]), np.asarray(raw["se_b"])
        sob = f"{self.name}/sobel"
        est = []
        for par, e, se, df in (("a", a, se_a, raw["df_a"]), ("b", b, se_b, raw["df_b"])):
            lo, hi = t_interval(e, se, np.asarray(df), level)
            est.append(EstimateRecord(sob, par, e, se, lo, hi))
        ab = a * b
        # Sobel's first-order delta-method SE; its z and p come from tradeq.models.mediation.sobel.
        se_ab = np.sqrt(b * b * se_a * se_a + a * a * se_b * se_b)
        q = stats.norm.ppf(0.5 + level / 2.0)
        est.append(EstimateRecord(sob, "indirect", ab, se_ab, ab - q * se_ab, ab + q * se_ab))
        _, p = sobel(a, se_a, b, se_b)
        tests = [TestRecord(sob, "indirect=0", np.asarray(p) < 1.0 - level)]
        if self.n_boot:
            boot = f"{self.name}/bootstrap"
            lo, hi = np.asarray(raw["boot_ci"])[:, 0], np.asarray(raw["boot_ci"])[:, 1]
            est.append(EstimateRecord(boot, "indirect", ab, np.asarray(raw["boot_sd"]), lo, hi))
            tests.append(TestRecord(boot, "indirect=0", (lo > 0) | (hi < 0)))
        return est, tests
