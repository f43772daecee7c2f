"""Bad input gives one clear DataError naming the file and the problem."""

import numpy as np
import pandas as pd
import pytest

from tradeq.panel import DataError, Panel, load_file_panel, read_table, validate_panel


def frame(n_firms=4, n_years=3):
    f = np.repeat(np.arange(n_firms), n_years)
    t = np.tile(np.arange(2004, 2004 + n_years), n_firms)
    return pd.DataFrame({"firm": f, "year": t, "y": np.arange(f.size, dtype=float), "x": np.ones(f.size)})


def test_valid_panel_passes_and_the_checks_are_live():
    """A panel with a boolean regressor, string FE labels and some missing values passes untouched;
    the same panel with one duplicated (firm, year) row does not."""
    df = frame().assign(flag=lambda d: d["x"] > 0, firm=lambda d: "f" + d["firm"].astype(str))
    df.loc[df.index[:3], "x"] = float("nan")
    before = df.copy()
    assert validate_panel(Panel(df, "test.csv"), numeric=["y", "x", "flag"], categorical=["firm"]) is None
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(DataError, match="share an"):
        validate_panel(Panel(pd.concat([df, df.iloc[:1]]), "test.csv"), numeric=["y", "x"], categorical=["firm"])


def test_missing_column_named_with_file():
    with pytest.raises(DataError, match=r"test.csv.*missing column\(s\) \['z'\]"):
        validate_panel(Panel(frame(), "test.csv"), numeric=["y", "z"])


def test_non_numeric_column():
    df = frame().assign(x="a")
    with pytest.raises(DataError, match=r"\['x'\] must be numeric"):
        validate_panel(Panel(df, "f.csv"), numeric=["y", "x"])


def test_duplicate_id_time_rows():
    df = pd.concat([frame(), frame().iloc[[0]]])
    with pytest.raises(DataError, match=r"2 rows share an \(firm, year\) pair"):
        validate_panel(Panel(df, "f.csv"), numeric=["y"])


def test_empty_sample():
    with pytest.raises(DataError, match="empty"):
        validate_panel(Panel(frame().iloc[:0], "f.csv"), numeric=["y"])


def test_all_rows_missing():
    df = frame().assign(x=np.nan)
    with pytest.raises(DataError, match="empty after dropping rows with missing values"):
        validate_panel(Panel(df, "f.csv"), numeric=["y", "x"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".dta"])
def test_file_round_trip_with_rename(tmp_path, suffix):
    df = frame().rename(columns={"x": "mkt"})
    path = tmp_path / f"panel{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".parquet":
        df.to_parquet(path)
    else:
        df.to_stata(path, write_index=False, variable_labels={"mkt": "Market integration index"})
    panel = load_file_panel(path, {"mkt": "x"}, id="firm", time="year")
    assert list(panel.frame.columns) == ["firm", "year", "y", "x"]
    np.testing.assert_array_equal(panel.frame["y"].to_numpy(), df["y"].to_numpy())
    if suffix == ".dta":
        assert panel.labels == {"x": "Market integration index"}


def test_stata_value_labels_become_categories(tmp_path):
    df = frame().assign(own=pd.Categorical(["SOE", "private"] * 6))
    path = tmp_path / "p.dta"
    df.to_stata(path, write_index=False)
    out, _, _ = read_table(path)
    assert isinstance(out["own"].dtype, pd.CategoricalDtype)
    assert set(out["own"].cat.categories) == {"SOE", "private"}


def test_rename_of_unknown_column(tmp_path):
    path = tmp_path / "p.csv"
    frame().to_csv(path, index=False)
    with pytest.raises(DataError, match=r"p.csv.*data.rename names column\(s\) \['nope'\]"):
        load_file_panel(path, {"nope": "x"}, "firm", "year")


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "none.csv")
    bad = tmp_path / "p.xlsx"
    bad.write_text("x")
    with pytest.raises(DataError, match="unsupported type"):
        read_table(bad)


def test_fingerprint_changes_with_content():
    a = Panel(frame(), "a").fingerprint()
    b = Panel(frame().assign(y=lambda d: d.y + 1), "a").fingerprint()
    assert a["rows"] == b["rows"] == 12 and a["sha256"] != b["sha256"]
    assert a == Panel(frame(), "b").fingerprint()
