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
