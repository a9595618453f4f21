"""The one place that knows coordinate reference systems.

Berlin's official data is in EPSG:25833 (metres); the store keeps that. Browsers get
EPSG:4326 (RFC 7946 lon/lat). A file's declared CRS can lie, so every file's
coordinates are checked against Berlin's extent in the CRS it declares; when they
do not fit, the known CRSs are tried and the one that puts the data in Berlin wins,
with a note. Nothing here is special-cased per file.
"""
from __future__ import annotations

import functools
import math
import threading

import geopandas as gpd
import shapely
from pyproj import CRS, Transformer

from .errors import SourceError
from .reasons import Reason

STORE_CRS = CRS.from_epsg(25833)
WEB_CRS = CRS.from_epsg(4326)
MERCATOR_CRS = CRS.from_epsg(3857)  # vector tiles (app/tiles.py)

# Berlin's bounding box in lon/lat with a margin of a few kilometres.
BERLIN_LONLAT = (13.0, 52.30, 13.85, 52.72)

# CRSs that Berlin files are known to come in, tried when the declared one does not fit.
CANDIDATE_EPSG = (25833, 4326, 3857, 25832, 31468)

WEB_DECIMALS = 6


def bounds_in_berlin(bounds, crs) -> bool:
    """True when a bounding box, read in ``crs``, lies inside Berlin's extent."""
    minx, miny, maxx, maxy = bounds
    if not all(math.isfinite(v) for v in bounds):
        return False
    try:
        transformer = _to_lonlat(CRS.from_user_input(crs) if not isinstance(crs, int) else _epsg(crs))
        lon0, lat0, lon1, lat1 = transformer.transform_bounds(minx, miny, maxx, maxy, errcheck=True)
    except Exception:  # pyproj raises several kinds for coordinates outside a CRS's domain
        return False
    west, south, east, north = BERLIN_LONLAT
    values = (lon0, lat0, lon1, lat1)
    return all(math.isfinite(v) for v in values) and west <= lon0 and lon1 <= east and south <= lat0 and lat1 <= north


def checked_crs(gdf: gpd.GeoDataFrame, path, *, strict: bool = False, notes: list | None = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` labelled with the CRS its coordinates are really in.

    A missing CRS means EPSG:4326 (as RFC 7946 says for GeoJSON). When the declared CRS
    does not put the data in Berlin, another known CRS that does is used and a note is
    added; with ``strict`` that is an error instead. Coordinates that fit no CRS are an error.
    """
    declared = gdf.crs or WEB_CRS
    geoms = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if geoms.empty:
        raise SourceError(path, Reason("no geometry in the file"), field="geometry")
    bounds = tuple(float(v) for v in geoms.total_bounds)
    if bounds_in_berlin(bounds, declared):
        return gdf if gdf.crs is not None else gdf.set_crs(declared)
    fitting = [epsg for epsg in CANDIDATE_EPSG
               if not _epsg(epsg).equals(declared) and bounds_in_berlin(bounds, epsg)]
    label = _label(declared)
    if not fitting:
        raise SourceError(path, Reason("coordinates %(bounds)s lie outside Berlin in the declared CRS %(crs)s and in "
                                       "every other CRS tried", bounds=_fmt(bounds), crs=label), field="geometry")
    actual = _epsg(fitting[0])
    found = {"crs": label, "bounds": _fmt(bounds), "actual": _label(actual)}
    message = (Reason("declares %(crs)s but its coordinates %(bounds)s are %(actual)s: rejected", **found) if strict
               else Reason("declares %(crs)s but its coordinates %(bounds)s are %(actual)s: read as %(actual)s", **found))
    if strict:
        raise SourceError(path, message, field="crs")
    if notes is not None:
        notes.append(f"{path}: {message}")
    return gdf.set_crs(actual, allow_override=True)


def to_store(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:25833. A CRS that only describes EPSG:25833 in other words (a
    shapefile's .prj) is relabelled: transforming would return the same coordinates."""
    if gdf.crs is not None and gdf.crs.equals(STORE_CRS):
        return gdf.set_crs(STORE_CRS, allow_override=True)
    return gdf.to_crs(STORE_CRS)


def to_web(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(WEB_CRS)


_local = threading.local()  # pyproj transformers are kept per thread


def store_to_web_transformer() -> Transformer:
    return _transformer(STORE_CRS, WEB_CRS)


def web_to_store_transformer() -> Transformer:
    return _transformer(WEB_CRS, STORE_CRS)


def store_to_mercator_transformer() -> Transformer:
    return _transformer(STORE_CRS, MERCATOR_CRS)


def mercator_to_store_transformer() -> Transformer:
    return _transformer(MERCATOR_CRS, STORE_CRS)


def _transformer(source: CRS, target: CRS) -> Transformer:
    cache = _local.__dict__.setdefault("transformers", {})
    key = (source.srs, target.srs)  # as given ('EPSG:25833'): to_epsg() would cost 35 µs a call
    if key not in cache:
        cache[key] = Transformer.from_crs(source, target, always_xy=True)
    return cache[key]


def _to_lonlat(source: CRS) -> Transformer:
    """Any CRS -> lon/lat, one transformer per CRS and thread: a build checks 16 files
    against a few CRSs, and each new transformer costs milliseconds."""
    cache = _local.__dict__.setdefault("to_lonlat", {})
    key = source.to_wkt()
    if key not in cache:
        cache[key] = Transformer.from_crs(source, WEB_CRS, always_xy=True)
    return cache[key]


@functools.lru_cache(maxsize=None)
def _epsg(code: int) -> CRS:
    return CRS.from_epsg(code)


def _label(crs) -> str:
    epsg = CRS.from_user_input(crs).to_epsg()
    return f"EPSG:{epsg}" if epsg else CRS.from_user_input(crs).name


def _fmt(bounds) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"


EMPTY_BOX = shapely.Polygon()


def lonlat_box_in_store_crs(bbox):
    """A lon/lat box (west, south, east, north), clipped to Berlin, as a polygon in EPSG:25833.

    None when the box misses Berlin. Edges are densified so the polygon follows the
    box's curved image in metres.
    """
    west, south, east, north = bbox
    b_west, b_south, b_east, b_north = BERLIN_LONLAT
    west, south, east, north = max(west, b_west), max(south, b_south), min(east, b_east), min(north, b_north)
    if west >= east or south >= north:
        return None
    box = shapely.segmentize(shapely.box(west, south, east, north), max((east - west), (north - south)) / 16)
    return shapely.transform(box, lambda x, y: web_to_store_transformer().transform(x, y), interleaved=False)
