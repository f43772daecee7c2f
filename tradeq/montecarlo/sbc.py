"""Simulation-based calibration (SBC) of the Bayesian inverted U, through the Monte Carlo engine.

Talts, Betancourt, Simpson, Vehtari & Gelman (2018, arXiv:1804.06788): if parameters are
drawn from the prior, data from the model given them, and the posterior is computed
correctly, the rank of each true parameter among L independent posterior draws is uniform
on ``0..L``, and every central credible interval covers the truth with exactly its nominal
probability on average over the prior.

Here the engine's generic hooks do the three steps, per replication:

1. :meth:`BayesSBC.draw_truth` (JAX, inside the batched simulation) draws the pooled
   model's parameters from its prior (:mod:`tradeq.models.bayes.numpyro_model`, ``hierarchical=
   False``): ``slope ~ N(0, s_slope)``, ``b2 ~ N(0, s_b2)``, ``b1 = slope - 2 c b2``,
   ``beta_j ~ N(0, s_beta_j)``, ``sigma ~ HalfNormal(s_sigma)``, and writes them into the
   DGP (``b1``, ``b2``, ``beta_*``, ``sigma_e``; iid errors);
2. :func:`tradeq.dgp.firm_panel.simulate_grid` simulates the panel. Its firm and year
   effects, controls and Market do not depend on the drawn parameters, and the model
   integrates firm and year effects out under a flat prior (the within transformation),
   so the DGP is exactly the model's sampling distribution;
3. :meth:`BayesSBC.run` (host, once per replication) fits :func:`tradeq.models.bayes.fit.fit_bayes`
   with the same fixed prior scales and centre, and returns, per parameter, the rank of
   the truth among the draws thinned to their effective sample size (:func:`ess_rank`), the
   posterior mean and sd and the central interval at the study's level (from all draws).

Ranks from correlated draws are not uniform even for a correct posterior: the draws cluster,
so the truth falls below all or none of them too often (a U-shaped histogram). Talts et al.
(sec. 5.1) thin the chains to their effective sample size first. :func:`ess_rank` keeps every
``ceil(N / ESS)``-th draw of each chain (ESS the smaller of bulk and tail ESS of the
parameter's chains, N the draws of all chains) and maps the rank r among the K kept draws to
``floor((r + u) (L + 1) / (K + 1))`` with u ~ U(0, 1): uniform on 0..L when r is uniform on
0..K, so every replication reports on the same scale L (``n_draws``) whatever its ESS.

The engine then reports coverage and the other metrics as for any estimator, plus the
chi-square p-value of rank uniformity (:func:`tradeq.montecarlo.metrics.rank_uniformity`)
and rank histograms (``plots: [{kind: sbc}]``).

Prior scales must be fixed numbers (``prior`` in the estimator's config), not the
data-scaled defaults of :func:`tradeq.models.bayes.priors.default_priors`: SBC needs the prior
that generated the parameters to be the one the fit uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tradeq.dgp.firm_panel import CONTROLS, FirmPanelParams, grid_to_frame

from .estimators import ConfigError, EstimateRecord, Estimator

SBC_PARAMETERS = ("b1", "b2", "slope", "sigma")
FORMULA = "quality ~ Market + I(Market**2) + scale + age + roa + rdebt + fic | firm + year"


def ess_rank(chains: np.ndarray, truth: float, n_ranks: int, u: float) -> tuple[float, int]:
    """Rank of ``truth`` among ``chains`` (C, D) thinned to their effective sample size, on
    0..``n_ranks``, and the number K of draws kept (module docstring); ``u`` in [0, 1)."""
    from arviz_stats.base import array_stats

    chains = np.asarray(chains, float)
    C, D = chains.shape
    ess = min(float(array_stats.ess(chains, chain_axis=0, draw_axis=1, method="bulk")),
              float(array_stats.ess(chains, chain_axis=0, draw_axis=1, method="tail", prob=0.05)))
    step = int(np.ceil(C * D / ess)) if np.isfinite(ess) and ess > 0 else D
    kept = chains[:, :: max(step, 1)].ravel()
    raw = int(np.sum(kept < truth))
    return float(np.floor((raw + u) * (n_ranks + 1) / (kept.size + 1))), int(kept.size)


@dataclass(frozen=True)
class BayesSBC(Estimator):
    """SBC of the pooled Bayesian inverted U (see the module docstring).

    ``slope``, ``b2``, ``beta`` (one per control, in :data:`CONTROLS` order), ``sigma``:
    the prior scales; ``center``: the reference point c of the slope prior; ``draws``,
    ``tune``, ``chains``: the sampler; ``thin``: 0 (default) thins each parameter's draws to
    their effective sample size (:func:`ess_rank`), k > 0 keeps every k-th draw (no ESS check);
    ranks are on 0..L, L = chains · draws / max(thin, 1); ``backend``: numpyro or pymc.
    Label ``<name>/posterior``.
    """

    name: str = "bayes"
    slope: float = 0.05
    b2: float = 0.01
    beta: tuple[float, ...] = (0.02, 0.02, 0.02, 0.02, 0.02)
    sigma: float = 0.05
    center: float = 4.275
    draws: int = 200
    tune: int = 300
    chains: int = 2
    thin: int = 0
    backend: str = "numpyro"
    level: float = 0.95

    host = True

    def __post_init__(self) -> None:
        if len(self.beta) != len(CONTROLS):
            raise ConfigError(f"estimator {self.name!r}: prior.beta needs {len(CONTROLS)} scales {CONTROLS}")
        if min(self.slope, self.b2, self.sigma, *self.beta) <= 0:
            raise ConfigError(f"estimator {self.name!r}: prior scales must be positive")
        if self.thin < 0 or (self.thin and self.draws % self.thin):
            raise ConfigError(f"estimator {self.name!r}: thin must be 0 (thin to the ESS) or a divisor of draws")

    @classmethod
    def from_config(cls, name: str, spec: Mapping[str, Any], level: float) -> BayesSBC:
        spec = dict(spec)
        prior = dict(spec.pop("prior", {}) or {})
        if "beta" in prior:
            prior["beta"] = tuple(float(v) for v in prior["beta"])
        unknown = set(prior) - {"slope", "b2", "beta", "sigma"}
        if unknown:
            raise ConfigError(f"estimator {name!r}: unknown prior scale(s) {sorted(unknown)}")
        try:
            return cls(name=name, level=level, **prior, **spec)
        except TypeError as err:
            raise ConfigError(f"estimator {name!r}: {err}") from None

    @property
    def labels(self) -> tuple[str, ...]:
        return (f"{self.name}/posterior",)

    @property
    def n_draws(self) -> int:
        return self.chains * self.draws // max(self.thin, 1)

    def spec(self) -> dict:
        return {"kind": "sbc", "name": self.name, "prior": {"slope": self.slope, "b2": self.b2,
                "beta": list(self.beta), "sigma": self.sigma}, "center": self.center, "draws": self.draws,
                "tune": self.tune, "chains": self.chains, "thin": self.thin, "backend": self.backend,
                "level": self.level}

    def check(self, params: FirmPanelParams) -> None:
        if params.error != "iid" or params.group_by is not None or params.mediator != "none":
            raise ConfigError(f"estimator {self.name!r}: SBC of the pooled model needs dgp.error=iid, "
                              "no group_by and no mediator (the model's own sampling distribution)")

    def prior_scales(self):
        from tradeq.models.bayes.priors import PriorScales

        return PriorScales(slope=self.slope, b2=self.b2, tau_slope=self.slope, tau_b2=self.b2,
                           beta=tuple(self.beta), sigma=self.sigma)

    def draw_truth(self, key: jax.Array, params: FirmPanelParams) -> FirmPanelParams:
        z = jax.random.normal(key, (3 + len(CONTROLS),), dtype=jnp.float64)
        slope, b2 = self.slope * z[0], self.b2 * z[1]
        sigma = self.sigma * jnp.abs(z[2])
        beta = {f"beta_{c}": s * z[3 + j] for j, (c, s) in enumerate(zip(CONTROLS, self.beta))}
        # a plain replace: FirmPanelParams.validate cannot run on tracers
        return dataclasses.replace(params, b1=slope - 2.0 * self.center * b2, b2=b2, sigma_e=sigma, **beta)

    def truth(self, params: FirmPanelParams) -> dict[str, jax.Array]:
        b1, b2 = jnp.asarray(params.b1), jnp.asarray(params.b2)
        return {"b1": b1, "b2": b2, "slope": b1 + 2.0 * self.center * b2, "sigma": jnp.asarray(params.sigma_e)}

    def run(self, panel, params, key):
        from tradeq.formula import design_from_formula
        from tradeq.models.bayes.fit import fit_bayes

        design = design_from_formula(grid_to_frame(panel, params), FORMULA)
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        dt = fit_bayes(design, core="Market", hierarchical=False, backend=self.backend, prior=self.prior_scales(),
                       center=self.center, draws=self.draws, tune=self.tune, chains=self.chains, seed=seed,
                       progress=False)
        post = dt["posterior"]
        truth = {k: float(v) for k, v in self.truth(params).items()}
        alpha = (1.0 - self.level) / 2.0
        out = {k: {} for k in ("rank", "mean", "sd", "lo", "hi", "kept")}
        jitter = np.random.default_rng(seed).random(len(SBC_PARAMETERS))
        for j, p in enumerate(SBC_PARAMETERS):
            chains = np.asarray(post[p].values, float).reshape(self.chains, self.draws)
            if self.thin:
                kept = chains[:, :: self.thin].ravel()
                out["rank"][p], out["kept"][p] = float(np.sum(kept < truth[p])), kept.size
            else:
                out["rank"][p], out["kept"][p] = ess_rank(chains, truth[p], self.n_draws, jitter[j])
            d = chains.ravel()
            out["mean"][p] = float(d.mean())
            out["sd"][p] = float(d.std(ddof=1))
            out["lo"][p], out["hi"][p] = (float(v) for v in np.quantile(d, [alpha, 1.0 - alpha]))
        return out

    def records(self, raw, level):
        label = self.labels[0]
        return [EstimateRecord(label, p, np.asarray(raw["mean"][p]), np.asarray(raw["sd"][p]),
                               np.asarray(raw["lo"][p]), np.asarray(raw["hi"][p]),
                               rank=np.asarray(raw["rank"][p]), n_draws=self.n_draws)
                for p in SBC_PARAMETERS], []
