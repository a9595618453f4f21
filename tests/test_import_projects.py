"""Importing projects: every format, row-by-row reports, all or nothing, updates by id.

Project titles here are test inputs made up by the tests; the addresses and
coordinates come from the real shipped address table and Planungsräume.
"""
import json
import zipfile

import geopandas as gpd
import pandas as pd
import pytest

from app.importer import import_projects
from app.lookup import lookup_address
from app.store import open_store
from app.errors import SourceError
from tests.conftest import RAW_DIR



@pytest.fixture(scope="module")
def addresses():
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    return table[table["hnr_zusatz"] == ""].sample(100, random_state=4)


def address_csv(addresses, path, *, bad_row: int | None = None, sep=",", encoding="utf-8"):
    rows = []
    for i, a in enumerate(addresses.itertuples()):
        rows.append({"id": f"test-{i}", "title": f"Testprojekt {i}", "fund": "Baufonds" if i % 2 else "Projektfonds",
                     "handlungsfeld": "Bildung", "start_year": 2020, "end_year": 2023, "cost_eur": 1000 + i,
                     "address": f"{a.str_name} {a.hnr}, {a.plz}"})
    if bad_row is not None:
        rows[bad_row]["fund"] = "Goldfonds"
    pd.DataFrame(rows).to_csv(path, index=False, sep=sep, encoding=encoding)
    return path


def csv_file(tmp_path, text: str):
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    return path


def project_count(store):
    return store.scalar("SELECT count(*) FROM projects")


def audit_count(store):
    return store.scalar("SELECT count(*) FROM audit_log")


def test_100_rows_with_one_bad_row_create_nothing_and_name_row_and_field(stores, addresses, tmp_path):
    store, planner = stores
    before, audit_before = project_count(store), audit_count(store)
    report = import_projects(address_csv(addresses, tmp_path / "p.csv", bad_row=41), store, planner, username="t")
    assert report.errors == [(43, "fund", report.errors[0][2])]  # data row 41 is line 43 (header = line 1)
    assert "Goldfonds" in report.errors[0][2]
    assert not report.committed
    assert project_count(store) == before and audit_count(store) == audit_before


def test_a_file_with_errors_marks_its_other_rows_valid_not_failed(stores, addresses, tmp_path):
    store, planner = stores
    report = import_projects(address_csv(addresses, tmp_path / "p.csv", bad_row=41), store, planner, username="t",
                             dry_run=True)
    assert report.counts["error"] == 1 and report.counts["valid"] == 99
    assert [r.row for r in report.rows if r.action == "error"] == [43]


def test_an_address_not_in_the_table_is_kept_with_a_warning_and_no_invented_place(stores, tmp_path):
    store, planner = stores
    path = csv_file(tmp_path, "id,title,fund,address,qm_area\n"
                              "w-1,Hofbegrünung,Baufonds,Ackerstraße 1 10115,\n"
                              "w-2,Lesecafé,Projektfonds,Nirgendwostraße 5 10999,\n"
                              "w-3,Spielplatz,Baufonds,Nirgendwostraße 7,Badstraße\n")
    report = import_projects(path, store, planner, username="t")
    assert report.committed and not report.errors
    assert [(row, f) for row, f, _ in report.warnings] == [(3, "address"), (4, "address")]
    assert "no location" in report.warnings[0][2] and "QM area" in report.warnings[1][2]
    rows = {r["id"]: r for r in store.rows("projects", "id LIKE 'w-%'")}
    assert [rows[i]["location_precision"] for i in ("w-1", "w-2", "w-3")] == ["planungsraum", "none", "area"]
    assert "row 3, field 'address': warning:" in report.as_text()


