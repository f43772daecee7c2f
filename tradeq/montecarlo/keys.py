"""Replication keys: every random number of a study is addressed by (seed, setting, replication).

Replication r of setting s under seed ``seed`` uses the key

    k(seed, s, r) = fold_in(derive_key(key(seed), "setting:" + id(s)), r)

(:func:`replication_key`), where ``id(s)`` hashes the setting's DGP parameters and panel
size (:meth:`~tradeq.montecarlo.studies.Setting.id`). The simulator draws from it
(:func:`tradeq.dgp.firm_panel.simulate_grid`), a prior draw (SBC) from :func:`truth_key`
``= derive_key(k, "truth")`` and estimator ``e`` from :func:`estimator_key` ``=
derive_key(k, "estimator:" + e)``. A replication therefore depends only on (seed, setting,
r): not on the other settings, on the order they run in, on how many replications there
are or on how they are chunked, so any one can be re-run alone.
"""

from __future__ import annotations

import jax

from tradeq.dgp.keys import base_key, derive_key

from .studies import Setting


def setting_key(seed: int, setting: Setting) -> jax.Array:
    """The key of ``setting``'s random stream under ``seed``."""
    return derive_key(base_key(seed), f"setting:{setting.id()}")


def replication_key(seed: int, setting: Setting, rep: int) -> jax.Array:
    """The key of replication ``rep`` of ``setting`` (see the module docstring)."""
    return jax.random.fold_in(setting_key(seed, setting), rep)


def truth_key(rep_key: jax.Array) -> jax.Array:
    """The key a replication's prior draw of the DGP parameters uses (SBC)."""
    return derive_key(rep_key, "truth")


def estimator_key(rep_key: jax.Array, name: str) -> jax.Array:
    """The key estimator ``name`` gets in the replication of ``rep_key`` (e.g. its bootstrap)."""
    return derive_key(rep_key, f"estimator:{name}")
