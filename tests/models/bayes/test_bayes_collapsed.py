"""Collapsed sampling (tradeq.models.bayes.collapsed): the slopes integrated out exactly.

1. The closed-form marginal log p(y | h) obeys the candidate's identity
   log p(y | h) = log p(y | phi, h) + log p(phi | h) - log p(phi | y, h)
   at random phi and h, with the joint model's own likelihood (itself tested equal to the
   row-level one) and the Gaussian conditional N(m, P^{-1}).
2. The hand-written gradient (``jax.custom_jvp``, envelope theorem and d log|P| =
   tr(P^{-1} dP)) equals autodiff through the Cholesky factorisation of the plain formula
   (kept here as the reference) and central finite differences, for the hyperparameters
   (small tau, small and large sigma included) and for the data; also under vmap.
3. The collapsed sampler and the joint non-centred sampler give the same posterior (means
   within 4 Monte Carlo SEs), with the same DataTree layout.
"""

import warnings

import arviz_stats
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bayes_panels import simulate_panel
from jax.scipy.linalg import cho_solve
from scipy import stats as sps

from tradeq.models.bayes import collapsed as C
from tradeq.models.bayes import fit_bayes
from tradeq.models.bayes.design import build_group_design, sufficient_stats
from tradeq.models.bayes.numpyro_model import LOG_2PI, gaussian_suffstat_loglik, model_data


@pytest.fixture(scope="module")
def prepared():
    p = simulate_panel(3, n_firms=150)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    data = model_data(gd, ss, rows=False)
    return gd, data, C.collapsed_data(data, gd.n_groups, gd.n_controls, gd.center)


def test_transform_maps_slopes_to_b1(prepared):
    gd, data, cdata = prepared
    G = gd.n_groups
    T = C.slope_transform(G, gd.n_controls, gd.center)
    phi = np.random.default_rng(0).standard_normal(T.shape[0])
    theta = T @ phi
    np.testing.assert_allclose(theta[:G], phi[:G] - 2 * gd.center * phi[G:2 * G])
    np.testing.assert_allclose(theta[G:], phi[G:])
    np.testing.assert_allclose(T @ cdata["phi_hat"], data["coef_hat"], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_marginal_likelihood_obeys_candidates_identity(prepared, seed):
    gd, data, cdata = prepared
    rng = np.random.default_rng(seed)
    G, k = gd.n_groups, cdata["H"].shape[0]
    beta_scales = jnp.asarray(gd.prior.beta_array)
    h = {"mu_slope": rng.normal(0, 0.05), "mu_b2": rng.normal(0, 0.01), "tau_slope": rng.uniform(0.005, 0.1),
         "tau_b2": rng.uniform(0.001, 0.02), "sigma": rng.uniform(0.03, 0.3)}
    phi = np.asarray(cdata["phi_hat"]) + 0.05 * rng.standard_normal(k)
    T = C.slope_transform(G, gd.n_controls, gd.center)
    loglik = float(gaussian_suffstat_loglik(jnp.asarray(T @ phi), h["sigma"], data["ZtZ"], data["coef_hat"],
                                            data["rss_hat"], data["n_eff"]))
    m0, s0 = (np.asarray(a) for a in C.prior_moments(h, G, beta_scales))
    log_prior = sps.norm.logpdf(phi, m0, s0).sum()
    m, L = C.conditional(h, cdata, G, beta_scales)
    P = np.asarray(L) @ np.asarray(L).T
    log_cond = sps.multivariate_normal.logpdf(phi, np.asarray(m), np.linalg.inv(P))
    expected = loglik + log_prior - log_cond
    got = float(C.collapsed_loglik(h, cdata, G, beta_scales))
    assert got == pytest.approx(expected, rel=1e-8)


def reference_loglik(hyper, cdata, n_groups, beta_scales):
    """The plain formula, differentiated by JAX through the Cholesky factor and cho_solve."""
    m0, s0 = C.prior_moments(hyper, n_groups, beta_scales)
    sigma = hyper["sigma"]
    A = cdata["H"] / sigma**2
    L = jnp.linalg.cholesky(A + jnp.diag(1.0 / s0**2))
    m = cho_solve((L, True), A @ cdata["phi_hat"] + m0 / s0**2)
    r = cdata["phi_hat"] - m
    quad = r @ A @ r + jnp.sum(((m - m0) / s0) ** 2)
    return (-0.5 * cdata["n_eff"] * (LOG_2PI + 2.0 * jnp.log(sigma)) - 0.5 * cdata["rss_hat"] / sigma**2
            - jnp.sum(jnp.log(s0)) - jnp.sum(jnp.log(jnp.diag(L))) - 0.5 * quad)


def hyper_points(seed):
    """Random hyperparameters (5,): moderate ones, then tiny tau and small / large sigma."""
    rng = np.random.default_rng(seed)
    mu = [rng.normal(0, 0.05), rng.normal(0, 0.01)]
    return [np.array(mu + list(t)) for t in (
        (rng.uniform(0.005, 0.1), rng.uniform(0.001, 0.02), rng.uniform(0.03, 0.3)),
        (1e-4, 1e-4, rng.uniform(0.05, 0.2)),
        (1e-4, rng.uniform(0.001, 0.02), 1e-3),
        (rng.uniform(0.005, 0.1), 1e-4, 5.0),
        (2.0, 1.0, 1e-3),
        (0.5, 0.2, 3.0),
    )]


def as_hyper(x):
    return dict(zip(C.HYPER, x))


@pytest.mark.parametrize("seed", range(3))
def test_hand_written_gradient_matches_autodiff(prepared, seed):
    gd, _, cdata = prepared
    G, beta_scales = gd.n_groups, jnp.asarray(gd.prior.beta_array)
    new = jax.jit(jax.value_and_grad(lambda x: C.collapsed_loglik(as_hyper(x), cdata, G, beta_scales)))
    ref = jax.jit(jax.value_and_grad(lambda x: reference_loglik(as_hyper(x), cdata, G, beta_scales)))
    for x in hyper_points(seed):
        (v, g), (v_ref, g_ref) = new(jnp.asarray(x)), ref(jnp.asarray(x))
        assert float(v) == pytest.approx(float(v_ref), rel=1e-12)
        np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-12 * float(jnp.abs(g_ref).max()), err_msg=str(x))


