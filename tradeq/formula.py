"""fixest-style formulas to a :class:`~tradeq.models.design.Design`.

``"y ~ x1 + I(x1**2) + x2 | f1 + f2"``: the part before ``|`` is a formulaic (Wilkinson)
formula for the outcome and the regressors, the part after it lists the fixed effects
(``f1^f2`` for the interaction of two columns, as in fixest/pyfixest). Without ``|`` the
model is pooled OLS with formulaic's ``Intercept``.

Column names and column order are formulaic's (``I(x1 ** 2)``, ``x1:x2``, ``g[T.b]``). With
fixed effects the regressors are built as formulaic builds them WITH an intercept (so a
categorical gets reduced-rank dummies) and the ``Intercept`` column is then dropped — what
pyfixest does, so names and columns match ``pf.feols``.

Speed: formulaic materialises a 600k-row frame in ~0.1 s, so formulas whose terms are
plain numeric columns, ``I(...)`` arithmetic on numeric columns (``+ - * / ** // %``,
unary minus, numeric constants) and ``:`` products of those are evaluated here with numpy,
giving exactly formulaic's values and names; anything else (``C()``, string or boolean
regressors, functions such as ``np.log``) goes through ``formulaic.model_matrix``.

Missing values: a row is dropped, and counted in ``Design.n_missing``, when any used
column is missing — the outcome, a regressor (including a NaN produced by an ``I()``
expression, e.g. ``0/0``, which formulaic also drops), an FE or a cluster column.
Infinite values raise. FE and cluster columns become dense int32 codes (level order not
meaningful); ``Design.row_id`` holds the kept rows' positions in ``data``.

Layout: ``Design.y`` and ``Design.X`` are the columns of one 64-byte aligned (n, 1 + k)
block ``[y | X]``, also kept as ``Design.extras["yX"]``, so :func:`tradeq.models.fixed_effects.fit_fe`
reads it as it is and JAX without a copy; :func:`feols`, which discards the design, lets the
fit work in it (``overwrite_design=True``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tradeq.factor_codes import compress_codes, fe_components, term_codes
from tradeq.models.design import Design
from tradeq.models.fe_result import FEFit
from tradeq.models.fixed_effects import N_CLUSTER_DIMS, VCOV_ALIASES, fit_fe
from tradeq.models.within import FWL_MAX_SMALL_LEVELS

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class _NotSimple(Exception):
    """The term needs formulaic."""


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def split_formula(formula: str) -> tuple[str, list[str]]:
    """``"y ~ x | f1 + f2^f3"`` -> ``("y ~ x", ["f1", "f2^f3"])``."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    if "~" not in formula:
        raise ValueError(f"formula {formula!r} has no '~' separating the outcome from the regressors")
    parts = formula.split("|")
    if len(parts) > 2:
        raise ValueError(
            f"formula {formula!r} has more than one '|'; only 'y ~ x | fixed effects' is supported"
        )
    main = parts[0].strip()
    fes: list[str] = []
    if len(parts) == 2:
        fe_part = parts[1].strip()
        if fe_part in ("", "0"):
            fes = []
        else:
            fes = [t.strip() for t in fe_part.split("+")]
            if any(not t for t in fes):
                raise ValueError(f"empty fixed-effect term in {parts[1]!r}")
    lhs = main.split("~", 1)[0].strip()
    if not lhs:
        raise ValueError(f"formula {formula!r} has no outcome on the left of '~'")
    return main, fes


# ---------------------------------------------------------------------------------------
# Fast numeric evaluation
# ---------------------------------------------------------------------------------------


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _expr_names(node: ast.AST) -> set[str]:
    # Names in a restricted arithmetic expression; _NotSimple for anything else.
    if isinstance(node, ast.Expression):
        return _expr_names(node.body)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _expr_names(node.left) | _expr_names(node.right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
        return _expr_names(node.operand)
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return set()
    raise _NotSimple


def _eval_expr(node: ast.AST, cols: dict[str, np.ndarray]):
    if isinstance(node, ast.Expression):
        return _eval_expr(node.body, cols)
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval_expr(node.left, cols), _eval_expr(node.right, cols))
    if isinstance(node, ast.UnaryOp):
        return _UNOPS[type(node.op)](_eval_expr(node.operand, cols))
    if isinstance(node, ast.Name):
        return cols[node.id]
    return float(node.value)


def _factor_program(factor) -> tuple[str, ast.AST | None, set[str]]:
    """(kind, parsed expression, column names) for a formulaic factor we can evaluate."""
    method = getattr(factor.eval_method, "value", str(factor.eval_method))
    expr = factor.expr
    if method == "lookup":
        return "lookup", None, {expr}
    if method == "python":
        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError as exc:
            raise _NotSimple from exc
        call = tree.body
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "I"
            and len(call.args) == 1
            and not call.keywords
        ):
            inner = ast.Expression(call.args[0])
            return "python", inner, _expr_names(inner)
    raise _NotSimple


