"""The PostGIS store gives the same answers as the GeoPackage store.

Both stores are built from the real shipped data (the PostGIS one into a throw-away
PostgreSQL cluster, see ``tests/postgres.py``); two apps, one per store, each with a fresh
planner store seeded the same way, get the same requests and must answer with the same
status, type and body (JSON compared as data; only generation times are left out). Then a
planner's import, edit, create and delete go through both apps and the projects, the
statistics and the audit log must still agree. Nothing is mocked.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
import time
import uuid

import pandas as pd
import psycopg
import pytest

from app import create_app, crs
from app.accounts import add_user
from app.build import build
from app.store import open_planner, open_store
from app.store.postgis import parse_url, to_postgres
from tests.conftest import RAW_DIR

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery staple"
VOLATILE = {"timeStamp", "at", "updated_at"}  # when something was generated or written


def fresh_planner(tmp_path, pg_url: str) -> tuple[str, str]:
    return str(tmp_path / f"planner-{uuid.uuid4().hex[:8]}.gpkg"), f"{pg_url.split('?')[0]}?schema=c_{uuid.uuid4().hex[:12]}"


def make_apps(built, postgis_built, tmp_path) -> dict:
    gpkg_planner, pg_planner = fresh_planner(tmp_path, postgis_built[0])
    apps = {}
    for name, store, planner_url in (("gpkg", str(built[0]), gpkg_planner), ("postgis", postgis_built[0], pg_planner)):
        planner = open_planner(store, planner_url)
        add_user(planner, "anna", PASSWORD)
        apps[name] = create_app({"STORE": store, "PLANNER_STORE": planner.path, "TESTING": True})
    return apps


@pytest.fixture(scope="module")
def clients(built, postgis_built, tmp_path_factory):
    apps = make_apps(built, postgis_built, tmp_path_factory.mktemp("compare"))
    return {name: app.test_client() for name, app in apps.items()}


def without_volatile(value):
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    return value


def answer(response):
    """(status, mimetype, body) with JSON parsed and generation times dropped."""
    body = response.get_data()
    if response.mimetype in ("application/json", "application/geo+json", "application/schema+json") \
            or response.mimetype.startswith("application/vnd.oai.openapi"):
        body = without_volatile(json.loads(body))
    elif response.mimetype.startswith("text/"):
        body = body.decode("utf-8")
    return response.status_code, response.mimetype, body


def assert_same(clients, method: str, url: str, **kwargs):
    got = {name: answer(getattr(client, method)(url, **kwargs)) for name, client in clients.items()}
    assert got["postgis"][:2] == got["gpkg"][:2], url
    assert got["postgis"][2] == got["gpkg"][2], url
    return got["gpkg"]


# -- read requests ---------------------------------------------------------------------------------

API_URLS = [
    "/api/", "/api/openapi.json", "/api/areas", "/api/areas/beusselstrasse", "/api/areas/spandauer-neustadt",
    "/api/areas/nowhere", "/api/planungsraeume", "/api/planungsraeume/01200517", "/api/planungsraeume/99999999",
    "/api/bezirke", "/api/indicators", "/api/layers", "/api/no-such-endpoint",
    "/api/projects", "/api/projects?area=beusselstrasse", "/api/projects?area=nowhere",
    "/api/projects?fund=baufonds,projektfonds&year_from=2015&year_to=2022", "/api/projects?q=garten",
    "/api/projects?q=KIEZ", "/api/projects?handlungsfeld=bildung,gesundheit", "/api/projects?status=completed",
    "/api/projects?bbox=13.3,52.5,13.45,52.56", "/api/projects?precision=facility,planungsraum&climate=true",
    "/api/projects?climate=false&precision=area", "/api/projects?bbox=2,40,3,41",
    "/api/places?kind=kita,school&bbox=13.33,52.52,13.35,52.535", "/api/places?kind=drinking_fountain,cool_room",
    "/api/places?kind=green_space&bbox=13.2,52.4,13.3,52.5", "/api/places?kind=castles", "/api/places?kind=kita&bbox=1,2,3",
    "/api/places?kind=kita&bbox=14,52,13,53", "/api/places?kind=kita",
    "/api/export/projects.geojson", "/api/export/projects.csv?fund=baufonds", "/api/export/planungsraeume.csv",
    "/api/export/kitas.geojson", "/api/export/milieuschutz.csv", "/api/export/qm_areas.geojson",
    "/api/stats", "/api/stats?fund=baufonds", "/api/stats?handlungsfeld=integration&year_from=2010",
    "/api/compare", "/api/compare?sort=residents&order=desc", "/api/compare?sort=share_high_noise",
    "/api/compare?sort=money_eur&order=desc", "/api/compare?sort=password", "/api/compare.csv?sort=green_m2_per_resident",
    "/api/lookup", "/api/lookup?lat=abc&lon=13", "/api/lookup?address=", "/api/lookup?lat=52.53&lon=13.39",
    "/api/lookup?lat=48.85&lon=2.35", "/api/lookup?x=392000&y=5820000",
    "/api/suggest?q=Beusselst", "/api/suggest?q=Beusselstraße 4", "/api/suggest?q=acker", "/api/suggest?q=Akerstr",
    "/api/suggest?q=Karl-Marx-Allee 1", "/api/suggest?q=straße", "/api/suggest?q=Hauptstraße 1",
    "/api/suggest?q=" + "x" * 201,
]


@pytest.mark.parametrize("url", API_URLS)
def test_api_answers_the_same(clients, url):
    assert_same(clients, "get", url)


ADDRESS_TEXTS = ["Titiseestraße 7", "Ackerstraße 1", "ackerstr. 1", "ACKERSTRASSE 1", "Ackerstraße 1B",
                 "Ackerstraße 99999", "Ackerstrase 99999", "Akerstraße 1", "Beussel", "Ackerstraße 1, 10115",
                 "Unter den Linden 1", "Karl-Marx-Allee 100", "Nowherestraße 12", "10999 Oranienstraße 25",
                 "Hauptstraße 1", "Hauptstraße 99999", "Dorfstraße 3"]  # streets in many postcodes


def test_address_lookups_answer_the_same(clients):
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    sample = table.sample(40, random_state=6)
    texts = ADDRESS_TEXTS + [f"{r.str_name} {r.hnr}{r.hnr_zusatz}, {r.plz} Berlin" for r in sample.itertuples()] \
        + [f"{r.str_name} {r.hnr}" for r in sample.head(10).itertuples()]  # without postcode
    for text in texts:
        status, _, body = assert_same(clients, "get", "/api/lookup", query_string={"address": text})
        assert status == 200


def test_point_lookups_answer_the_same(clients, built):
    plr = open_store(built[0]).read_layer("planungsraeume").sample(30, random_state=11)
    points = plr.geometry.representative_point()
    web = points.to_crs(crs.WEB_CRS)
    for utm, lonlat in zip(points, web):
        assert_same(clients, "get", f"/api/lookup?lat={lonlat.y}&lon={lonlat.x}")
        assert_same(clients, "get", f"/api/lookup?x={utm.x}&y={utm.y}")
    corner = plr.geometry.iloc[0].exterior.coords[0]  # on a boundary: both Planungsräume or neither, alike
    assert_same(clients, "get", f"/api/lookup?x={corner[0]}&y={corner[1]}")


OGC_URLS = ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections", "/ogc/collections/nowhere"]
OGC_ITEMS = ["", "?limit=50&offset=100", "?limit=7&offset=3&crs=http://www.opengis.net/def/crs/EPSG/0/25833",
             "?bbox=13.3,52.5,13.4,52.55", "?bbox=13.3,52.5,13.4,52.55&limit=5&offset=5",
             "?bbox=385000,5810000,395000,5825000&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/25833",
             "?bbox=13.38,52.51,13.38,52.51", "?datetime=2010/2015", "?datetime=../2005", "?datetime=2020-06-01T12:00:00Z",
             "?limit=0", "?offset=-1", "?bbox=1,2,3", "?colour=red"]
OGC_FILTERS = {"qm_areas": ["bezirk=Mitte", "status_group=active", "boundary_basis=source&datetime=2019/.."],
               "planungsraeume": ["bezirk=Neukölln", "ug_burden_count=3", "qm_areas=beusselstrasse", "mss_status=hoch",
                                  "ug_air=3&bbox=13.3,52.45,13.5,52.55", "ug_air=x"],
               "projects": ["fund=Baufonds", "climate=true", "handlungsfelder=Bildung", "bezirk=Mitte", "status=completed"],
               "green_spaces": ["bezirk=Pankow&limit=20", "plz=10115"],
               "social_infrastructure": ["kind=school&bbox=13.3,52.5,13.4,52.6&limit=3", "kind=kita&bezirk=Mitte&limit=500"],
               "milieuschutz": ["kind=ES", "bezirk=Mitte&limit=3"]}
FEATURES = {"qm_areas": "beusselstrasse", "planungsraeume": "01200517", "green_spaces": None,
            "social_infrastructure": None, "milieuschutz": None, "projects": None}


@pytest.mark.parametrize("collection", list(OGC_FILTERS))
def test_ogc_answers_the_same(clients, collection):
    base = f"/ogc/collections/{collection}"
    for url in [base, f"{base}/queryables", f"{base}/schema", f"{base}/items/nowhere"] + OGC_URLS:
        assert_same(clients, "get", url)
    for query in OGC_ITEMS + ["?" + f for f in OGC_FILTERS[collection]]:
        status, _, doc = assert_same(clients, "get", f"{base}/items{query}")
        if status == 200 and doc["features"]:
            first = doc["features"][0]["id"]
            assert_same(clients, "get", f"{base}/items/{first}")
            assert_same(clients, "get", f"{base}/items/{first}?crs=http://www.opengis.net/def/crs/EPSG/0/25833")
    if FEATURES[collection]:
        assert_same(clients, "get", f"{base}/items/{FEATURES[collection]}")


def test_paging_through_a_whole_collection_answers_the_same(clients):
    url = "/ogc/collections/social_infrastructure/items?limit=1000"
    pages = 0
    while url:
        _, _, doc = assert_same(clients, "get", url)
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next" and link["type"] == "application/geo+json"]
        url = nxt[0].removeprefix("http://localhost") if nxt else None
        pages += 1
    assert pages > 3


def test_the_stores_hold_the_same_layers(built, postgis_built):
    gpkg, pg = open_store(built[0]), open_store(postgis_built[0])
    assert pg.tables() == [t for t in gpkg.tables()]
    for table in pg.tables():
        assert pg.columns(table) == gpkg.columns(table), table
        assert pg.scalar(f'SELECT count(*) FROM "{table}"') == gpkg.scalar(f'SELECT count(*) FROM "{table}"')
    for layer in ("planungsraeume", "qm_areas", "places", "milieuschutz", "research_projects", "area_indicators"):
        pd.testing.assert_frame_equal(pd.DataFrame(pg.read_layer(layer)), pd.DataFrame(gpkg.read_layer(layer)))
        if layer != "area_indicators":
            assert pg.envelopes(layer) == gpkg.envelopes(layer), layer  # float32 R-tree boxes, rounded alike


# -- planners: import, edit, create, delete, audit -------------------------------------------------------

def sign_in(client):
    client.environ_base["wsgi.url_scheme"] = "https"
    html = client.get("/planung/anmelden").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post("/planung/anmelden", data={"username": "anna", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    html = client.get("/planung/import").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def import_csv() -> bytes:
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    rows = [{"id": f"rt-{i}", "title": f"Rundreise {i}", "fund": "Baufonds" if i % 2 else "Projektfonds",
             "handlungsfeld": "Bildung", "start_year": 2019 + i % 4, "cost_eur": 1000 * (i + 1),
             "address": f"{a.str_name} {a.hnr}{a.hnr_zusatz}" + (f", {a.plz}" if i % 3 else "")}
            for i, a in enumerate(table.sample(12, random_state=3).itertuples())]
    rows.append({"id": "rt-point", "title": "Platz", "fund": "Aktionsfonds", "lat": 52.5331, "lon": 13.3283})
    rows.append({"id": "rt-area", "title": "Im Gebiet", "fund": "Projektfonds", "qm_area": "beusselstrasse"})
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


def test_planner_round_trip_answers_the_same(built, postgis_built, tmp_path):
    apps = make_apps(built, postgis_built, tmp_path)
    clients = {name: app.test_client() for name, app in apps.items()}
    tokens = {name: sign_in(client) for name, client in clients.items()}

    def same_for_each(method, url, **kwargs):  # each client with its own CSRF token
        got = {}
        for name, client in clients.items():
            headers = {"X-CSRF-Token": tokens[name]}
            got[name] = answer(getattr(client, method)(url, headers=headers, **kwargs))
        assert got["postgis"] == got["gpkg"], url
        return got["gpkg"]

    body = import_csv()
    upload_ids = {}
    for name, client in clients.items():  # check first, then import: the upload flow of the web page
        html = client.post("/planung/import", data={"csrf_token": tokens[name], "file": (io.BytesIO(body), "p.csv")},
                           content_type="multipart/form-data").get_data(as_text=True)
        upload_ids[name] = re.search(r'name="upload_id" value="([^"]+)"', html).group(1)
    for name, client in clients.items():
        assert client.post("/planung/import", data={"csrf_token": tokens[name], "upload_id": upload_ids[name]}).status_code == 200
    assert_same(clients, "get", "/api/projects?q=rundreise")

    status, _, created = same_for_each("post", "/api/projects", json={
        "title": "Neuer Spielplatz", "qm_area": "beusselstrasse", "fund": "Baufonds", "handlungsfeld": "Öffentlicher Raum",
        "lat": "52.5331", "lon": "13.3283", "start_year": "2025", "cost_eur": "120000"})
    assert status == 201
    new_id = created["project"]["id"]
    assert same_for_each("put", f"/api/projects/{new_id}", json={"title": "Neuer Spielplatz", "cost_eur": "150000"})[2]["action"] == "updated"
    assert same_for_each("put", "/api/projects/rt-3", json={"title": "Rundreise drei", "climate": "true"})[0] == 200
    assert same_for_each("put", "/api/projects/rt-3", json={"title": "Rundreise drei", "climate": "true"})[2]["action"] == "unchanged"
    assert same_for_each("delete", "/api/projects/rt-5")[0] == 200
    assert same_for_each("delete", "/api/projects/rt-5")[0] == 404
    assert same_for_each("post", "/api/projects", json={"title": "x", "fund": "Goldfonds"})[0] == 400

    audit = assert_same(clients, "get", "/api/audit?limit=2000")[2]["entries"]
    assert [e["action"] for e in audit[:6]] == ["delete", "update", "update", "create", *["create"] * 2]
    for url in ["/api/projects", "/api/projects?fund=baufonds", "/api/stats", "/api/stats?climate=true", "/api/compare",
                "/api/export/projects.csv", "/ogc/collections/projects", "/ogc/collections/projects/items?limit=500",
                "/ogc/collections/projects/items?bbox=13.3,52.52,13.36,52.54", f"/ogc/collections/projects/items/{new_id}"]:
        assert_same(clients, "get", url)


# -- the PostGIS store itself ------------------------------------------------------------------------

def test_placeholders_and_sqlite_semantics_are_translated_in_one_place():
    assert to_postgres("SELECT * FROM t WHERE a = ? AND b LIKE '50%' ORDER BY x, y DESC LIMIT ?") == \
        "SELECT * FROM t WHERE a = %s AND b ILIKE '50%%' ORDER BY x NULLS FIRST, y DESC NULLS LAST LIMIT %s"
    assert to_postgres("SELECT '?' AS q, \"a?\" FROM t ORDER BY t.fid") == "SELECT '?' AS q, \"a?\" FROM t ORDER BY t.fid"
    assert to_postgres("SELECT (SELECT max(x) FROM u ORDER BY lower(n) ASC) FROM t ORDER BY fid DESC") == \
        "SELECT (SELECT max(x) FROM u ORDER BY lower(n) ASC NULLS FIRST) FROM t ORDER BY fid DESC"


def test_rebuilds_swap_the_store_atomically_fail_cleanly_and_keep_planner_data(postgres):
    url = f"{postgres.url}?schema=swap"
    cli = [sys.executable, "-m", "app.cli"]
    done = subprocess.run(cli + ["build", "--store", url, "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and f"built {postgres.url}?schema=swap" in done.stdout, done.stderr
    again = subprocess.run(cli + ["--store", url, "build", "--if-missing"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout == ""  # the store is there: nothing to do
    add_user(open_planner(url), "ben", PASSWORD)
    store = open_store(url)
    before = store.version()
    with psycopg.connect(postgres.url, autocommit=True) as reader:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")  # a reader in the middle of its work
        count = reader.execute("SELECT count(*) FROM swap.addresses").fetchone()[0]
        rebuild = threading.Thread(target=build, args=(RAW_DIR, url))
        rebuild.start()
        waiting = 0
        for _ in range(1200):  # the new store is loaded, then its swap waits for the reader
            waiting = reader.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]
            if waiting or not rebuild.is_alive():
                break
            time.sleep(0.05)
        assert waiting and rebuild.is_alive()
        assert reader.execute("SELECT count(*) FROM swap.addresses").fetchone()[0] == count
        assert store.version() == before  # nothing of the new store is visible yet
        reader.execute("COMMIT")
        rebuild.join(120)
    assert store.version() != before
    assert store.scalar("SELECT count(*) FROM addresses") == count
    assert store.scalar("SELECT count(*) FROM users WHERE username = 'ben'") == 1  # planner tables untouched
    assert store.scalar("SELECT count(*) FROM projects") == 61

    # a build that fails while loading (here: no COPY of 400,000 addresses is that fast) changes nothing
    after = store.version()
    with pytest.raises(Exception, match="statement timeout"):
        build(RAW_DIR, f"{postgres.url}?schema=swap&options=-c%20statement_timeout%3D50")
    assert store.version() == after and store.scalar("SELECT count(*) FROM qm_areas") == 51
    with psycopg.connect(postgres.url) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'swap%'")}
    assert schemas == {"swap", "swap_planner"}  # no staging or previous schema left behind


def test_a_build_refuses_to_replace_a_schema_it_did_not_write(postgres):
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS theirs; CREATE TABLE IF NOT EXISTS theirs.data (x int)")
    with pytest.raises(Exception, match="no Kiezkarte build wrote"):
        build(RAW_DIR, f"{postgres.url}?schema=theirs")
    with psycopg.connect(postgres.url) as conn:
        assert conn.execute("SELECT to_regclass('theirs.data') IS NOT NULL").fetchone()[0]


def test_spatial_indexes_are_gist(postgis_built):
    location = parse_url(postgis_built[0])
    with psycopg.connect(location.conninfo) as conn:
        indexed = {r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am a ON a.oid = x.relam "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'gist' AND n.nspname = %s", [location.schema])}
    assert indexed == {"planungsraeume", "bezirke", "ortsteile", "bezirksregionen", "prognoseraeume", "qm_areas",
                       "research_projects", "places", "milieuschutz"}


def test_an_unreachable_database_is_a_503_on_healthz(tmp_path):
    from tests.postgres import free_port
    app = create_app({"STORE": f"postgresql://nobody@127.0.0.1:{free_port()}/none", "TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "store": "unreachable", "backend": "postgis"}
