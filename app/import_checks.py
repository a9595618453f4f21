"""The checks of one cell of an import: a value, or a (field, reason) appended to ``errors``.

``import_rows`` runs each check once per distinct value of a column, so these stay plain
and readable; their messages (``Reason``: English, translated on pages) are what a planner
sees for the row.
"""
from __future__ import annotations

import re

import numpy as np
import shapely
from pyproj import CRS, Transformer

from . import crs as crs_mod
from .names import name_key
from .project_filter import FUND_KEYS, HANDLUNGSFELD_KEYS, STATUSES, YEAR_RANGE
from .projects import HANDLUNGSFELDER
from .reasons import Reason

MAX_COST_EUR = 1e9  # the message says '1 billion'

# German words a planner may write for a code (the first is named in error messages).
GERMAN_STATUS = {"completed": ("abgeschlossen", "beendet"), "ongoing": ("laufend",), "planned": ("geplant",),
                 "unknown": ("unbekannt",)}
GERMAN_FUND = {"other": ("sonstige", "sonstiges", "andere"), "not stated": ("nicht angegeben", "keine Angabe")}
assert set(GERMAN_STATUS) == set(STATUSES) and set(GERMAN_FUND) <= set(FUND_KEYS.values())
STATUS_WORDS = {name_key(f"{prefix}{word}"): code for code, words in GERMAN_STATUS.items()
                for word in (code, *words) for prefix in ("", "status ")}
FUND_WORDS = {name_key(word): code for code, words in GERMAN_FUND.items() for word in words}


def _choices(codes, german: dict) -> str:
    """'completed (abgeschlossen), ongoing (laufend), …': the codes, each with its German word."""
    return ", ".join(f"{code} ({german[code][0]})" if code in german else code for code in codes)


FUND_CHOICES, STATUS_CHOICES = _choices(FUND_KEYS.values(), GERMAN_FUND), _choices(STATUSES, GERMAN_STATUS)


def fund(text: str, errors) -> tuple[str, str | None]:
    if not text:
        return "not stated", None
    key = name_key(text)
    if key in FUND_WORDS:
        return FUND_WORDS[key], text
    for url_key, name in FUND_KEYS.items():
        if key in (name_key(url_key), name_key(name)) or (url_key not in ("other", "not-stated") and key.startswith(name_key(name)[:8])):
            return name, text
    errors.append(("fund", Reason("unknown fund '%(value)s'; use one of %(allowed)s", value=text,
                                      allowed=FUND_CHOICES)))
    return "other", text


def status(text: str, errors) -> str:
    """The status code of an English or German word ('laufend' -> 'ongoing'); '' when none is given."""
    if not text:
        return ""
    code = STATUS_WORDS.get(name_key(text))
    if code is None:
        errors.append(("status", Reason("unknown status '%(value)s'; use %(allowed)s", value=text,
                                        allowed=STATUS_CHOICES)))
        return ""
    return code


def handlungsfelder(text: str, errors) -> str:
    """The Handlungsfelder named, ';'-joined in the order first named."""
    found = []
    for part in (p.strip() for p in re.split(r"[;|]", text or "") if p.strip()):
        key = name_key(part)
        match = next((h for k, h in HANDLUNGSFELD_KEYS.items()
                      if key in (name_key(k), name_key(h)) or key.startswith(name_key(h).split("und")[0][:8])), None)
        if match is None:
            errors.append(("handlungsfeld", Reason("unknown Handlungsfeld '%(value)s'; use %(allowed)s",
                                                            value=part, allowed="; ".join(HANDLUNGSFELDER))))
        elif match not in found:
            found.append(match)
    return ";".join(found)


def year(text, name, errors):
    if not text:
        return None
    try:
        value = float(str(text).replace(",", "."))
    except ValueError:
        errors.append((name, Reason("'%(value)s' is not a year", value=text)))
        return None
    if not np.isfinite(value) or value != int(value) or not YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
        errors.append((name, Reason("%(value)s is not a year between %(first)s and %(last)s", value=text,
                                     first=YEAR_RANGE[0], last=YEAR_RANGE[1])))
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
        errors.append(("cost_eur", Reason("'%(value)s' is not an amount in EUR", value=text)))
        return None
    return _cost_in_range(value, text, errors)


def _cost_in_range(value: float, text: str, errors):
    if not 0 <= value <= MAX_COST_EUR:
        errors.append(("cost_eur", Reason("%(value)s is not between 0 and 1 billion EUR", value=text)))
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
    errors.append((field_name, Reason("'%(value)s' is not yes/no", value=text)))
    return None


def number(text, name, errors):
    try:
        value = float(str(text).replace(",", "."))
    except (TypeError, ValueError):
        errors.append((name, Reason("'%(value)s' is not a number", value=text)))
        return None
    if not np.isfinite(value):
        errors.append((name, Reason("'%(value)s' is not a finite number", value=text)))
        return None
    return value


