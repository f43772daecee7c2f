import tradeq  # noqa: F401  (float64 JAX for every test)
