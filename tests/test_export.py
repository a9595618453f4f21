"""Exports: every layer in every format, with attribution; exported projects import unchanged."""
import io
import json
import sqlite3

import pandas as pd
import pytest

from app.export import LAYERS, export
from app.importer import import_projects
from app.project_filter import ProjectFilter
from app.store import open_planner, open_store
from tests.conftest import fresh_planner_url


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_every_layer_exports_as_geojson_with_attribution(store, layer):
    body, mimetype, name = export(store, layer, "geojson")
    doc = json.loads(body)
    assert mimetype == "application/geo+json" and name == f"kiezkarte-{layer}.geojson"
    assert doc["features"] and doc["attribution"] and doc["licence"]


def test_csv_has_wkt_lon_lat_and_attribution(store):
    body, mimetype, _ = export(store, "qm_areas", "csv")
    table = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    assert len(table) == 51
    drawn = table[table["wkt"] != ""]
    assert len(drawn) == 34 and drawn["wkt"].str.startswith(("POLYGON", "MULTIPOLYGON")).all()
    assert drawn["lon"].astype(float).between(13, 14).all() and drawn["lat"].astype(float).between(52, 53).all()
    assert table["attribution"].str.contains("Kiezkarte research").all()


def test_gpkg_export_opens_with_its_attribution(store, tmp_path):
    body, _, _ = export(store, "planungsraeume", "gpkg")
    path = tmp_path / "plr.gpkg"
    path.write_bytes(body)
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM planungsraeume").fetchone()[0] == 542
    description = con.execute("SELECT description FROM gpkg_contents WHERE table_name = 'planungsraeume'").fetchone()[0]
    assert "Geoportal Berlin" in description
    assert con.execute("SELECT licence FROM attribution").fetchone()[0]


def test_filtered_projects_export(store):
    flt = ProjectFilter.from_args({"fund": "baufonds", "year_from": "2020"})
    body, _, name = export(store, "projects", "geojson", flt)
    doc = json.loads(body)
    assert name == "kiezkarte-projects-fund-baufonds-year_from-2020.geojson"
    assert doc["features"] and all(f["properties"]["fund"] == "Baufonds" for f in doc["features"])


def test_filters_on_other_layers_are_refused(store):
    from app.errors import BadRequest
    with pytest.raises(BadRequest):
        export(store, "qm_areas", "csv", ProjectFilter.from_args({"fund": "baufonds"}))


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_export_then_import_gives_identical_features(stores, store_url, tmp_path, fmt):
    store, planner = stores
    body, _, name = export(store, "projects", fmt)
    path = tmp_path / name
    path.write_bytes(body)
    # into a fresh planner store: every exported project comes back the same
    fresh = open_planner(store_url, fresh_planner_url(store_url, tmp_path))
    fresh_store = open_store(store_url, fresh.path)
    report = import_projects(path, fresh_store, fresh, username="t")
    assert report.committed, report.as_text()[:2000]
    located = sum(1 for r in report.rows if r.location_precision is not None)
    assert report.counts["error"] == 0 and located == len(report.rows)
    again, _, _ = export(fresh_store, "projects", fmt)
    if fmt == "gpkg":
        frames = []
        for blob, n in ((body, "a"), (again, "b")):
            p = tmp_path / f"{n}.gpkg"
            p.write_bytes(blob)
            frames.append(pd.read_sql("SELECT * FROM projects ORDER BY id", sqlite3.connect(p)).drop(columns=["fid", "geom"]))
        pd.testing.assert_frame_equal(frames[0], frames[1])
    else:
        assert again == body


def test_the_download_name_of_a_filtered_export_is_a_safe_header(client):
    r = client.get("/api/export/projects.csv", query_string={"q": 'a\r\nSet-Cookie: x=1"/../b'})
    assert r.status_code == 200
    disposition = r.headers["Content-Disposition"]
    assert "\n" not in disposition and "/" not in disposition.split("filename=")[1].strip('"')
    assert "Set-Cookie" not in r.headers
