"""The batched grid estimator equals the reference fit_fe (and pyfixest) on the same panel."""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from mc_shared import REPS, SEED, SETTING

from tradeq.dgp.firm_panel import FirmPanelParams, grid_to_frame, simulate_grid
from tradeq.dgp.keys import base_key
from tradeq.formula import feols
from tradeq.models.grid_fe import drop_singletons_grid, fit_grid, within_grid
from tradeq.models.singletons import drop_singletons
from tradeq.montecarlo.engine import replication_key

RHS = "Market + I(Market**2) + scale + age + roa + rdebt + fic"
VCOVS = [("iid", None), ("hc1", None), ("cluster", "firm"), ("twoway", ["firm", "year"]),
         ("cluster_outer", "province")]
ABSORB_FE = {"firm_year": " | firm + year", "firm": " | firm", "none": ""}


def design(g):
    m = g["Market"]
    return jnp.stack([m, m * m, g["scale"], g["age"], g["roa"], g["rdebt"], g["fic"]])


def reference(frame, absorb, vcov, cluster):
    vt = "cluster" if vcov == "cluster_outer" else vcov
    return feols(frame, f"quality ~ {RHS}{ABSORB_FE[absorb]}", vcov=vt, cluster=cluster)


def grid_fit(g, absorb, mask=None):
    return fit_grid(g["quality"], design(g), g["present"] if mask is None else mask, absorb=absorb,
                    vcovs=tuple(v for v, _ in VCOVS), outer=g["province"], n_outer=31)


def compare(fit, ref, vcov, absorb, rtol):
    coef, V = np.asarray(fit.coef), np.asarray(fit.vcov[vcov])
    ref_coef, ref_V = np.asarray(ref.coef), np.asarray(ref.vcov)
    if absorb == "none":  # fit_fe reports the intercept first; the grid partials it out
        ref_coef, ref_V = ref_coef[1:], ref_V[1:, 1:]
    np.testing.assert_allclose(coef, ref_coef, rtol=rtol, atol=0)
    np.testing.assert_allclose(V, ref_V, rtol=rtol, atol=rtol * np.abs(ref_V).max())
    assert float(fit.df_t[vcov]) == ref.df_t
    assert float(fit.n_obs) == ref.n_obs


@pytest.fixture(scope="module")
def panel():
    # Province-year shocks (clusters matter) and small firms (singletons to drop).
    params = FirmPanelParams(error="province_year")
    g = simulate_grid(base_key(11), params, 400, 10)
    return g, grid_to_frame(g, params)


@pytest.mark.parametrize("absorb", ["firm_year", "firm", "none"])
@pytest.mark.parametrize("vcov,cluster", VCOVS)
def test_matches_fit_fe(panel, absorb, vcov, cluster):
    g, frame = panel
    fit = grid_fit(g, absorb)
    ref = reference(frame, absorb, vcov, cluster)
    # Pooled OLS (no FE) on raw Market, Market^2 and an intercept is ill-conditioned
    # (condition number ~1e7): the reference's normal equations on raw columns lose digits
    # that the grid's demeaned ones keep (it is the closer of the two to an exact QR solve).
    compare(fit, ref, vcov, absorb, rtol=1e-9 if absorb != "none" else 1e-6)


def test_singletons_and_levels_as_fit_fe(panel):
    g, frame = panel
    fit = grid_fit(g, "firm_year")
    ref = reference(frame, "firm_year", "iid", None)
    assert ref.n_singletons > 0
    keep_ref = drop_singletons(np.column_stack([frame.firm.to_numpy(), frame.year.to_numpy()]))
    present = np.asarray(g["present"]).T  # (F, T): the frame's rows run firm by firm
    np.testing.assert_array_equal(np.asarray(fit.keep).T[present], keep_ref)
    assert (int(fit.n_firms), int(fit.n_years)) == ref.fe_levels


