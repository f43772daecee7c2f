"""Every catalogued bad input (``bad_inputs_catalogue``) gives its one ``error:`` line, exit status
2, no traceback and no result files; the warnings a run gives instead of silence; docs/errors.md."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bad_inputs_catalogue import CASES, ROOT, errors_markdown, make_data, message_pattern

sys.path.insert(0, str(ROOT))
import estimate  # noqa: E402  (the entry point's @hydra.main function, called in-process)
from tradeq import cli  # noqa: E402
from tradeq.errors import DataError  # noqa: E402

#: What Hydra and the log leave in a run folder whatever happens; anything else is a result file.
NOT_RESULTS = {".hydra", "estimate.log", "multirun.yaml"}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_data(tmp_path_factory.mktemp("bad_inputs"))


def invoke(args: list[str], data: Path, run_dir: Path) -> tuple[int, str, str]:
    """``python estimate.py ARGS`` in this process: (exit status, stdout, stderr)."""
    argv = [a.replace("{data}", str(data)) for a in args]
    sys.argv = [str(ROOT / "estimate.py"), *argv, f"hydra.run.dir={run_dir}", f"hydra.sweep.dir={run_dir}"]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.run(estimate.main)
    return status, out.getvalue(), err.getvalue()


def result_files(run_dir: Path) -> list[str]:
    if not run_dir.exists():
        return []
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")
                  if p.is_file() and not NOT_RESULTS & set(p.relative_to(run_dir).parts))


def test_the_catalogue_is_large_and_distinct():
    assert len(CASES) >= 40
    assert len({what for what, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("what", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_its_one_line(what, args, message, data, tmp_path):
    run_dir = tmp_path / "run"
    status, out, err = invoke(args, data, run_dir)
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, (out, err)
    assert len(lines) == 1 and message_pattern(message, data).match(lines[0]), lines
    assert "error:" not in out and "Traceback" not in out + err and "HYDRA_FULL_ERROR" not in out + err
    assert result_files(run_dir) == []


def test_errors_page_is_the_catalogue():
    assert (ROOT / "docs" / "errors.md").read_text(encoding="utf-8") == errors_markdown(), (
        "docs/errors.md is out of date: python tests/tradeq/bad_inputs_catalogue.py")


@pytest.mark.parametrize("case", ["missing file", "unbalanced parentheses", "unknown model"])
def test_bad_input_end_to_end(case, data, tmp_path):
    """As a user runs it: a subprocess, the message on stderr once, exit status 2."""
    what, args, message = next(c for c in CASES if c[0] == case)
    argv = [a.replace("{data}", str(data)) for a in args]
    proc = subprocess.run([sys.executable, "estimate.py", *argv, f"hydra.run.dir={tmp_path / 'run'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        message.replace("{data}", str(data)).join(["error: ", ""])]
    assert result_files(tmp_path / "run") == []


def test_unwritable_run_folder_is_one_line(data, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, out, err = invoke(_file_args(), data, blocker / "run")
    assert status == 2 and err.startswith(f"error: cannot write {blocker / 'run'}"), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _file_args(*extra: str) -> list[str]:
    return ["model=fe", "data=file", "data.path={data}/panel.csv",
            "model.formula=quality ~ Market + I(Market**2) + scale | firm + year", *extra]


# --- warnings: the run goes on and says what it did ------------------------------------------


def _warnings(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("warning:")]


def test_text_read_as_missing_is_counted(data, tmp_path):
    frame = pd.read_csv(data / "panel.csv").astype({"scale": object, "age": object})
    frame.loc[[1, 7, 8], "scale"] = "n/a"
    frame.loc[2, "age"] = "NA"
    frame.to_csv(tmp_path / "na.csv", index=False)
    status, out, err = invoke(["model=fe", "data=file", f"data.path={tmp_path}/na.csv",
                               "model.formula=quality ~ scale + age | firm"], data, tmp_path / "run")
    assert status == 0, err
    assert f"warning: data file '{tmp_path}/na.csv': text read as missing values — scale: 3 ('n/a'); age: 1 ('NA')" \
        in _warnings(out)
    reading = json.loads((tmp_path / "run" / "run.json").read_text())["data"]["reading"]
    assert reading["text_read_as_missing"] == {"scale": {"count": 3, "values": ["n/a"]},
                                               "age": {"count": 1, "values": ["NA"]}}


def test_short_rows_are_counted(data, tmp_path):
    lines = (data / "panel.csv").read_text().splitlines()
    for i in (5, 9):
        lines[i] = ",".join(lines[i].split(",")[:-2])
    (tmp_path / "short.csv").write_text("\n".join(lines) + "\n")
    status, out, err = invoke(["model=fe", "data=file", f"data.path={tmp_path}/short.csv",
                               "model.formula=quality ~ Market + fic | firm"], data, tmp_path / "run")
    assert status == 0, err
    assert (f"warning: data file '{tmp_path}/short.csv': 2 row(s) have fewer fields than the header (first: "
            "line 6); their missing fields are read as missing values") in _warnings(out)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["data"]["reading"]["rows_with_missing_fields"] == 2
    assert record["sample"]["n_missing_dropped"] == 2


def test_utest_interval_outside_the_data_is_warned_and_recorded(data, tmp_path):
    status, out, err = invoke(_file_args("model.utest=Market", "model.utest_interval=[10,20]"), data, tmp_path)
    assert status == 0, err
    assert any(w.startswith("warning: model.utest_interval=[10, 20] reaches outside the data (Market from 3.4")
               for w in _warnings(out))
    u = json.loads((tmp_path / "utest.json").read_text())
    assert u["interval_outside_data"] is True and u["interval"] == [10.0, 20.0]
    assert 3.4 <= u["data_range"][0] < u["data_range"][1] <= 4.7


def test_utest_interval_inside_the_data_is_not_warned(data, tmp_path):
    status, out, _ = invoke(_file_args("model.utest=Market", "model.utest_interval=[3.6,4.5]"), data, tmp_path)
    assert status == 0 and not any("utest_interval" in w for w in _warnings(out))
    assert json.loads((tmp_path / "utest.json").read_text())["interval_outside_data"] is False


def test_few_clusters_are_warned_unless_the_tools_are_used(data, tmp_path):
    status, out, _ = invoke(_file_args("model.cluster=region"), data, tmp_path / "a")
    assert status == 0
    assert ("warning: 3 clusters of 'region' (fewer than 30): clustered t statistics over-reject; use "
            "model.vcov=crv3 or the wild cluster bootstrap model.wild=true") in _warnings(out)
    status, out, _ = invoke(_file_args("model.cluster=firm"), data, tmp_path / "b")
    assert status == 0 and not any("clusters of" in w for w in _warnings(out))
    status, out, _ = invoke(_file_args("model.cluster=region", "model.vcov=crv3"), data, tmp_path / "c")
    assert status == 0 and not any("clusters of 'region'" in w for w in _warnings(out))


def test_collinear_regressor_is_one_warning_line(data, tmp_path):
    status, out, err = invoke(["model=fe", "data=file", "data.path={data}/constant.csv",
                               "model.formula=quality ~ Market + k | firm + year"], data, tmp_path)
    assert status == 0, err
    assert "warning: dropped collinear regressor(s): ['k']" in _warnings(out)
    assert "UserWarning" not in out + err


def test_labelled_dta_dummy_is_its_stored_numbers(data, tmp_path):
    """``reg quality Market soe`` in Stata uses soe's stored 0/1: so does the formula (against pyfixest)."""
    import pyfixest as pf

    status, out, err = invoke(["model=fe", "data=file", "data.path={data}/labelled.dta",
                               "model.formula=quality ~ Market + soe | year"], data, tmp_path)
    assert status == 0, err
    est = pd.read_csv(tmp_path / "estimates.csv").set_index("term")
    frame = pd.read_stata(data / "labelled.dta", convert_categoricals=False)
    ref = pf.feols("quality ~ Market + soe | year", frame, vcov={"CRV1": "year"})
    np.testing.assert_allclose(est.loc[["Market", "soe"], "estimate"], ref.coef().to_numpy(), rtol=1e-8)
    assert "used as its stored numbers (private = 0, state = 1)" in (tmp_path / "estimate.log").read_text()


def test_labelled_variable_without_one_number_per_label_asks_for_c(data, tmp_path):
    from tradeq.panel import load_file_panel, validate_panel

    panel = load_file_panel(data / "labelled.dta", {}, "firm", "year")
    assert panel.value_codes == {"soe": {"private": 0.0, "state": 1.0}}
    ambiguous = dataclasses.replace(panel, value_codes={})
    with pytest.raises(DataError, match=r"column 'soe' is a labelled \(categorical\) variable with values "
                                        r"\['private', 'state'\]; write C\(soe\) in model.formula"):
        validate_panel(ambiguous, numeric=["quality", "soe"])
