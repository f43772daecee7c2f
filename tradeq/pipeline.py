"""The thin layer between a Hydra config and the array core.

``estimate.py`` reads top to bottom as: load the panel → build the design → fit →
inverted-U test → write outputs. Each step is one function here; the numerics live in
:mod:`models`, the data checks in :mod:`tradeq.panel`, the files in :mod:`tradeq.report`.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tradeq.config import value
from tradeq.errors import ConfigError, DataError  # noqa: F401  (re-exported for estimate.py)
from tradeq.formula import design_from_formula, split_formula
from tradeq.formula_checks import check_formula, describe_formula_error
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.fixed_effects import fit_fe
from tradeq.models.singletons import drop_singletons
from tradeq.models.utest import UTestResult
from tradeq.models.utest import from_fit as utest_from_fit
from tradeq.panel import Panel, load_file_panel, validate_panel, with_value_codes
from tradeq.raw.loader import load_raw_panel
from tradeq.specs import FileSpec, PublishedSpec, SyntheticFirmsSpec, SyntheticProvincesSpec
from tradeq.specs.data_raw import RawSpec

log = logging.getLogger("tradeq")


def _load_file(data: FileSpec, seed: int) -> Panel:
    panel = load_file_panel(data.path, dict(data.rename or {}), data.id, data.time)
    if data.province:  # province names -> codes and regions (tradeq.province_data)
        from tradeq.province_data import with_provinces

        panel = with_provinces(panel, data.province, data.exclude_tibet)
    return panel


def _published(data: PublishedSpec, seed: int) -> Panel:
    from tradeq.published import load_published

    return load_published(data, seed)


def _simulate_provinces(data: SyntheticProvincesSpec, seed: int) -> Panel:
    from tradeq.province_data import simulate_provinces

    return simulate_provinces(data, seed)


def _simulate_firms(data: SyntheticFirmsSpec, seed: int) -> Panel:
    from tradeq.dgp.firm_panel import simulate_firm_panel

    frame, truth = simulate_firm_panel(data.dgp, n_firms=int(data.n_firms), n_years=int(data.n_years),
                                       seed=int(seed), n_obs=None if data.n_obs is None else int(data.n_obs))
    return Panel(frame=frame, source="synthetic_firms (simulated)", id=data.id, time=data.time, truth=truth)


#: How each data spec becomes a panel: ``loader(spec, seed) -> Panel`` (a new source is one entry).
LOADERS: dict[type, Callable[[Any, int], Panel]] = {
    FileSpec: _load_file,
    SyntheticFirmsSpec: _simulate_firms,
    SyntheticProvincesSpec: _simulate_provinces,
    PublishedSpec: _published,
    RawSpec: load_raw_panel,
}


def load_panel(data, seed: int) -> Panel:
    """The panel of a data spec: a user's file (``data=file``) or a simulated panel (seeded)."""
    return LOADERS[type(data)](data, seed)


def _expr_columns(expr: str) -> tuple[set[str], set[str]]:
    """(numeric, categorical) variable names in a formula factor.

    Every Name not called as a function is a variable; those inside ``C(...)`` are categorical.
    """
    tree = ast.parse(expr, mode="eval")
    skip = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    skip |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    categorical = {
        m.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "C"
        for m in ast.walk(n) if isinstance(m, ast.Name) and id(m) not in skip
    }
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in skip}
    return names - categorical, categorical


