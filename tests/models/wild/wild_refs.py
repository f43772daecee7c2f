"""Brute-force references for the few-cluster tests: every bootstrap sample and every
leave-one-cluster-out sample is refitted by least squares on its rows, nothing is taken
from the cluster-block algebra under test."""

from __future__ import annotations

import numpy as np


def clustered_data(G=8, n_per=25, k=3, seed=0, beta=None, rho=0.5, unbalanced=True):
    """``(y, X, clusters)``: intercept plus k-1 regressors with a cluster component,
    errors with a cluster effect (share ``rho`` of the variance) and heteroskedasticity."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(max(3, n_per // 3), 2 * n_per, G) if unbalanced else np.full(G, n_per)
    cl = np.repeat(np.arange(G), sizes)
    rng.shuffle(cl)
    n = cl.size
    Z = rng.standard_normal((n, k - 1)) + rng.standard_normal((G, k - 1))[cl]
    X = np.column_stack([np.ones(n), Z])
    beta = np.r_[1.0, 0.5, np.zeros(k - 2)] if beta is None else np.asarray(beta)
    u = np.sqrt(rho) * rng.standard_normal(G)[cl] + np.sqrt(1 - rho) * rng.standard_normal(n) * (1 + 0.5 * np.abs(Z[:, 0]))
    return X @ beta + u, X, cl.astype(np.int64)


def ols(y, X):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def crv1_se(X, u, cl, R, ssc):
    B = np.linalg.inv(X.T @ X)
    meat = np.zeros((X.shape[1],) * 2)
    for g in np.unique(cl):
        s = X[cl == g].T @ u[cl == g]
        meat += np.outer(s, s)
    return float(np.sqrt(ssc * R @ B @ meat @ B @ R))


def crv3_se(y, X, cl, R, jackknife=False):
    b = ols(y, X)
    G = int(cl.max()) + 1
    loo = np.array([ols(y[cl != g], X[cl != g]) for g in range(G)])
    center = loo.mean(axis=0) if jackknife else b
    d = (loo - center) @ R
    return float(np.sqrt((G - 1) / G * d @ d))


def default_ssc(X, cl):
    n, k = X.shape
    G = int(cl.max()) + 1
    return G / (G - 1) * (n - 1) / (n - k)


def restricted(y, X, R, r):
    """Least squares subject to R b = r (the WCR bootstrap DGP)."""
    B = np.linalg.inv(X.T @ X)
    b = B @ X.T @ y
    return b - B @ R * (R @ b - r) / (R @ B @ R)


def sign_vectors(G):
    """All 2^G Rademacher vectors, row b has v_g = 1 - 2 bit_g(b)."""
    b = np.arange(2**G)[:, None]
    return 1.0 - 2.0 * ((b >> np.arange(G)[None, :]) & 1)


def brute_t_boot(y, X, cl, R, r, V, *, null="restricted", variance="crv1", ssc=None):
    """Bootstrap t statistics for the weight rows of ``V`` (B, G), each sample refitted."""
    ssc = default_ssc(X, cl) if ssc is None else ssc
    b = ols(y, X)
    bt = restricted(y, X, R, r) if null == "restricted" else b
    ut = y - X @ bt
    center = r if null == "restricted" else R @ b
    out = []
    for v in V:
        ys = X @ bt + ut * v[cl]
        bs = ols(ys, X)
        if variance == "crv1":
            se = crv1_se(X, ys - X @ bs, cl, R, ssc)
        else:
            se = crv3_se(ys, X, cl, R, jackknife=variance == "crv3j")
        out.append((R @ bs - center) / se)
    return np.array(out)