def test_an_address_in_several_planungsraeume_without_postcode_gets_a_note(stores, tmp_path):
    store, planner = stores
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    plain = table[table["hnr_zusatz"] == ""]
    several = plain.groupby(["str_name", "hnr"])["PLR_ID"].nunique()
    street, number = several[several > 1].index[0]
    same = plain[(plain["str_name"] == street) & (plain["hnr"] == number)].sort_values("plz")
    path = csv_file(tmp_path, f"id,title,address\na-1,Hofbegrünung,{street} {number}\n"
                              f"a-2,Lesecafé,\"{street} {number}, {same['plz'].iloc[-1]}\"\n")
    report = import_projects(path, store, planner, username="t", dry_run=True)
    assert [(row, f) for row, f, _ in report.warnings] == [(2, "address")]
    assert same["plz"].iloc[0] in report.warnings[0][2] and "postcode" in report.warnings[0][2]


def test_an_address_in_several_planungsraeume_is_placed_in_the_projects_own_qm_area(stores, tmp_path):
    """'Ackerstraße 5' is in Mitte and in Spandau: a project of a Spandau QM area goes to Spandau's."""
    store, planner = stores
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    plain = table[table["hnr_zusatz"] == ""].sort_values("plz", kind="stable")
    areas = {r["slug"]: set(r["plr_ids"].split(";")) for r in store.query("SELECT slug, plr_ids FROM qm_areas")}
    for (street, number), rows in plain.groupby(["str_name", "hnr"]):
        if rows["PLR_ID"].nunique() < 2:
            continue
        later = [(slug, plr) for plr in rows["PLR_ID"].iloc[1:] for slug, ids in areas.items() if plr in ids]
        if later and rows["PLR_ID"].iloc[0] not in areas[later[0][0]]:
            break  # placed by the table alone this address would go elsewhere than into that area
    else:
        pytest.skip("no address in several Planungsräume lies in a QM area")
    slug, plr = later[0]
    path = csv_file(tmp_path, f"id,title,address,qm_area\nq-1,Hofbegrünung,{street} {number},{slug}\n")
    report = import_projects(path, store, planner, username="t", dry_run=True)
    assert report.warnings == [] and report.rows[0].location_precision == "planungsraum"
    assert import_projects(path, store, planner, username="t").committed
    assert store.rows("projects", "id = 'q-1'")[0]["plr_id"] == plr


def test_german_words_for_status_and_fund_are_understood(stores, tmp_path):
    store, planner = stores
    path = csv_file(tmp_path, "id;titel;fonds;status;breite;länge\n"
                              "g-1;Hofbegrünung;Baufonds;laufend;52,5416;13,3413\n"
                              "g-2;Lesecafé;sonstige;Abgeschlossen;52,5416;13,3413\n"
                              "g-3;Kiezfest;Nicht angegeben;Status unbekannt;52,5416;13,3413\n")
    assert import_projects(path, store, planner, username="t").committed
    rows = {r["id"]: r for r in store.rows("projects", "id LIKE 'g-%'")}
    assert [(rows[i]["status"], rows[i]["fund"]) for i in ("g-1", "g-2", "g-3")] == [
        ("ongoing", "Baufonds"), ("completed", "other"), ("unknown", "not stated")]
    path.write_text("id,title,status,lat,lon\ng-4,Spielplatz,fertig,52.5416,13.3413\n", encoding="utf-8")
    [(_, field, reason)] = import_projects(path, store, planner, username="t").errors
    assert field == "status" and "ongoing (laufend)" in reason


def test_a_project_without_area_or_id_gets_a_readable_id(stores, tmp_path):
    store, planner = stores
    path = csv_file(tmp_path, "title,lat,lon\nWaldlehrpfad,52.4800,13.2500\n")  # Grunewald: no QM area
    [row] = import_projects(path, store, planner, username="t").rows
    assert row.id.startswith("projekt-") and len(row.id) == len("projekt-") + 8


