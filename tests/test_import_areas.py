"""`kiezkarte import-areas`: official boundaries replace the approximations, all or nothing.

The "official" files here are made by the test from Planungsraum geometry: test
fixtures standing in for a Geoportal export, never shipped as data.
"""
import subprocess
import sys
import zipfile

import geopandas as gpd
import pytest
from shapely.geometry import box

from app.build import build
from app.store import open_store

pytestmark = pytest.mark.slow


def official_fixture(raw_copy, names_to_geoms, crs=25833):
    return gpd.GeoDataFrame({"gebiet": list(names_to_geoms)}, geometry=list(names_to_geoms.values()),
                            crs=25833).to_crs(crs)


@pytest.fixture()
def plr(raw_copy):
    return gpd.read_file(raw_copy / "lor2021_planungsraeume" / "lor_planungsraeume_2021.shp").set_index("PLR_ID")


def run_cli(raw, store, *args):
    return subprocess.run([sys.executable, "-m", "app.cli", "--raw-dir", str(raw), "--store", str(store), *args],
                          capture_output=True, text=True, timeout=300)


def test_geojson_import_makes_the_boundary_official_and_reweights(raw_copy, tmp_path, plr):
    huttenkiez = plr.loc["01200517"].geometry
    minx, miny, maxx, maxy = huttenkiez.bounds
    west_half = huttenkiez.intersection(box(minx, miny, (minx + maxx) / 2, maxy))
    official = official_fixture(raw_copy, {"Beusselstraße": west_half, "Moabit-Ost": plr.loc["01200625"].geometry},
                                crs=4326)
    path = tmp_path / "qm_official.geojson"
    official.to_file(path, driver="GeoJSON")
    store_path = tmp_path / "store.gpkg"
    out = run_cli(raw_copy, store_path, "import-areas", str(path))
    assert out.returncode == 0, out.stderr
    store = open_store(store_path)
    areas = {a["slug"]: a for a in store.rows("qm_areas")}
    assert areas["beusselstrasse"]["boundary_basis"] == "official"
    assert areas["moabit-ost"]["boundary_basis"] == "official"
    assert areas["badstrasse"]["boundary_basis"] == "name-match"
    shares = {r["plr_id"]: r["share"] for r in store.rows("area_plr", "area_slug = ?", ("beusselstrasse",))}
    assert list(shares) == ["01200517"]
    assert shares["01200517"] == pytest.approx(west_half.area / huttenkiez.area, rel=1e-3)
    indicators = store.rows("area_indicators", "zone = ?", ("beusselstrasse",))[0]
    assert indicators["boundary_approximate"] == 0
    assert (raw_copy / "qm_official" / "qm_official.geojson").exists()
    # the next plain build keeps the official boundaries
    build(raw_copy, store_path)
    assert open_store(store_path).rows("qm_areas", "slug = ?", ("moabit-ost",))[0]["boundary_basis"] == "official"


def test_zipped_shapefile_import(raw_copy, tmp_path, plr):
    official = official_fixture(raw_copy, {"Soldiner Straße/Wollankstraße": plr.loc["01300732"].geometry.buffer(-50)})
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    official.to_file(shp_dir / "qm.shp")
    archive = tmp_path / "qm.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in shp_dir.iterdir():
            z.write(f, f.name)
    store_path = tmp_path / "store.gpkg"
    out = run_cli(raw_copy, store_path, "import-areas", str(archive))
    assert out.returncode == 0, out.stderr
    row = open_store(store_path).rows("qm_areas", "slug = ?", ("soldiner-strasse-wollankstrasse",))[0]
    assert row["boundary_basis"] == "official"


def test_an_unknown_area_name_stops_the_import_and_changes_nothing(raw_copy, tmp_path, plr):
    store_path = tmp_path / "store.gpkg"
    build(raw_copy, store_path)
    before = store_path.read_bytes()
    official = official_fixture(raw_copy, {"Beusselstraße": plr.loc["01200517"].geometry,
                                           "Nirgendwo-Kiez": plr.loc["01200518"].geometry})
    path = tmp_path / "bad.geojson"
    official.to_file(path, driver="GeoJSON")
    out = run_cli(raw_copy, store_path, "import-areas", str(path))
    assert out.returncode == 1
    assert "row 2" in out.stderr and "'Nirgendwo-Kiez' matches no QM area" in out.stderr
    assert store_path.read_bytes() == before
    assert not (raw_copy / "qm_official").exists()
