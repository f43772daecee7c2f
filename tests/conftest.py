import os
import tempfile
from pathlib import Path

# Compiled XLA programs are reused across tests and the estimate.py / simulate.py subprocesses
# the CLI tests start (each would otherwise recompile the simulator and the FE core).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(tempfile.gettempdir()) / "tradeq-test-jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import tradeq  # noqa: E402,F401  (float64 JAX for every test)
from tradeq.host_devices import request_host_devices  # noqa: E402

request_host_devices()  # as the engine and models.bayes do, whatever module a test imports first