def test_import_then_reimport_changes_nothing(stores, addresses, tmp_path):
    store, planner = stores
    path = address_csv(addresses, tmp_path / "p.csv")
    before = project_count(store)
    first = import_projects(path, store, planner, username="t")
    assert first.committed and first.counts["create"] == 100
    assert project_count(store) == before + 100
    audit = audit_count(store)
    again = import_projects(path, store, planner, username="t")
    assert again.counts == {"create": 0, "update": 0, "unchanged": 100, "valid": 0, "error": 0}
    assert project_count(store) == before + 100 and audit_count(store) == audit


def test_addresses_are_placed_in_their_planungsraum(stores, addresses, tmp_path):
    store, planner = stores
    import_projects(address_csv(addresses, tmp_path / "p.csv"), store, planner, username="t")
    rows = {r["id"]: r for r in store.rows("projects", "id LIKE 'test-%'")}
    for i, a in enumerate(addresses.itertuples()):
        assert rows[f"test-{i}"]["plr_id"] == a.PLR_ID
        assert rows[f"test-{i}"]["location_precision"] == "planungsraum"


def test_an_address_is_placed_where_the_address_search_finds_it(stores, tmp_path):
    """Suffixes, postcodes given or not, a wrong postcode, 'Str.': the import and the
    resident's address search (``lookup_address``) agree on every address."""
    store, planner = stores
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    with_suffix = table[table["hnr_zusatz"] != ""].sample(40, random_state=7)
    plain = table[table["hnr_zusatz"] == ""].sample(40, random_state=8)
    texts = ([f"{a.str_name} {a.hnr}{a.hnr_zusatz}, {a.plz}" for a in with_suffix.itertuples()]
             + [f"{a.str_name} {a.hnr} {a.hnr_zusatz.lower()}" for a in with_suffix.itertuples()]
             + [f"{a.str_name} {a.hnr}z" for a in with_suffix.itertuples()]  # a suffix the table lacks
             + [f"{a.str_name.replace('straße', 'str.')} {a.hnr}" for a in plain.itertuples()]
             + [f"{a.str_name} {a.hnr}, 10000" for a in plain.itertuples()])  # no such postcode
    path = tmp_path / "addresses.csv"
    pd.DataFrame({"id": [f"addr-{i}" for i in range(len(texts))], "title": [f"Adresstest {i}" for i in range(len(texts))],
                  "address": texts}).to_csv(path, index=False)
    report = import_projects(path, store, planner, username="t")
    assert report.committed and not report.errors
    placed = {r["id"]: r for r in store.rows("projects", "id LIKE 'addr-%'")}
    found = 0
    for i, text in enumerate(texts):
        answer = lookup_address(store, text)
        expected = answer["planungsraum"]["plr_id"] if answer["found"] else None
        assert placed[f"addr-{i}"]["plr_id"] == expected, text
        found += answer["found"]
    assert found == len(texts) - 40  # only the made-up postcode finds nothing


def test_a_changed_row_is_an_update_with_before_and_after_in_the_audit_log(stores, addresses, tmp_path):
    store, planner = stores
    path = address_csv(addresses.head(3), tmp_path / "p.csv")
    import_projects(path, store, planner, username="anna")
    frame = pd.read_csv(path)
    frame.loc[1, "cost_eur"] = 99999
    frame.to_csv(path, index=False)
    report = import_projects(path, store, planner, username="ben")
    assert [r.action for r in report.rows] == ["unchanged", "update", "unchanged"]
    entry = store.rows("audit_log", "project_id = ? AND action = 'update'", ("test-1",))[0]
    assert entry["username"] == "ben"
    assert json.loads(entry["before"])["cost_eur"] == 1001 and json.loads(entry["after"])["cost_eur"] == 99999


def test_dry_run_reports_but_writes_nothing(stores, addresses, tmp_path):
    store, planner = stores
    before = project_count(store)
    report = import_projects(address_csv(addresses.head(5), tmp_path / "p.csv"), store, planner, username="t",
                             dry_run=True)
    assert report.counts["create"] == 5 and not report.committed
    assert project_count(store) == before