def test_hand_written_gradient_matches_finite_differences(prepared):
    gd, _, cdata = prepared
    G, beta_scales = gd.n_groups, jnp.asarray(gd.prior.beta_array)
    f = jax.jit(lambda x: C.collapsed_loglik(as_hyper(x), cdata, G, beta_scales))
    grad = jax.jit(jax.grad(lambda x: C.collapsed_loglik(as_hyper(x), cdata, G, beta_scales)))
    for x in hyper_points(7)[:1] + [np.array([0.01, -0.002, 0.5, 0.1, 0.2])]:
        # central differences in (mu, log tau, log sigma), step 1e-5
        step = np.array([1e-5, 1e-5, 1e-5 * x[2], 1e-5 * x[3], 1e-5 * x[4]])
        fd = [(f(jnp.asarray(x + e)) - f(jnp.asarray(x - e))) / (2 * e.sum()) for e in np.diag(step)]
        fd = np.array(fd)
        np.testing.assert_allclose(grad(jnp.asarray(x)), fd, rtol=2e-6, atol=1e-7 * np.abs(fd).max())


def decimal_loglik(x, cdata, n_groups, beta_scales):
    """The plain formula in decimal arithmetic (Cholesky by hand), at the caller's context
    precision: a reference free of floating-point cancellation, for finite differences with
    tiny steps. ``x``: the five hyperparameters as Decimals."""
    from decimal import Decimal

    mu_slope, mu_b2, tau_slope, tau_b2, sigma = x
    H = [[Decimal(float(v)) for v in row] for row in cdata["H"]]
    phi_hat = [Decimal(float(v)) for v in cdata["phi_hat"]]
    k, G = len(H), n_groups
    m0 = [mu_slope] * G + [mu_b2] * G + [Decimal(0)] * (k - 2 * G)
    s0 = [tau_slope] * G + [tau_b2] * G + [Decimal(float(b)) for b in beta_scales]
    A = [[H[i][j] / sigma**2 for j in range(k)] for i in range(k)]
    P = [[A[i][j] + (1 / s0[i] ** 2 if i == j else 0) for j in range(k)] for i in range(k)]
    b = [sum(A[i][j] * phi_hat[j] for j in range(k)) + m0[i] / s0[i] ** 2 for i in range(k)]
    L = [[Decimal(0)] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            t = P[i][j] - sum(L[i][l] * L[j][l] for l in range(j))
            L[i][j] = t.sqrt() if i == j else t / L[j][j]
    y = [Decimal(0)] * k
    for i in range(k):
        y[i] = (b[i] - sum(L[i][l] * y[l] for l in range(i))) / L[i][i]
    m = [Decimal(0)] * k
    for i in reversed(range(k)):
        m[i] = (y[i] - sum(L[l][i] * m[l] for l in range(i + 1, k))) / L[i][i]
    r = [phi_hat[i] - m[i] for i in range(k)]
    quad = (sum(r[i] * A[i][j] * r[j] for i in range(k) for j in range(k))
            + sum(((m[j] - m0[j]) / s0[j]) ** 2 for j in range(k)))
    log_2pi = Decimal(LOG_2PI)  # a constant: cancels in the differences
    n_eff, rss = Decimal(float(cdata["n_eff"])), Decimal(float(cdata["rss_hat"]))
    return (-n_eff / 2 * (log_2pi + 2 * sigma.ln()) - rss / (2 * sigma**2) - sum(s.ln() for s in s0)
            - sum(L[i][i].ln() for i in range(k)) - quad / 2)


def test_hand_written_gradient_is_exact_at_tiny_tau(prepared):
    """Against 60-digit central differences: accurate to a few ulps where autodiff through the
    unscaled Cholesky factor loses ~6 digits (tau = 1e-4)."""
    from decimal import Decimal, localcontext

    gd, _, cdata = prepared
    G, beta_scales = gd.n_groups, gd.prior.beta_array
    grad = jax.grad(lambda x: C.collapsed_loglik(as_hyper(x), cdata, G, jnp.asarray(beta_scales)))
    for x in (np.array([0.03, -0.004, 1e-4, 1e-4, 0.1]), np.array([0.03, -0.004, 1e-4, 0.01, 1e-3])):
        fd = []
        with localcontext() as ctx:
            ctx.prec = 60  # every operation, the steps included, at 60 digits
            for i in range(5):
                step = Decimal("1e-25") * (Decimal(float(x[i])) if i >= 2 else 1)
                up, down = [Decimal(float(v)) for v in x], [Decimal(float(v)) for v in x]
                up[i] += step
                down[i] -= step
                diff = decimal_loglik(up, cdata, G, beta_scales) - decimal_loglik(down, cdata, G, beta_scales)
                fd.append(float(diff / (up[i] - down[i])))
        np.testing.assert_allclose(grad(jnp.asarray(x)), fd, rtol=1e-12)


def test_hand_written_gradient_in_the_data_and_under_vmap(prepared):
    gd, _, cdata = prepared
    G = gd.n_groups
    h = {"mu_slope": 0.02, "mu_b2": -0.005, "tau_slope": 0.03, "tau_b2": 0.004, "sigma": 0.1}
    args = (jnp.asarray(cdata["H"]), jnp.asarray(cdata["phi_hat"]), jnp.float64(cdata["rss_hat"]),
            jnp.float64(cdata["n_eff"]), jnp.asarray(gd.prior.beta_array))

    def of_data(fn):
        return lambda H, phi_hat, rss, n_eff, bs: fn(h, {"H": H, "phi_hat": phi_hat, "rss_hat": rss, "n_eff": n_eff}, G, bs)

    got = jax.grad(of_data(C.collapsed_loglik), argnums=range(5))(*args)
    want = jax.grad(of_data(reference_loglik), argnums=range(5))(*args)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12 * float(jnp.abs(b).max()))
    # batched hyperparameters (vmap of the gradient), and second derivatives through the rule
    beta_scales = args[-1]
    X = jnp.asarray(np.stack(hyper_points(3)))
    got = jax.vmap(jax.grad(lambda x: C.collapsed_loglik(as_hyper(x), cdata, G, beta_scales)))(X)
    want = jax.vmap(jax.grad(lambda x: reference_loglik(as_hyper(x), cdata, G, beta_scales)))(X)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12 * float(jnp.abs(want).max()))
    x = jnp.asarray(hyper_points(4)[0])
    hess = jax.hessian(lambda x: C.collapsed_loglik(as_hyper(x), cdata, G, beta_scales))(x)
    hess_ref = jax.hessian(lambda x: reference_loglik(as_hyper(x), cdata, G, beta_scales))(x)
    np.testing.assert_allclose(hess, hess_ref, rtol=1e-7, atol=1e-10 * float(jnp.abs(hess_ref).max()))


