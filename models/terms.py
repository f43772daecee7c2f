"""The names of the squared term, defined once.

A formula writes the square of ``x`` as ``I(x**2)``; formulaic names the resulting column
``I(x ** 2)`` (spaces around the operator). Everything that builds a formula uses
:func:`square_formula`, everything that looks a column up uses :func:`square_term`, and
:func:`square_spellings` lists the spellings a user's own data or formula may use for the same
column (``x^2``, ``x_sq``, …), which :func:`tradeq.models.utest.find_squared_term` accepts.
"""

from __future__ import annotations


def square_formula(x: str) -> str:
    """The formula term of the square of ``x``: ``"I(x**2)"``."""
    return f"I({x}**2)"


def square_term(x: str) -> str:
    """The column formulaic builds from :func:`square_formula`: ``"I(x ** 2)"``."""
    return f"I({x} ** 2)"


def square_spellings(x: str) -> list[str]:
    """Spellings recognised as the square of ``x`` (compare with whitespace removed)."""
    return [
        square_formula(x),
        f"I({x}^2)",
        f"{x}**2",
        f"{x}^2",
        f"{x}_sq",
        f"{x}_squared",
        f"{x}sq",
        f"np.square({x})",
        f"np.power({x},2)",
        f"I({x}*{x})",
    ]
