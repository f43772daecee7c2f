"""The published-table audit: t, p and the stars a printed coefficient and SE allow (with rounding and under
each reference distribution) against scipy by hand; Sobel's z from a, b and their SEs; the inverted-U
verdict as a function of the unpublished correlation; the transcriptions' checks; and the two audit
experiments' verdicts on the papers' own numbers."""

from __future__ import annotations

import csv
import math
import re

import numpy as np
import pandas as pd
import pytest
from cluster_runs import ROOT, read_json, run
from scipy import stats

from tradeq.analyses.audit import _t_ranges, audit_cells, n_stars
from tradeq.errors import DataError
from tradeq.models.utest import utest
from tradeq.published import read_cells, read_claims

PAPERS = ROOT.parent.parent / "shared" / "papers"


def cells(rows):
    cols = ["table", "model", "sample", "outcome", "term", "kind", "coef", "se", "t", "stars", "n_obs",
            "n_clusters", "n_params"]
    frame = pd.DataFrame(rows, columns=cols).astype(str).replace("None", "")
    frame.insert(0, "paper", "p")
    return frame


def test_t_range_covers_the_rounding_of_both_numbers():
    c = cells([["T", "M", "All", "y", "x", "coef", "0.585", "0.249", "", "***", "231", "11", "37"],
               ["T", "M", "All", "y", "z", "coef", "-0.0195", "", "-1.96", "*", "16821", "", "8"]])
    t, se, lo, hi = _t_ranges(c, rounding=True)
    assert t[0] == pytest.approx(0.585 / 0.249) and lo[0] == pytest.approx(0.5845 / 0.2495)
    assert hi[0] == pytest.approx(0.5855 / 0.2485) and se[1] == pytest.approx(0.0195 / 1.96)
    assert (lo[1], hi[1]) == pytest.approx((1.955, 1.965))
    _, _, lo0, hi0 = _t_ranges(c, rounding=False)
    assert lo0[0] == hi0[0] == pytest.approx(t[0])


def test_p_values_stars_and_verdicts_by_hand():
    c = cells([["T", "M4", "Central", "TU", "IC", "coef", "0.023", "0.215", "", "*", "168", "8", "34"],
               ["T", "M15", "East", "TU", "IC2", "coef", "0.585", "0.249", "", "***", "231", "11", "37"],
               ["T", "M5", "East", "TU", "GOV", "coef", "-1.582", "0.570", "", "***", "231", "11", "37"]])
    a = audit_cells(c).set_index("model")
    t = 0.023 / 0.215
    assert a.loc["M4", "p_cluster"] == pytest.approx(2 * stats.t.sf(t, 7), rel=1e-12)
    assert a.loc["M4", "p_residual"] == pytest.approx(2 * stats.t.sf(t, 168 - 34), rel=1e-12)
    assert a.loc["M4", "p_normal"] == pytest.approx(2 * stats.norm.sf(t), rel=1e-12)
    assert a.loc["M4", "verdict"] == "more stars than its t allows" and a.loc["M4", "stars_allowed_any_rule"] == "none"
    # 0.585*** with se 0.249: |t| <= 2.356, p >= 0.018 even against the normal: at most **
    assert a.loc["M15", "verdict"] == "more stars than its t allows" and a.loc["M15", "stars_allowed_any_rule"] == "**"
    # -1.582*** (0.570): t = 2.78 gives ** with t(10) but *** with the normal
    assert a.loc["M5", "verdict"] == "consistent only under another reference distribution"
    assert list(n_stars([0.2, 0.09, 0.04, 0.009])) == [0, 1, 2, 3]


def test_sobel_and_claims_on_the_first_clusters_paper(tmp_path):
    _, md, _ = run(tmp_path, "experiment=audit_clusters")
    s = read_json(tmp_path, "audit.json")
    sobel = {r["model"]: r for r in s["sobel_cells"] if r["paper"] == "clusters_quality"}
    a, sa, b, sb = -0.043, 0.016, -1.690, 0.247
    z = a * b / math.sqrt(b * b * sa * sa + a * a * sb * sb)
    assert sobel["Model 7"]["sobel_z"] == pytest.approx(z, rel=1e-12) and z == pytest.approx(2.50, abs=0.005)
    assert not any(r["is_z"] or r["is_p"] for r in sobel.values())  # none of the cells is a Sobel z or its p
    verdict = {(c["paper"], c["claim_id"]): c["verdict"] for c in s["claims"]}
    assert verdict[("clusters_quality", "H1")] == "survives"
    assert verdict[("clusters_quality", "Central")] == "fails"  # 0.023 (0.215), p = 0.92
    assert verdict[("clusters_quality", "West>Central")] == "fails"
    assert verdict[("clusters_quality", "FMA")] == "fails" and verdict[("clusters_quality", "KS")] == "survives"
    assert verdict[("clusters_shock", "pre>post")] == "survives"
    assert verdict[("clusters_shock", "IC2:Central")] == "fails"
    audit = pd.read_csv(tmp_path / "audit.csv", keep_default_na=False)
    central = audit[(audit.paper == "clusters_quality") & (audit.table == "Table 3") & (audit.model == "Model 4")
                    & (audit.term == "IC")].iloc[0]
    assert central["verdict"] == "more stars than its t allows" and central["df_rule"] == "cluster"
    assert "| clusters_quality | Table 3 | Model 4 | Central | IC | 0.023* (0.215) |" in md
    tex = (tmp_path / "table.tex").read_text()
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") >= 3
    for line in tex.splitlines():  # every row has its columns; no unescaped specials
        if line.endswith(r"\\") and "&" in line:
            assert not re.search(r"(?<!\\)[_#%]", line), line


