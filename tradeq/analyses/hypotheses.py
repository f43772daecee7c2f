"""Linear hypotheses written in a fit's term names: ``"IC = 0"``, ``"post_self = 0.04"``,
``"IC - 2*HUM = 0.5"``, ``"I(Market**2) = 0"``.

``model.hypothesis`` is one such string or a list of them; each is one restriction ``R b = r``
(R over the fit's terms). The left side is a linear combination: terms, numbers, ``+ - * /``
(a product or quotient needs a number on one side) and parentheses; numbers on the left move
to the right. Term names are matched whole and without regard to spaces, longest first, so
``IC`` never matches inside ``IC2`` and ``I(Market ** 2)`` may be written ``I(Market**2)``.
"""

from __future__ import annotations

import ast
import re

import numpy as np

from tradeq.errors import ConfigError
from tradeq.specs.inference_clusters import split_hypothesis

_IDENT = r"[A-Za-z0-9_.]"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _linear(node, k: int) -> tuple[np.ndarray, float]:
    """(coefficients (k,), constant) of an expression tree over placeholders ``__t<j>``."""
    if isinstance(node, ast.Expression):
        return _linear(node.body, k)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return np.zeros(k), float(node.value)
    if isinstance(node, ast.Name) and node.id.startswith("__t"):
        v = np.zeros(k)
        v[int(node.id[3:])] = 1.0
        return v, 0.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v, c = _linear(node.operand, k)
        return (-v, -c) if isinstance(node.op, ast.USub) else (v, c)
    if isinstance(node, ast.BinOp):
        (lv, lc), (rv, rc) = _linear(node.left, k), _linear(node.right, k)
        if isinstance(node.op, ast.Add):
            return lv + rv, lc + rc
        if isinstance(node.op, ast.Sub):
            return lv - rv, lc - rc
        if isinstance(node.op, ast.Mult):
            if not lv.any():
                return lc * rv, lc * rc
            if not rv.any():
                return rc * lv, rc * lc
            raise ValueError("a product of two terms is not linear")
        if isinstance(node.op, ast.Div):
            if rv.any() or rc == 0:
                raise ValueError("divide only by a non-zero number")
            return lv / rc, lc / rc
    raise ValueError(f"{ast.unparse(node)!r} is not a term of the fit, a number or + - * /")


def linear_hypothesis(text: str, terms) -> tuple[np.ndarray, float]:
    """``(R (k,), r)`` of the hypothesis ``text`` over ``terms`` (module docstring); a
    :class:`ConfigError` naming ``model.hypothesis`` and the fit's terms otherwise."""
    terms = [str(t) for t in terms]
    try:
        lhs, r = split_hypothesis(text)
    except ValueError as err:
        raise ConfigError(f"model.hypothesis={text!r}: {err}") from None
    expr = _squash(lhs)
    for j in sorted(range(len(terms)), key=lambda j: -len(_squash(terms[j]))):
        name = re.escape(_squash(terms[j]))
        expr = re.sub(rf"(?<!{_IDENT}){name}(?!{_IDENT})", f"__t{j}", expr)
    try:
        R, c = _linear(ast.parse(expr, mode="eval"), len(terms))
    except SyntaxError:
        raise ConfigError(f"model.hypothesis={text!r}: cannot read {lhs!r} as a linear combination of terms") from None
    except ValueError as err:
        why = re.sub(r"__t(\d+)", lambda m: terms[int(m.group(1))], str(err))
        raise ConfigError(f"model.hypothesis={text!r}: {why}; the fit's terms are {terms}") from None
    if not R.any():
        raise ConfigError(f"model.hypothesis={text!r}: names no term of the fit; its terms are {terms}")
    return R, r - c
