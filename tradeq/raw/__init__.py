"""From raw records to the estimation panel (SPEC 2a, 2b, 1b): :func:`build_panel`.

* :mod:`tradeq.raw.readers` — files (parquet, csv) or frames as DuckDB views, fingerprinted;
* :mod:`tradeq.raw.steps` — cleaning, register matching, collapsing, σ (counted for the attrition table);
* :mod:`tradeq.raw.sigmas` — which elasticity a record gets (vendored Broda-Greenfield-Weinstein file);
* :mod:`tradeq.raw.quality_step` — KSW quality by batches of HS chapters;
* :mod:`tradeq.raw.peers_step` — peer measures by batches of industries;
* :mod:`tradeq.raw.manifest` — manifest, attrition table, cache;
* :mod:`tradeq.raw.pipeline` — the whole: :func:`build_panel`, :class:`PanelSettings`;
* :mod:`tradeq.raw.classifications` — destination income and industry factor intensity;
* :mod:`tradeq.raw.formats` — the inputs' columns, for messages and ``FORMATS.md``;
* :mod:`tradeq.raw.loader` — ``data=raw`` as a panel with the pipeline's files for the run folder;
* :mod:`tradeq.raw.simulated`, :mod:`tradeq.raw.calibration` — simulated raw inputs with known truth;
* :mod:`tradeq.raw.write` — ``python simulate.py raw=customs``.
"""

from tradeq.raw.pipeline import PanelSettings, build_panel

__all__ = ["PanelSettings", "build_panel"]
