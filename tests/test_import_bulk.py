"""A whole import is written at once; the planner GeoPackage stays one that GDAL and QGIS read right.

The GeoPackage planner store fills its R-tree for an import's rows itself (GDAL's R-tree
triggers are set aside inside the transaction and put back): the file must pass SQLite's
integrity and R-tree checks, keep the same triggers, and GDAL's spatial filter (the R-tree)
must find every project in a box. Moved projects, single edits and re-imports follow.
Project titles are made up by the tests; the points are representative points of the
real shipped Planungsräume.
"""
import json
import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from app.importer import import_projects
from app.importer import prepare_one
from app.store import open_planner, open_store
from app.store.geometry import decode
from tests.conftest import RAW_DIR


@pytest.fixture(scope="module")
def plr_points():
    plr = gpd.read_file(RAW_DIR / "lor2021_planungsraeume" / "lor_planungsraeume_2021.shp").set_index("PLR_ID")
    return plr.geometry.representative_point().to_crs(4326).sample(60, random_state=7)


def lonlat_csv(path, points, *, shift=0.0, moved=()):
    rows = [{"id": f"bulk-{i}", "title": f"Massenimport {i}", "fund": "Baufonds",
             "lat": round(p.y + (shift if i in moved else 0), 6), "lon": round(p.x, 6)}
            for i, p in enumerate(points)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def triggers(path):
    with sqlite3.connect(path) as con:
        return sorted(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())


def assert_sound_geopackage(path):
    """Integrity, R-tree structure, and every project's box in the R-tree as GDAL's triggers put it."""
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT rtreecheck('rtree_projects_geom')").fetchone()[0] == "ok"
        boxes = {fid: box for fid, *box in con.execute("SELECT id, minx, maxx, miny, maxy FROM rtree_projects_geom")}
        with_geometry = {}
        for fid, blob in con.execute("SELECT fid, geom FROM projects"):
            geom = decode(blob)
            if geom is not None:
                minx, miny, maxx, maxy = geom.bounds
                with_geometry[fid] = (minx, maxx, miny, maxy)
        count = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'projects'").fetchone()[0]
        assert count == con.execute("SELECT count(*) FROM projects").fetchone()[0]
    assert set(boxes) == set(with_geometry)
    for fid, (minx, maxx, miny, maxy) in with_geometry.items():  # R-tree boxes are float32, rounded outwards
        bminx, bmaxx, bminy, bmaxy = boxes[fid]
        assert bminx <= minx and bmaxx >= maxx and bminy <= miny and bmaxy >= maxy
        assert maxx - bminx < 1 and bmaxx - minx < 1 and maxy - bminy < 1 and bmaxy - miny < 1


def assert_gdal_finds_by_box(path):
    """GDAL's spatial filter (the R-tree) finds exactly the projects inside a box."""
    every = pyogrio.read_dataframe(path, layer="projects")
    every = every[every.geometry.notna()]
    centre = every[every["id"].str.startswith("bulk-")].geometry.iloc[0]
    box = (centre.x - 3000, centre.y - 3000, centre.x + 3000, centre.y + 3000)
    found = pyogrio.read_dataframe(path, layer="projects", bbox=box)
    inside = every[every.geometry.intersects(shapely.box(*box))]
    assert sorted(found["id"]) == sorted(inside["id"]) and len(found) >= 1


@pytest.fixture()
def gpkg_stores(built, tmp_path):
    """The GeoPackage store with a fresh planner GeoPackage: for the file's own R-tree and triggers."""
    planner = open_planner(str(built[0]), str(tmp_path / "planner.gpkg"))
    return open_store(str(built[0]), planner.path), planner


GPKG_INDEX = "the planner GeoPackage's own R-tree and GDAL's triggers"


@pytest.mark.geopackage_only(GPKG_INDEX)
def test_imported_geopackage_is_sound_and_gdal_filters_by_its_index(gpkg_stores, plr_points, tmp_path):
    store, planner = gpkg_stores
    before = triggers(planner.path)
    report = import_projects(lonlat_csv(tmp_path / "p.csv", plr_points), store, planner, username="t")
    assert report.committed and report.counts["create"] == len(plr_points)
    assert triggers(planner.path) == before
    assert_sound_geopackage(planner.path)
    assert_gdal_finds_by_box(planner.path)


@pytest.mark.geopackage_only(GPKG_INDEX)
def test_moved_projects_move_in_the_index_and_the_audit_log(gpkg_stores, plr_points, tmp_path):
    store, planner = gpkg_stores
    import_projects(lonlat_csv(tmp_path / "p.csv", plr_points), store, planner, username="anna")
    moved = {3, 17}
    report = import_projects(lonlat_csv(tmp_path / "p.csv", plr_points, shift=0.001, moved=moved), store, planner,
                             username="ben")
    assert report.committed
    assert [r.id for r in report.rows if r.action == "update"] == [f"bulk-{i}" for i in sorted(moved)]
    assert report.counts["unchanged"] == len(plr_points) - len(moved)
    for i in moved:
        entry = store.rows("audit_log", "project_id = ? AND action = 'update'", (f"bulk-{i}",))
        assert len(entry) == 1 and entry[0]["username"] == "ben"
        before, after = json.loads(entry[0]["before"]), json.loads(entry[0]["after"])
        assert shapely.from_wkt(after["geometry"]).y - shapely.from_wkt(before["geometry"]).y == pytest.approx(111, abs=5)
    assert_sound_geopackage(planner.path)
    assert_gdal_finds_by_box(planner.path)


@pytest.mark.geopackage_only(GPKG_INDEX)
def test_a_single_edit_after_an_import_keeps_the_index(gpkg_stores, plr_points, tmp_path):
    store, planner = gpkg_stores
    import_projects(lonlat_csv(tmp_path / "p.csv", plr_points), store, planner, username="t")
    target = plr_points.iloc[-1]
    report, values, geom = prepare_one(store, {"id": "bulk-0", "title": "Massenimport 0", "fund": "Baufonds",
                                               "lat": str(target.y), "lon": str(target.x)})
    assert not report.errors
    with planner.transaction() as con:
        assert planner.save(con, "carla", values, geom) == "updated"
        assert planner.save(con, "carla", {**values, "id": "single-1"}, geom) == "created"
    assert_sound_geopackage(planner.path)
    row = store.rows("projects", "id = 'bulk-0'")[0]
    assert row["plr_id"] == plr_points.index[-1]


def test_research_seed_adds_refreshes_and_keeps_planners_edits(store_url, planner_url, backend, tmp_path):
    """The research projects come in as one batch too: a second seed changes nothing, a changed
    research project follows the research table unless a planner edited it, a new one is added."""
    from app.store import ensure_planner
    planner = open_planner(store_url, planner_url)
    store = open_store(store_url, planner.path)
    research = store.read_layer("research_projects")
    assert store.scalar("SELECT count(*) FROM projects WHERE origin = 'research'") == len(research)
    audit_before = store.scalar("SELECT count(*) FROM audit_log")
    assert ensure_planner(store_url, planner_url, research) == 0
    assert store.scalar("SELECT count(*) FROM audit_log") == audit_before

    placed = research[research.geometry.notna()]
    edited_id, followed_id = placed["id"].iloc[0], placed["id"].iloc[1]
    report, values, geom = prepare_one(store, {"id": edited_id, "title": "Von Anna umbenannt", "fund": "Baufonds",
                                               "qm_area": placed["area_slug"].iloc[0]})
    with planner.transaction() as con:
        planner.save(con, "anna", values, geom)
    changed = research.copy()
    changed.loc[changed["id"].isin([edited_id, followed_id]), "title"] = "Neuer Titel der Recherche"
    extra = changed[changed["id"] == followed_id].copy()
    extra["id"] = "research-new-1"
    changed = pd.concat([changed, extra], ignore_index=True).set_geometry("geometry")
    assert ensure_planner(store_url, planner_url, changed) == 2
    titles = {r["id"]: r["title"] for r in store.rows("projects", "id IN (?, ?, ?)",
                                                      (edited_id, followed_id, "research-new-1"))}
    assert titles == {edited_id: "Von Anna umbenannt", followed_id: "Neuer Titel der Recherche",
                      "research-new-1": "Neuer Titel der Recherche"}
    if backend == "geopackage":
        assert_sound_geopackage(planner.path)


def test_projected_coordinates_in_several_crs_in_one_file(stores, tmp_path):
    """Each row's x/y (or WKT) is read in the first CRS that puts it in Berlin, EPSG:25833 first;
    a row that fits none is named with its field."""
    from pyproj import Transformer
    store, planner = stores
    plr = gpd.read_file(RAW_DIR / "lor2021_planungsraeume" / "lor_planungsraeume_2021.shp").set_index("PLR_ID")
    targets = {"01200517": 25833, "08100415": 4326, "03601139": 3857, "09502042": 25832}
    rows = []
    for plr_id, epsg in targets.items():
        p = plr.loc[plr_id].geometry.representative_point()
        x, y = Transformer.from_crs(25833, epsg, always_xy=True).transform(p.x, p.y)
        rows.append({"id": f"crs-{epsg}", "title": f"In EPSG:{epsg}", "x": x, "y": y})
    rows.append({"id": "crs-wkt", "title": "WKT", "wkt": plr.loc["01200517"].geometry.representative_point().wkt})
    pd.DataFrame(rows).to_csv(tmp_path / "xy.csv", index=False)
    report = import_projects(tmp_path / "xy.csv", store, planner, username="t")
    assert report.committed, report.as_text()
    got = {r["id"]: r["plr_id"] for r in store.rows("projects", "id LIKE 'crs-%'")}
    assert got == {**{f"crs-{epsg}": plr_id for plr_id, epsg in targets.items()}, "crs-wkt": "01200517"}

    rows.append({"id": "crs-nowhere", "title": "Nirgends", "x": 1.0, "y": 2.0})
    pd.DataFrame(rows).to_csv(tmp_path / "xy.csv", index=False)
    report = import_projects(tmp_path / "xy.csv", store, planner, username="t")
    assert report.errors == [(7, "x", "(1.0, 2.0) lies outside Berlin in every CRS tried (EPSG:25833, EPSG:4326, "
                                      "EPSG:3857, EPSG:25832, EPSG:31468); name the file's CRS (upload page: its CRS "
                                      "field; command line: --crs)")]


def test_projects_placed_by_facility_name(stores, tmp_path):
    """A place named once (a real school, kita, youth centre or green space of the store) places the
    project there; a name several places share places nothing by itself."""
    from app.names import name_key
    store, planner = stores
    places = store.features("places", "kind IN ('kita', 'school', 'youth_centre', 'green_space')")
    counts = pd.Series([name_key(r["name"]) for r, _ in places]).value_counts()
    unique = [(r, g) for r, g in places if counts[name_key(r["name"])] == 1 and g is not None][:3]
    shared = next(r["name"] for r, _ in places if counts[name_key(r["name"])] > 1 and name_key(r["name"]))
    rows = [{"id": f"fac-{i}", "title": f"An einer Einrichtung {i}", "place": r["name"]} for i, (r, _) in enumerate(unique)]
    rows.append({"id": "fac-shared", "title": "Mehrdeutig", "place": shared})
    pd.DataFrame(rows).to_csv(tmp_path / "fac.csv", index=False)
    report = import_projects(tmp_path / "fac.csv", store, planner, username="t")
    assert report.committed, report.as_text()
    assert [r.location_precision for r in report.rows] == ["facility"] * len(unique) + ["none"]
    with planner.transaction() as con:
        for i, (row, geom) in enumerate(unique):
            stored, point = planner.project(con, f"fac-{i}")
            assert point.equals(geom) and stored["located_by"] == f"{row['kind']}: {row['name']}"
            assert stored["plr_id"] == store.ids_at("planungsraeume", "plr_id", geom.x, geom.y)[0]
