"""Command-line conveniences applied before Hydra parses ``sys.argv``."""

from __future__ import annotations

import re

# key=value overrides whose value is a formula: "model.formula=y ~ x + I(x**2) | f" after the shell
# has removed the user's quotes. Hydra's grammar rejects (, *, | and spaces unquoted.
_FORMULA_OVERRIDE = re.compile(r"^(?P<key>[+~]{0,2}[\w.]*formula)=(?P<value>.*)$", re.S)


def quote_formula_overrides(argv: list[str]) -> list[str]:
    """Wrap unquoted formula values in single quotes so Hydra reads them as one string.

    ``model.formula=y ~ x | f`` → ``model.formula='y ~ x | f'``; values already quoted
    (``'...'`` or ``"..."``) pass through unchanged.
    """
    out = []
    for arg in argv:
        m = _FORMULA_OVERRIDE.match(arg)
        value = m.group("value") if m else ""
        if m and value and not (value[0] == value[-1] and value[0] in "'\"" and len(value) > 1):
            arg = f"{m.group('key')}='" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        out.append(arg)
    return out
