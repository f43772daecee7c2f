"""The paper's tables as experiments: ``python estimate.py experiment=tableN``.

Each ``conf/experiment/tableN.yaml`` (``# @package _global_``) picks the analysis
(``override /model: ...``), sets the simulator's truth to the paper's estimates for that
table (``data.dgp.*``) and the table's rows, columns and caption (``model.*``). With
``data=file data.path=...`` the same experiment runs on a user's panel (no truth columns
then). ``python -m tradeq.analyses.experiments`` lists them.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "conf" / "experiment"


def available(conf: Path = CONF) -> dict[str, str]:
    """Experiment name → the first sentence of its description (the YAML's leading comments,
    joined across lines: a sentence that wraps is not cut)."""
    out = {}
    for path in sorted(conf.glob("*.yaml"), key=lambda p: (len(p.stem), p.stem)):
        lines = []
        for ln in path.read_text(encoding="utf-8").splitlines():
            if not ln.startswith("#"):
                break
            if not ln[1:].strip().startswith("@package"):
                lines.append(ln[1:].strip())
        text = " ".join(lines)
        end = _SENTENCE_END.search(text)
        out[path.stem] = text[: end.start() + 1] if end else text
    return out


# a full stop ending a sentence: followed by a space and a capital (not "e.g. x", "0.05")
_SENTENCE_END = re.compile(r"\.(?=\s+[A-Z])")


def main() -> None:
    """Print every experiment with its description, wrapped to the terminal."""
    width = shutil.get_terminal_size((100, 20)).columns
    names = available()
    pad = max(map(len, names)) + 2
    for name, text in names.items():
        print(textwrap.fill(text, width=max(40, width), initial_indent=name.ljust(pad), subsequent_indent=" " * pad))


if __name__ == "__main__":
    main()
