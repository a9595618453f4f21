"""OGC API Features at /ogc: the Flask test client on the real store, and GDAL's OAPIF client against a live server."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import threading
from urllib.parse import quote, urlsplit

import pytest
import shapely
from markupsafe import escape
from werkzeug.serving import make_server

from app import crs, ogc
from app.web import get_store


BERLIN = (13.0, 52.3, 13.85, 52.72)
CRS84, EPSG_25833 = ogc.CRS84, ogc.EPSG_25833
COLLECTION_IDS = ["qm_areas", "planungsraeume", "projects", "green_spaces", "social_infrastructure", "milieuschutz"]


@pytest.fixture()
def app_store(app):
    with app.app_context():
        return get_store()


def get_json(client, url, status=200, **kw):
    r = client.get(url, **kw)
    assert r.status_code == status, r.data[:300]
    return r.get_json()


def path_of(href: str) -> str:
    """An absolute link from a response as a path + query the test client can follow."""
    parts = urlsplit(href)
    assert parts.scheme == "http" and parts.netloc == "localhost", href
    return parts.path + ("?" + parts.query if parts.query else "")


def link(doc, rel, type_=None):
    found = [l for l in doc["links"] if l["rel"] == rel and (type_ is None or l["type"] == type_)]
    return found[0]["href"] if found else None


def coordinates(geometry):
    def walk(c):
        if isinstance(c[0], (int, float)):
            yield c
        else:
            for part in c:
                yield from walk(part)
    return list(walk(geometry["coordinates"]))


def max_decimals(obj) -> int:
    return max((len(m) for m in re.findall(r"\d+\.(\d+)", json.dumps(obj))), default=0)


def all_items(client, url):
    """Every feature of a query, following the next links."""
    features, seen_pages = [], 0
    while url:
        doc = get_json(client, url)
        assert doc["numberReturned"] == len(doc["features"])
        features += doc["features"]
        nxt = link(doc, "next", ogc.GEOJSON)
        url = path_of(nxt) if nxt else None
        seen_pages += 1
        assert seen_pages < 1000
    return features


def store_count(store, c: ogc.Collection, extra: str = "") -> int:
    where = " AND ".join(w for w in (c.where, extra) if w) or "TRUE"
    return store.scalar(f'SELECT COUNT(*) FROM "{c.table}" t WHERE {where}', c.params)


# -- landing page, conformance, collections -------------------------------------------------------

def test_landing_page_links_to_api_conformance_and_data(client):
    r = client.get("/ogc")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    rels = {l["rel"] for l in doc["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= rels
    assert all(l["href"].startswith("http://localhost/ogc") for l in doc["links"])
    assert doc["attribution"] and doc["licence"]
    assert client.get("/ogc/").get_json()["links"] == doc["links"]
    api = client.get(path_of(link(doc, "service-desc")))
    assert api.headers["Content-Type"] == ogc.OPENAPI and api.get_json()["openapi"].startswith("3.0")


def test_conformance_declares_core_geojson_html_oas30_and_crs(client):
    doc = get_json(client, "/ogc/conformance")
    assert set(doc["conformsTo"]) == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"}


def test_collections_describe_extent_crs_and_credits(client, app_store):
    doc = get_json(client, "/ogc/collections")
    assert [c["id"] for c in doc["collections"]] == COLLECTION_IDS
    for c in doc["collections"]:
        assert c == get_json(client, f"/ogc/collections/{c['id']}") | {"links": c["links"]}
        west, south, east, north = c["extent"]["spatial"]["bbox"][0]
        assert BERLIN[0] <= west < east <= BERLIN[2] and BERLIN[1] <= south < north <= BERLIN[3]
        assert c["extent"]["spatial"]["crs"] == CRS84
        assert c["crs"] == [CRS84, EPSG_25833] and c["storageCrs"] == EPSG_25833
        assert c["attribution"] and c["licence"] and c["title"] and c["description"]
        assert link(c, "items", ogc.GEOJSON).endswith(f"/ogc/collections/{c['id']}/items")
        assert c["numberOfFeatures"] == store_count(app_store, ogc.get(c["id"]))
    by_id = {c["id"]: c for c in doc["collections"]}
    assert by_id["qm_areas"]["numberOfFeatures"] == 34 and by_id["planungsraeume"]["numberOfFeatures"] == 542
    assert "boundary_basis" in by_id["qm_areas"]["description"] and "approximation" in by_id["qm_areas"]["description"]
    assert by_id["projects"]["extent"]["temporal"]["interval"][0][0] == "1999-01-01T00:00:00Z"
    assert "temporal" not in by_id["planungsraeume"]["extent"]
    self_doc = get_json(client, "/ogc/collections/projects")
    assert link(self_doc, "self").endswith("/ogc/collections/projects")


@pytest.mark.parametrize("url", ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/projects",
                                 "/ogc/collections/projects/items?limit=2", "/ogc/collections/qm_areas/items/badstrasse",
                                 "/ogc/collections/projects/queryables", "/ogc/collections/projects/schema"])
def test_every_json_answer_carries_attribution_and_licence(client, url):
    doc = get_json(client, url)
    assert doc["attribution"] and doc["licence"]
    assert get_json(client, "/ogc/api")["info"]["x-attribution"]


def test_queryables_and_openapi_declare_the_filters(client):
    q = get_json(client, "/ogc/collections/projects/queryables")
    assert {"fund", "bezirk", "status", "climate", "handlungsfelder"} <= set(q["properties"])
    assert q["properties"]["climate"]["type"] == "boolean"
    api = get_json(client, "/ogc/api")
    params = {p["name"] for p in api["paths"]["/collections/projects/items"]["get"]["parameters"]}
    assert {"limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "f", "fund", "bezirk"} <= params
    schema = get_json(client, "/ogc/collections/planungsraeume/schema")
    props = schema["properties"]["properties"]["properties"]
    assert props["residents"]["type"] == "integer" and props["plr_id"]["type"] == "string"


# -- items: paging -------------------------------------------------------------------------------

def test_paging_walks_all_planungsraeume_without_duplicates_or_gaps(client, app_store):
    first = get_json(client, "/ogc/collections/planungsraeume/items?limit=50")
    assert first["numberMatched"] == 542 and first["numberReturned"] == 50
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["timeStamp"])
    assert link(first, "prev") is None
    second = get_json(client, path_of(link(first, "next", ogc.GEOJSON)))
    assert path_of(link(second, "prev", ogc.GEOJSON)).endswith("limit=50&f=json")
    features = all_items(client, "/ogc/collections/planungsraeume/items?limit=50")
    ids = [f["id"] for f in features]
    assert len(ids) == 542 and len(set(ids)) == 542
    assert set(ids) == {r["plr_id"] for r in app_store.query("SELECT plr_id FROM planungsraeume")}
    last = get_json(client, "/ogc/collections/planungsraeume/items?limit=50&offset=500")
    assert last["numberReturned"] == 42 and link(last, "next") is None
    beyond = get_json(client, "/ogc/collections/planungsraeume/items?offset=600")
    assert beyond["features"] == [] and beyond["numberMatched"] == 542


def test_default_limit_and_larger_limits_are_capped(client):
    assert get_json(client, "/ogc/collections/planungsraeume/items")["numberReturned"] == ogc.DEFAULT_LIMIT
    doc = get_json(client, "/ogc/collections/social_infrastructure/items?limit=99999")
    assert doc["numberReturned"] == ogc.MAX_LIMIT or doc["numberReturned"] == doc["numberMatched"] <= ogc.MAX_LIMIT
    assert "limit=10000" in link(doc, "self")


# -- items: bbox ---------------------------------------------------------------------------------

def test_bbox_returns_exactly_the_polygons_meeting_the_box(client, app_store):
    box = (13.40, 52.47, 13.45, 52.50)  # cuts through Neukölln and Kreuzberg
    features = all_items(client, "/ogc/collections/planungsraeume/items?limit=40&bbox=" + ",".join(map(str, box)))
    got = {f["id"] for f in features}
    layer = app_store.read_layer("planungsraeume")
    area = crs.lonlat_box_in_store_crs(box)
    expected = set(layer.loc[layer.intersects(area), "plr_id"])
    envelope_only = set(layer.loc[layer.envelope.intersects(area.envelope), "plr_id"])
    assert got == expected and 5 < len(got) < len(envelope_only)  # exact, not by envelope
    for f in features:
        geometry = shapely.geometry.shape(f["geometry"])
        assert geometry.intersects(shapely.box(*box).buffer(1e-6))


def test_bbox_on_points_and_in_metres(client):
    box = (13.33, 52.52, 13.35, 52.535)
    doc = get_json(client, "/ogc/collections/social_infrastructure/items?limit=1000&bbox=" + ",".join(map(str, box)))
    assert doc["numberMatched"] == doc["numberReturned"] > 0
    for f in doc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert box[0] <= lon <= box[2] and box[1] <= lat <= box[3]
    x, y = crs.web_to_store_transformer().transform(13.34, 52.5275)
    metres = f"{x - 300},{y - 300},{x + 300},{y + 300}"
    near = get_json(client, f"/ogc/collections/social_infrastructure/items?bbox={metres}&bbox-crs={EPSG_25833}&crs={EPSG_25833}")
    assert near["features"]
    for f in near["features"]:
        px, py = f["geometry"]["coordinates"]
        assert abs(px - x) <= 300 and abs(py - y) <= 300
    assert {f["id"] for f in near["features"]} <= {f["id"] for f in doc["features"]}
    outside = get_json(client, "/ogc/collections/green_spaces/items?bbox=2.3,48.8,2.4,48.9")
    assert outside["numberMatched"] == 0 and outside["features"] == []


def test_bbox_keeps_projects_without_location_as_ogc_requires(client, app_store):
    box = "13.33,52.52,13.35,52.535"
    features = all_items(client, f"/ogc/collections/projects/items?bbox={box}")
    unlocated = [f for f in features if f["geometry"] is None]
    assert len(unlocated) == app_store.scalar("SELECT COUNT(*) FROM projects WHERE geom IS NULL") > 0
    for f in features:
        if f["geometry"]:
            lon, lat = f["geometry"]["coordinates"]
            assert 13.33 <= lon <= 13.35 and 52.52 <= lat <= 52.535


# -- items: datetime and property filters --------------------------------------------------------

def _overlaps(p, start, end):
    s, e = p["start_year"], p["end_year"]
    return (end is None or s is None or s <= end) and (start is None or e is None or e >= start)


@pytest.mark.parametrize("value, start, end", [
    ("2015/2020", 2015, 2020), ("../2005", None, 2005), ("2020/..", 2020, None), ("2013", 2013, 2013),
    ("2013-06-01T12:00:00Z", 2013, 2013), ("2010-01-01/2012-12-31", 2010, 2012), ("/2005", None, 2005)])
def test_datetime_filters_projects_by_their_years(client, app_store, value, start, end):
    rows = app_store.query("SELECT id, start_year, end_year FROM projects")
    expected = {r["id"] for r in rows if _overlaps(r, start, end)}
    features = all_items(client, "/ogc/collections/projects/items?datetime=" + value.replace("/", "%2F"))
    assert {f["id"] for f in features} == expected
    assert 0 < len(expected) < len(rows)
    for f in features:
        assert _overlaps(f["properties"], start, end)


def test_datetime_matches_everything_in_collections_without_time(client):
    assert get_json(client, "/ogc/collections/milieuschutz/items?datetime=2020")["numberMatched"] == 175


def test_property_filters(client, app_store):
    doc = get_json(client, "/ogc/collections/projects/items?fund=Baufonds&bezirk=Mitte")
    expected = app_store.scalar("SELECT COUNT(*) FROM projects p JOIN qm_areas q ON q.slug = p.area_slug "
                                "WHERE p.fund = 'Baufonds' AND q.bezirk = 'Mitte'")
    assert doc["numberMatched"] == len(doc["features"]) == expected > 0
    assert all(f["properties"]["fund"] == "Baufonds" and f["properties"]["bezirk"] == "Mitte" for f in doc["features"])
    burdened = get_json(client, "/ogc/collections/planungsraeume/items?bezirk=Neuk%C3%B6lln&ug_air=3&limit=100")
    assert burdened["features"] and all(f["properties"]["bezirk"] == "Neukölln" and f["properties"]["ug_air"] == 3
                                        for f in burdened["features"])
    members = get_json(client, "/ogc/collections/planungsraeume/items?qm_areas=beusselstrasse")
    assert [f["id"] for f in members["features"]] == ["01200517", "01200518"]
    kitas = get_json(client, "/ogc/collections/social_infrastructure/items?kind=kita&limit=1")
    assert kitas["numberMatched"] == app_store.scalar("SELECT COUNT(*) FROM places WHERE kind = 'kita'")
    climate = get_json(client, "/ogc/collections/projects/items?climate=true")
    assert all(f["properties"]["climate"] is True for f in climate["features"])


# -- CRS ------------------------------------------------------------------------------------------

def test_default_crs84_is_lon_lat_with_six_decimals(client):
    r = client.get("/ogc/collections/milieuschutz/items?limit=20")
    assert r.headers["Content-Crs"] == f"<{CRS84}>" and r.mimetype == "application/geo+json"
    geometries = [f["geometry"] for f in r.get_json()["features"]]
    for g in geometries:
        for lon, lat in coordinates(g):
            assert BERLIN[0] < lon < BERLIN[2] and BERLIN[1] < lat < BERLIN[3]
    assert max_decimals(geometries) <= 6


def test_crs_25833_returns_metres_and_says_so(client):
    url = "/ogc/collections/planungsraeume/items/01200517"
    r = client.get(f"{url}?crs={EPSG_25833}")
    assert r.headers["Content-Crs"] == f"<{EPSG_25833}>"
    metres = r.get_json()["geometry"]
    for x, y in coordinates(metres):
        assert 370_000 < x < 416_000 and 5_799_000 < y < 5_838_000
    assert max_decimals(metres) <= 2
    degrees = client.get(url).get_json()["geometry"]
    x, y = coordinates(metres)[0]
    lon, lat = crs.store_to_web_transformer().transform(x, y)
    assert math.isclose(lon, coordinates(degrees)[0][0], abs_tol=2e-6)
    assert math.isclose(lat, coordinates(degrees)[0][1], abs_tol=2e-6)
    page = client.get(f"/ogc/collections/green_spaces/items?limit=5&crs={EPSG_25833}")
    assert page.headers["Content-Crs"] == f"<{EPSG_25833}>"
    assert all(370_000 < f["geometry"]["coordinates"][0] < 416_000 for f in page.get_json()["features"])
    assert f"crs={EPSG_25833}".replace(":", "%3A").replace("/", "%2F") in link(page.get_json(), "next")


# -- single features ------------------------------------------------------------------------------

def test_single_feature_with_links_and_credits(client):
    r = client.get("/ogc/collections/planungsraeume/items/01200517")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    doc = r.get_json()
    assert doc["type"] == "Feature" and doc["id"] == "01200517" and doc["properties"]["plr_name"] == "Huttenkiez"
    assert doc["attribution"] and doc["licence"]
    assert {"self", "alternate", "collection"} <= {l["rel"] for l in doc["links"]}
    kita = get_json(client, "/ogc/collections/social_infrastructure/items?limit=1")["features"][0]
    assert get_json(client, f"/ogc/collections/social_infrastructure/items/{kita['id']}")["id"] == kita["id"]
    get_json(client, f"/ogc/collections/green_spaces/items/{kita['id']}", status=404)  # not in that collection


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/ogc/collections/nowhere", "/ogc/collections/nowhere/items",
                                 "/ogc/collections/planungsraeume/items/99999999", "/ogc/no-such-thing"])
def test_unknown_things_are_json_404s(client, url):
    r = client.get(url, headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.mimetype == "application/json" and r.get_json()["error"]


@pytest.mark.parametrize("query", [
    "limit=0", "limit=-5", "limit=abc", "limit=1.5", "offset=-1", "offset=x",
    "bbox=1,2,3", "bbox=a,b,c,d", "bbox=13.5,52.4,13.3,52.6", "bbox=200,52,201,53", "bbox=13,52,14,nan",
    "bbox=13,52,14,53&bbox-crs=EPSG:4326", "crs=EPSG:25833", "crs=http://www.opengis.net/def/crs/EPSG/0/4326",
    "datetime=yesterday", "datetime=2020-13-01", "datetime=../..", "datetime=2020/2010", "datetime=2020/2021/2022",
    "datetime=", "f=xml", "colour=red", "fund=Baufonds&fund=Projektfonds", "climate=maybe"])
def test_bad_parameters_are_json_400s(client, query):
    r = client.get("/ogc/collections/projects/items?" + query)
    assert r.status_code == 400 and r.mimetype == "application/json" and r.get_json()["error"]


def test_unknown_parameters_are_refused_everywhere(client):
    for url in ["/ogc?x=1", "/ogc/conformance?x=1", "/ogc/collections?x=1", "/ogc/collections/qm_areas?x=1",
                "/ogc/collections/qm_areas/items/badstrasse?limit=3"]:
        assert client.get(url).status_code == 400, url


# -- HTML -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/qm_areas",
                                 "/ogc/collections/qm_areas/items", "/ogc/collections/qm_areas/items/badstrasse",
                                 "/ogc/collections/projects/queryables", "/ogc/collections/projects/schema", "/ogc/api"])
def test_every_resource_has_an_html_variant(client, url):
    by_f = client.get(url + "?f=html")
    by_accept = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    for r in (by_f, by_accept):
        assert r.status_code == 200 and r.mimetype == "text/html"
        text = r.get_data(as_text=True)
        assert text.startswith("<!doctype html>") and "Attribution" in text and "Licence" in text
    assert "Accept" in by_accept.headers["Vary"]
    assert client.get(url + "?f=json").mimetype in ("application/json", "application/geo+json", ogc.SCHEMA,
                                                    "application/vnd.oai.openapi+json")


def test_html_pages_page_and_escape(client, app):
    page = client.get("/ogc/collections/planungsraeume/items?f=html&limit=10").get_data(as_text=True)
    assert page.count("/ogc/collections/planungsraeume/items/") >= 10 and 'rel="next"' in page
    assert "Huttenkiez" in client.get("/ogc/collections/planungsraeume/items/01200517?f=html").get_data(as_text=True)
    evil = "<img src=x onerror=alert(1)>"
    reflected = client.get("/ogc/collections/green_spaces/items", query_string={"f": "html", "plz": evil})
    assert reflected.status_code == 200
    assert evil not in reflected.get_data(as_text=True) and "&lt;img src=x onerror=alert(1)&gt;" in reflected.get_data(as_text=True)
    # a feature whose data carries markup, rendered through the same template
    from flask import render_template
    c = ogc.get("green_spaces")
    crafted = ogc.Page(c, CRS84, [(evil, {"name": evil, "info": "<script>alert(2)</script>"}, None)],
                       number_matched=1, links=[{"href": "javascript:alert(3)", "rel": "next", "type": "text/html"}])
    with app.test_request_context("/ogc/collections/green_spaces/items?f=html"):
        for template in ("ogc/items.html", "ogc/item.html"):
            html = render_template(template, page=crafted, base="http://localhost/ogc")
            assert evil not in html and "<script>alert(2)" not in html and "&lt;script&gt;alert(2)" in html


# -- HTTP behaviour -------------------------------------------------------------------------------

def test_items_are_cacheable_and_conditional(client):
    url = "/ogc/collections/planungsraeume/items?limit=200"
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip" and first.headers["ETag"]
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_items_never_read_whole_layers(client, app_store, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a whole layer was read during a request")
    monkeypatch.setattr(type(app_store), "read_layer", refuse)
    monkeypatch.setattr(type(app_store), "features", refuse)
    for url in ["/ogc/collections/planungsraeume/items?limit=5&offset=100", "/ogc/collections/projects/items?bbox=13.3,52.5,13.4,52.6",
                "/ogc/collections/social_infrastructure/items?kind=school&bbox=13.3,52.5,13.4,52.6&limit=3"]:
        assert client.get(url).status_code == 200


# -- a real client: GDAL's OAPIF driver -----------------------------------------------------------

@pytest.fixture()
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ogrinfo") is None or shutil.which("ogr2ogr") is None,
                    reason="GDAL's ogrinfo/ogr2ogr are not installed (Debian gdal-bin; ./run.sh test installs it)")
def test_gdal_reads_every_feature_of_every_collection(live_server, app_store, tmp_path):
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
           "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF"}
    url = f"OAPIF:{live_server}/ogc"

    def run(*args):
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    listing = run("ogrinfo", "-ro", "-so", url)
    assert re.findall(r"^\d+: (\w+)", listing, re.M) == COLLECTION_IDS
    for cid in COLLECTION_IDS:
        c = ogc.get(cid)
        out = tmp_path / f"{cid}.geojson"
        run("ogr2ogr", "-f", "GeoJSON", str(out), url, cid)
        features = json.loads(out.read_text())["features"]
        ids = [f["properties"]["id"] for f in features]
        expected = {r["id"] for r in app_store.query(
            f'SELECT t.{c.id_column} AS id FROM "{c.table}" t WHERE {c.where or "TRUE"}', c.params)}
        assert len(ids) == len(set(ids)) == len(expected), cid
        assert set(ids) == expected, cid
        summary = run("ogrinfo", "-ro", "-so", url, cid)
        assert f"Feature Count: {len(expected)}" in summary
    # GDAL hands the spatial filter (bbox) and the queryables it finds in the OpenAPI document to the server
    filtered = run("ogrinfo", "-ro", "-q", "-spat", "13.3", "52.5", "13.4", "52.55", "-where", "bezirk = 'Mitte'",
                   url, "planungsraeume")
    layer = app_store.read_layer("planungsraeume")
    area = crs.lonlat_box_in_store_crs((13.3, 52.5, 13.4, 52.55))
    expected = layer[layer.intersects(area) & (layer["bezirk"] == "Mitte")]
    assert filtered.count("OGRFeature(planungsraeume)") == len(expected) > 0


# -- HTML for people: values, geometry, errors, icon -------------------------------------------------

def _html_rows(html: str) -> dict[str, str]:
    """The <th>name</th><td>value</td> rows of a feature page."""
    return dict(re.findall(r"<tr><th>([^<]*)</th><td>(.*?)</td></tr>", html, flags=re.S))


def test_html_shows_booleans_as_yes_and_no_while_json_keeps_true_and_false(client):
    features = get_json(client, "/ogc/collections/projects/items?limit=1000")["features"]
    climate = next(f for f in features if f["properties"]["climate"] is True)
    other = next(f for f in features if f["properties"]["climate"] is False)
    for feature, shown in ((climate, "yes"), (other, "no")):
        rows = _html_rows(client.get(f"/ogc/collections/projects/items/{feature['id']}?f=html").get_data(as_text=True))
        assert rows["climate"] == shown
        assert rows["handlungsfeld_inferred"] == ("yes" if feature["properties"]["handlungsfeld_inferred"] else "no")
    listing = client.get("/ogc/collections/projects/items?f=html&limit=1000").get_data(as_text=True)
    assert "<td>True</td>" not in listing and "<td>False</td>" not in listing and "<td>yes</td>" in listing


def test_html_geometry_cell_is_readable(client):
    features = get_json(client, "/ogc/collections/projects/items?limit=1000")["features"]
    placed = next(f for f in features if f["geometry"])
    unplaced = next(f for f in features if f["geometry"] is None)
    lon, lat = placed["geometry"]["coordinates"]
    rows = _html_rows(client.get(f"/ogc/collections/projects/items/{placed['id']}?f=html").get_data(as_text=True))
    assert rows["geometry"] == f"Point, {lon:.4f} {lat:.4f} (CRS84)"
    rows = _html_rows(client.get(f"/ogc/collections/projects/items/{unplaced['id']}?f=html").get_data(as_text=True))
    assert rows["geometry"] == "no location"
    area = get_json(client, "/ogc/collections/qm_areas/items/beusselstrasse", query_string={"crs": EPSG_25833})
    rows = _html_rows(client.get("/ogc/collections/qm_areas/items/beusselstrasse",
                                 query_string={"f": "html", "crs": EPSG_25833}).get_data(as_text=True))
    vertices = len(coordinates(area["geometry"]))
    assert rows["geometry"] == f"{area['geometry']['type']}, {vertices:,} vertices (EPSG:25833)"
    assert "<code>" + EPSG_25833 + "</code>" in rows["CRS"]
    listing = client.get("/ogc/collections/projects/items?f=html&limit=1000").get_data(as_text=True)
    assert f"Point, {lon:.4f} {lat:.4f} (CRS84)" in listing and "<td>no location</td>" in listing
    assert "none (" not in listing


@pytest.mark.parametrize("url, status", [
    ("/ogc/collections/projects/items/no-such-project", 404), ("/ogc/collections/nowhere", 404),
    ("/ogc/collections/nowhere/items", 404), ("/ogc/no-such-thing", 404),
    ("/ogc/collections/projects/items?limit=0", 400), ("/ogc/collections/projects/items?colour=red", 400)])
def test_errors_of_html_requests_are_html_pages_with_their_status(client, url, status):
    json_answer = client.get(url)
    assert json_answer.status_code == status and json_answer.mimetype == "application/json"
    message = json_answer.get_json()["error"]
    by_f = client.get(url + ("&" if "?" in url else "?") + "f=html")
    by_accept = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    for r in (by_f, by_accept):
        assert r.status_code == status and r.mimetype == "text/html", r.data[:200]
        html = r.get_data(as_text=True)
        assert html.startswith("<!doctype html>") and f"({status})</h1>" in html
        assert str(escape(message)) in html and '{"error"' not in html
    assert "Accept" in by_accept.headers["Vary"]


def test_html_error_pages_escape_what_the_request_said(client):
    evil = "<img src=x onerror=alert(1)>"
    r = client.get("/ogc/collections/projects/items/" + quote(evil, safe=""), query_string={"f": "html"})
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_every_html_page_declares_the_sites_icon(client):
    for url in ["/ogc", "/ogc/collections", "/ogc/collections/projects/items", "/ogc/collections/projects/schema",
                "/ogc/collections/planungsraeume/items/01200517", "/ogc/collections/nowhere", "/ogc/api"]:
        html = client.get(url, query_string={"f": "html"}).get_data(as_text=True)
        icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
        assert icon, url
        answer = client.get(icon.group(1))
        assert answer.status_code == 200 and answer.mimetype == "image/svg+xml" and b"<svg" in answer.data
