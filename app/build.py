"""``kiezkarte build``: raw files -> validated, joined, precomputed store.

Reads every dataset (``sources``), joins the Planungsraum tables by id and the points
by location (``spatial``), draws the QM areas (``qm``), summarises them against Berlin
(``indicators``), places the projects (``projects``) and writes the store atomically
(``store``: a GeoPackage file, or a PostGIS schema swapped in by one transaction). Returns a report of everything it noticed.
"""
from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import addresses, catalog, collector, geojson, indicators, qm, sources, spatial
from .errors import SourceError
from .forked import Forked
from .projects import asked_addresses, locate_projects, precision_counts
from .store import backend, ensure_planner, postgis  # postgis: imported here, not in the middle of a build
from .store.gpkg import add_to_geopackage, commit_geopackage, discard_geopackage, move_layers, start_geopackage

OFFICIAL_AREAS_DIR = "qm_official"  # under the raw folder; written by `kiezkarte import-areas`
WEB_SIMPLIFY_M = 20  # below a pixel at city zoom
CITY_DECIMALS = 5  # about 1 m: the Planungsräume and Bezirke, drawn at city zoom
# The build report lists notes stage by stage in this order, whatever order the stages run in.
NOTE_STAGES = ("planungsraeume", "places", "addresses", "areas", "projects", "layers")


@dataclass
class BuildReport:
    notes: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    projects: gpd.GeoDataFrame | None = field(default=None, repr=False)  # the research projects, placed

    def as_text(self) -> str:
        lines = [f"{k}: {v}" for k, v in self.counts.items()]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def build(raw_dir, store_url, official_areas: Path | None = None, planner_url: str | None = None) -> BuildReport:
    """Build the store at ``store_url`` from ``raw_dir``; nothing is written on error.

    The research projects go to the built store as ``research_projects`` and seed the
    planner store (``planner_url``, default beside the store), which keeps edits.
    Two forked child processes work beside this one (``forked``): one makes the address
    tables (``addresses.write_tables``) in the new store, the other the web GeoJSON.
    """
    started = time.perf_counter()
    with collector.paused():
        report = _build(Path(raw_dir), store_url, official_areas)
    added = ensure_planner(store_url, planner_url, report.projects)
    report.counts["projects_added_to_planner_store"] = added
    report.seconds = time.perf_counter() - started
    return report


def _build(raw: Path, store_url, official_areas: Path | None) -> BuildReport:
    report = BuildReport()
    notes = {stage: [] for stage in NOTE_STAGES}

    project_table = sources.qm_projects(raw, notes["projects"])
    asked = asked_addresses(project_table)
    plr = sources.planungsraeume(raw, notes["planungsraeume"])
    bezirke = sources.bezirke(raw, notes["layers"])
    with _store_being_written(store_url) as tmp, ExitStack() as children:
        shapes_job = children.enter_context(Forked(_web_shapes, plr, bezirke))  # while the addresses are read
        address_job = children.enter_context(Forked(
            addresses.write_tables, tmp, sources.read_addresses(raw), raw, set(plr["plr_id"]), asked,
            {"catalog": pd.DataFrame([layer.as_dict() for layer in catalog.LAYERS])}, tells=True))
        plr = _planungsraeume(raw, notes["planungsraeume"], plr)
        places = _places(raw, notes["places"], plr)
        plr = _with_facility_counts(plr, places)
        areas, area_plr, summary = _areas(raw, notes["areas"], plr, places, official_areas or _official_file(raw))
        plr["qm_areas"] = plr["plr_id"].map(area_plr.groupby("plr_id")["area_slug"].agg(";".join)).fillna("")
        _check_bezirke(plr, bezirke)
        web_job = children.enter_context(Forked(_web_geojson, plr, areas, bezirke, shapes_job.result()))
        found = dict(zip(asked, address_job.told()))
        named = places[places["kind"].isin(["kita", "school", "youth_centre", "green_space"])]
        projects = locate_projects(project_table, areas, named, plr, lambda *address: found.get(address),
                                   notes["projects"])
        layers = {
            "planungsraeume": plr,
            "bezirke": bezirke,
            "ortsteile": sources.ortsteile(raw, notes["layers"]),
            "bezirksregionen": sources.bezirksregionen(raw, notes["layers"]),
            "prognoseraeume": sources.prognoseraeume(raw, notes["layers"]),
            "qm_areas": areas,
            "research_projects": projects,
            "places": places,
            "milieuschutz": sources.milieuschutz(raw, notes["layers"]),
        }
        beside = f"{tmp}-layers.gpkg"  # the address child writes into tmp meanwhile
        add_to_geopackage(beside, layers, {})
        address_count, notes["addresses"] = address_job.result()
        move_layers(beside, tmp)
        report.notes = [note for stage in NOTE_STAGES for note in notes[stage]]
        report.counts = {
            "planungsraeume": len(plr), "residents": int(plr["residents"].sum()),
            "qm_areas": len(areas), "qm_areas_with_geometry": int(areas.geometry.notna().sum()),
            "boundary_basis": areas["boundary_basis"].value_counts().sort_index().to_dict(),
            "projects": len(projects), "project_location_precision": precision_counts(projects),
            "addresses": address_count, "places": places["kind"].value_counts().sort_index().to_dict(),
        }
        tables = {
            "area_plr": area_plr,
            "area_indicators": summary.rename(columns={"zone_id": "zone"}),
            "geojson": web_job.result(),
            "build_report": pd.DataFrame({"seq": range(len(report.notes)), "note": report.notes}),
            "meta": pd.DataFrame({"key": ["counts"], "value": [json.dumps(report.counts, ensure_ascii=False)]}),
        }
        add_to_geopackage(tmp, {}, tables)
    report.projects = projects
    return report


