"""The inverted-U test's text and table rows when the test is undefined (NaN t and p)."""

import numpy as np

from tradeq.models.utest import utest
from tradeq.pipeline import CoreRange, describe_utest
from tradeq.report.outputs import utest_rows


def test_undefined_test_is_reported_not_a_crash():
    # Non-PSD covariance: the high-end slope has variance −.17 (tests/models/test_utest.py).
    r = utest(np.array([4.0, -1.0]), np.array([[0.04, -0.05], [-0.05, 0.01]]), 0.0, 3.5, df=12)
    text = describe_utest(r, CoreRange(0.0, 3.5, "test"))
    assert "overall t = nan, p = nan → undefined: the variance of the end slopes is not positive" in text
    assert "Fieller interval [nan, nan] (undefined)" in text
    rows = utest_rows(r)
    assert rows["U-test verdict"].startswith("undefined") and rows["Lind–Mehlum t (p)"] == ""


def test_defined_test_rows():
    r = utest(np.array([4.0, -1.0]), np.array([[0.25, -0.04], [-0.04, 0.01]]), 1.0, 3.5, df=40)
    rows = utest_rows(r)
    assert rows["Turning point"] == "2.000 (0.150)" and rows["U-test verdict"] == "inverted U"
    assert rows["Lind–Mehlum t (p)"] == f"{r.t:.3f} ({r.p:.3f})"


def test_console_header_names_the_shape():
    import numpy as np

    from tradeq.models.utest import utest
    from tradeq.pipeline import CoreRange, describe_utest

    rng = CoreRange(0.0, 10.0, "model.utest_interval")
    V = np.diag([1e-4, 1e-6])
    u_shape = describe_utest(utest(np.array([-1.0, 0.1]), V, 0.0, 10.0, df=500), rng)
    hump = describe_utest(utest(np.array([1.0, -0.1]), V, 0.0, 10.0, df=500), rng)
    assert u_shape.startswith("U test (Lind–Mehlum) on [0, 10]")
    assert hump.startswith("Inverted-U test (Lind–Mehlum) on [0, 10]")
