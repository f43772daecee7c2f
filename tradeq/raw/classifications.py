"""Classifications the information-spillover study splits by (SPEC 1b): destination income
and industry factor intensity.

**Destination income.** A destination is *high income* when it is one of
:data:`HIGH_INCOME`: the economies the World Bank classified as high income throughout the
study's years 2003-2013 (its July classifications by GNI per capita). Economies that crossed
the threshold during those years (Saudi Arabia, Oman, Chile, Russia, Uruguay, Poland, Hungary,
Croatia, Latvia, Lithuania, Slovakia and a few others), and small economies whose year of
crossing we could not pin down (Malta, Bahrain), are deliberately left out of the list, so a
destination's group does not change with the year; every destination not listed is *low*
income (the low and middle-income groups together). Names are matched as the σ file's
are (:func:`tradeq.raw.sigmas.country_key`: case, spaces and punctuation dropped, common
aliases). ``PanelSettings.high_income`` replaces the list.

**Factor intensity.** Each 2-digit CIC manufacturing industry (GB/T 4754-2002, codes 13-42)
is labour-, capital- or technology-intensive by :data:`INTENSITY`, the three-way grouping
commonly used for Chinese manufacturing: light industry and simple processing labour-intensive;
process industries (paper, petroleum, chemicals, fibres, metals) and machinery
capital-intensive; medicine, transport equipment, electrical machinery, electronics and
instruments technology-intensive. The study's abstract does not list its own grouping,
so this one is stated here and replaceable (``PanelSettings.intensity``). An industry code
not in the map gets no group (NaN), and its firms drop out of the intensity split only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from tradeq.raw.sigmas import country_key

#: High-income economies throughout 2003-2013 (module docstring), as :func:`country_key` keys.
HIGH_INCOME = tuple(country_key(n) for n in (
    "Andorra", "Aruba", "Australia", "Austria", "Bahamas", "Belgium", "Bermuda", "Brunei", "Canada",
    "Cayman Islands", "Cyprus", "Denmark", "Finland", "France", "Germany", "Greece", "Greenland", "Hong Kong",
    "Iceland", "Ireland", "Israel", "Italy", "Japan", "Korea", "Kuwait", "Liechtenstein", "Luxembourg", "Macao",
    "Monaco", "Netherlands", "New Zealand", "Norway", "Portugal", "Qatar", "San Marino", "Singapore", "Slovenia", "Spain", "Sweden", "Switzerland", "Taiwan", "United Arab Emirates", "United Kingdom",
    "USA",
))

LABOUR, CAPITAL, TECHNOLOGY = "labour", "capital", "technology"
INTENSITY_LEVELS = (LABOUR, CAPITAL, TECHNOLOGY)

#: 2-digit CIC (GB/T 4754-2002) manufacturing industry -> factor intensity (module docstring).
INTENSITY: dict[str, str] = {
    "13": LABOUR,      # agricultural and sideline food processing
    "14": LABOUR,      # food manufacturing
    "15": LABOUR,      # beverages
    "16": CAPITAL,     # tobacco
    "17": LABOUR,      # textiles
    "18": LABOUR,      # apparel, footwear and caps
    "19": LABOUR,      # leather, fur and feathers
    "20": LABOUR,      # wood, bamboo, rattan
    "21": LABOUR,      # furniture
    "22": CAPITAL,     # paper
    "23": LABOUR,      # printing
    "24": LABOUR,      # cultural, educational and sports goods
    "25": CAPITAL,     # petroleum processing, coking
    "26": CAPITAL,     # chemical materials and products
    "27": TECHNOLOGY,  # medicines
    "28": CAPITAL,     # chemical fibres
    "29": CAPITAL,     # rubber
    "30": LABOUR,      # plastics
    "31": LABOUR,      # non-metallic mineral products
    "32": CAPITAL,     # ferrous metal smelting and rolling
    "33": CAPITAL,     # non-ferrous metal smelting and rolling
    "34": LABOUR,      # metal products
    "35": CAPITAL,     # general-purpose machinery
    "36": CAPITAL,     # special-purpose machinery
    "37": TECHNOLOGY,  # transport equipment
    "39": TECHNOLOGY,  # electrical machinery and equipment
    "40": TECHNOLOGY,  # communication equipment, computers, electronics
    "41": TECHNOLOGY,  # instruments, meters, office machinery
    "42": LABOUR,      # handicrafts and other manufacturing
}


def high_income(destinations: Iterable, listed: Iterable[str] | None = None) -> np.ndarray:
    """(n,) bool: whether each destination is high income (``listed`` names, default :data:`HIGH_INCOME`)."""
    keys = set(HIGH_INCOME if listed is None else (country_key(n) for n in listed))
    return np.array([country_key(d) in keys for d in destinations], dtype=bool)


def intensity(industries: Iterable, mapping: Mapping[str, str] | None = None) -> np.ndarray:
    """(n,) object: the factor intensity of each industry code (``None`` where unmapped)."""
    table = {str(k): str(v) for k, v in (INTENSITY if mapping is None else mapping).items()}
    return np.array([table.get(_industry_key(i)) for i in industries], dtype=object)


def _industry_key(code) -> str:
    """``13``, ``"13"``, ``13.0`` and ``"1310"`` (a 4-digit code) all read as ``"13"``."""
    text = str(code).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text[:2] if text.isdigit() and len(text) > 2 else text
