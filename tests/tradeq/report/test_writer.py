"""The run folder is written as a set: stale files of an earlier run go, an interrupted run changes nothing."""

import json

import pandas as pd
import pytest
import xarray as xr

from tradeq.report.writer import MANIFEST, check_writable, write_files


def test_files_of_every_kind_are_written(tmp_path):
    ds = xr.Dataset({"a": ("x", [1.0, 2.0])})
    written = write_files(tmp_path, {"t.md": "hello", "b.bin": b"\x00\x01", "r.json": {"x": float("nan")},
                                     "e.csv": pd.DataFrame({"a": [1, 2]}), "d.nc": ds,
                                     "p.png": lambda path: path.write_bytes(b"png")})
    assert sorted(written) == ["b.bin", "d.nc", "e.csv", "p.png", "r.json", "t.md"]
    assert (tmp_path / "t.md").read_text() == "hello"
    assert json.loads((tmp_path / "r.json").read_text()) == {"x": "nan"}
    with xr.open_dataset(tmp_path / "d.nc", engine="h5netcdf") as back:
        assert back["a"].values.tolist() == [1.0, 2.0]
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


def test_a_rerun_removes_the_previous_runs_stale_files(tmp_path):
    write_files(tmp_path, {"table.md": "fe", "utest.json": {"t": 1}})
    (tmp_path / "notes.txt").write_text("the user's own file")
    write_files(tmp_path, {"table.md": "mediation", "mediation.json": {"a": 1}})
    assert not (tmp_path / "utest.json").exists()
    assert (tmp_path / "table.md").read_text() == "mediation"
    assert (tmp_path / "notes.txt").exists(), "files the run did not write are never removed"


def test_an_interrupted_run_leaves_the_folder_as_it_was(tmp_path):
    write_files(tmp_path, {"table.md": "first", "forest.png": b"old"})

    def interrupted(path):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_files(tmp_path, {"table.md": "second", "forest.png": interrupted, "run.json": {}})
    assert (tmp_path / "table.md").read_text() == "first"
    assert (tmp_path / "forest.png").read_bytes() == b"old"
    assert not (tmp_path / "run.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


def test_a_failing_plot_costs_only_the_plot(tmp_path, caplog):
    def broken(path):
        raise RuntimeError("no display")

    written = write_files(tmp_path, {"table.md": "x", "bad.png": broken})
    assert written == ["table.md"] and not (tmp_path / "bad.png").exists()
    assert "could not draw bad.png" in caplog.text


def test_a_read_only_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # root may write anywhere: simulate the refusal
    with pytest.raises(PermissionError):
        check_writable(tmp_path)
