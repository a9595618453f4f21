"""The bad-input corpus (tests/data/bad/) against the importer and the upload page.

Every bad file gets a clear error — the file's problem, or each bad row's row number,
field and reason — and the planner store is byte-for-byte unchanged afterwards. The
files that are awkward but valid (Windows-1252, semicolons with decimal commas, hostile
strings) import correctly and come back as plain text.
"""
import hashlib
from pathlib import Path

import psycopg
import pytest

from app.errors import SourceError
from app.importer import import_projects

BAD = Path(__file__).parent / "data" / "bad"

FILE_ERRORS = {  # file -> words the message must contain
    "empty.csv": "empty",
    "header_only.csv": "no data rows",
    "truncated.csv": "cannot be read as CSV",
    "nul_bytes.csv": "not a text file",
    "truncated.geojson": "cannot be read",
    "not_geojson.geojson": "cannot be read",
    "lying_crs.geojson": "declares EPSG:25833",
    "utm_without_crs.geojson": "declares EPSG:4326",
    "traversal.zip": "unsafe path",
    "missing_parts.zip": "lacks its .shx or .dbf",
    "zip_bomb.zip": "zip bomb",
    "not_a_zip.zip": "not a valid zip",
}
ROW_ERRORS = {  # file -> [(row, field, words in the reason)]
    "swapped_lonlat.csv": [(2, "lat", "swapped")],
    "outside_berlin.csv": [(2, "lat", "outside Berlin")],
    "xy_no_crs_fits.csv": [(2, "x", "outside Berlin in every CRS")],
    "duplicate_ids.csv": [(3, "id", "duplicate id 'ok-1'")],
    "unknown_fund.csv": [(2, "fund", "unknown fund 'Goldfonds'")],
    "unknown_handlungsfeld.csv": [(2, "handlungsfeld", "unknown Handlungsfeld 'Raumfahrt'")],
    "absurd_numbers.csv": [(2, "start_year", "3020"), (2, "cost_eur", "between 0"), (2, "lat", "outside Berlin")],
    "bad_wkt.csv": [(2, "wkt", "not valid WKT")],
    "huge_field.csv": [(2, "title", "longer than 500")],
    "self_intersecting.geojson": [(1, "geometry", "a project is a point")],
    "empty_geometry.geojson": [(2, "geometry", "empty geometry")],
}


def checksum(planner) -> str:
    """The GeoPackage's bytes; in PostGIS every row of every table of the planner's schema."""
    digest = hashlib.sha256()
    if getattr(planner, "backend", "") == "postgis":
        with psycopg.connect(planner.location.conninfo) as conn:
            for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
                                         [planner.location.schema]).fetchall():
                digest.update(table.encode())
                for (row,) in conn.execute(f'SELECT t::text FROM "{planner.location.schema}"."{table}" t ORDER BY 1'):
                    digest.update(row.encode())
        return digest.hexdigest()
    for suffix in ("", "-wal"):
        path = Path(planner.path + suffix)
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_the_corpus_is_complete():
    named = set(FILE_ERRORS) | set(ROW_ERRORS) | {"windows1252.csv", "semicolon_decimal_comma.csv", "xss.csv", "sqli.csv"}
    assert named == {p.name for p in BAD.iterdir() if not p.name.startswith("_") and p.suffix != ".md"}


@pytest.mark.parametrize("name", sorted(FILE_ERRORS))
def test_bad_files_are_refused_with_a_clear_message(stores, name):
    store, planner = stores
    before = checksum(planner)
    with pytest.raises(SourceError) as err:
        import_projects(BAD / name, store, planner, username="t")
    assert FILE_ERRORS[name] in str(err.value) and str(err.value).startswith(name)
    assert checksum(planner) == before


@pytest.mark.parametrize("name", sorted(ROW_ERRORS))
def test_bad_rows_are_reported_by_row_and_field_and_nothing_is_written(stores, name):
    store, planner = stores
    before = checksum(planner)
    report = import_projects(BAD / name, store, planner, username="t")
    assert not report.committed
    for row, field, words in ROW_ERRORS[name]:
        assert any(r == row and f == field and words in why for r, f, why in report.errors), report.errors
    assert checksum(planner) == before


def test_oversize_upload_is_refused(stores):
    store, planner = stores
    before = checksum(planner)
    with pytest.raises(SourceError, match="larger than the limit"):
        import_projects(BAD / "huge_field.csv", store, planner, username="t", max_bytes=1000)
    assert checksum(planner) == before


def test_windows_1252_and_semicolon_files_import_correctly(stores):
    store, planner = stores
    for name, title, cost in (("windows1252.csv", "Spielstraße für Groß und Klein", 1500.5),
                              ("semicolon_decimal_comma.csv", "Bänke am Ufer", 1234.5)):
        report = import_projects(BAD / name, store, planner, username="t")
        assert report.committed, report.as_text()
        row = store.rows("projects", "title = ?", (title,))[0]
        assert row["cost_eur"] == cost and row["location_precision"] == "exact"


def test_hostile_strings_are_stored_as_text(stores):
    store, planner = stores
    count = store.scalar("SELECT count(*) FROM projects")
    for name in ("xss.csv", "sqli.csv"):
        assert import_projects(BAD / name, store, planner, username="t").committed
    assert store.scalar("SELECT count(*) FROM projects") == count + 2  # the table is still there
    assert store.rows("projects", "id = 'xss-1'")[0]["title"] == "<img src=x onerror=alert(1)>"
    assert store.rows("projects", "id = 'sql-1'")[0]["title"] == "'); DROP TABLE projects; --"


def test_hostile_strings_are_escaped_in_pages_and_links(stores, store_url):
    from app import create_app
    store, planner = stores
    assert import_projects(BAD / "xss.csv", store, planner, username="t").committed
    client = create_app({"STORE": store_url, "PLANNER_STORE": planner.path}).test_client()
    area = store.rows("projects", "id = 'xss-1'")[0]["area_slug"]
    assert area  # the point lies in a QM area, so the area page lists the project
    html = client.get(f"/gebiete/{area}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "<script>alert(2)" not in html and 'href="javascript:' not in html


@pytest.mark.parametrize("name", ["lying_crs.geojson", "duplicate_ids.csv", "zip_bomb.zip", "truncated.csv"])
def test_the_upload_page_reports_bad_files_without_a_server_error(stores, store_url, name):
    import re
    from app import create_app
    from app.accounts import add_user
    _, planner = stores
    add_user(planner, "anna", "correct horse battery staple")
    app = create_app({"STORE": store_url, "PLANNER_STORE": planner.path})
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/planung/anmelden").get_data(as_text=True)).group(1)
    client.post("/planung/anmelden", data={"username": "anna", "password": "correct horse battery staple", "csrf_token": token})
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/planung/import").get_data(as_text=True)).group(1)
    before = checksum(planner)  # after signing in, which records the session in the planner store
    with open(BAD / name, "rb") as f:
        response = client.post("/planung/import", data={"csrf_token": token, "file": (f, name)},
                               content_type="multipart/form-data")
    assert response.status_code in (200, 422), response.status_code
    assert name in response.get_data(as_text=True)
    assert checksum(planner) == before