def lonlat(lon_text, lat_text, errors) -> tuple[float, float] | None:
    """(lon, lat) inside Berlin's extent, or None with the reason (swapped, outside)."""
    lon, lat = number(lon_text, "lon", errors), number(lat_text, "lat", errors)
    if lon is None or lat is None:
        return None
    west, south, east, north = crs_mod.BERLIN_LONLAT
    if south <= lon <= north and west <= lat <= east:
        errors.append(("lat", Reason("lat %(lat)s and lon %(lon)s look swapped (Berlin is near lat 52.5, lon 13.4)",
                                      lat=lat, lon=lon)))
        return None
    if not (west <= lon <= east and south <= lat <= north):
        errors.append(("lat", Reason("lat %(lat)s, lon %(lon)s lie outside Berlin", lat=lat, lon=lon)))
        return None
    return lon, lat


def xy(x_text, y_text, errors) -> tuple[float, float] | None:
    """Projected coordinates as numbers (their CRS is found for all rows at once: ``to_store_points``)."""
    x, y = number(x_text, "x", errors), number(y_text, "y", errors)
    return None if x is None or y is None else (x, y)


def wkt_xy(text, errors) -> tuple[float, float] | None:
    try:
        geom = shapely.from_wkt(text)
    except shapely.errors.GEOSException:
        errors.append(("wkt", Reason("not valid WKT")))
        return None
    point = point_from_geometry(geom, errors, field_name="wkt")
    return None if point is None else (point.x, point.y)


def to_store_points(coords: list, field_names: list, given_crs, errors: list) -> list:
    """Points in EPSG:25833 from coordinates in the given CRS, or else each in the first CRS
    (EPSG:25833 first) that puts it in Berlin; None, with the reason in ``errors[i]``, for a
    point outside Berlin. One transformer per CRS for all points."""
    xs, ys = np.array(coords, dtype=float).reshape(-1, 2).T
    candidates = [given_crs] if given_crs is not None else [CRS.from_epsg(e) for e in crs_mod.CANDIDATE_EPSG]
    source = np.full(len(xs), -1)
    for k, candidate in enumerate(candidates):
        open_rows = np.flatnonzero(source < 0)
        source[open_rows[_in_berlin(xs[open_rows], ys[open_rows], candidate)]] = k
    out: list = [None] * len(xs)
    for k, candidate in enumerate(candidates):
        rows = np.flatnonzero(source == k)
        px, py = xs[rows], ys[rows]
        if len(rows) and not candidate.equals(crs_mod.STORE_CRS):
            px, py = Transformer.from_crs(candidate, crs_mod.STORE_CRS, always_xy=True).transform(px, py)
        for i, point in zip(rows.tolist(), shapely.points(px, py).tolist() if len(rows) else ()):
            out[i] = point
    for i in np.flatnonzero(source < 0).tolist():
        x, y = float(xs[i]), float(ys[i])
        errors[i].append((field_names[i], Reason("(%(x)s, %(y)s) lies outside Berlin in %(crs)s", x=x, y=y,
                                                 crs=given_crs.to_string()) if given_crs is not None else
                          Reason("(%(x)s, %(y)s) lies outside Berlin in every CRS tried (%(tried)s); name the "
                                 "file's CRS (upload page: its CRS field; command line: --crs)", x=x, y=y,
                                 tried=", ".join(f"EPSG:{e}" for e in crs_mod.CANDIDATE_EPSG))))
    return out


def _in_berlin(xs: np.ndarray, ys: np.ndarray, crs) -> np.ndarray:
    """Per point: inside Berlin's extent when read in ``crs`` (``crs.bounds_in_berlin`` of a point)."""
    if not len(xs):
        return np.zeros(0, dtype=bool)
    try:
        lon, lat = Transformer.from_crs(crs, crs_mod.WEB_CRS, always_xy=True).transform(xs, ys, errcheck=False)
    except Exception:  # pyproj raises several kinds for CRSs it cannot go from
        return np.zeros(len(xs), dtype=bool)
    lon, lat = np.asarray(lon), np.asarray(lat)
    west, south, east, north = crs_mod.BERLIN_LONLAT
    with np.errstate(invalid="ignore"):
        return (np.isfinite(xs) & np.isfinite(ys) & np.isfinite(lon) & np.isfinite(lat)
                & (west <= lon) & (lon <= east) & (south <= lat) & (lat <= north))


def point_from_geometry(geom, errors, field_name="geometry"):
    if geom is None or geom.is_empty:
        errors.append((field_name, Reason("empty geometry")))
        return None
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type != "Point":
        errors.append((field_name, Reason("a project is a point, not a %(kind)s", kind=geom.geom_type)))
        return None
    if not np.isfinite([geom.x, geom.y]).all():
        errors.append((field_name, Reason("coordinates are not finite numbers")))
        return None
    return geom