def test_absent_year_and_disconnected_cells():
    """A year with no firm (a zero row of D~'D~) and a mask with holes inside spells."""
    params = FirmPanelParams()
    g = dict(simulate_grid(base_key(5), params, 300, 8))
    mask = np.asarray(g["present"]).copy()
    mask[3] = False  # (T, F): year 3 has no firm
    rng = np.random.default_rng(0)
    mask &= rng.random(mask.shape) > 0.1
    g["present"] = jnp.asarray(mask)
    frame = grid_to_frame(g, params)
    fit = grid_fit(g, "firm_year")
    for vcov, cluster in VCOVS[:4]:
        compare(fit, reference(frame, "firm_year", vcov, cluster), vcov, "firm_year", rtol=1e-9)


def test_matches_pyfixest(panel):
    """pyfixest directly, its demeaner tightened as in tests/models/test_fixed_effects.py
    (at its default tolerance, 1e-6 absolute per sweep, the reference itself errs by ~1e-6
    relative on a slope near zero)."""
    pf = pytest.importorskip("pyfixest")
    from pyfixest.demeaners import MapDemeaner

    g, frame = panel
    fit = grid_fit(g, "firm_year")
    f = f"quality ~ {RHS} | firm + year"
    scale = float(np.abs(frame.select_dtypes("number").to_numpy(float)).max())
    demeaner = MapDemeaner(fixef_tol=min(1e-13 * scale, 1e-8), fixef_maxiter=1_000_000)
    for vcov, spec in [("iid", "iid"), ("hc1", "hetero"), ("cluster", {"CRV1": "firm"}),
                       ("twoway", {"CRV1": "firm+year"})]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pf.feols(f, frame, vcov=spec, demeaner=demeaner)
        np.testing.assert_allclose(np.asarray(fit.coef), ref.coef().to_numpy(), rtol=1e-8)
        np.testing.assert_allclose(np.sqrt(np.diag(np.asarray(fit.vcov[vcov]))), ref.se().to_numpy(), rtol=1e-8)


def test_engine_estimator_matches_fit_fe(fe_batch):
    """The estimator as the engine runs it (batched with the simulator, chunked) equals
    fit_fe on the DataFrame of the same replication's panel."""
    params = SETTING.params
    for r in (0, REPS - 1):
        g = simulate_grid(replication_key(SEED, SETTING, r), params, SETTING.n_firms, SETTING.n_years)
        frame = grid_to_frame(g, params)
        for vcov, cluster in VCOVS[:4]:
            ref = reference(frame, "firm_year", vcov, cluster)
            np.testing.assert_allclose(fe_batch["est"]["fe"]["coef"][r], ref.coef[:2], rtol=1e-9)
            np.testing.assert_allclose(fe_batch["est"]["fe"]["V"][vcov][r], ref.vcov[:2, :2], rtol=1e-9)
            assert fe_batch["est"]["fe"]["df"][vcov][r] == ref.df_t
        m = frame.Market.to_numpy()[drop_singletons(frame[["firm", "year"]].to_numpy())]
        # a standalone simulate_grid call may round in the last bit differently from the
        # engine's compiled batch (XLA's choices differ between the two programs)
        np.testing.assert_allclose([fe_batch["est"]["fe"]["x_lo"][r], fe_batch["est"]["fe"]["x_hi"][r]],
                                   [m.min(), m.max()], rtol=1e-13)


def test_within_grid_is_a_projection(panel):
    g, _ = panel
    keep = drop_singletons_grid(g["present"])
    M = design(g)
    Mt = within_grid(M, keep)
    np.testing.assert_allclose(within_grid(Mt, keep), Mt, atol=1e-10)
    # orthogonal to firm and year dummies on the kept cells
    assert np.abs(np.asarray(Mt.sum(axis=2))).max() < 1e-9
    assert np.abs(np.asarray(Mt.sum(axis=1))).max() < 1e-8
    assert float(jnp.abs(jnp.where(keep, 0.0, Mt)).max()) == 0.0
