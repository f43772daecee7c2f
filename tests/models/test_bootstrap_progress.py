"""bootstrap_crossproducts reports each finished chunk to its progress callback, draws unchanged."""

import numpy as np

from tradeq.models.bootstrap import _ols_statistic, bootstrap_crossproducts


def test_progress_counts_every_replicate_and_leaves_draws_unchanged():
    rng = np.random.default_rng(0)
    G, p = 12, 3
    Z = rng.normal(size=(G, 5, p))
    S = np.einsum("gni,gnj->gij", Z, Z)
    layout = ((0, 1), 2)
    seen: list[int] = []
    est, draws, _ = bootstrap_crossproducts(S, 7, 23, _ols_statistic, layout, chunk_size=5, jackknife=False,
                                            progress=seen.append)
    assert seen == [5, 5, 5, 5, 3]
    _, plain, _ = bootstrap_crossproducts(S, 7, 23, _ols_statistic, layout, chunk_size=5, jackknife=False)
    np.testing.assert_array_equal(draws, plain)
