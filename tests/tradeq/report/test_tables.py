"""Paper-layout tables: stars come from the p-values, rows in the papers' order."""

import numpy as np
import pytest

from tradeq.models.fe_result import FEFit
from tradeq.report.tables import TableColumn, stars, term_label, to_latex, to_markdown


def make_fit(coef, se, names, fe=("firm", "year"), vcov_type="cluster"):
    coef, se = np.asarray(coef, float), np.asarray(se, float)
    return FEFit(
        coef=coef, vcov=np.diag(se**2), x_names=tuple(names), y_name="quality", vcov_type=vcov_type,
        df_t=1e6, n_obs=594596, rss=74.0, tss=100.0, tss_within=80.0, fe_names=fe, fe_levels=(10, 3),
        cluster_names=("firm",), n_clusters=(10,),
    )


@pytest.mark.parametrize("p,mark", [(0.0099, "***"), (0.01, "**"), (0.049, "**"), (0.05, "*"), (0.0999, "*"), (0.1, ""), (0.5, "")])
def test_stars_thresholds(p, mark):
    assert stars(p) == mark


def test_term_labels():
    assert term_label("I(Market ** 2)") == "Market²"
    assert term_label("I(Market**2)") == "Market²"
    assert term_label("I(Market ** 2)", latex=True) == "Market$^2$"
    assert term_label("Intercept") == "Constant"


def test_markdown_layout_and_stars_from_p_values():
    # t = 5 → p < 0.01 → ***; t = 0.01/0.006 = 1.667 → two-sided normal p = 0.0956 → *; t = 0.5 → none
    fit = make_fit([0.05, 0.01, 0.002], [0.01, 0.006, 0.004], ["Market", "I(Market ** 2)", "scale"])
    md = to_markdown([TableColumn(fit.to_dataset(), extra={"Turning point": "4.05 (0.10)"})])
    lines = md.splitlines()
    assert lines[0] == "| VARIABLES | (1) |"
    assert "| Market | 0.0500*** |" in lines
    assert "|  | (0.0100) |" in lines
    assert "| Market² | 0.0100* |" in lines
    assert "| scale | 0.0020 |" in lines
    assert "| firm FE | YES |" in lines and "| year FE | YES |" in lines
    assert "| Observations | 594,596 |" in lines
    assert "| R² | 0.260 |" in lines and "| Within R² | 0.075 |" in lines
    assert "| Turning point | 4.05 (0.10) |" in lines
    assert lines.index("| Market | 0.0500*** |") < lines.index("| scale | 0.0020 |") < lines.index("| firm FE | YES |")


def test_t_statistics_in_parentheses():
    fit = make_fit([0.05], [0.01], ["Market"])
    assert "|  | (5.00) |" in to_markdown([TableColumn(fit.to_dataset())], paren="t").splitlines()


def test_side_by_side_columns_and_missing_terms():
    a = make_fit([0.05], [0.01], ["Market"], fe=("firm",))
    b = make_fit([0.05, 0.3], [0.01, 0.1], ["Market", "Intercept"], fe=(), vcov_type="hc1")
    lines = to_markdown([TableColumn(a.to_dataset()), TableColumn(b.to_dataset())]).splitlines()
    assert lines[0] == "| VARIABLES | (1) | (2) |"
    assert "| Constant |  | 0.3000*** |" in lines
    assert "| firm FE | YES | NO |" in lines
    assert "| SE | cluster (firm) | HC1 |" in lines
    # the constant comes last among the coefficients, after every other term and before the FE rows
    labels = [ln.split("|")[1].strip() for ln in lines if ln.startswith("| ")]
    assert labels.index("Constant") == labels.index("Market") + 2 < labels.index("firm FE")


def test_latex_compiles_structure():
    fit = make_fit([0.05, -0.006], [0.01, 0.001], ["Market", "I(Market ** 2)"])
    tex = to_latex([TableColumn(fit.to_dataset())], caption="Table 4")
    assert tex.count(r"\begin{tabular}") == 1 and tex.count(r"\end{tabular}") == 1
    assert r"Market$^2$ & -0.0060$^{***}$ \\" in tex
    assert r"\caption{Table 4}" in tex
    # every body row has the same number of cells
    rows = [l for l in tex.splitlines() if l.endswith(r"\\") and "multicolumn" not in l]
    assert {l.count("&") for l in rows} == {1}


def test_tiny_coefficients_get_enough_digits():
    from tradeq.report.tables import row_digits

    assert row_digits([0.0534, -0.0066], 4) == 4
    assert row_digits([2.3e-6, 1e-7], 4) == 7
    assert row_digits([3e-12], 4) == 8  # capped
    assert row_digits([float("nan"), 0.0], 4) == 4
