import json
import math

import pandas as pd
import pytest

from tradeq.atomic import write_csv, write_json, write_text


def test_write_text_replaces_whole_file(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "estimates.csv"
    write_csv(target, pd.DataFrame({"x": [1, 2]}))

    class Broken:
        def to_csv(self, path, index=False):
            open(path, "w").write("half")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_csv(target, Broken())
    assert pd.read_csv(target)["x"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["estimates.csv"]


def test_json_non_finite_as_strings(tmp_path):
    target = tmp_path / "u.json"
    write_json(target, {"lo": -math.inf, "hi": math.inf, "x": math.nan, "n": 3})
    assert json.loads(target.read_text()) == {"lo": "-inf", "hi": "inf", "x": "nan", "n": 3}
