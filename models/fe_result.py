"""The result of a fixed-effects fit, and its xarray form."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .tinference import TInference


@dataclass(frozen=True)
class FEFit(TInference):
    """Coefficients and their covariance from :func:`tradeq.models.fixed_effects.fit_fe`.

    Shapes: ``coef`` (k,), ``vcov`` (k, k), ``x_names`` k names — k counts the
    regressors kept after collinear ones were dropped.

    Inference uses a t distribution with ``df_t`` degrees of freedom (N − K for iid and
    HC1; G − 1 for clustered variances, the smaller G for two-way, as pyfixest does).

    ``extras`` from ``fit_fe``: ``df_k`` (the K of the small-sample factor), ``within_method``
    (``"none"``, ``"demean"``, ``"fwl"`` or ``"map"``), ``fe_nested`` (per FE dimension,
    nested in a cluster dimension), ``vcov_min_eigenvalue`` (smallest eigenvalue of the
    variance before any fix) and ``vcov_psd_fixed`` (whether fixest's eigenvalue fix was
    applied, :func:`tradeq.models.vcov.eigen_fix`).
    """

    coef: np.ndarray
    vcov: np.ndarray
    x_names: tuple[str, ...]
    y_name: str
    vcov_type: str  # "iid", "hc1", "cluster", "twoway"
    df_t: float
    n_obs: int
    rss: float
    tss: float  # total sum of squares of y around its mean (after dropping rows)
    tss_within: float  # sum of squares of the FE-demeaned y
    fe_names: tuple[str, ...] = ()
    fe_levels: tuple[int, ...] = ()
    cluster_names: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    n_singletons: int = 0
    n_missing: int = 0
    dropped_collinear: tuple[str, ...] = ()
    iterations: int = 0  # alternating-projection sweeps (0 when the solve was exact)
    converged: bool = True
    method: str = "fe"
    extras: dict = field(default_factory=dict)

    @property
    def r2(self) -> float:
        """Overall R² = 1 − RSS / TSS (FEs count as explained)."""
        return 1.0 - self.rss / self.tss

    @property
    def r2_within(self) -> float:
        """Within R² = 1 − RSS / TSS of the FE-demeaned outcome (equal to R² without FEs)."""
        return 1.0 - self.rss / self.tss_within

    def index(self, name: str) -> int:
        try:
            return self.x_names.index(name)
        except ValueError:
            raise KeyError(f"term {name!r} is not in the fit; terms are {list(self.x_names)}") from None

    def to_dataset(self, level: float = 0.95) -> xr.Dataset:
        """Estimates as an xarray Dataset with dims ``term`` (and ``term_`` for the covariance)."""
        ci = self.conf_int(level)
        terms = list(self.x_names)
        ds = xr.Dataset(
            {
                "estimate": ("term", self.coef),
                "std_error": ("term", self.se),
                "statistic": ("term", self.tstat),
                "p_value": ("term", self.pvalue),
                "conf_low": ("term", ci[:, 0]),
                "conf_high": ("term", ci[:, 1]),
                "vcov": (("term", "term_"), self.vcov),
            },
            coords={"term": terms, "term_": terms},
            attrs={
                "outcome": self.y_name,
                "vcov_type": self.vcov_type,
                "method": self.method,
                "df_t": float(self.df_t),
                "n_obs": int(self.n_obs),
                "r2": float(self.r2),
                "r2_within": float(self.r2_within),
                "fe": ",".join(self.fe_names),
                "fe_levels": ",".join(map(str, self.fe_levels)),
                "cluster": ",".join(self.cluster_names),
                "n_clusters": ",".join(map(str, self.n_clusters)),
                "n_singletons": int(self.n_singletons),
                "n_missing": int(self.n_missing),
                "dropped_collinear": ",".join(self.dropped_collinear),
                "conf_level": level,
            },
        )
        return ds
