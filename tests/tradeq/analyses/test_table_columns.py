"""The table extensions the analyses use: values columns (truth, posterior), leading terms,
lag labels and notes."""

import numpy as np

from tradeq.models.fe_result import FEFit
from tradeq.report.tables import TableColumn, term_label, to_latex, to_markdown, values_column


def fit(coef, se, names):
    coef, se = np.asarray(coef, float), np.asarray(se, float)
    return FEFit(coef=coef, vcov=np.diag(se**2), x_names=tuple(names), y_name="quality", vcov_type="cluster",
                 df_t=1e6, n_obs=1000, rss=7.0, tss=10.0, tss_within=8.0, fe_names=("firm", "year"),
                 fe_levels=(10, 3), cluster_names=("firm",), n_clusters=(10,))


def test_truth_and_posterior_columns():
    est = TableColumn(fit([0.05, -0.006], [0.01, 0.001], ["Market", "I(Market ** 2)"]).to_dataset())
    post = values_column({"Market": 0.049}, "Bayes", sd={"Market": 0.011}, extra={"P(inverted U)": "0.990"},
                         attrs={"vcov_type": "posterior", "n_obs": 1000, "fe": "firm,year"})
    truth = values_column({"Market": 0.0534, "I(Market ** 2)": -0.0066}, extra={"Turning point": "4.045"})
    lines = to_markdown([est, post, truth]).splitlines()
    assert "|  | quality | Bayes | Truth |" in lines
    assert "| Market | 0.0500*** | 0.0490 | 0.0534 |" in lines  # no stars without p-values
    assert "|  | (0.0100) | (0.0110) |  |" in lines  # the truth has no parentheses
    assert "| Market² | -0.0060*** |  | -0.0066 |" in lines
    assert "| firm FE | YES | YES |  |" in lines and "| Observations | 1,000 | 1,000 |  |" in lines
    assert "| SE | cluster (firm) | posterior sd |  |" in lines
    assert "| Turning point |  |  | 4.045 |" in lines


def test_lead_terms_lag_labels_and_notes():
    cols = [TableColumn(fit([0.001, 0.01], [0.001, 0.001], [f"L{k}_Market", "scale"]).to_dataset(),
                        lead=("L1_Market", "L2_Market")) for k in (1, 2)]
    md = to_markdown(cols, notes=["Equal curves: F = 1.0"])
    labels = [l.split("|")[1].strip() for l in md.splitlines() if l.startswith("| ") and l.split("|")[1].strip()]
    assert labels[1:4] == ["L.Market", "L2.Market", "scale"]
    assert md.rstrip().endswith("Equal curves: F = 1.0")
    tex = to_latex(cols, notes=["p_F = 0.5 & 5%"])
    assert r"L2.Market" in tex and r"p\_F = 0.5 \& 5\%" in tex
    assert term_label("I(L3_Market ** 2)") == "L3.Market²" and term_label("L1_rdebt", latex=True) == "L.rdebt"
