"""The checks of one cell of an import: a value, or a (field, reason) appended to ``errors``.

``import_rows`` runs each check once per distinct value of a column, so these stay plain
and readable; their messages are what a planner sees for the row.
"""
from __future__ import annotations

import re

import numpy as np
import shapely
from pyproj import CRS, Transformer

from . import crs as crs_mod
from .names import name_key
from .project_filter import FUND_KEYS, HANDLUNGSFELD_KEYS, YEAR_RANGE
from .projects import HANDLUNGSFELDER

MAX_COST_EUR = 1e9


def fund(text: str, errors) -> tuple[str, str | None]:
    if not text:
        return "not stated", None
    key = name_key(text)
    for url_key, name in FUND_KEYS.items():
        if key in (name_key(url_key), name_key(name)) or (url_key not in ("other", "not-stated") and key.startswith(name_key(name)[:8])):
            return name, text
    errors.append(("fund", f"unknown fund '{text}'; use one of {', '.join(FUND_KEYS.values())}"))
    return "other", text


def handlungsfelder(text: str, errors) -> str:
    """The Handlungsfelder named, ';'-joined in the order first named."""
    found = []
    for part in (p.strip() for p in re.split(r"[;|]", text or "") if p.strip()):
        key = name_key(part)
        match = next((h for k, h in HANDLUNGSFELD_KEYS.items()
                      if key in (name_key(k), name_key(h)) or key.startswith(name_key(h).split("und")[0][:8])), None)
        if match is None:
            errors.append(("handlungsfeld", f"unknown Handlungsfeld '{part}'; use {'; '.join(HANDLUNGSFELDER)}"))
        elif match not in found:
            found.append(match)
    return ";".join(found)


def year(text, name, errors):
    if not text:
        return None
    try:
        value = float(str(text).replace(",", "."))
    except ValueError:
        errors.append((name, f"'{text}' is not a year"))
        return None
    if not np.isfinite(value) or value != int(value) or not YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
        errors.append((name, f"{text} is not a year between {YEAR_RANGE[0]} and {YEAR_RANGE[1]}"))
        return None
    return int(value)


def cost(text: str, errors):
    if not text:
        return None
    if text.isascii() and text.isdigit():  # whole euros, as most files give them: no separators to read
        return _cost_in_range(float(text), text, errors)
    t = text.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?|-?\d+,\d+", t):  # German: 1.234.567,89 or 1234,5
        t = t.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", t):  # English: 1,234,567.89
        t = t.replace(",", "")
    try:
        value = float(t)
    except ValueError:
        errors.append(("cost_eur", f"'{text}' is not an amount in EUR"))
        return None
    return _cost_in_range(value, text, errors)


def _cost_in_range(value: float, text: str, errors):
    if not 0 <= value <= MAX_COST_EUR:
        errors.append(("cost_eur", f"{text} is not between 0 and {MAX_COST_EUR:,.0f} EUR"))
        return None
    return value


def flag(text: str, field_name: str, errors) -> int | None:
    if not text:
        return None
    value = text.strip().lower()
    if value in ("1", "1.0", "true", "yes", "ja", "x", "wahr"):
        return 1
    if value in ("0", "0.0", "false", "no", "nein", "falsch"):
        return 0
    errors.append((field_name, f"'{text}' is not yes/no"))
    return None


def number(text, name, errors):
    try:
        value = float(str(text).replace(",", "."))
    except (TypeError, ValueError):
        errors.append((name, f"'{text}' is not a number"))
        return None
    if not np.isfinite(value):
        errors.append((name, f"'{text}' is not a finite number"))
        return None
    return value


def lonlat(lon_text, lat_text, errors) -> tuple[float, float] | None:
    """(lon, lat) inside Berlin's extent, or None with the reason (swapped, outside)."""
    lon, lat = number(lon_text, "lon", errors), number(lat_text, "lat", errors)
    if lon is None or lat is None:
        return None
    west, south, east, north = crs_mod.BERLIN_LONLAT
    if south <= lon <= north and west <= lat <= east:
        errors.append(("lat", f"lat {lat} and lon {lon} look swapped (Berlin is near lat 52.5, lon 13.4)"))
        return None
    if not (west <= lon <= east and south <= lat <= north):
        errors.append(("lat", f"lat {lat}, lon {lon} lie outside Berlin"))
        return None
    return lon, lat


def point_from_xy(x_text, y_text, given_crs, errors):
    x, y = number(x_text, "x", errors), number(y_text, "y", errors)
    if x is None or y is None:
        return None
    return _to_store_point(shapely.Point(x, y), given_crs, "x", errors)


def point_from_wkt(text, given_crs, errors):
    try:
        geom = shapely.from_wkt(text)
    except shapely.errors.GEOSException:
        errors.append(("wkt", "not valid WKT"))
        return None
    point = point_from_geometry(geom, errors, field_name="wkt")
    return None if point is None else _to_store_point(point, given_crs, "wkt", errors)


def _to_store_point(point, given_crs, field_name, errors):
    """Coordinates in the given CRS, or the CRS (EPSG:25833 first) that puts them in Berlin."""
    bounds = (point.x, point.y, point.x, point.y)
    if given_crs is not None:
        if not crs_mod.bounds_in_berlin(bounds, given_crs):
            errors.append((field_name, f"({point.x}, {point.y}) lies outside Berlin in {given_crs.to_string()}"))
            return None
        source = given_crs
    else:
        fitting = [e for e in crs_mod.CANDIDATE_EPSG if crs_mod.bounds_in_berlin(bounds, e)]
        if not fitting:
            errors.append((field_name, f"({point.x}, {point.y}) lies outside Berlin in every CRS tried; give --crs"))
            return None
        source = CRS.from_epsg(fitting[0])
    if source.equals(crs_mod.STORE_CRS):
        return point
    x, y = Transformer.from_crs(source, crs_mod.STORE_CRS, always_xy=True).transform(point.x, point.y)
    return shapely.Point(x, y)


def point_from_geometry(geom, errors, field_name="geometry"):
    if geom is None or geom.is_empty:
        errors.append((field_name, "empty geometry"))
        return None
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type != "Point":
        errors.append((field_name, f"a project is a point, not a {geom.geom_type}"))
        return None
    if not np.isfinite([geom.x, geom.y]).all():
        errors.append((field_name, "coordinates are not finite numbers"))
        return None
    return geom