def test_the_inverted_u_depends_on_the_unpublished_correlation(tmp_path):
    run(tmp_path, "experiment=audit_market")
    s = read_json(tmp_path, "audit.json")
    claim = next(c for c in s["claims"] if c["claim_id"] == "inverted U")
    assert claim["verdict"] == "undetermined: needs cov(b1, b2)"
    rho = float(re.search(r"corr\(b̂1, b̂2\) ≤ (-?\d\.\d+)", claim["test"]).group(1))
    s1, s2 = 0.0534 / 7.45, 0.0066 / 7.37

    def rejects(r):
        V = np.array([[s1 * s1, r * s1 * s2], [r * s1 * s2, s2 * s2]])
        return utest([0.0534, -0.0066], V, 3.165, 4.732, df=594596 - 8).reject

    # the grid step is 0.0005: the boundary lies within one step above the printed rho*
    assert rejects(rho - 0.0005) and not rejects(rho + 0.001) and rejects(-0.99)
    verdict = {c["claim_id"]: c["verdict"] for c in s["claims"]}
    assert verdict["L.Market"] == "fails" and verdict["human capital"] == "survives" and verdict["R&D"] == "fails"
    assert verdict["human capital:a"] == "fails"  # the text says negative; the table prints +0.0303 (t 130)
    assert s["verdicts"]["more stars than its t allows"] == 2  # L.Market 0.0004* (0.56), 0.0008* (1.15)


def test_cluster_df_needs_the_clusters(tmp_path):
    with pytest.raises(DataError, match="model.df=cluster: some transcribed cells have no n_clusters"):
        run(tmp_path, "experiment=audit_market", "model.df=cluster")


@pytest.mark.parametrize("edit,message", [
    ({"stars": "****"}, "stars '****' is not one of"),
    ({"se": "", "t": ""}, "needs exactly one of se or t"),
    ({"coef": "1,5"}, "coef '1,5' is not a printed number"),
    ({"kind": "beta"}, "kind 'beta' is not one of"),
    ({"n_obs": ""}, "n_obs is missing"),
])
def test_a_malformed_transcription_names_file_row_and_column(tmp_path, edit, message):
    row = {"table": "T1", "model": "M", "sample": "All", "outcome": "y", "term": "x", "kind": "coef", "coef": "1.5",
           "se": "0.5", "t": "", "stars": "**", "n_obs": "630", "n_clusters": "30", "n_params": "10"}
    path = tmp_path / "mine.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        w.writeheader()
        w.writerow({**row, **edit})
    with pytest.raises(DataError) as err:
        read_cells(str(path))
    assert message in str(err.value) and "row 2 (T1, M, x)" in str(err.value)


def test_claims_must_cite_transcribed_cells(tmp_path):
    pd.DataFrame([{"table": "T1", "model": "M", "sample": "All", "outcome": "y", "term": "x", "kind": "coef",
                   "coef": "1.5", "se": "0.5", "t": "", "stars": "**", "n_obs": "630", "n_clusters": "30",
                   "n_params": "10"}]).to_csv(tmp_path / "mine.csv", index=False)
    pd.DataFrame([{"claim_id": "c", "kind": "significant", "cells": "T1/M/z", "level": "0.05", "direction": "+",
                   "range": "", "where": "", "claim": "x"}]).to_csv(tmp_path / "mine_claims.csv", index=False)
    with pytest.raises(DataError, match="cell 'T1/M/z' .* is not in the transcription"):
        read_claims(str(tmp_path / "mine.csv"), read_cells(str(tmp_path / "mine.csv")))


@pytest.mark.skipif(not PAPERS.is_dir(), reason="the source papers are not beside this checkout")
def test_every_cell_of_the_first_clusters_paper_is_in_its_text():
    text = re.sub(r"\s+", " ", (PAPERS / "industrial_clusters_trade_quality.txt").read_text())
    for _, r in read_cells("clusters_quality").iterrows():
        printed = f"{r['coef']} ({r['se']})" if r["kind"] == "sobel" else f"{r['coef']}{r['stars']} ({r['se']})"
        assert re.search(re.escape(printed).replace(r"\ ", r"\s*"), text), printed
