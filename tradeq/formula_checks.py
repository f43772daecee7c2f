"""A formula's mistakes in the user's terms, before any data is touched.

:func:`check_formula` rejects what formulaic or :func:`tradeq.formula.split_formula` would
misread or report with a traceback: no outcome, nothing after ``~`` or after ``|`` (which
would silently fit an intercept or pooled OLS), unbalanced parentheses, Stata's ``i.x`` and
``c.x``, a Python syntax error. :func:`describe_formula_error` turns the errors of
:func:`tradeq.formula.design_from_formula` (a missing column, an unknown function, infinite
values) into one line naming ``model.formula`` and the term. Every message is a
:class:`tradeq.errors.ConfigError` or :class:`tradeq.errors.DataError`.
"""

from __future__ import annotations

import ast
import re

from tradeq.errors import ConfigError, DataError, TradeqError

_STATA_FACTOR = re.compile(r"(?<![\w.])([ic])\.(\w+)")
_UNKNOWN_NAME = re.compile(r"name '(\w+)' is not defined")


def _fail(formula: str, why: str, setting: str = "model.formula") -> ConfigError:
    return ConfigError(f"{setting}={formula!r}: {why}")


def _check_parentheses(formula: str, setting: str) -> None:
    depth = 0
    for ch in formula:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            raise _fail(formula, "has a ')' without its '('", setting)
    if depth:
        raise _fail(formula, f"has {depth} unclosed '(' (parentheses do not balance)", setting)


def _check_python(side: str, formula: str, setting: str) -> None:
    """One side must read as a Python expression once ``:`` is a product (formulaic evaluates its
    terms as Python); backquoted names are left to formulaic."""
    if "`" in side:
        return
    try:
        ast.parse(side.replace(":", "*"), mode="eval")
    except SyntaxError:
        raise _fail(formula, f"cannot read {side!r} (check the operators between the terms)", setting) from None


def check_formula(formula, setting: str = "model.formula") -> None:
    """Raise :class:`ConfigError` naming ``setting`` when ``formula`` is not ``y ~ x [| fe]``.

    ``y ~`` and ``y ~ x |`` are rejected (an intercept-only fit or pooled OLS the user did not
    write); ``y ~ 1`` and ``y ~ x | 0`` say so explicitly and pass.
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ConfigError(f"{setting} must be a formula such as 'y ~ x1 + x2 | fe1 + fe2', got {formula!r}")
    _check_parentheses(formula, setting)
    stata = _STATA_FACTOR.search(formula)
    if stata:
        raise _fail(formula, f"{stata.group(0)!r} is Stata's factor syntax; write "
                    f"{'C(' + stata.group(2) + ')' if stata.group(1) == 'i' else stata.group(2)!r} here", setting)
    if formula.count("~") != 1:
        raise _fail(formula, "needs exactly one '~' between the outcome and the regressors", setting)
    parts = formula.split("|")
    if len(parts) > 2:
        raise _fail(formula, "has more than one '|'; write 'y ~ x | fe1 + fe2'", setting)
    if "~" not in parts[0]:
        raise _fail(formula, "needs 'y ~ x' before the '|' of the fixed effects", setting)
    lhs, rhs = (s.strip() for s in parts[0].split("~"))
    if not lhs:
        raise _fail(formula, "has no outcome on the left of '~'", setting)
    if not rhs:
        raise _fail(formula, "has no regressors after '~' (write 'y ~ 1' for an intercept only)", setting)
    if len(parts) == 2:
        fe = parts[1].strip()
        if not fe:
            raise _fail(formula, "has nothing after '|': list the fixed effects ('| firm + year') or drop the '|'",
                        setting)
        if any(not t.strip() for t in re.split(r"[+^]", fe)):
            raise _fail(formula, f"has an empty fixed-effect term in {fe!r}", setting)
    _check_python(lhs, formula, setting)
    _check_python(rhs, formula, setting)


def describe_formula_error(err: Exception, formula: str, source: str) -> TradeqError:
    """The user's error behind an exception of ``design_from_formula`` (one line)."""
    text = str(err.args[0]) if err.args else str(err)
    unknown = _UNKNOWN_NAME.search(text)
    if unknown:
        return ConfigError(f"model.formula={formula!r}: unknown function or column {unknown.group(1)!r} "
                           "(functions: I(), C(), np.log(), np.exp(), np.sqrt(), ... ; columns by their names)")
    if "infinite values" in text:
        hint = " (a log of zero or a negative number?)" if "log" in text else ""
        return DataError(f"data {source!r}: {text}{hint}; infinite values cannot be estimated, drop or recode them")
    if isinstance(err, KeyError):
        return DataError(f"data {source!r}: {text} (model.formula={formula!r})")
    return DataError(f"data {source!r}: model.formula={formula!r}: {text}")