def _areas(raw: Path, notes: list[str], plr: gpd.GeoDataFrame, places: gpd.GeoDataFrame, official: Path | None):
    """The QM areas, which Planungsräume each covers (and how much), and their indicators next to Berlin's."""
    areas = qm.build_areas(sources.qm_areas(raw, notes), plr, notes, path=raw / "qm" / "qm_areas.csv")
    if official is not None:
        areas = qm.apply_official(areas, sources.read_vector(official, notes, strict_crs=True), official, notes)
    drawn = areas[areas.geometry.notna()]
    shares = spatial.area_shares(drawn, "slug", plr, "plr_id")
    berlin = pd.DataFrame({"zone_id": "berlin", "unit_id": plr["plr_id"], "share": 1.0})
    summary = indicators.summarise_zones(pd.concat([shares, berlin], ignore_index=True),
                                         plr.set_index("plr_id"), _zone_facilities(drawn, places))
    summary["boundary_approximate"] = summary["zone_id"].map(
        dict(zip(areas["slug"], areas["boundary_basis"] != "official"))).fillna(False).astype(bool)
    return areas, shares.rename(columns={"zone_id": "area_slug", "unit_id": "plr_id"}), summary


@contextmanager
def _store_being_written(store_url):
    """The path of a new GeoPackage to write; when the block completes, it replaces the
    store at ``store_url`` (a GeoPackage path) or is loaded into it (PostGIS); on error
    it is deleted."""
    if backend(store_url) == "postgis":
        with tempfile.TemporaryDirectory(prefix="kiezkarte-build-") as folder:
            with _store_being_written(Path(folder) / "store.gpkg") as tmp:
                yield tmp
            postgis.load_geopackage(Path(folder) / "store.gpkg", store_url)
        return
    target = str(store_url).removeprefix("gpkg:").removeprefix("file:")
    tmp = start_geopackage(target)
    try:
        yield tmp
        commit_geopackage(tmp, target)
    except BaseException:
        discard_geopackage(tmp)
        raise