def test_conditional_draws_have_the_conditional_moments(prepared):
    gd, _, cdata = prepared
    G = gd.n_groups
    beta_scales = jnp.asarray(gd.prior.beta_array)
    h = {"mu_slope": 0.02, "mu_b2": -0.005, "tau_slope": 0.03, "tau_b2": 0.004, "sigma": 0.1}
    n = 20_000
    flat = {k: jnp.full(n, v) for k, v in h.items()}
    phi = np.asarray(C.draw_slopes(jax.random.PRNGKey(1), flat, cdata, G, beta_scales))
    m, L = C.conditional(h, cdata, G, beta_scales)
    cov = np.linalg.inv(np.asarray(L) @ np.asarray(L).T)
    sd = np.sqrt(np.diag(cov))
    z = (phi.mean(0) - np.asarray(m)) / (sd / np.sqrt(n))
    assert np.abs(z).max() < 4.5
    np.testing.assert_allclose(phi.std(0), sd, rtol=0.03)


@pytest.fixture(scope="module")
def fits():
    p = simulate_panel(11, n_firms=300, sigma=0.03, within_sd=0.35)
    kw = dict(groups=p.groups, group_names=list(p.group_names), core="Market", draws=500, tune=500, chains=4,
              target_accept=0.95, progress=False, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_bayes(p.design, collapse=True, **kw), fit_bayes(p.design, collapse=False, **kw)


def test_collapsed_and_joint_samplers_agree(fits):
    a, b = fits
    assert a.attrs["collapsed"] == 1 and b.attrs["collapsed"] == 0
    names = ["mu_slope", "mu_b2", "tau_slope", "tau_b2", "b1", "b2", "slope", "beta", "sigma", "z_slope", "turning_point"]
    pa, pb = a["posterior"].to_dataset()[names], b["posterior"].to_dataset()[names]
    for name in pa.data_vars:
        assert pa[name].dims == pb[name].dims
    diff = pa.mean(("chain", "draw")) - pb.mean(("chain", "draw"))
    se = np.sqrt(arviz_stats.mcse(pa, method="mean") ** 2 + arviz_stats.mcse(pb, method="mean") ** 2)
    z = (np.abs(diff) / se).to_array()
    assert float(z.max()) < 4.0, z.to_series().sort_values().tail()
    # same spread too (sd ratio), and the collapsed sampler without the funnel's divergences
    ratio = (pa["b2"].std(("chain", "draw")) / pb["b2"].std(("chain", "draw"))).values
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert a.attrs["divergences"] == 0


def test_fits_record_their_compile_time_within_the_sampling_time(fits):
    for dt in fits:
        # zero when an identical program was compiled earlier in the process (JAX's cache)
        assert 0.0 <= dt.attrs["compile_s"] <= dt.attrs["sampling_s"]
