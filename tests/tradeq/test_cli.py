import pytest

from tradeq.cli import quote_formula_overrides


@pytest.mark.parametrize("arg,expected", [
    ("model.formula=y ~ x1 + I(x1**2) + x2 | f1 + f2", "model.formula='y ~ x1 + I(x1**2) + x2 | f1 + f2'"),
    ("model.formula='y ~ x'", "model.formula='y ~ x'"),
    ('model.formula="y ~ x"', 'model.formula="y ~ x"'),
    ("+model.formula=y ~ C(g, Treatment('a'))", "+model.formula='y ~ C(g, Treatment(\\'a\\'))'"),
    ("model.vcov=hc1", "model.vcov=hc1"),
    ("model=fe", "model=fe"),
])
def test_quote_formula_overrides(arg, expected):
    assert quote_formula_overrides(["estimate.py", arg]) == ["estimate.py", expected]


def test_a_failed_convergence_check_asked_to_fail_is_one_error_line(capsys, monkeypatch):
    """inference.fail_on_warning=true raises ConvergenceError (a RuntimeError): one line, exit 2."""
    from tradeq import cli
    from tradeq.models.bayes.diagnostics import ConvergenceError

    monkeypatch.setattr("sys.argv", ["estimate.py"])

    def main():
        raise ConvergenceError("Bayesian fit failed convergence checks: R-hat above 1.01 for b1 (1.200)")

    assert cli.run(main) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: Bayesian fit failed convergence checks: R-hat above 1.01 for b1 (1.200) "
                   "(inference.fail_on_warning=true)"]


def test_other_runtime_errors_keep_their_traceback(monkeypatch):
    from tradeq import cli

    monkeypatch.setattr("sys.argv", ["estimate.py"])

    def main():
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        cli.run(main)
