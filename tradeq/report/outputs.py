"""Table rows shared by the analyses' reports."""

from __future__ import annotations

from tradeq.models.utest import UTestResult


def utest_rows(result: UTestResult | dict | None, digits: int = 3) -> dict[str, str]:
    """Extra table rows summarising the inverted-U test for one column (the result, or its
    ``utest.json`` dict: a sweep's combined table reads the jobs' files)."""
    if result is None:
        return {}
    d = result if isinstance(result, dict) else result.to_dict()
    tp = d["turning_point"]
    tp_se = d["turning_point_se"]
    fmt = lambda v: v if isinstance(v, str) else "" if v is None else f"{v:.{digits}f}"  # noqa: E731  (None: NaN)
    return {
        "Turning point": f"{fmt(tp)} ({fmt(tp_se)})",
        "Lind–Mehlum t (p)": f"{fmt(d['t'])} ({d['p']:.3f})" if isinstance(d["p"], float) else fmt(d["t"]),
        "U-test verdict": d["verdict"],
    }