def test_excel_style_csv_semicolons_decimal_commas_windows_1252(stores, tmp_path):
    store, planner = stores
    text = ("Titel;Fonds;Handlungsfeld;Kosten;lat;lon\n"
            "Spielplatz am Weiher für Groß und Klein;Baufonds;Öffentlicher Raum;1.234.567,50;52,5416;13,3413\n")
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1252"))
    report = import_projects(path, store, planner, username="t")
    assert report.committed, report.as_text()
    row = store.rows("projects", "id = ?", (report.rows[0].id,))[0]
    assert row["title"] == "Spielplatz am Weiher für Groß und Klein"
    assert row["cost_eur"] == 1234567.5 and row["location_precision"] == "exact"
    assert row["handlungsfelder"] == "Öffentlicher Raum"


def test_utm_coordinates_and_wkt(stores, tmp_path):
    store, planner = stores
    plr = gpd.read_file(RAW_DIR / "lor2021_planungsraeume" / "lor_planungsraeume_2021.shp").set_index("PLR_ID")
    p = plr.loc["01200517"].geometry.representative_point()
    q = plr.loc["08100415"].geometry.representative_point()
    path = tmp_path / "utm.csv"
    pd.DataFrame([{"title": "A", "x": p.x, "y": p.y}, {"title": "B", "wkt": q.wkt}]).to_csv(path, index=False)
    report = import_projects(path, store, planner, username="t")
    assert report.committed, report.as_text()
    got = {r["title"]: r for r in store.rows("projects", "title IN ('A', 'B')")}
    assert got["A"]["plr_id"] == "01200517" and got["A"]["area_slug"] == "beusselstrasse"
    assert got["B"]["plr_id"] == "08100415"


@pytest.mark.parametrize("row,field,reason", [
    ({"title": "x", "lat": 13.4, "lon": 52.5}, "lat", "swapped"),
    ({"title": "x", "lat": 48.85, "lon": 2.35}, "lat", "outside Berlin"),
    ({"title": "x", "handlungsfeld": "Raumfahrt"}, "handlungsfeld", "unknown Handlungsfeld"),
    ({"title": "x", "cost_eur": "1e15"}, "cost_eur", "between"),
    ({"title": "x", "start_year": 2020, "end_year": 2010}, "end_year", "before"),
    ({"title": "", "fund": "Baufonds"}, "title", "missing"),
    ({"title": "x", "qm_area": "Atlantis"}, "qm_area", "no QM area"),
])
def test_bad_rows_name_their_field(stores, tmp_path, row, field, reason):
    store, planner = stores
    path = tmp_path / "bad.csv"
    pd.DataFrame([row]).to_csv(path, index=False)
    report = import_projects(path, store, planner, username="t")
    assert not report.committed
    assert any(r == 2 and f == field and reason in why for r, f, why in report.errors), report.errors


def test_duplicate_ids_in_one_file(stores, tmp_path):
    store, planner = stores
    path = tmp_path / "dup.csv"
    pd.DataFrame([{"id": "x1", "title": "a"}, {"id": "x1", "title": "b"}]).to_csv(path, index=False)
    report = import_projects(path, store, planner, username="t")
    assert report.errors == [(3, "id", "duplicate id 'x1' (also in row 2)")]


def vector_fixture(tmp_path):
    plr = gpd.read_file(RAW_DIR / "lor2021_planungsraeume" / "lor_planungsraeume_2021.shp").set_index("PLR_ID")
    points = [plr.loc[i].geometry.representative_point() for i in ("01200518", "08100416")]
    return gpd.GeoDataFrame({"id": ["v1", "v2"], "title": ["Vektor 1", "Vektor 2"], "fund": ["Baufonds", "Aktionsfonds"]},
                            geometry=points, crs=25833)


def zipped_shapefile(gdf, tmp_path):
    (tmp_path / "shp").mkdir()
    gdf.to_file(tmp_path / "shp" / "p.shp")
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in (tmp_path / "shp").iterdir():
            z.write(f, f.name)
    return path