def required_columns(formula: str) -> tuple[str, list[str], list[str]]:
    """(outcome, numeric regressor variables, categorical variables incl. FEs) of a fixest-style formula.

    The outcome is the left side as written (``np.log(gsp)``; :func:`outcome_columns` gives its
    variables). Parsed from formulaic's factors with the AST rather than ``required_variables``,
    which drops names that collide with formulaic transforms — the paper's control ``scale`` among them.
    """
    from formulaic import Formula

    check_formula(formula)
    main, fe_terms = split_formula(formula)
    try:
        parsed = Formula(main)
    except Exception as exc:  # formulaic's grammar: the user's formula, in one line
        raise ConfigError(f"model.formula={formula!r}: {str(exc).splitlines()[0]}") from None
    outcome = [str(f.expr) for term in parsed.lhs for f in term.factors]
    if len(outcome) != 1:
        raise ConfigError(f"model.formula {formula!r} must have exactly one outcome on the left of '~'")
    numeric: list[str] = []
    categorical: list[str] = []
    for expr in (str(f.expr) for term in parsed.rhs for f in term.factors):
        if expr in ("1", "0"):
            continue
        try:
            num, cat = _expr_columns(expr)
        except SyntaxError:
            raise ConfigError(f"model.formula={formula!r}: cannot read the term {expr!r}") from None
        numeric += sorted(num - set(numeric))
        categorical += sorted(cat - set(categorical))
    categorical += [c.strip() for t in fe_terms for c in t.split("^")]
    return outcome[0], numeric, list(dict.fromkeys(categorical))


def outcome_columns(outcome: str) -> list[str]:
    """The variables of an outcome expression: ``np.log(gsp)`` → ``["gsp"]``, ``quality`` → ``["quality"]``."""
    try:
        return sorted(_expr_columns(outcome)[0])
    except SyntaxError:
        raise ConfigError(f"model.formula: cannot read the outcome {outcome!r}") from None


def cluster_columns(model_cfg, fe_names: list[str]) -> list[str]:
    """The cluster columns the vcov needs; ``vcov=cluster`` without a column uses the first FE (as fixest)."""
    vcov = str(value(model_cfg.vcov))
    raw = model_cfg.cluster
    cols = [] if raw is None else ([str(raw)] if isinstance(raw, str) else [str(c) for c in raw])
    if vcov == "cluster":
        if not cols:
            if not fe_names:  # a cross-section: nothing to cluster by unless the user says so
                log.info("model.vcov=cluster without fixed effects or model.cluster: heteroskedasticity-robust "
                         "(HC1) errors; set model.cluster=<column> to cluster")
                return []
            cols = [fe_names[0]]
        if len(cols) != 1:
            raise ConfigError(f"model.vcov=cluster takes one column, got model.cluster={cols}; use model.vcov=twoway for two")
    elif vcov == "twoway":
        if len(cols) != 2:
            raise ConfigError(f"model.vcov=twoway needs two columns, e.g. model.cluster=[firm,year]; got {cols}")
    elif cols:
        log.info("model.cluster=%s is ignored with model.vcov=%s", cols, vcov)
        cols = []
    return cols


def build_design(panel: Panel, model_cfg) -> Design:
    """Validate the columns the formula needs, then turn the frame into arrays."""
    formula = str(model_cfg.formula)
    outcome, numeric, categorical = required_columns(formula)
    _, fe_terms = split_formula(formula)
    clusters = cluster_columns(model_cfg, fe_terms)
    validate_panel(panel, numeric=[*outcome_columns(outcome), *numeric], categorical=[*categorical, *clusters])
    frame = with_value_codes(panel, [*outcome_columns(outcome), *numeric])
    try:
        design = design_from_formula(frame, formula, cluster=clusters or None)
    except (KeyError, ValueError) as err:  # the data's problem, said with the formula's terms
        raise describe_formula_error(err, formula, panel.source) from None
    check_design(design, panel.source)
    return design


#: Below this many clusters a clustered variance's t(G − 1) reference is unreliable (Cameron,
#: Gelbach & Miller 2008; MacKinnon & Webb 2017 find over-rejection well into the tens).
FEW_CLUSTERS = 30


def check_design(design: Design, source: str) -> None:
    """Refuse a design no estimator can use, warn about one that gives unreliable errors.

    One cluster, or every row a singleton of a fixed effect, stops the run (DataError);
    too few clusters is :func:`warn_few_clusters`'s, after the fit.
    """
    where = f"data {source!r}"
    if design.fe.shape[1]:
        kept = int(drop_singletons(design.fe).sum())
        if kept == 0:
            raise DataError(f"{where}: every one of the {design.n} rows is a singleton of the fixed effects "
                            f"{list(design.fe_names)} (one row per level): nothing is left to estimate from")
    for j, name in enumerate(design.cluster_names):
        G = int(np.unique(design.cluster[:, j]).size) if design.n else 0
        if G < 2:
            raise DataError(f"{where}: the cluster column {name!r} has {G} value in the sample; a clustered "
                            "variance needs at least 2 clusters (set model.vcov=hc1, or another model.cluster)")


