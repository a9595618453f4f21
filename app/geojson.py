"""GeoJSON for browsers: EPSG:4326, RFC 7946, coordinates rounded, optionally simplified.

The build precomputes the big layers with this, so requests only send stored text.
"""
from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import crs


def feature_collection(gdf: gpd.GeoDataFrame, properties: list[str], *, id_column: str | None = None,
                       simplify_m: float = 0.0, decimals: int = crs.WEB_DECIMALS, extra: dict | None = None,
                       geometries: np.ndarray | None = None) -> str:
    """Serialise ``gdf`` (any CRS) as compact GeoJSON text.

    Simplification happens in metres (EPSG:25833) before reprojection; rows without
    geometry are kept with ``"geometry": null`` so lists and maps agree. ``geometries``:
    ``web_geometries(gdf, simplify_m, decimals)`` when computed beforehand.
    """
    web = web_geometries(gdf, simplify_m, decimals) if geometries is None else geometries
    rounded = decimals is not None and _rounded_already(web, decimals)
    columns = {p: gdf[p].tolist() for p in properties}  # one read per column, not per cell
    ids = gdf[id_column].tolist() if id_column else None
    features = []
    for i, geom in enumerate(web):
        props = {p: _jsonable(values[i]) for p, values in columns.items()}
        feature = {"type": "Feature"}
        if ids is not None:
            feature["id"] = _jsonable(ids[i])
        feature["properties"] = props
        if geom is None or shapely.is_empty(geom):
            feature["geometry"] = None
        else:
            mapping = shapely.geometry.mapping(geom)
            feature["geometry"] = mapping if rounded else _rounded(mapping, decimals)
        features.append(feature)
    collection = {"type": "FeatureCollection", **(extra or {}), "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"))


def web_geometries(gdf: gpd.GeoDataFrame, simplify_m: float = 0.0, decimals: int | None = crs.WEB_DECIMALS) -> np.ndarray:
    """The geometries of ``gdf`` (any CRS) as ``feature_collection`` writes them: simplified
    in metres (EPSG:25833), in EPSG:4326, on a grid of ``decimals`` decimal places.

    Most of the time of a feature collection of detailed polygons; the build computes
    them in a process of their own before the properties are known.
    """
    gdf = gdf.to_crs(crs.STORE_CRS) if gdf.crs is not None and not gdf.crs.equals(crs.STORE_CRS) else gdf
    geoms = gdf.geometry.to_numpy()
    if simplify_m:
        geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
    web = gpd.GeoSeries(geoms, crs=crs.STORE_CRS).to_crs(crs.WEB_CRS).to_numpy()
    return shapely.set_precision(web, 10 ** -decimals) if decimals is not None else web


def _rounded_already(geoms: np.ndarray, decimals: int) -> bool:
    """True when every coordinate x already equals Python's ``round(x, decimals)``.

    Checked with numpy (``rint(x * 10**d) / 10**d``) for all coordinates at once: where
    that gives x back, x is the double nearest to k / 10**d, and Python's round returns
    that same double. After ``set_precision`` this holds, and the per-coordinate Python
    rounding (most of the serialisation time) can be skipped.
    """
    xy = shapely.get_coordinates(geoms)
    return bool(np.array_equal(np.round(xy, decimals), xy))


def _rounded(obj, decimals):
    if isinstance(obj, dict):
        return {k: _rounded(v, decimals) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, decimals) for v in obj]
    if isinstance(obj, float):
        return round(obj, decimals)
    return obj


def _jsonable(value):
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def feature(properties: dict, geometry, *, feature_id=None, decimals: int = crs.WEB_DECIMALS) -> dict:
    """One RFC 7946 Feature from a property dict and a shapely geometry in EPSG:25833."""
    out = {"type": "Feature"}
    if feature_id is not None:
        out["id"] = feature_id
    out["properties"] = {k: _jsonable(v) for k, v in properties.items()}
    out["geometry"] = None
    if geometry is not None and not shapely.is_empty(geometry):
        web = shapely.transform(geometry, _to_web, interleaved=False)
        out["geometry"] = _rounded(shapely.geometry.mapping(web), decimals)
    return out


def _to_web(x, y):
    return crs.store_to_web_transformer().transform(x, y)
