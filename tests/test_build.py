"""The build on the real shipped data: counts, joins, QM areas, atomicity, determinism."""
import hashlib
import sqlite3

import pytest
import shapely

from app import indicators
from app.build import build
from app.errors import SourceError
from tests.conftest import RAW_DIR

pytestmark = pytest.mark.slow


def content_digest(path) -> str:
    """A digest of every row of every table, independent of file layout."""
    con = sqlite3.connect(path)
    digest = hashlib.sha256()
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for table in tables:
        for row in con.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
            digest.update(repr(row).encode())
    con.close()
    return digest.hexdigest()


def test_542_planungsraeume_each_in_one_bezirk(store):
    plr = store.read_layer("planungsraeume")
    bezirke = store.read_layer("bezirke")
    assert len(plr) == 542 and plr["plr_id"].is_unique
    points = plr.geometry.representative_point()
    hits = [int(bezirke.geometry.contains(p).sum()) for p in points]
    assert hits == [1] * 542
    assert set(plr["bezirk"]) == set(bezirke["bezirk"])


def test_residents_total(store):
    plr = store.read_layer("planungsraeume")
    assert int(plr["residents"].sum()) == 3_821_881
    assert plr["residents"].isna().sum() == 2


def test_mehrfachbelastung_equals_count_of_category_3(store):
    plr = store.read_layer("planungsraeume")
    high = sum((plr[c] == 3).astype(int) for c in indicators.UG_INDICATORS)
    assert (high == plr["ug_burden_count"]).all()


def test_qm_areas_51_with_34_drawn_and_every_one_has_a_basis(store):
    areas = store.read_layer("qm_areas")
    assert len(areas) == 51
    assert areas.geometry.notna().sum() == 34
    assert set(areas["boundary_basis"]) <= {"official", "source", "name-match", "none"}
    assert (areas.geometry.isna() == (areas["boundary_basis"] == "none")).all()


def test_beusselstrasse_is_the_union_of_its_two_planungsraeume(store):
    areas = store.read_layer("qm_areas").set_index("slug")
    plr = store.read_layer("planungsraeume").set_index("plr_id")
    expected = shapely.union_all(plr.loc[["01200517", "01200518"]].geometry.to_numpy())
    got = areas.loc["beusselstrasse"].geometry
    assert got.symmetric_difference(expected).area < 1e-6
    assert areas.loc["beusselstrasse", "boundary_basis"] == "source"


def test_area_indicators_sit_next_to_berlin(store):
    rows = {r["zone"]: r for r in store.rows("area_indicators")}
    berlin = rows["berlin"]
    assert berlin["residents"] == 3_821_881
    plr = store.read_layer("planungsraeume")
    expected = plr.loc[plr["ug_noise"] == 3, "residents"].sum() / plr.loc[plr["ug_noise"] > 0, "residents"].sum()
    assert berlin["share_high_noise"] == pytest.approx(expected)
    beussel = rows["beusselstrasse"]
    assert beussel["residents"] == int(plr.set_index("plr_id").loc[["01200517", "01200518"], "residents"].sum())
    assert beussel["boundary_approximate"] == 1
    assert rows["berlin"]["kita_count"] == 2880


def test_project_locations_are_never_invented(store, built):
    projects = store.read_layer("research_projects")
    counts = built[1].counts["project_location_precision"]
    assert sum(counts.values()) == len(projects) == 61
    assert projects.loc[projects["location_precision"] == "none"].geometry.isna().all()
    facility = projects[projects["location_precision"] == "facility"]
    assert (facility["located_by"] != "").all()
    # a project placed by its area lies inside that area
    areas = store.read_layer("qm_areas").set_index("slug")
    by_area = projects[(projects["location_precision"] == "area") & projects.geometry.notna()]
    assert all(areas.loc[s].geometry.contains(g) for s, g in zip(by_area["area_slug"], by_area.geometry))


@pytest.mark.geopackage_only("the build report comes from the raw files, the same whichever store is written")
def test_build_report_names_file_row_and_key_of_unmatched_rows(built):
    notes = built[1].notes
    assert any("public_parks.csv: row 2379: plr_id '07030301' matches no Planungsraum" in n for n in notes)


@pytest.mark.geopackage_only("the .gpkg's bytes and temporary files; a failing PostGIS build: tests/test_postgis.py")
def test_a_failed_build_leaves_the_old_store_untouched(raw_copy, tmp_path):
    target = tmp_path / "store.gpkg"
    build(raw_copy, target)
    before = target.read_bytes()
    csv = raw_copy / "umweltgerechtigkeit_2021_2022" / "raw_umweltgerechtigkeit_2021_2022.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",2,", ",7,", 1)
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"raw_umweltgerechtigkeit_2021_2022.csv, row 6, field '.*': '7' is not a category"):
        build(raw_copy, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


@pytest.mark.geopackage_only("the .gpkg file is byte-for-byte reproducible; PostGIS loads that file")
def test_two_builds_give_identical_content(built, tmp_path):
    again = tmp_path / "again.gpkg"
    build(RAW_DIR, again)
    assert content_digest(again) == content_digest(built[0])
    assert again.read_bytes() == built[0].read_bytes()
