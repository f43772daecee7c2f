"""Real data, tidied for the province-level examples.

* :mod:`tradeq.examples.cn_techme` — China's science-and-technology yearbook by province
  (patents, public budget, R&D), 31 provinces x 2010-2023, vendored under
  ``tradeq/resources/cn_techme/``.
* :mod:`tradeq.examples.crime` — the North Carolina county crime panel (``plm::Crime``: 90
  counties x 1981-1987 = 630 rows, three regions), a real panel of the cluster study's size
  with a few-cluster regional split.
"""
