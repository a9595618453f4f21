"""QM projects: normalise fund and Handlungsfeld, and locate each one honestly.

``location_precision`` says how a project's point was found, best first:
``exact`` (coordinates given), ``facility`` (its place matched by name to exactly one
school, kita, youth centre or green space near its QM area), ``planungsraum`` (its
address found in the address table: placed at that Planungsraum's representative
point), ``area`` (only its QM area is known: placed at the area's representative
point, or not at all when the area has no boundary), ``none`` (nothing known).
"""
from __future__ import annotations

import hashlib
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .names import aliases, name_key, short_name, slugify

FUNDS = ("Projektfonds", "Baufonds", "Aktionsfonds", "Netzwerkfonds", "Quartiersfonds (historical)", "other", "not stated")
HANDLUNGSFELDER = ("Integration und Nachbarschaft", "Bildung", "Öffentlicher Raum", "Gesundheit und Bewegung",
                   "Beteiligung, Kooperation und Vernetzung")
PRECISIONS = ("exact", "facility", "planungsraum", "area", "none")
# The year the project table was researched: what ended before it is completed.
REFERENCE_YEAR = 2026
DM_PER_EUR = 1.95583  # the fixed conversion rate of 1999
FACILITY_RADIUS_M = 1000  # a named facility must lie within this distance of the QM area


def normalise_fund(text: str) -> str:
    t = (text or "").lower()
    for fund in ("Baufonds", "Projektfonds", "Aktionsfonds", "Netzwerkfonds"):
        if t.startswith(fund.lower()):
            return fund
    if t.startswith("quartiersfonds") or t.startswith("qf"):
        return "Quartiersfonds (historical)"
    if not t or "not stated" in t:
        return "not stated"
    return "other"


def normalise_handlungsfelder(text: str) -> tuple[list[str], bool]:
    """Handlungsfelder named in the text, and whether the source only implied them."""
    t = (text or "").lower()
    found = [h for h in HANDLUNGSFELDER if h.lower().split(",")[0].split(" und ")[0] in t]
    return found, "(inferred)" in t


def status(start, end) -> str:
    if end is not None and end < REFERENCE_YEAR:
        return "completed"
    if start is not None and start > REFERENCE_YEAR:
        return "planned"
    if end is not None:
        return "ongoing"
    return "unknown"


def parse_cost(text: str) -> float | None:
    """'265000' -> 265000.0; '55,000 DM' -> converted at the fixed rate; '' -> None."""
    t = (text or "").strip()
    if not t:
        return None
    is_dm = t.upper().endswith("DM")
    digits = re.sub(r"[^0-9.]", "", t.replace(",", "") if is_dm or re.search(r",\d{3}\b", t) else t.replace(",", "."))
    value = float(digits)
    return round(value / DM_PER_EUR, 2) if is_dm else value


def project_id(area: str, title: str) -> str:
    """A stable id from area and title: 'soldiner-strasse-1a2b3c4d', 'projekt-1a2b3c4d' without an area."""
    digest = hashlib.sha1(f"{area}|{title}".encode()).hexdigest()[:8]
    return f"{slugify(short_name(area))[:40] or 'projekt'}-{digest}"


def locate_projects(table: pd.DataFrame, areas: gpd.GeoDataFrame, places: gpd.GeoDataFrame,
                    plr: gpd.GeoDataFrame, address_plr, notes: list[str]) -> gpd.GeoDataFrame:
    """Normalise and place every project; never invent a location.

    ``places``: named points (facilities and green spaces) with ``name``, ``kind``,
    ``plr_id``; ``address_plr(street, number)`` returns a plr_id or None.
    """
    area_by_key = {}
    for i, name in enumerate(areas["name"]):
        for alias in aliases(name):
            area_by_key.setdefault(name_key(alias), i)
    place_keys = places["name"].map(name_key).to_numpy()
    plr_point = dict(zip(plr["plr_id"], plr.geometry.representative_point()))
    plr_bezirk = dict(zip(plr["plr_id"], plr["bezirk"]))
    rows, geoms = [], []
    for i, r in enumerate(table.itertuples(index=False)):
        area_i = area_by_key.get(name_key(r.qm_area))
        area = areas.iloc[area_i] if area_i is not None else None
        if area is None:
            notes.append(f"qm_projects.csv: row {i + 2}: qm_area '{r.qm_area}' is no single QM area; project kept unplaced")
        start, end = _year(r.start_year), _year(r.end_year)
        fields, inferred = normalise_handlungsfelder(r.handlungsfeld)
        geom, precision, matched, plr_id = None, "none", "", None
        facility = _facility(r.place, area, places, place_keys, plr_bezirk)
        if facility is not None:
            geom, precision, matched = facility.geometry, "facility", f"{facility['kind']}: {facility['name']}"
            plr_id = facility["plr_id"]
        if geom is None:
            plr_id = _address_plr(r.address, address_plr)
            if plr_id:
                geom, precision, matched = plr_point[plr_id], "planungsraum", plr_id
        if geom is None and area is not None:
            precision = "area"
            geom = area.geometry.representative_point() if area.geometry is not None else None
        rows.append({
            "id": project_id(r.qm_area, r.title), "title": r.title,
            "area_slug": area["slug"] if area is not None else None, "qm_area_stated": r.qm_area,
            "fund": normalise_fund(r.fund), "fund_stated": r.fund,
            "handlungsfelder": ";".join(fields), "handlungsfeld_inferred": bool(inferred and fields),
            "climate": "klima" in f"{r.fund} {r.title}".lower(),
            "start_year": start, "end_year": end, "status": status(start, end),
            "cost_eur": parse_cost(r.cost_eur), "cost_stated": r.cost_eur,
            "place": r.place, "address": r.address, "location_precision": precision, "located_by": matched,
            "plr_id": plr_id,
            "source_url": r.source_url,
        })
        geoms.append(geom)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=plr.crs)


def _facility(place: str, area, places: gpd.GeoDataFrame, place_keys: np.ndarray, plr_bezirk: dict):
    """The one named place near the area whose name equals the project's place, else None.

    Works on the few rows whose name matches (numpy), not on the whole frame per project."""
    if not place or area is None:
        return None
    keys = {name_key(place), name_key(short_name(place))} - {""}  # never the part in parentheses: an owner or a nearby square
    rows = np.flatnonzero(np.isin(place_keys, list(keys)))
    if len(rows) and area.geometry is not None:
        rows = rows[shapely.distance(places.geometry.to_numpy()[rows], area.geometry) <= FACILITY_RADIUS_M]
    elif len(rows):
        rows = rows[[plr_bezirk.get(p) == area["bezirk"] for p in places["plr_id"].to_numpy()[rows]]]
    return places.iloc[rows[0]] if len(rows) == 1 else None


def asked_addresses(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(street, number, suffix) of every project address ``locate_projects`` will look up,
    so the build can have them looked up ahead."""
    return [parsed for parsed in map(_parse_address, table["address"]) if parsed]


def _address_plr(address: str, address_plr):
    parsed = _parse_address(address)
    return address_plr(*parsed) if parsed else None


def _parse_address(address: str) -> tuple[str, str, str] | None:
    m = re.match(r"^\s*(.+?)\s+(\d+)\s*([a-zA-Z]?)\s*$", address or "")
    return (m.group(1), m.group(2), m.group(3)) if m else None


def _year(text):
    t = (text or "").strip()
    return int(float(t)) if t else None


def precision_counts(projects: pd.DataFrame) -> dict[str, int]:
    counts = projects["location_precision"].value_counts()
    return {p: int(counts.get(p, 0)) for p in PRECISIONS}
