"""The store writer gives attribute tables exactly the shape and rows GDAL gives them.

``write_geopackage`` writes attribute tables through ``sqlite3`` (GDAL is slow on the
400,000 addresses); here the same frames also go through GDAL, and both files must
agree on schema, triggers, GeoPackage registration and every row.
"""
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from app.store.gpkg import write_geopackage

pytestmark = pytest.mark.geopackage_only("the GeoPackage writer's file format, compared with GDAL's")

STAMP = {"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"}


def tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    every_dtype = pd.DataFrame({
        "text": pd.Series(["x", None, "Straße"], dtype=str),
        "text_na": pd.Series(["x", None, "y"], dtype="string"),
        "objects": pd.Series(["x", None, np.nan], dtype=object),
        "nothing": pd.Series([None, None, None], dtype=object),
        "flag": [True, False, True],
        "count": np.array([1, 2, 3]),
        "maybe": pd.array([1, None, 3], dtype="Int64"),
        "real": [1.5, np.nan, np.inf],
        'we"ird name': ["a", "b", "c"],
    })
    return {
        "every_dtype": every_dtype,
        "empty": every_dtype.iloc[:0],
        "it's": pd.DataFrame({"n": [1]}),
        "gdal_only": pd.DataFrame({"small": np.array([1, 2], dtype="int32"), "f": np.array([1, 2], dtype="float32")}),
        "many_rows": pd.DataFrame({f"c{j}": rng.integers(0, 100, 8571).astype(str) for j in range(7)}),
    }


def dump(path) -> dict:
    con = sqlite3.connect(path)
    out = {"schema": sorted(con.execute("SELECT type, name, sql FROM sqlite_master"))}
    for table in ("gpkg_contents", "gpkg_ogr_contents", "sqlite_sequence"):
        out[table] = sorted(con.execute(f"SELECT * FROM {table}"))
    for name in tables():
        quoted = '"' + name.replace('"', '""') + '"'
        out[name] = con.execute(f"SELECT * FROM {quoted} ORDER BY fid").fetchall()
    con.close()
    return out


def test_attribute_tables_are_written_as_gdal_writes_them(tmp_path):
    layer = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(390000, 5820000)], crs=25833)
    ours = tmp_path / "ours.gpkg"
    write_geopackage(ours, {"g": layer}, tables())

    gdal = tmp_path / "gdal.gpkg"
    pyogrio.set_gdal_config_options(STAMP)
    try:
        pyogrio.write_dataframe(layer, gdal, layer="g", driver="GPKG", promote_to_multi=False,
                                layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"})
        for name, frame in tables().items():
            pyogrio.write_dataframe(frame, gdal, layer=name, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({k: None for k in STAMP})

    assert dump(ours) == dump(gdal)
    read = pyogrio.read_dataframe(ours, layer="every_dtype")
    assert read["text"].tolist()[2] == "Straße" and pd.isna(read["real"][1])


def test_tables_only_store_is_still_a_geopackage(tmp_path):
    path = tmp_path / "tables.gpkg"
    write_geopackage(path, {}, {"a": pd.DataFrame({"x": ["1"]}), "b": pd.DataFrame({"y": [2.5]})})
    assert {name for name, _ in pyogrio.list_layers(path)} == {"a", "b"}
    con = sqlite3.connect(path)
    assert sorted(con.execute("SELECT table_name, data_type FROM gpkg_contents")) == [("a", "attributes"), ("b", "attributes")]
