import pytest
from mc_shared import FE, REPS, SEED, SETTING

from tradeq.montecarlo.engine import run_replications


@pytest.fixture(scope="session")
def fe_batch():
    """REPS replications of SETTING in one batch (``lax.map``, the CPU default)."""
    return run_replications(SETTING, [FE], seed=SEED, reps=REPS, chunk_size=REPS, batch="map")
