"""Rows of the Bayesian Student-t likelihood under firm and year effects (audit item 3).

The study is :func:`tradeq.montecarlo.student_t.student_t_coverage`: balanced panels of 60 firms
× 4 years (the fixed effects take a quarter of the degrees of freedom), Student-t(ν = 5) errors,
each data set's parameters drawn from the prior the fit uses (the calibration check: a
correctly computed posterior covers with 95% on average), one NUTS chain per data set. The fits'
model samples the fixed effects explicitly; the profile form (the demeaned rows alone, the
likelihood before the fix) is the failure region row, on the same data sets.
"""

from __future__ import annotations

from .record import Rate, ValidationRow

ESTIMATORS = {
    "explicit": ("Bayesian inverted U, Student-t errors, fixed effects sampled explicitly", "valid"),
    "profile": ("Bayesian inverted U, Student-t on the demeaned rows (profile likelihood)", "failure"),
}
ASSUMPTION = "60 firms x 4 years, firm + year FE, t(5) errors, parameters drawn from the prior"


def student_t_rows(reps: int, seed: int) -> tuple[ValidationRow, ...]:
    """One row per likelihood form: coverage of sigma's 95% interval (b1's and b2's in the note)."""
    from tradeq.montecarlo.student_t import student_t_coverage

    rows = []
    for form, (estimator, region) in ESTIMATORS.items():
        r = student_t_coverage(reps, seed, form=form, chunk=min(int(reps), 40))

        def cov(p, r=r):
            return Rate(r[p]["coverage"], r[p]["mc_se"], int(reps))

        note = (f"coverage of sigma; b1 {cov('b1').text()}, b2 {cov('b2').text()}; "
                f"{r['draws']} draws after {r['tune']} warm-up, divergent share {r['divergent_share']:.3f}")
        rows.append(ValidationRow(group="bayes_student_t", estimator=estimator, assumption=ASSUMPTION,
                                  region=region, reps=int(reps), coverage=cov("sigma"), note=note))
    return tuple(rows)
