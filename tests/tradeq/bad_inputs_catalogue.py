"""The catalogue of bad inputs: every input ``estimate.py`` handles, and the one line it answers.

Each case is ``(what, arguments, message)``: the command line after ``estimate.py`` (``{data}``
is the folder :func:`make_data` fills) and the exact ``error:`` line, where ``{data}`` is that
folder again and ``{*}`` stands for text that depends on the machine (its memory).
``tests/tradeq/test_bad_inputs.py`` runs every case; ``docs/errors.md`` is :func:`errors_markdown`
(``python tests/tradeq/bad_inputs_catalogue.py`` rewrites it, a test checks that it is current).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]

FILE = ["model=fe", "data=file", "data.id=firm", "data.time=year"]
FORMULA = "model.formula=quality ~ Market + I(Market**2) + scale | firm + year"
SMALL = ["data.n_firms=300"]


def panel_frame(n_firms: int = 60, n_years: int = 5, seed: int = 0) -> pd.DataFrame:
    """A small balanced firm-year panel with the simulator's columns (numbers from a seeded draw)."""
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(2004, 2004 + n_years), n_firms)
    n = firm.size
    market = rng.uniform(3.4, 4.7, n)
    frame = pd.DataFrame({
        "firm": firm, "year": year,
        "province": np.array(["Fujian", "Zhejiang", "Hubei", "Sichuan"])[firm % 4],
        "region": np.array(["East", "East", "Central", "West"])[firm % 4],
        "soe": (firm % 3 == 0).astype(np.int8),
        "ownership": np.where(firm % 3 == 0, "SOE", "non-SOE"),
        "quality": 0.5 + 0.3 * market - 0.04 * market**2 + rng.normal(0, 0.1, n),
        "Market": market, "scale": rng.normal(10, 1, n), "age": rng.integers(1, 30, n).astype(float),
        "roa": rng.normal(0.05, 0.02, n), "rdebt": rng.uniform(0, 1, n), "fic": rng.uniform(0, 1, n),
    })
    return frame.round(6)