def warn_few_clusters(fit: FEFit, model_cfg) -> None:
    """Warn when a clustered fit has fewer than :data:`FEW_CLUSTERS` clusters and the model does not
    already use the few-cluster tools (``model.vcov=crv3``, ``model.wild=true``)."""
    if str(value(getattr(model_cfg, "vcov", ""))) == "crv3" or getattr(model_cfg, "wild", False):
        return
    for name, G in zip(fit.cluster_names, fit.n_clusters):
        if G < FEW_CLUSTERS:
            log.warning("warning: %d clusters of %r (fewer than %d): clustered t statistics over-reject; use "
                        "model.vcov=crv3 or the wild cluster bootstrap model.wild=true", G, name, FEW_CLUSTERS)


def fit_model(design: Design, model_cfg, warn_cfg=None) -> FEFit:
    """The FE fit with ``model.vcov``; warns about few clusters unless ``warn_cfg`` (the model as the
    user set it, when ``model_cfg`` is a rewritten one) already uses the few-cluster tools."""
    vcov = str(value(model_cfg.vcov))
    if vcov == "cluster" and not design.cluster.shape[1]:  # a cross-section without model.cluster
        vcov = "hc1"
    fit = fit_fe(design, vcov=vcov)
    warn_few_clusters(fit, model_cfg if warn_cfg is None else warn_cfg)
    return fit


@dataclass(frozen=True)
class CoreRange:
    """The interval of the inverted-U test, where it came from, and the part of it outside the
    data (``data_lo``/``data_hi``: the core variable's range in the estimation sample)."""

    lo: float
    hi: float
    source: str
    data_lo: float | None = None
    data_hi: float | None = None

    @property
    def outside_data(self) -> bool:
        """True when a user's interval reaches beyond the data: the test then extrapolates."""
        return self.data_lo is not None and (self.lo < self.data_lo or self.hi > self.data_hi)


def check_utest(design: Design, model_cfg) -> None:
    """Before fitting: ``model.utest`` must be a regressor with its square among the regressors."""
    var = model_cfg.utest
    if not var:
        return
    from tradeq.models.utest import find_squared_term

    if str(var) not in design.x_names:
        raise ConfigError(f"model.utest={var!r} is not a regressor of the formula; regressors are {list(design.x_names)}")
    try:
        find_squared_term(design.x_names, str(var))
    except KeyError:
        raise ConfigError(f"model.utest={var!r}: the formula has no square of {var!r} for the U test; add "
                          f"I({var}**2) to model.formula") from None


def core_range(design: Design, var: str, interval: Any = None) -> CoreRange:
    """Default: min and max of the core variable over the estimation sample (singletons excluded);
    a user's interval outside that range is kept and warned about (the test then extrapolates)."""
    if var not in design.x_names:
        raise ConfigError(f"model.utest={var!r} is not a regressor of the formula; regressors are {list(design.x_names)}")
    keep = drop_singletons(design.fe) if design.fe.shape[1] else np.ones(design.n, bool)
    x = design.X[keep, design.x_names.index(var)]
    data_lo, data_hi = float(x.min()), float(x.max())
    if interval is None:
        return CoreRange(data_lo, data_hi, f"min and max of {var} in the estimation sample", data_lo, data_hi)
    lo, hi = (float(v) for v in interval)
    if not lo < hi:
        raise ConfigError(f"model.utest_interval must be [low, high] with low < high, got {list(interval)}")
    rng = CoreRange(lo, hi, "model.utest_interval", data_lo, data_hi)
    if rng.outside_data:
        log.warning("warning: model.utest_interval=[%g, %g] reaches outside the data (%s from %.4g to %.4g): "
                    "the U test extrapolates the quadratic there", lo, hi, var, data_lo, data_hi)
    return rng


