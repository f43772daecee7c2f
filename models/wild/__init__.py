"""Few-cluster inference: the wild cluster bootstrap ("fast and wild" algebra in JAX),
confidence sets by test inversion, the Lind–Mehlum test by wild bootstrap, and the design
helper that projects out fixed effects nested in the clusters.

Entry points (arrays in, frozen records out): :func:`wild_test`, :func:`wild_ci`,
:func:`wild_utest`, :func:`cluster_design`; the jackknife variances and cluster diagnostics
are :func:`tradeq.models.crv3.crv3_vcov` and
:func:`tradeq.models.cluster_influence.cluster_influence`.
"""

from .bootstrap import WildDistribution, WildInterval, WildResult, wild_ci, wild_distribution, wild_test
from .design import ClusterDesign, cluster_design
from .utest import WildUTestResult, wild_utest

__all__ = [
    "ClusterDesign",
    "WildDistribution",
    "WildInterval",
    "WildResult",
    "WildUTestResult",
    "cluster_design",
    "wild_ci",
    "wild_distribution",
    "wild_test",
    "wild_utest",
]
