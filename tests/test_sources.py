"""Reading raw files: CRS checks against coordinates, ids as strings, clear errors."""
import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from app import crs, sources
from app.errors import SourceError


def write_geojson(path, coords, crs_name=None):
    doc = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "properties": {"name": f"p{i}"},
                         "geometry": {"type": "Point", "coordinates": list(c)}} for i, c in enumerate(coords)]}
    if crs_name:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    path.write_text(json.dumps(doc))
    return path


DEGREES = [(13.40, 52.52), (13.30, 52.45)]


def test_degrees_declared_as_utm_are_detected_and_reported(tmp_path):
    path = write_geojson(tmp_path / "lying.geojson", DEGREES, "urn:ogc:def:crs:EPSG::25833")
    notes = []
    gdf = sources.read_vector(path, notes)
    assert gdf.crs.to_epsg() == 25833
    assert any("declares EPSG:25833" in n and "EPSG:4326" in n for n in notes)
    # Alexanderplatz-ish point lands where it belongs in UTM 33N
    assert 390_000 < gdf.geometry.x.iloc[0] < 393_000 and 5_819_000 < gdf.geometry.y.iloc[0] < 5_822_000


def test_strict_mode_rejects_a_lying_crs_with_a_message(tmp_path):
    path = write_geojson(tmp_path / "lying.geojson", DEGREES, "urn:ogc:def:crs:EPSG::25833")
    with pytest.raises(SourceError, match=r"lying.geojson.*declares EPSG:25833.*rejected"):
        sources.read_vector(path, [], strict_crs=True)


def test_a_correctly_declared_web_mercator_file_is_reprojected_without_a_note(tmp_path):
    merc = gpd.GeoSeries([Point(c) for c in DEGREES], crs=4326).to_crs(3857)
    path = write_geojson(tmp_path / "merc.geojson", [(p.x, p.y) for p in merc], "urn:ogc:def:crs:EPSG::3857")
    notes = []
    gdf = sources.read_vector(path, notes)
    assert notes == []
    assert crs.bounds_in_berlin(tuple(gdf.total_bounds), 25833)


def test_coordinates_outside_berlin_in_every_crs_are_an_error(tmp_path):
    path = write_geojson(tmp_path / "paris.geojson", [(2.35, 48.85)])
    with pytest.raises(SourceError, match="outside Berlin"):
        sources.read_vector(path, [])


def test_invalid_geometries_are_repaired_and_counted(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[13.40, 52.50], [13.41, 52.51], [13.41, 52.50], [13.40, 52.51], [13.40, 52.50]]]}
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": bowtie}]}
    path = tmp_path / "bowtie.geojson"
    path.write_text(json.dumps(doc))
    notes = []
    gdf = sources.read_vector(path, notes)
    assert gdf.geometry.is_valid.all()
    assert any("repaired 1 invalid" in n for n in notes)


def test_numbers_name_row_and_field():
    frame = pd.DataFrame({"Gesamt": ["12", "–", "zwölf"]})
    with pytest.raises(SourceError) as err:
        sources.numbers(frame, "Gesamt", "einwohner.csv")
    assert "einwohner.csv, row 4, field 'Gesamt'" in str(err.value)


def test_decimal_commas():
    frame = pd.DataFrame({"m2": ["16991,50", "1.234,5", "-"]})
    values = sources.numbers(frame, "m2", "x.csv", decimal_comma=True)
    assert values.iloc[0] == 16991.5 and values.iloc[1] == 1234.5 and pd.isna(values.iloc[2])


def test_plr_ids_keep_leading_zeros_and_reject_others():
    frame = pd.DataFrame({"id": ["01100101", "1100101"]})
    with pytest.raises(SourceError, match="row 3.*8-digit"):
        sources.plr_ids(frame, "id", "t.csv")
    assert sources.plr_ids(frame.iloc[:1], "id", "t.csv").tolist() == ["01100101"]


def test_shipped_residents_keep_the_two_dash_rows_as_unknown(raw_copy):
    notes = []
    residents = sources.residents(raw_copy, notes)
    assert residents["residents"].isna().sum() == 2
    assert int(residents["residents"].sum()) == 3_821_881
    assert sum("'–' as resident total" in n for n in notes) == 2


def test_milieuschutz_trap_is_caught_by_the_general_rule(raw_copy):
    notes = []
    zones = sources.milieuschutz(raw_copy, notes)
    assert len(zones) == 81 + 94
    assert sum("declares EPSG:25833" in n for n in notes) == 2
    assert crs.bounds_in_berlin(tuple(zones.total_bounds), 25833)
