"""The paper's tables as experiments: ``python estimate.py experiment=tableN``.

Each ``conf/experiment/tableN.yaml`` (``# @package _global_``) picks the analysis
(``override /model: ...``), sets the simulator's truth to the paper's estimates for that
table (``data.dgp.*``) and the table's rows, columns and caption (``model.*``). With
``data=file data.path=...`` the same experiment runs on a user's panel (no truth columns
then). ``python -m tradeq.analyses.experiments`` lists them.
"""

from __future__ import annotations

from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "conf" / "experiment"


def available(conf: Path = CONF) -> dict[str, str]:
    """Experiment name → the first line of its description (the YAML's leading comments)."""
    out = {}
    for path in sorted(conf.glob("*.yaml"), key=lambda p: (len(p.stem), p.stem)):
        lines = [ln[1:].strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
        lines = [ln for ln in lines if not ln.startswith("@package")]
        out[path.stem] = lines[0] if lines else ""
    return out


if __name__ == "__main__":
    for name, text in available().items():
        print(f"{name:10s} {text}")