def make_data(folder: Path) -> Path:
    """Write every file the cases read into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    panel = panel_frame()
    panel.to_csv(folder / "panel.csv", index=False)
    panel.to_parquet(folder / "panel.parquet")
    raw = (folder / "panel.parquet").read_bytes()
    (folder / "truncated.parquet").write_bytes(raw[: len(raw) // 2])
    (folder / "empty.csv").write_text("")
    (folder / "header.csv").write_text(",".join(panel.columns) + "\n")
    (folder / "panel.xlsx").write_text("not a table")
    (folder / "a_folder").mkdir(exist_ok=True)
    lines = (folder / "panel.csv").read_text().splitlines()
    lines[3] = lines[3] + ",1,2"
    (folder / "long_row.csv").write_text("\n".join(lines) + "\n")

    def variant(name: str, **changes) -> None:
        frame = panel.copy()
        for column, fill in changes.items():
            frame[column] = fill(frame)
        frame.to_csv(folder / name, index=False)

    variant("strings.csv", scale=lambda f: f["scale"].astype(object).where(f.index != 3, "abc"))
    variant("all_nan.csv", scale=lambda f: np.nan)
    variant("inf_outcome.csv", quality=lambda f: f["quality"].where(f.index != 2, np.inf))
    variant("inf_regressor.csv", scale=lambda f: f["scale"].where(f.index != 2, -np.inf))
    variant("zeros.csv", pos=lambda f: f["age"].where(f.index != 0, 0.0))
    variant("nan_id.csv", firm=lambda f: f["firm"].astype(float).where(f.index != 4, np.nan))
    variant("constant.csv", k=lambda f: 1.0)
    pd.concat([panel, panel.head(2)]).to_csv(folder / "duplicates.csv", index=False)
    panel.drop_duplicates("firm").to_csv(folder / "singletons.csv", index=False)
    labelled = panel[["firm", "year", "quality", "Market", "soe"]].copy()
    labelled["soe"] = pd.Categorical.from_codes(labelled["soe"].astype(int), ["private", "state"])
    labelled.to_stata(folder / "labelled.dta", write_index=False, variable_labels={"quality": "Export quality"})
    return folder


def _file(name: str, formula: str = FORMULA, *extra: str) -> list[str]:
    return [*FILE, f"data.path={{data}}/{name}", formula, *extra]


_COLUMNS = ("['firm', 'year', 'province', 'region', 'soe', 'ownership', 'quality', 'Market', 'scale', 'age', "
            "'roa', 'rdebt', 'fic']")

#: (what, arguments, message). Grouped as docs/errors.md shows them.
CASES: list[tuple[str, list[str], str]] = [
    # --- files -------------------------------------------------------------------------------
    ("missing file", _file("nope.csv"), "data file '{data}/nope.csv' does not exist"),
    ("a directory as the data file", _file("a_folder"),
     "data.path '{data}/a_folder' is a directory; give the data file in it (.csv, .parquet or .dta)"),
    ("unknown extension", _file("panel.xlsx"),
     "data file '{data}/panel.xlsx': unsupported type '.xlsx' (use .csv, .parquet or .dta)"),
    ("truncated parquet", _file("truncated.parquet"),
     "could not read data file '{data}/truncated.parquet': Could not open Parquet input source "
     "'{data}/truncated.parquet': Parquet magic bytes not found in footer. Either the file is corrupted or "
     "this is not a parquet file."),
    ("empty file", _file("empty.csv"), "could not read data file '{data}/empty.csv': No columns to parse from file"),
    ("header-only file", _file("header.csv"), "data '{data}/header.csv': the sample is empty (0 rows)"),
    ("CSV row with too many fields", _file("long_row.csv"),
     "could not read data file '{data}/long_row.csv': Error tokenizing data. C error: Expected 13 fields in "
     "line 4, saw 15"),
    ("data=file without data.path", ["model=fe", "data=file", FORMULA],
     "data.path=null: data=file needs data.path=<your .csv/.parquet/.dta>"),
    # --- columns -----------------------------------------------------------------------------
    ("missing column", _file("panel.csv", "model.formula=quality ~ Market + nosuch | firm"),
     f"data '{{data}}/panel.csv': missing column(s) ['nosuch'] needed by the model; available columns: {_COLUMNS} "
     "(map the file's names with data.rename={file_name: model_name})"),
    ("misspelt column", _file("panel.csv", "model.formula=quality ~ Markt | firm"),
     f"data '{{data}}/panel.csv': missing column(s) ['Markt'] needed by the model; available columns: {_COLUMNS} "
     "(map the file's names with data.rename={file_name: model_name})"),
    ("misspelt panel key", [*_file("panel.csv"), "data.id=frim"],
     f"data '{{data}}/panel.csv': missing column(s) ['frim'] needed by the model; available columns: {_COLUMNS} "
     "(map the file's names with data.rename={file_name: model_name}, or set data.id / data.time to the panel keys)"),
    ("renaming a column the file lacks", [*_file("panel.csv"), "data.rename={mkt: Market}"],
     f"data file '{{data}}/panel.csv': data.rename names column(s) ['mkt'] that the file does not have; "
     f"its columns are {_COLUMNS}"),
    ("renaming onto an existing column", [*_file("panel.csv"), "data.rename={scale: age}"],
     "data file '{data}/panel.csv': data.rename={'scale': 'age'} renames onto column(s) ['age'] that the file "
     "already has; rename those too, or choose other names"),
    ("two columns renamed onto one", [*_file("panel.csv"), "data.rename={scale: x, age: x}"],
     "data.rename={'scale': 'x', 'age': 'x'}: renames two columns onto ['x']"),
    ("text in a numeric column", _file("strings.csv"),
     "data '{data}/strings.csv': column(s) ['scale'] must be numeric but have dtype {'scale': 'str'}"),
    ("an all-missing column", _file("all_nan.csv"),
     "data '{data}/all_nan.csv': the sample is empty after dropping rows with missing values "
     "(missing per column: {'scale': 300})"),
    ("infinite outcome", _file("inf_outcome.csv"),
     "data '{data}/inf_outcome.csv': the outcome 'quality' has infinite values; infinite values cannot be "
     "estimated, drop or recode them"),
    ("infinite regressor", _file("inf_regressor.csv"),
     "data '{data}/inf_regressor.csv': regressor 'scale' has infinite values; infinite values cannot be "
     "estimated, drop or recode them"),
    ("log of zero", _file("zeros.csv", "model.formula=quality ~ np.log(pos) | firm + year"),
     "data '{data}/zeros.csv': regressor 'np.log(pos)' has infinite values (a log of zero or a negative "
     "number?); infinite values cannot be estimated, drop or recode them"),
    # --- panel keys, samples, clusters -------------------------------------------------------
    ("duplicate (id, time) rows", _file("duplicates.csv"),
     "data '{data}/duplicates.csv': 4 rows share an (firm, year) pair with another row, e.g. "
     "[{'firm': 0, 'year': 2004}, {'firm': 0, 'year': 2005}, {'firm': 0, 'year': 2004}]; "
     "a panel needs one row per firm and year"),
    ("missing panel id", _file("nan_id.csv"),
     "data '{data}/nan_id.csv': the panel key 'firm' (data.id) is missing in 1 row(s) (first: data row 5); "
     "every row needs its firm"),
    ("every row a singleton", _file("singletons.csv"),
     "data '{data}/singletons.csv': every one of the 60 rows is a singleton of the fixed effects "
     "['firm', 'year'] (one row per level): nothing is left to estimate from"),
    ("one cluster", _file("constant.csv", FORMULA, "model.cluster=k"),
     "data '{data}/constant.csv': the cluster column 'k' has 1 value in the sample; a clustered variance "
     "needs at least 2 clusters (set model.vcov=hc1, or another model.cluster)"),
    ("a sample filter that keeps nothing", [*_file("panel.csv"), 'model.sample="year > 3000"'],
     "model.sample='year > 3000' selects no rows of data '{data}/panel.csv'"),
    ("an override Hydra cannot read", [*_file("panel.csv"), "model.sample=year > 3000"],
     "cannot read the override 'model.sample=year > 3000': quote a value with spaces or symbols inside the "
     "argument, e.g. 'model.sample=\"year > 3000\"'"),
    ("model.cluster without a column", [*_file("panel.csv"), "model.vcov=twoway"],
     "model.cluster=[]: model.vcov=twoway needs two columns, e.g. model.cluster=[firm,year]"),
    # --- formulas ----------------------------------------------------------------------------
    ("no regressors: y ~", _file("panel.csv", "model.formula=quality ~"),
     "model.formula='quality ~': has no regressors after '~' (write 'y ~ 1' for an intercept only)"),
    ("nothing after |", _file("panel.csv", "model.formula=quality ~ Market |"),
     "model.formula='quality ~ Market |': has nothing after '|': list the fixed effects ('| firm + year') "
     "or drop the '|'"),
    ("no outcome: ~ x", _file("panel.csv", "model.formula=~ Market"),
     "model.formula='~ Market': has no outcome on the left of '~'"),
    ("unbalanced parentheses", _file("panel.csv", "model.formula=quality ~ I(Market**2 | firm"),
     "model.formula='quality ~ I(Market**2 | firm': has 1 unclosed '(' (parentheses do not balance)"),
    ("unknown function", _file("panel.csv", "model.formula=quality ~ foo(Market) | firm"),
     "model.formula='quality ~ foo(Market) | firm': unknown function or column 'foo' (functions: I(), C(), "
     "np.log(), np.exp(), np.sqrt(), ... ; columns by their names)"),
    ("Stata's i.x", _file("panel.csv", "model.formula=quality ~ Market + i.region | firm"),
     "model.formula='quality ~ Market + i.region | firm': 'i.region' is Stata's factor syntax; write "
     "'C(region)' here"),
    ("two '|'", _file("panel.csv", "model.formula=quality ~ Market | firm | year"),
     "model.formula='quality ~ Market | firm | year': has more than one '|'; write 'y ~ x | fe1 + fe2'"),
    ("dangling operator", _file("panel.csv", "model.formula=quality ~ Market + | firm"),
     "model.formula='quality ~ Market + | firm': cannot read 'Market +' (check the operators between the terms)"),
    # --- the U test --------------------------------------------------------------------------
    ("utest variable without its square", _file("panel.csv", "model.formula=quality ~ Market + scale | firm",
                                                "model.utest=Market"),
     "model.utest='Market': the formula has no square of 'Market' for the U test; add I(Market**2) to "
     "model.formula"),
    ("utest variable not a regressor", _file("panel.csv", FORMULA, "model.utest=age"),
     "model.utest='age' is not a regressor of the formula; regressors are ['Market', 'I(Market ** 2)', 'scale']"),
    ("one-value utest interval", ["model=inverted_u", *SMALL, "model.utest_interval=[3,3]"],
     "model.utest_interval=[3.0,3.0]: must be [low, high] with low < high"),
    # --- settings ----------------------------------------------------------------------------
    ("misspelt setting appended with +", ["model=inverted_u", "+model.vcvo=hc1"],
     "model.vcvo is not a setting of model=inverted_u (did you mean model.vcov?); its settings are: name, title, "
     "level, tail, tail_p, formula, vcov, cluster, utest, utest_interval, estimator, wild, wild_weights, "
     "wild_reps, wild_null, wild_ptype, hypothesis, influence, sample"),
    ("a Bayes setting under inference=fe", ["model=inverted_u", "+inference.target_accept=0.99"],
     "inference.target_accept=0.99: is a setting of the Bayesian fit, which inference=fe does not run; "
     "use inference=bayes or inference=both"),
    ("invalid choice", ["model=inverted_u", "model.vcov=robust"],
     "model.vcov: Invalid value 'robust', expected one of [iid, hc1, cluster, twoway, crv3]"),
    ("unknown model", ["model=nope"],
     "Could not find 'model/nope'; available options in 'model': audit, baseline, clusters, clusters_bayes, fe, heterogeneity, "
     "info_spillover, inverted_u, lags, mediation, re"),
    ("model.level=1.5", ["model=inverted_u", "model.level=1.5"], "model.level=1.5: must be in (0, 1)"),
    ("model.tail_p=0.6", ["model=inverted_u", "model.tail_p=0.6"], "model.tail_p=0.6: must be in (0, 0.5)"),
    ("data.n_firms=0", ["model=inverted_u", "data.n_firms=0"], "data.n_firms=0: must be ≥ 2"),
    ("data.n_firms=-5", ["model=inverted_u", "data.n_firms=-5"], "data.n_firms=-5: must be ≥ 2"),
    ("data.n_firms beyond memory", ["model=inverted_u", "data.n_firms=1000000000"],
     "data.n_firms=1000000000: 1,000,000,000 firms × 10 years need about 11,175.9 GiB of memory; "
     "this machine has {*} GiB"),
    ("data.n_years=1", ["model=inverted_u", "data.n_years=1"], "data.n_years=1: must be in [2, 1000]"),
    ("data.n_obs=0", ["model=inverted_u", "data.n_obs=0"], "data.n_obs=0: must be ≥ 1"),
    ("unknown simulator error", ["model=inverted_u", "data.dgp.error=garch"],
     "data.dgp: error must be one of ('iid', 'heteroskedastic', 'ar1', 'province_year'), got 'garch'"),
    ("inference.draws=0", ["model=inverted_u", "inference=bayes", "inference.draws=0"],
     "inference.draws=0: must be ≥ 1"),
    ("inference.chains=-1", ["model=inverted_u", "inference=bayes", "inference.chains=-1"],
     "inference.chains=-1: must be in [1, 64]"),
    ("inference.tune=-1", ["model=inverted_u", "inference=bayes", "inference.tune=-1"],
     "inference.tune=-1: must be ≥ 0"),
    ("model.n_boot=0", ["model=mediation", "model.n_boot=0"], "model.n_boot=0: must be ≥ 2"),
    ("mediator = treatment", ["model=mediation", "model.mediator=Market"],
     "model.mediator=Market is the same column as model.treatment=Market; the mediator must be a different variable"),
    ("output.digits=40", ["model=inverted_u", "output.digits=40"], "output.digits=40: must be in [0, 12]"),
    ("split by a continuous column", ["model=heterogeneity", "data=file", "data.path={data}/panel.csv",
                                      "model.split_by=scale"],
     "data '{data}/panel.csv': model.split_by='scale' is a numeric column with 300 distinct values; cut it into "
     "groups with model.split_cuts=[...] (e.g. its median, model.split_cuts=[{*}])"),
    ("split levels not in the data", ["model=heterogeneity", "data=file", "data.path={data}/panel.csv",
                                      "model.split_levels=[nosuch]"],
     "data '{data}/panel.csv': model.split_levels ['nosuch'] do not occur in column 'ownership'; its values are "
     "['SOE', 'non-SOE']"),
    ("missing launcher plugin", ["-m", "hydra/launcher=ray", "model=inverted_u"],
     "hydra/launcher=ray needs its plugin, which is not installed: pip install hydra-ray-launcher"),
]


def message_pattern(message: str, data: Path) -> re.Pattern:
    """The regular expression of one catalogued message for the data folder ``data``."""
    parts = [re.escape(p.replace("{data}", str(data))) for p in message.split("{*}")]
    return re.compile("^error: " + ".+?".join(parts) + "$")


def errors_markdown() -> str:
    """``docs/errors.md``: every catalogued input and its message."""
    lines = [
        "# Every handled bad input and its message",
        "",
        "Each row is a case of `tests/tradeq/test_bad_inputs.py`, run on every test run: the command",
        "(after `python estimate.py`), and the one line it prints on stderr — exit status 2, no",
        "traceback, no result files. `{data}` is the folder of the test's files; `{*}` depends on the",
        "machine. This page is generated from the catalogue (`python tests/tradeq/bad_inputs_catalogue.py`);",
        "a test fails when the two differ.",
        "",
        "Warnings (the run goes on, the line starts `warning:` and goes to `estimate.log` too): text such",
        "as `n/a` read as missing (counted per column, in `run.json` under `data.reading`); CSV rows with",
        "fewer fields than the header (counted, first line named); `model.utest_interval` outside the data",
        "(also `interval_outside_data` in `utest.json`); fewer than 30 clusters without `model.vcov=crv3`",
        "or `model.wild=true`; collinear regressors dropped; `output.labels=true` on data without labels.",
        "",
        "| input | command | message |",
        "|---|---|---|",
    ]
    for what, args, message in CASES:
        command = " ".join(a if " " not in a else f'"{a}"' for a in args).replace("|", "\\|")
        lines.append(f"| {what} | `{command}` | `error: {message.replace('|', chr(92) + '|')}` |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (ROOT / "docs" / "errors.md").write_text(errors_markdown(), encoding="utf-8")
    sys.exit(0)