def inverted_u_test(fit: FEFit, design: Design, model_cfg) -> tuple[UTestResult, CoreRange] | None:
    """Lind–Mehlum test when ``model.utest`` names a variable with a squared term in the fit."""
    var = model_cfg.utest
    if not var:
        return None
    rng = core_range(design, str(var), model_cfg.utest_interval)
    return utest_from_fit(fit, str(var), rng.lo, rng.hi, level=float(model_cfg.level)), rng


def utest_json(result: UTestResult, rng: CoreRange) -> dict:
    """``utest.json``: the test, where its interval came from, and whether it reaches outside the data."""
    out = {**result.to_dict(), "interval_source": rng.source}
    if rng.data_lo is not None:
        out.update(data_range=[rng.data_lo, rng.data_hi], interval_outside_data=rng.outside_data)
    return out


def tidy_estimates(fit: FEFit, model_name: str, level: float, truth: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per term: the columns promised in ``estimates.csv``."""
    ci = fit.conf_int(level)
    frame = pd.DataFrame({
        "model": model_name,
        "term": list(fit.x_names),
        "estimate": fit.coef,
        "std_error": fit.se,
        "statistic": fit.tstat,
        "p_value": fit.pvalue,
        "conf_low": ci[:, 0],
        "conf_high": ci[:, 1],
        "n_obs": fit.n_obs,
        "n_clusters": ";".join(map(str, fit.n_clusters)) if fit.n_clusters else "",
        "vcov": fit.vcov_type,
        "method": fit.method,
    })
    if truth is not None:
        frame["truth"] = [truth.get(t, np.nan) for t in fit.x_names]
    return frame


def truth_by_term(truth: Any) -> dict[str, float] | None:
    """Map a simulator's truth onto formula term names (``Market``, ``I(Market ** 2)``, controls)."""
    if truth is None:
        return None
    if hasattr(truth, "ic_total"):  # the province panel's truth (tradeq.province_data)
        from tradeq.province_data import province_truth_terms

        return province_truth_terms(truth)
    return {"Market": float(truth.b1), "I(Market ** 2)": float(truth.b2),
            **{str(k): float(v) for k, v in truth.controls.items()}}


def describe_utest(result: UTestResult, rng: CoreRange) -> str:
    d = result.to_dict()
    fl = d["fieller"]
    bound = lambda v: f"{v:.4g}" if isinstance(v, float) else "nan" if v is None else str(v)  # noqa: E731  ("inf" strings)
    r = result  # the floats themselves: NaN prints as nan (the JSON form writes it as null)
    return "\n".join([
        f"{'U' if result.shape == 'u' else 'Inverted-U'} test (Lind–Mehlum) on [{rng.lo:.4g}, {rng.hi:.4g}] "
        f"({rng.source}):",
        f"  slope at low end  {r.slope_lo:.4g} (t = {r.t_lo:.3f}, p = {r.p_lo:.3g})",
        f"  slope at high end {r.slope_hi:.4g} (t = {r.t_hi:.3f}, p = {r.p_hi:.3g})",
        f"  overall t = {r.t:.3f}, p = {r.p:.3g} → {r.verdict}",
        f"  turning point {r.turning_point:.4g} (delta-method SE {r.turning_point_se:.3g}); "
        f"{int(round(100 * d['level']))}% Fieller interval [{bound(fl['lo'])}, {bound(fl['hi'])}] ({fl['kind']})",
    ])


def sample_record(fit: FEFit) -> dict:
    """What the estimator did to the sample: rows kept and dropped, FE levels, clusters, convergence."""
    return {
        "outcome": fit.y_name,
        "n_obs": fit.n_obs,
        "n_missing_dropped": fit.n_missing,
        "n_singletons_dropped": fit.n_singletons,
        "dropped_collinear": list(fit.dropped_collinear),
        "fe": dict(zip(fit.fe_names, fit.fe_levels)),
        "clusters": dict(zip(fit.cluster_names, fit.n_clusters)),
        "vcov": fit.vcov_type,
        "iterations": fit.iterations,
        "converged": fit.converged,
    }


