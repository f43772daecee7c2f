"""``python -m tradeq.analyses.experiments`` lists every experiment with its whole first sentence."""

import subprocess
import sys

from tradeq.analyses.experiments import CONF, available


def test_descriptions_are_whole_sentences():
    listed = available()
    assert set(listed) == {p.stem for p in CONF.glob("*.yaml")}
    assert all(text.endswith((".", ")", "?")) for text in listed.values()), listed
    # table5's first sentence wraps over two comment lines: it is kept whole
    assert listed["table5"].endswith("and with the controls lagged alike (cols 4–6); firm + year FE.")


def test_the_list_wraps_instead_of_cutting():
    proc = subprocess.run([sys.executable, "-m", "tradeq.analyses.experiments"], capture_output=True, text=True,
                          timeout=120, env={"COLUMNS": "80", "PATH": ""})
    assert proc.returncode == 0
    assert max(map(len, proc.stdout.splitlines())) <= 80
    assert "controls lagged alike" in " ".join(proc.stdout.split())