def test_a_shapefiles_names_cut_to_10_characters_still_fill_their_fields(stores, tmp_path):
    """dBase cuts 'handlungsfeld' to 'handlungsf': still the Handlungsfeld, not a column silently
    dropped (which would empty the field of every project a re-import updates)."""
    store, planner = stores
    gdf = vector_fixture(tmp_path).assign(handlungsfeld=["Bildung", "Öffentlicher Raum"], source_url="https://x.de",
                                          bemerkung_intern=["a", "b"])
    with pytest.warns((UserWarning, RuntimeWarning), match="truncated|laundered"):  # as GDAL cuts them
        path = zipped_shapefile(gdf, tmp_path)
    report = import_projects(path, store, planner, username="t")
    assert report.committed, report.as_text()
    got = {r["id"]: r for r in store.rows("projects", "id IN ('v1', 'v2')")}
    assert [got[i]["handlungsfelder"] for i in ("v1", "v2")] == ["Bildung", "Öffentlicher Raum"]
    assert report.notes == ["columns ignored: bemerkung_"]


@pytest.mark.parametrize("kind", ["geojson", "gpkg", "zip"])
def test_vector_formats(stores, tmp_path, kind):
    store, planner = stores
    gdf = vector_fixture(tmp_path)
    if kind == "geojson":
        path = tmp_path / "p.geojson"
        gdf.to_crs(4326).to_file(path, driver="GeoJSON")
    elif kind == "gpkg":
        path = tmp_path / "p.gpkg"
        gdf.to_file(path, driver="GPKG")
    else:
        path = zipped_shapefile(gdf, tmp_path)
    report = import_projects(path, store, planner, username="t")
    assert report.committed, report.as_text()
    got = {r["id"]: r for r in store.rows("projects", "id IN ('v1', 'v2')")}
    assert got["v1"]["plr_id"] == "01200518" and got["v2"]["fund"] == "Aktionsfonds"
    assert got["v1"]["location_precision"] == "exact"


def test_a_vector_file_with_a_lying_crs_is_rejected(stores, tmp_path):
    store, planner = stores
    gdf = vector_fixture(tmp_path).to_crs(4326).set_crs(25833, allow_override=True)
    path = tmp_path / "lying.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(SourceError, match="declares EPSG:25833"):
        import_projects(path, store, planner, username="t")


def test_zip_with_path_traversal_is_rejected(stores, tmp_path):
    store, planner = stores
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../../etc/p.shp", b"x")
    with pytest.raises(SourceError, match="unsafe path"):
        import_projects(path, store, planner, username="t")


def test_oversize_and_empty_files(stores, tmp_path):
    store, planner = stores
    big = tmp_path / "big.csv"
    big.write_text("title\n" + "x\n" * 1000)
    with pytest.raises(SourceError, match="larger than the limit"):
        import_projects(big, store, planner, username="t", max_bytes=100)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SourceError, match="empty"):
        import_projects(empty, store, planner, username="t")


def test_cli_import_projects_dry_run_and_commit(store_url, planner_url, tmp_path, addresses):
    import subprocess
    import sys
    path = address_csv(addresses.head(4), tmp_path / "p.csv")
    planner = planner_url
    base = [sys.executable, "-m", "app.cli", "--store", store_url]
    env_planner = {"KIEZKARTE_PLANNER_STORE": str(planner)}
    import os
    env = {**os.environ, **env_planner}
    dry = subprocess.run(base + ["import-projects", str(path), "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0 and "dry run, 4 create" in dry.stdout and "nothing written" in dry.stdout
    real = subprocess.run(base + ["import-projects", str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert real.returncode == 0 and "committed" in real.stdout
    assert open_store(store_url, planner).scalar("SELECT count(*) FROM projects WHERE id LIKE 'test-%'") == 4