def _planungsraeume(raw: Path, notes: list[str], plr: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 542 Planungsräume (``plr``, as ``sources.planungsraeume`` read them) with hierarchy,
    residents, burdens, MSS and green figures."""
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
    counts = _crosstab(places["plr_id"], places["kind"])
    plr = plr.copy()
    for kind in indicators.FACILITY_KINDS:
        plr[f"{kind}_count"] = plr["plr_id"].map(counts[kind] if kind in counts else {}).fillna(0).astype(int)
    return plr


def _zone_facilities(zones: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> pd.DataFrame:
    """Facilities inside each zone's own geometry, plus Berlin's totals."""
    kinds = places["kind"].to_numpy()
    zi, pi = spatial.points_in_zones(zones.geometry.to_numpy(), places.geometry.x, places.geometry.y)
    pairs = pd.DataFrame({"zone_id": zones["slug"].to_numpy()[zi], "kind": kinds[pi]})
    counts = _crosstab(pairs["zone_id"], pairs["kind"]) if len(pairs) else pd.DataFrame()
    totals = pd.Series(kinds).value_counts()
    counts.loc["berlin"] = [totals.get(k, 0) for k in counts.columns] if len(counts.columns) else []
    out = pd.DataFrame(index=counts.index)
    for kind in indicators.FACILITY_KINDS:
        out[f"{kind}_count"] = (counts[kind] if kind in counts else 0)
    out.loc["berlin"] = [int(totals.get(k, 0)) for k in indicators.FACILITY_KINDS]
    return out.fillna(0).astype(int)


def _crosstab(index: pd.Series, columns: pd.Series) -> pd.DataFrame:
    """``pd.crosstab(index, columns)`` (rows with a missing key left out), without the
    pivot-table machinery that makes it 7x slower."""
    pairs = pd.DataFrame({"index": index.to_numpy(), "columns": columns.to_numpy()})
    return pairs.groupby(["index", "columns"]).size().unstack(fill_value=0)


def _official_file(raw: Path) -> Path | None:
    folder = raw / OFFICIAL_AREAS_DIR
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".geojson", ".json", ".gpkg", ".zip"}) if folder.is_dir() else []
    return files[0] if files else None


def _check_bezirke(plr: gpd.GeoDataFrame, bezirke: gpd.GeoDataFrame) -> None:
    """Each Planungsraum must lie in exactly one Bezirk, the one its id names."""
    points = plr.geometry.representative_point()
    found = spatial.locate_points(bezirke.geometry.to_numpy(), points.x, points.y)
    located = np.where(found >= 0, bezirke["bez_id"].to_numpy()[np.maximum(found, 0)], None)
    wrong = located != plr["bez_id"].to_numpy()
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise SourceError("lor_planungsraeume_2021.shp", f"Planungsraum {plr['plr_id'].iloc[i]} lies in Bezirk "
                          f"{located[i]} but its id says {plr['bez_id'].iloc[i]}", row=i + 1, field="BEZ")


def _web_shapes(plr: gpd.GeoDataFrame, bezirke: gpd.GeoDataFrame) -> dict:
    """The web geometries of the Planungsräume and Bezirke (``geojson.web_geometries``),
    which need nothing but the files: simplifying them is most of ``_web_geojson``'s work."""
    return {"planungsraeume": geojson.web_geometries(plr, WEB_SIMPLIFY_M, decimals=CITY_DECIMALS),
            "bezirke": geojson.web_geometries(bezirke, WEB_SIMPLIFY_M, decimals=CITY_DECIMALS)}


def _web_geojson(plr: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, bezirke: gpd.GeoDataFrame,
                 shapes: dict) -> pd.DataFrame:
    """Precomputed GeoJSON the maps and the API send as stored text (``shapes``: ``_web_shapes``)."""
    plr_props = ["plr_id", "plr_name", "bezirk", "residents", *indicators.UG_INDICATORS, "ug_burden_count",
                 "mss_status", "green_m2_per_resident", "qm_areas"]
    area_props = ["slug", "short_name", "name", "bezirk", "status", "status_group", "start_year", "end_year",
                  "boundary_basis"]
    plr = plr.assign(green_m2_per_resident=plr["green_m2_per_resident"].round(1))
    bodies = {
        "planungsraeume": geojson.feature_collection(plr, plr_props, id_column="plr_id", decimals=CITY_DECIMALS,
                                                     geometries=shapes["planungsraeume"]),
        "qm_areas": geojson.feature_collection(areas, area_props, id_column="slug",
                                               simplify_m=WEB_SIMPLIFY_M / 4),
        "bezirke": geojson.feature_collection(bezirke, ["bez_id", "bezirk"], id_column="bez_id", decimals=CITY_DECIMALS,
                                              geometries=shapes["bezirke"]),
    }
    return pd.DataFrame({"key": list(bodies), "body": list(bodies.values())})
