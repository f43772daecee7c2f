import os
import tempfile
from pathlib import Path

# Compiled XLA programs are reused across tests and the estimate.py / simulate.py subprocesses
# the CLI tests start (each would otherwise recompile the simulator and the FE core).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(tempfile.gettempdir()) / "tradeq-test-jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import tradeq  # noqa: E402

tradeq.setup_runtime()  # float64 and host devices, as estimate.py and simulate.py do first

import pytest  # noqa: E402
from composing import compose_config as _compose_config  # noqa: E402


@pytest.fixture
def compose_config():
    """``compose_config(config_name="estimate", overrides=())``: see ``tests/composing.py``."""
    return _compose_config
