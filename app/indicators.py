"""What each indicator means, its classes and colours, and how areas are summarised.

Umweltgerechtigkeit 2021/2022 codes each core indicator per Planungsraum as
1 = low, 2 = medium, 3 = high burden (green space: 3 = poor supply), 0 = no data.
Its "Mehrfachbelastung" is the number of the five core indicators in category 3.
A Planungsraum counts here as *multiply burdened* when two or more are.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import spatial

HIGH = 3
MULTIPLY_BURDENED_MIN = 2
# A Planungsraum is counted for an area when more than half of it lies inside.
COUNT_PLR_MIN_SHARE = 0.5

# Colour-blind-safe sequential scale (light = good, dark = bad) and a grey for "no data".
NO_DATA_COLOUR = "#bdbdbd"
SEQ = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704", "#3f1302"]


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    label_en: str
    kind: str  # "category" (codes with labels) or "number" (binned by breaks)
    classes: tuple = ()  # category: ((code, label_de, label_en, colour), ...)
    breaks: tuple = ()  # number: upper bounds of all but the last class
    colours: tuple = ()
    unit: str = ""
    higher_is_worse: bool = True
    source_layer: str = "umweltgerechtigkeit"
    extra: dict = field(default_factory=dict)


def _burden(id_, de, en, low_de="niedrig", low_en="low", high_de="hoch", high_en="high"):
    return Indicator(id_, de, en, "category", classes=(
        (1, f"1 – {low_de}", f"1 – {low_en}", SEQ[0]),
        (2, "2 – mittel", "2 – medium", SEQ[2]),
        (3, f"3 – {high_de}", f"3 – {high_en}", SEQ[4]),
        (0, "keine Daten", "no data", NO_DATA_COLOUR)))


UG_INDICATORS = ("ug_air", "ug_noise", "ug_thermal", "ug_green", "ug_social")

INDICATORS: tuple[Indicator, ...] = (
    Indicator("ug_burden_count", "Mehrfachbelastung (Anzahl hoher Belastungen)",
              "Multiple burden (number of high burdens)", "category",
              classes=tuple((n, str(n), str(n), SEQ[n]) for n in range(6))),
    _burden("ug_air", "Luftbelastung", "Air pollution"),
    _burden("ug_noise", "Lärmbelastung", "Noise"),
    _burden("ug_thermal", "Thermische Belastung (Hitze)", "Heat stress"),
    _burden("ug_green", "Grünflächenversorgung", "Green-space supply", "gut", "good", "schlecht", "poor"),
    _burden("ug_social", "Soziale Benachteiligung", "Social disadvantage"),
    Indicator("mss_status", "Sozialer Status (MSS 2021)", "Social status (MSS 2021)", "category", classes=(
        ("hoch", "hoch", "high", SEQ[0]), ("mittel", "mittel", "medium", SEQ[1]),
        ("niedrig", "niedrig", "low", SEQ[3]), ("sehr niedrig", "sehr niedrig", "very low", SEQ[4]),
        (None, "kein Index (< 300 Einw.)", "no index (< 300 residents)", NO_DATA_COLOUR)),
        source_layer="mss"),
    Indicator("green_m2_per_resident", "Öffentliches Grün je Einwohner/in", "Public green space per resident",
              "number", breaks=(1, 3, 6, 10, 20), colours=tuple(reversed(SEQ)), unit="m²",
              higher_is_worse=False, source_layer="gruenanlagen"),
    Indicator("residents", "Einwohnerinnen und Einwohner", "Residents", "number",
              breaks=(2000, 4000, 6000, 8000, 12000), colours=tuple(SEQ), higher_is_worse=False,
              source_layer="einwohner"),
)

_BY_ID = {i.id: i for i in INDICATORS}


def indicator(indicator_id: str) -> Indicator:
    return _BY_ID[indicator_id]


def colour_for(ind: Indicator, value) -> str:
    """The fill colour of one Planungsraum's value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NO_DATA_COLOUR if ind.kind == "number" else next((c for code, *_, c in ind.classes if code is None), NO_DATA_COLOUR)
    if ind.kind == "category":
        for code, *_, colour in ind.classes:
            if code == value:
                return colour
        return NO_DATA_COLOUR
    return ind.colours[int(np.searchsorted(ind.breaks, value, side="right"))]


# ---------------------------------------------------------------- area summaries

FACILITY_KINDS = ("kita", "school", "youth_centre")
MSS_CLASSES = ("hoch", "mittel", "niedrig", "sehr niedrig")


def summarise_zones(shares: pd.DataFrame, plr: pd.DataFrame, facility_counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per zone: its figures, population-weighted from the Planungsräume it covers.

    ``shares`` comes from ``spatial.area_shares`` (zone_id, unit_id = plr_id, share);
    ``plr`` is indexed by plr_id with residents, the ug_* codes, mss_status, green m².
    Residents and m² split with the share of a Planungsraum's area inside the zone.
    """
    weights = spatial.population_weights(shares, plr["residents"])
    zones = pd.Index(sorted(shares["zone_id"].unique()), name="zone_id")
    out = pd.DataFrame(index=zones)
    out["residents"] = spatial.weighted_sum(shares, plr["residents"]).round().astype("Int64")
    out["plr_count"] = (shares[shares["share"] > COUNT_PLR_MIN_SHARE].groupby("zone_id").size()
                        .reindex(zones, fill_value=0))
    for ind in UG_INDICATORS:
        out[f"share_high_{ind[3:]}"] = spatial.weighted_share(weights, plr[ind] == HIGH, known=plr[ind] > 0)
    multiple = plr["ug_burden_count"] >= MULTIPLY_BURDENED_MIN
    counted = shares[shares["share"] > COUNT_PLR_MIN_SHARE]
    out["plr_multiply_burdened"] = (counted["unit_id"].map(multiple).groupby(counted["zone_id"]).sum()
                                    .reindex(zones, fill_value=0).astype(int))
    out["share_multiply_burdened"] = spatial.weighted_share(weights, multiple)
    green = spatial.weighted_sum(shares, plr["green_public_m2"])
    out["green_public_m2"] = green
    out["green_m2_per_resident"] = green / out["residents"].astype(float).where(out["residents"] > 0)
    status_known = plr["mss_status"].notna()
    for cls in MSS_CLASSES:
        out[f"share_mss_{cls.replace(' ', '_')}"] = spatial.weighted_share(weights, plr["mss_status"] == cls, known=status_known)
    out["share_mss_no_index"] = spatial.weighted_share(weights, ~status_known)
    if facility_counts is not None:
        out = out.join(facility_counts.reindex(zones, fill_value=0))
    return out.reset_index()
