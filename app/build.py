"""``kiezkarte build``: raw files -> validated, joined, precomputed store.

Reads every dataset (``sources``), joins the Planungsraum tables by id and the points
by location (``spatial``), draws the QM areas (``qm``), summarises them against Berlin
(``indicators``), places the projects (``projects``) and writes the store atomically
(``store``: a GeoPackage file, or a PostGIS schema swapped in by one transaction). Returns a report of everything it noticed.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import catalog, geojson, indicators, qm, sources, spatial
from .errors import SourceError
from .names import name_key
from .projects import locate_projects, precision_counts
from .store import ensure_planner, write_store

OFFICIAL_AREAS_DIR = "qm_official"  # under the raw folder; written by `kiezkarte import-areas`
WEB_SIMPLIFY_M = 20  # below a pixel at city zoom


@dataclass
class BuildReport:
    notes: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_text(self) -> str:
        lines = [f"{k}: {v}" for k, v in self.counts.items()]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def build(raw_dir, store_url, official_areas: Path | None = None, planner_url: str | None = None) -> BuildReport:
    """Build the store at ``store_url`` from ``raw_dir``; nothing is written on error.

    The research projects go to the built store as ``research_projects`` and seed the
    planner store (``planner_url``, default beside the store), which keeps edits.
    """
    started = time.perf_counter()
    raw = Path(raw_dir)
    report = BuildReport()
    notes = report.notes

    plr = _planungsraeume(raw, notes)
    places = _places(raw, notes, plr)
    plr = _with_facility_counts(plr, places)
    valid_plr = set(plr["plr_id"])
    addresses, streets, address_plr = _addresses(raw, notes, valid_plr)

    areas = qm.build_areas(sources.qm_areas(raw, notes), plr, notes, path=raw / "qm" / "qm_areas.csv")
    official = official_areas or _official_file(raw)
    if official is not None:
        areas = qm.apply_official(areas, sources.read_vector(official, notes, strict_crs=True), official, notes)
    drawn = areas[areas.geometry.notna()]
    shares = spatial.area_shares(drawn, "slug", plr, "plr_id")
    berlin = pd.DataFrame({"zone_id": "berlin", "unit_id": plr["plr_id"], "share": 1.0})
    summary = indicators.summarise_zones(pd.concat([shares, berlin], ignore_index=True),
                                         plr.set_index("plr_id"), _zone_facilities(drawn, places))
    summary["boundary_approximate"] = summary["zone_id"].map(
        dict(zip(areas["slug"], areas["boundary_basis"] != "official"))).fillna(False).astype(bool)
    area_plr = shares.rename(columns={"zone_id": "area_slug", "unit_id": "plr_id"})
    plr["qm_areas"] = plr["plr_id"].map(area_plr.groupby("plr_id")["area_slug"].agg(";".join)).fillna("")

    projects = locate_projects(sources.qm_projects(raw, notes), areas, places[places["kind"].isin(
        ["kita", "school", "youth_centre", "green_space"])], plr, address_plr, notes)

    layers = {
        "planungsraeume": plr,
        "bezirke": sources.bezirke(raw, notes),
        "ortsteile": sources.ortsteile(raw, notes),
        "bezirksregionen": sources.bezirksregionen(raw, notes),
        "prognoseraeume": sources.prognoseraeume(raw, notes),
        "qm_areas": areas,
        "research_projects": projects,
        "places": places,
        "milieuschutz": sources.milieuschutz(raw, notes),
    }
    _check_bezirke(plr, layers["bezirke"], notes)
    report.counts = {
        "planungsraeume": len(plr), "residents": int(plr["residents"].sum()),
        "qm_areas": len(areas), "qm_areas_with_geometry": int(areas.geometry.notna().sum()),
        "boundary_basis": areas["boundary_basis"].value_counts().sort_index().to_dict(),
        "projects": len(projects), "project_location_precision": precision_counts(projects),
        "addresses": len(addresses), "places": places["kind"].value_counts().sort_index().to_dict(),
    }
    tables = {
        "addresses": addresses,
        "streets": streets,
        "area_plr": area_plr,
        "area_indicators": summary.rename(columns={"zone_id": "zone"}),
        "catalog": pd.DataFrame([layer.as_dict() for layer in catalog.LAYERS]),
        "geojson": _web_geojson(layers),
        "build_report": pd.DataFrame({"seq": range(len(notes)), "note": notes}),
        "meta": pd.DataFrame({"key": ["counts"], "value": [json.dumps(report.counts, ensure_ascii=False)]}),
    }
    write_store(store_url, layers, tables)
    added = ensure_planner(store_url, planner_url, projects)
    report.counts["projects_added_to_planner_store"] = added
    report.seconds = time.perf_counter() - started
    return report


def _planungsraeume(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    """The 542 Planungsräume with hierarchy, residents, burdens, MSS and green figures."""
    plr = sources.planungsraeume(raw, notes)
    valid = set(plr["plr_id"])
    tables = {
        raw / "lor2021_planungsraeume" / "LOR_2021_hierarchy.csv": sources.lor_hierarchy(raw, notes),
        raw / "umweltgerechtigkeit_2021_2022": sources.umweltgerechtigkeit(raw, notes),
        raw / "mss_2021_plr": sources.mss(raw, notes),
        raw / "einwohner_plr": sources.residents(raw, notes),
        raw / "gruenanlagen_spielplaetze_tables": sources.green_per_plr(raw, notes, valid),
    }
    for path, table in tables.items():
        matched = sources.check_keys(table, "plr_id", valid, path, notes)
        missing = valid - set(table["plr_id"])
        if missing and "gruenanlagen" not in str(path):
            notes.append(f"{path}: no row for {len(missing)} Planungsräume, e.g. {sorted(missing)[0]}")
        plr = plr.merge(table[matched], on="plr_id", how="left", validate="one_to_one")
    for column in ("green_public_m2", "playground_net_m2"):
        plr[column] = plr[column].fillna(0.0)  # no row in the green tables: no public green recorded
    plr["green_m2_per_resident"] = plr["green_public_m2"] / plr["residents"].where(plr["residents"] > 0)
    plr["area_m2"] = plr.geometry.area.round(1)
    return plr


def _places(raw: Path, notes: list[str], plr: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    places = pd.concat([sources.facilities(raw, notes), sources.refreshment_points(raw, notes)], ignore_index=True)
    places = gpd.GeoDataFrame(places, geometry="geometry", crs=plr.crs)
    found = spatial.locate_points(plr.geometry.to_numpy(), places.geometry.x.to_numpy(), places.geometry.y.to_numpy())
    places["plr_id"] = np.where(found >= 0, plr["plr_id"].to_numpy()[np.maximum(found, 0)], None)
    outside = int((found < 0).sum())
    if outside:
        notes.append(f"places: {outside} points lie in no Planungsraum (outside Berlin) and are kept without one")
    return places


def _with_facility_counts(plr: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    counts = pd.crosstab(places["plr_id"], places["kind"])
    plr = plr.copy()
    for kind in indicators.FACILITY_KINDS:
        plr[f"{kind}_count"] = plr["plr_id"].map(counts[kind] if kind in counts else {}).fillna(0).astype(int)
    return plr


def _zone_facilities(zones: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> pd.DataFrame:
    """Facilities inside each zone's own geometry, plus Berlin's totals."""
    kinds = places["kind"].to_numpy()
    zi, pi = spatial.points_in_zones(zones.geometry.to_numpy(), places.geometry.x, places.geometry.y)
    pairs = pd.DataFrame({"zone_id": zones["slug"].to_numpy()[zi], "kind": kinds[pi]})
    counts = pd.crosstab(pairs["zone_id"], pairs["kind"]) if len(pairs) else pd.DataFrame()
    totals = pd.Series(kinds).value_counts()
    counts.loc["berlin"] = [totals.get(k, 0) for k in counts.columns] if len(counts.columns) else []
    out = pd.DataFrame(index=counts.index)
    for kind in indicators.FACILITY_KINDS:
        out[f"{kind}_count"] = (counts[kind] if kind in counts else 0)
    out.loc["berlin"] = [int(totals.get(k, 0)) for k in indicators.FACILITY_KINDS]
    return out.fillna(0).astype(int)


def _addresses(raw: Path, notes: list[str], valid_plr):
    """The address table with each street's name key, the street table and an address finder.

    Works on the street names' codes (``pd.factorize``): ``name_key`` runs once per street
    (11,000), not once per address (400,000).
    """
    addresses = sources.addresses(raw, notes, valid_plr)
    codes, names = pd.factorize(addresses["street"].to_numpy(dtype=object))
    keys = np.array([name_key(s) for s in names], dtype=object)
    addresses.insert(1, "street_key", pd.Series(keys[codes], index=addresses.index, dtype=str))
    return addresses, _streets(addresses, codes, names, keys), _AddressFinder(addresses, codes, keys)


def _streets(addresses: pd.DataFrame, codes: np.ndarray, names: np.ndarray, keys: np.ndarray) -> pd.DataFrame:
    """One row per street and postcode, for suggestions as you type: its number of
    addresses and the Ortsteil of its first address (``sources.addresses`` has no
    missing values), ordered by street key, postcode and street."""
    plz_codes, plz = pd.factorize(addresses["plz"].to_numpy(dtype=object))
    pairs, first, counts = np.unique(codes.astype(np.int64) * len(plz) + plz_codes, return_index=True,
                                     return_counts=True)
    street, postcode = np.divmod(pairs, len(plz))
    streets = pd.DataFrame({"street_key": keys[street], "street": names[street], "plz": plz[postcode],
                            "addresses": counts.astype(np.int64),
                            "ortsteil": addresses["ortsteil"].to_numpy(dtype=object)[first]})
    return streets.sort_values(["street_key", "plz", "street"], ignore_index=True)


class _AddressFinder:
    """``find(street, number, suffix)`` -> the plr_id of that address, or None.

    Matches the street by its name key, the number and suffix exactly; where the table
    holds an address twice, its last row answers. Only the rows of the streets asked
    for are looked at (the projects ask for a few dozen), not a dict of all 400,000.
    """

    def __init__(self, addresses: pd.DataFrame, street_codes: np.ndarray, street_keys: np.ndarray):
        self._codes = street_codes
        self._by_key: dict[str, list[int]] = {}
        for code, key in enumerate(street_keys):
            self._by_key.setdefault(key, []).append(code)
        self._hnr = addresses["hnr"].to_numpy(dtype=object)
        self._suffix = addresses["hnr_suffix"].to_numpy(dtype=object)
        self._plr = addresses["plr_id"].to_numpy(dtype=object)

    def __call__(self, street: str, number: str, suffix: str = ""):
        codes = self._by_key.get(name_key(street))
        if not codes:
            return None
        number, suffix = str(number), (suffix or "").upper()
        rows = np.flatnonzero(np.isin(self._codes, codes))
        hits = [i for i in rows if self._hnr[i] == number and self._suffix[i] == suffix]
        return self._plr[hits[-1]] if hits else None


def _official_file(raw: Path) -> Path | None:
    folder = raw / OFFICIAL_AREAS_DIR
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".geojson", ".json", ".gpkg", ".zip"}) if folder.is_dir() else []
    return files[0] if files else None


def _check_bezirke(plr: gpd.GeoDataFrame, bezirke: gpd.GeoDataFrame, notes: list[str]) -> None:
    """Each Planungsraum must lie in exactly one Bezirk, the one its id names."""
    points = plr.geometry.representative_point()
    found = spatial.locate_points(bezirke.geometry.to_numpy(), points.x, points.y)
    located = np.where(found >= 0, bezirke["bez_id"].to_numpy()[np.maximum(found, 0)], None)
    wrong = located != plr["bez_id"].to_numpy()
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise SourceError("lor_planungsraeume_2021.shp", f"Planungsraum {plr['plr_id'].iloc[i]} lies in Bezirk "
                          f"{located[i]} but its id says {plr['bez_id'].iloc[i]}", row=i + 1, field="BEZ")


def _web_geojson(layers: dict) -> pd.DataFrame:
    """Precomputed GeoJSON the maps and the API send as stored text."""
    plr_props = ["plr_id", "plr_name", "bezirk", "residents", *indicators.UG_INDICATORS, "ug_burden_count",
                 "mss_status", "green_m2_per_resident", "qm_areas"]
    area_props = ["slug", "short_name", "name", "bezirk", "status", "status_group", "start_year", "end_year",
                  "boundary_basis"]
    plr = layers["planungsraeume"].assign(green_m2_per_resident=layers["planungsraeume"]["green_m2_per_resident"].round(1))
    bodies = {
        "planungsraeume": geojson.feature_collection(plr, plr_props, id_column="plr_id",
                                                     simplify_m=WEB_SIMPLIFY_M, decimals=5),
        "qm_areas": geojson.feature_collection(layers["qm_areas"], area_props, id_column="slug",
                                               simplify_m=WEB_SIMPLIFY_M / 4),
        "bezirke": geojson.feature_collection(layers["bezirke"], ["bez_id", "bezirk"], id_column="bez_id",
                                              simplify_m=WEB_SIMPLIFY_M, decimals=5),
    }
    return pd.DataFrame({"key": list(bodies), "body": list(bodies.values())})
