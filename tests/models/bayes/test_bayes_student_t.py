"""Student-t errors with the fixed effects as explicit parameters (issue 14, defect 3).

The explicit effects span exactly the dummy matrix (numpy's matrix rank, redundant levels
dropped); on Gaussian data with a degrees-of-freedom prior far out in the tail, the Student-t
posterior of sigma is the FE-integrated Gaussian one — the profile form of the demeaned rows
(the old likelihood) is smaller by about sqrt(n_eff / n); too many levels are refused.
"""

import warnings

import numpy as np
import pytest

from tradeq.analyses.bayes_options import fit_inverted_u
from tradeq.errors import ConfigError
from tradeq.models.bayes import fit_bayes
from tradeq.models.bayes.student_t import TooManyEffects, explicit_effects
from tradeq.models.design import Design
from tradeq.specs import InferenceSpec


def _dummy_rank(fe):
    D = np.column_stack([(fe[:, j][:, None] == np.unique(fe[:, j])[None, :]) for j in range(fe.shape[1])])
    return int(np.linalg.matrix_rank(D.astype(float)))


@pytest.mark.parametrize("seed", range(4))
def test_explicit_effects_span_the_dummy_matrix(seed):
    rng = np.random.default_rng(seed)
    n = 150
    fe = np.column_stack([rng.integers(0, 40, n), rng.integers(0, 6, n), rng.integers(0, 4, n)])
    fe[fe[:, 0] >= 35, 1] = 6 + fe[fe[:, 0] >= 35, 0] % 2  # a disconnected block
    for m in (1, 2, 3):
        index, r = explicit_effects(fe[:, :m])
        assert r == _dummy_rank(fe[:, :m])
        E = np.zeros((n, r + 1))
        for j in range(m):
            E[np.arange(n), index[:, j]] += 1.0
        D = np.column_stack([(fe[:, j][:, None] == np.unique(fe[:, j])[None, :]) for j in range(m)]).astype(float)
        # same column space as the full dummy matrix
        assert np.linalg.matrix_rank(np.column_stack([E[:, :r], D])) == r == np.linalg.matrix_rank(E[:, :r])
    assert explicit_effects(np.zeros((5, 0), np.int32))[1] == 1


def _gaussian_panel(seed=0, n_firms=60, n_years=4, sigma=0.5):
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(n_years), n_firms)
    n = firm.size
    x = 4 + 0.5 * rng.standard_normal(n_firms)[firm] + 0.4 * rng.standard_normal(n)
    y = 0.8 * x - 0.1 * x**2 + rng.standard_normal(n_firms)[firm] + 0.3 * rng.standard_normal(n_years)[year]
    y = y + sigma * rng.standard_normal(n)
    return Design(y=y, X=np.column_stack([x, x**2]), x_names=("Market", "I(Market ** 2)"),
                  fe=np.column_stack([firm, year]).astype(np.int32), fe_names=("firm", "year"),
                  cluster=np.zeros((n, 0), np.int32), cluster_names=(), row_id=np.arange(n), y_name="y")


def test_student_t_sigma_matches_the_fe_integrated_normal_on_gaussian_data():
    design = _gaussian_panel()
    kw = dict(core="Market", hierarchical=False, draws=400, tune=400, chains=2, progress=False, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        normal = fit_bayes(design, **kw)
        student = fit_bayes(design, likelihood="student_t", nu_shape=400.0, nu_rate=0.5, **kw)  # nu ~ 800
    s_n, s_t = (float(dt["posterior"]["sigma"].mean()) for dt in (normal, student))
    ratio = np.sqrt(normal.attrs["n_eff"] / normal.attrs["n_obs"])  # 0.74: the profile form's shrinkage
    assert ratio < 0.9
    assert s_t == pytest.approx(s_n, rel=0.03)
    sd_n, sd_t = (float(dt["posterior"]["b1"].std()) for dt in (normal, student))
    assert sd_t == pytest.approx(sd_n, rel=0.1)
    assert student.attrs["likelihood_form"] == "Student-t, fixed effects sampled explicitly (flat prior)"


def test_too_many_levels_are_refused_with_the_setting_named():
    design = _gaussian_panel(n_firms=2100, n_years=2)
    with pytest.raises(TooManyEffects, match="2102 FE levels"):
        explicit_effects(design.fe)
    inference = InferenceSpec(kind="bayes", likelihood="student_t", hierarchical=False, draws=10, tune=10, chains=1)
    with pytest.raises(ConfigError, match="inference.likelihood=student_t: .*likelihood='normal'"):
        fit_inverted_u(design, inference, core="Market", progress=False)
