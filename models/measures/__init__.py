"""Measures the papers build by hand from raw data, as pure functions over arrays.

Each module holds one measure (its formula and source in the module docstring): the
market-integration index, demand-residual export quality, the SA index, schooling human
capital, peer-information aggregates, the location quotient and market access.
"""