def _simple_terms(terms, data: pd.DataFrame):
    """[(name, [(kind, expr, names), ...]), ...] or _NotSimple; intercept term -> ('1', [])."""
    out = []
    for term in terms:
        progs = []
        for f in term.factors:
            method = getattr(f.eval_method, "value", str(f.eval_method))
            if method == "literal":
                if str(f.expr) in ("1", "1.0"):
                    continue
                raise _NotSimple
            kind, expr, names = _factor_program(f)
            for nm in names:
                if nm not in data.columns:
                    raise KeyError(f"column {nm!r} used in the formula is not in the data")
                if not _is_numeric(data[nm]):
                    raise _NotSimple
            progs.append((kind, expr, names))
        out.append((str(term), progs))
    return out


def _float_column(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def _eval_term(progs, cols: dict[str, np.ndarray], n: int) -> np.ndarray:
    val = np.ones(n) if not progs else None
    for kind, expr, names in progs:
        if kind == "lookup":
            v = cols[next(iter(names))]
        else:
            with np.errstate(all="ignore"):
                v = np.asarray(_eval_expr(expr, cols), dtype=np.float64)
            if v.ndim == 0:
                v = np.full(n, float(v))
        val = v if val is None else val * v
    return val


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------


def design_from_formula(
    data: pd.DataFrame, formula: str, cluster: Sequence[str] | str | None = None
) -> Design:
    """Build the :class:`Design` of ``formula`` on ``data``; see the module docstring.

    ``cluster``: cluster column names (0, 1 or 2), stored as codes in ``Design.cluster``.
    Raises ``KeyError`` naming a column that is not in ``data``, ``ValueError`` for a
    non-numeric outcome, infinite values, or an empty sample after dropping missing rows.
    """
    import formulaic

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    main, fe_terms = split_formula(formula)
    clusters = [cluster] if isinstance(cluster, str) else list(cluster or [])
    for term in fe_terms:
        for c in fe_components(term):
            if c not in data.columns:
                raise KeyError(f"fixed-effect column {c!r} is not in the data")
    for c in clusters:
        if c not in data.columns:
            raise KeyError(f"cluster column {c!r} is not in the data")
    try:
        fml = formulaic.Formula(main)
    except Exception as exc:
        raise ValueError(f"cannot parse formula {main!r}: {exc}") from exc
    n_total = len(data)

    # Codes and missingness of FE and cluster columns, on all rows.
    cache: dict = {}
    fe_codes = [term_codes(data, t, cache) for t in fe_terms]
    cl_codes = [term_codes(data, c, cache) for c in clusters]
    bad = np.zeros(n_total, dtype=bool)
    for codes, _ in fe_codes + cl_codes:
        bad |= codes < 0

    y_col = main.split("~", 1)[0].strip()
    if y_col in data.columns and not _is_numeric(data[y_col]):
        raise ValueError(f"the outcome {y_col!r} must be numeric; it has dtype {data[y_col].dtype}")
    try:
        lhs_terms = _simple_terms(fml.lhs, data)
        rhs_terms = _simple_terms(fml.rhs, data)
        if len(lhs_terms) != 1 or not lhs_terms[0][1]:
            raise _NotSimple
        yX, x_names, y_name, keep = _evaluate_fast(data, lhs_terms[0], rhs_terms, bool(fe_terms), bad)
    except _NotSimple:
        yX, x_names, y_name, keep = _evaluate_formulaic(data, main, bool(fe_terms), bad)

    n = int(keep.sum())
    if n == 0:
        raise ValueError(
            f"no rows left for {formula!r}: all {n_total} rows have a missing value in a used column"
        )
    all_rows = n == n_total
    row_id = np.arange(n_total, dtype=np.int64) if all_rows else np.flatnonzero(keep).astype(np.int64)

    done: dict[int, np.ndarray] = {}

    def _subset_codes(items):
        out = np.empty((n, len(items)), dtype=np.int32)
        for j, (codes, G) in enumerate(items):
            if id(codes) not in done:  # shared between an FE and a cluster column
                c = codes if all_rows else np.take(codes, row_id)
                done[id(codes)] = c if all_rows else compress_codes(c, G)[0]
            out[:, j] = done[id(codes)]
        return out

    # y and X are two views of one aligned (n, 1 + k) block [y | X]; fit_fe reads the
    # block as it is instead of re-assembling the columns (``extras["yX"]``).
    return Design(
        y=yX[:, 0],
        X=yX[:, 1:],
        x_names=tuple(x_names),
        fe=_subset_codes(fe_codes),
        fe_names=tuple(fe_terms),
        cluster=_subset_codes(cl_codes),
        cluster_names=tuple(clusters),
        row_id=row_id,
        y_name=y_name,
        n_missing=int(n_total - n),
        extras={"yX": yX},
    )


def _aligned_empty(shape) -> np.ndarray:
    # 64-byte aligned, so JAX can read the block without a copy (see tradeq.models.within).
    nbytes = int(np.prod(shape)) * 8
    raw = np.empty(nbytes + 64, dtype=np.uint8)
    off = (-raw.ctypes.data) % 64
    return raw[off : off + nbytes].view(np.float64).reshape(shape)


_FILL_ROWS = 4096


def _evaluate_fast(data, lhs_term, rhs_terms, has_fe: bool, bad: np.ndarray):
    n_total = len(data)
    names: set[str] = set()
    for _, progs in [lhs_term, *rhs_terms]:
        for _, _, nm in progs:
            names |= nm
    cols = {nm: _float_column(data[nm]) for nm in names}
    y_name, y_progs = lhs_term
    terms = [(nm, p) for nm, p in rhs_terms if not (has_fe and not p)]
    x_names = ["Intercept" if not p else nm for nm, p in terms]
    values = [_eval_term(progs, cols, n_total) for progs in [y_progs] + [p for _, p in terms]]
    finite = all(np.isfinite(v).all() for v in values)
    # Columns go into the (n, 1 + k) block a few thousand rows at a time, so each block of
    # rows is filled in cache: no (1 + k, n) staging array to transpose.
    block = _aligned_empty((n_total, 1 + len(terms)))
    for s in range(0, n_total, _FILL_ROWS):
        rows = block[s : s + _FILL_ROWS]
        for j, v in enumerate(values):
            rows[:, j] = v[s : s + _FILL_ROWS]
    del values
    if not finite:
        nan = np.isnan(block)
        bad = bad | nan.any(axis=1)
        inf = np.isinf(block[~bad])
        if inf.any():
            col = [y_name, *x_names][int(np.flatnonzero(inf.any(axis=0))[0])]
            raise ValueError(f"{'the outcome' if col == y_name else 'regressor'} {col!r} has infinite values")
    keep = ~bad
    if not keep.all():
        idx = np.flatnonzero(keep)
        sub = _aligned_empty((idx.size, block.shape[1]))
        np.take(block, idx, axis=0, out=sub, mode="clip")
        block = sub
    return block, x_names, y_name, keep


def _evaluate_formulaic(data, main: str, has_fe: bool, bad: np.ndarray):
    import formulaic

    lhs_name = main.split("~", 1)[0].strip()
    sub = data.loc[~bad] if bad.any() else data
    sub = sub.set_axis(np.flatnonzero(~bad), axis=0)  # index = source positions
    try:
        mm = formulaic.model_matrix(main, sub, na_action="drop")
    except KeyError:
        raise
    except Exception as exc:
        raise ValueError(f"formulaic could not build {main!r}: {exc}") from exc
    lhs, rhs = mm.lhs, mm.rhs
    if lhs.shape[1] != 1:
        raise ValueError(
            f"the outcome {lhs_name!r} must be numeric (it expands to columns {list(lhs.columns)})"
        )
    if has_fe and "Intercept" in rhs.columns:
        rhs = rhs.drop(columns="Intercept")
    keep = np.zeros(len(data), dtype=bool)
    keep[np.asarray(lhs.index, dtype=np.int64)] = True
    block = _aligned_empty((len(lhs), 1 + rhs.shape[1]))
    block[:, 0] = np.asarray(lhs.iloc[:, 0], dtype=np.float64)
    block[:, 1:] = np.asarray(rhs, dtype=np.float64)
    x_names = [str(c) for c in rhs.columns]
    _check_finite(block[:, 0], block[:, 1:], str(lhs.columns[0]), x_names)
    return block, x_names, str(lhs.columns[0]), keep


def _check_finite(y: np.ndarray, X: np.ndarray, y_name: str, x_names) -> None:
    if not np.isfinite(y).all():
        raise ValueError(f"the outcome {y_name!r} has infinite values")
    if X.size and not np.isfinite(X).all():
        badcols = [nm for nm, ok in zip(x_names, np.isfinite(X).all(axis=0)) if not ok]
        raise ValueError(f"regressor {badcols[0]!r} has infinite values")


def feols(
    data: pd.DataFrame,
    formula: str,
    vcov: str = "iid",
    cluster: str | list[str] | None = None,
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    max_small_levels: int = FWL_MAX_SMALL_LEVELS,
) -> FEFit:
    """``feols(df, "y ~ x1 + I(x1**2) + x2 | f1 + f2", vcov="cluster", cluster="f1")``.

    Without ``|`` the model is pooled OLS with an intercept. ``cluster`` names the cluster
    column(s): one for ``vcov="cluster"``, two for ``vcov="twoway"``.
    """
    vt = VCOV_ALIASES.get(vcov, vcov)
    clusters = [cluster] if isinstance(cluster, str) else list(cluster or [])
    need = N_CLUSTER_DIMS.get(vt)
    if vt in N_CLUSTER_DIMS and need is not None and len(clusters) != need:
        raise ValueError(f"vcov={vt!r} needs cluster= with {need} column name(s); got {clusters}")
    design = design_from_formula(data, formula, cluster=clusters)
    # the design is ours alone: the fit may use its [y | X] block as work space
    return fit_fe(design, vcov=vt, tol=tol, maxiter=maxiter, max_small_levels=max_small_levels, overwrite_design=True)
