"""Import projects from CSV, GeoJSON, GeoPackage or zipped Shapefile — all or nothing.

``import_projects`` reads a file, validates every row (naming row, field and reason),
locates each project honestly (coordinates > facility name > address > QM area), and
then either reports what would happen (dry run) or writes every row in one
transaction. A file with any error writes nothing. Re-importing a file updates by
project id instead of duplicating; an unchanged row stays unchanged.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from . import crs as crs_mod
from . import sources
from .errors import BadRequest, SourceError
from .lookup import parse_address
from .names import aliases, name_key, short_name
from .project_filter import FUND_KEYS, HANDLUNGSFELD_KEYS, STATUSES, YEAR_RANGE
from .projects import FACILITY_RADIUS_M, HANDLUNGSFELDER, project_id, status as derive_status

MAX_ROWS = 50_000
MAX_COST_EUR = 1e9
MAX_TEXT = 500
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".zip", ".shp"}
CSV_SUFFIXES = {".csv", ".txt"}
ZIP_MAX_RATIO = 100  # uncompressed / compressed: more is a zip bomb

# Accepted column names (lower case, umlauts spelled out) for each field.
COLUMNS = {
    "id": ("id", "project_id", "projekt_id", "projektid"),
    "title": ("title", "titel", "name", "projekt", "projektname"),
    "qm_area": ("qm_area", "area", "gebiet", "qm_gebiet", "quartier", "qm"),
    "fund": ("fund", "fonds", "fund_type"),
    "handlungsfeld": ("handlungsfeld", "handlungsfelder", "field_of_action"),
    "climate": ("climate", "klima", "soziales_klimaprojekt", "klimaprojekt"),
    "start_year": ("start_year", "start", "beginn", "von", "jahr_von"),
    "end_year": ("end_year", "end", "ende", "bis", "jahr_bis"),
    "cost_eur": ("cost_eur", "cost", "kosten", "kosten_eur", "betrag"),
    "status": ("status",),
    "place": ("place", "ort", "einrichtung", "facility"),
    "address": ("address", "adresse", "anschrift"),
    "source_url": ("source_url", "source", "quelle", "url"),
    "lat": ("lat", "latitude", "breite"),
    "lon": ("lon", "lng", "long", "longitude", "laenge"),
    "x": ("x", "rechtswert", "easting"),
    "y": ("y", "hochwert", "northing"),
    "wkt": ("wkt", "geometry_wkt", "geom_wkt"),
    # what an export of Kiezkarte carries, taken as stated
    "fund_stated": ("fund_stated",), "cost_stated": ("cost_stated",), "qm_area_stated": ("qm_area_stated",),
    "handlungsfeld_inferred": ("handlungsfeld_inferred",), "location_precision": ("location_precision",),
    "located_by": ("located_by",),
}
STATED_PRECISIONS = ("exact", "facility", "planungsraum", "area")
PLR_PRECISE = ("exact", "facility", "planungsraum")  # precise enough to name the Planungsraum


@dataclass
class RowReport:
    row: int
    id: str | None
    title: str
    action: str = "error"  # create | update | unchanged | error
    errors: list[tuple[str, str]] = field(default_factory=list)
    location_precision: str | None = None

    def as_dict(self) -> dict:
        return {"row": self.row, "id": self.id, "title": self.title, "action": self.action,
                "errors": [{"field": f, "reason": r} for f, r in self.errors],
                "location_precision": self.location_precision}


@dataclass
class ImportReport:
    file: str
    rows: list[RowReport]
    dry_run: bool
    committed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        return [(r.row, f, reason) for r in self.rows for f, reason in r.errors]

    @property
    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for r in self.rows:
            out[r.action] += 1
        return out

    def as_dict(self) -> dict:
        return {"file": self.file, "dry_run": self.dry_run, "committed": self.committed, "counts": self.counts,
                "notes": self.notes, "rows": [r.as_dict() for r in self.rows]}

    def as_text(self) -> str:
        lines = [f"{self.file}: {'dry run, ' if self.dry_run else ''}"
                 + ", ".join(f"{n} {k}" for k, n in self.counts.items())
                 + ("; committed" if self.committed else "; nothing written")]
        lines += [f"note: {n}" for n in self.notes]
        for r in self.rows:
            if r.errors:
                lines += [f"row {r.row}, field '{f}': {reason}" for f, reason in r.errors]
            else:
                lines.append(f"row {r.row}: {r.action} {r.id} ({r.location_precision})")
        return "\n".join(lines)


def import_projects(path, store, planner, *, username: str, dry_run: bool = False, crs: str | None = None,
                    max_bytes: int = 20_000_000, display_name: str | None = None) -> ImportReport:
    """Validate and locate every row of ``path``; write all of them, or nothing."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise SourceError(name, "file not found")
    if path.stat().st_size > max_bytes:
        raise SourceError(name, f"file is larger than the limit of {max_bytes // 1_000_000} MB")
    if path.stat().st_size == 0:
        raise SourceError(name, "file is empty")
    given_crs = _crs(crs) if crs else None
    table, geoms, notes = _read(path, name, given_crs, max_bytes)
    if len(table) > MAX_ROWS:
        raise SourceError(name, f"{len(table)} rows; at most {MAX_ROWS} in one import")
    context = _Context(store)
    from_vector = path.suffix.lower() in VECTOR_SUFFIXES
    prepared = [context.prepare(row_no, row, geom, given_crs, from_vector=from_vector) for row_no, row, geom in zip(
        table["_row"], table.drop(columns="_row").to_dict("records"), geoms)]
    _check_duplicate_ids(prepared)
    report = ImportReport(name, [p[0] for p in prepared], dry_run, notes=notes)
    if report.errors:
        return report
    try:
        with planner.transaction() as con:
            for rep, values, geom in prepared:
                rep.action = {"created": "create", "updated": "update", "unchanged": "unchanged"}[
                    planner.save(con, username, values, geom, action_note=f"import {name}")]
            if dry_run:  # the same writes, then rolled back: the report says exactly what would happen
                raise _Rollback()
    except _Rollback:
        return report
    report.committed = True
    return report


class _Rollback(Exception):
    pass


# ---------------------------------------------------------------- reading

def _read(path: Path, name: str, given_crs, max_bytes: int):
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, name)
    if suffix in VECTOR_SUFFIXES:
        if given_crs is not None:
            raise SourceError(name, "a CRS is given only for CSV files; a vector file declares its own")
        if suffix == ".zip":
            _check_zip(path, name, max_bytes)
        notes: list[str] = []
        layer = _layer_to_read(path, name, notes)
        try:
            gdf = sources.read_vector(path, notes, strict_crs=True, layer=layer)
        except SourceError as exc:
            raise SourceError(name, str(exc).split(": ", 1)[-1]) from None
        attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        table = attrs.astype(object).where(attrs.notna(), None)
        table = table.apply(lambda col: col.map(lambda v: None if v is None else _text_of(v)))
        table.columns = [_column_key(c) for c in table.columns]
        table.insert(0, "_row", range(1, len(table) + 1))
        return table, list(gdf.geometry), notes
    raise SourceError(name, f"unsupported file type '{suffix}'; use .csv, .geojson, .gpkg or a zipped Shapefile (.zip)")


def _layer_to_read(path: Path, name: str, notes: list[str]) -> str | None:
    """The layer named 'projects', else the only (or first) layer with geometry."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:
        raise SourceError(name, f"cannot be read as a vector file: {exc}") from None
    if len(layers) <= 1:
        return None
    names = [str(n) for n, geometry_type in layers if geometry_type]
    chosen = "projects" if "projects" in names else (names[0] if names else None)
    if chosen is None:
        raise SourceError(name, "no layer with geometry")
    notes.append(f"read layer '{chosen}' of {', '.join(str(n) for n, _ in layers)}")
    return chosen


def _text_of(value) -> str:
    """Cell text as a person would write it: 2021.0 -> '2021'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_csv(path: Path, name: str):
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
        notes = []
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
        notes = ["read as Windows-1252 (not UTF-8)"]
    if "\x00" in text:
        raise SourceError(name, "not a text file (contains NUL bytes)")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first and "," not in first else ",")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(name, f"cannot be read as CSV: {exc}") from None
    if frame.empty:
        raise SourceError(name, "no data rows")
    frame.columns = [_column_key(c) for c in frame.columns]
    unknown = [c for c in frame.columns if c not in _ALL_NAMES]
    if unknown:
        notes.append(f"columns ignored: {', '.join(unknown)}")
    frame = frame.replace({"": None})
    frame.insert(0, "_row", range(2, len(frame) + 2))  # line numbers: the header is line 1
    return frame, [None] * len(frame), notes


def _check_zip(path: Path, name: str, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise SourceError(name, "not a valid zip file") from None
    total = sum(i.file_size for i in infos)
    for info in infos:
        if info.filename.startswith(("/", "\\")) or ".." in Path(info.filename).parts:
            raise SourceError(name, f"unsafe path in zip: '{info.filename}'")
    if total > max_bytes * 10 or total > ZIP_MAX_RATIO * max(path.stat().st_size, 1):
        raise SourceError(name, "zip expands too much (possible zip bomb)")
    stems = {Path(i.filename).stem.lower() for i in infos if i.filename.lower().endswith(".shp")}
    exts = {Path(i.filename).suffix.lower() for i in infos}
    if stems and not {".shx", ".dbf"} <= exts:
        raise SourceError(name, "zipped Shapefile lacks its .shx or .dbf part")


_ALL_NAMES = {n: key for key, names in COLUMNS.items() for n in names}


def _column_key(column: str) -> str:
    key = name_key(str(column)).replace("strasse", "str")  # name_key drops separators
    for candidate, field_name in _ALL_NAMES.items():
        if name_key(candidate).replace("strasse", "str") == key:
            return field_name
    return str(column)


def _crs(text: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except Exception:
        raise BadRequest(f"unknown CRS '{text}'; use e.g. EPSG:25833 or EPSG:4326") from None


# ---------------------------------------------------------------- validating and locating

class _Context:
    """What validation and location need from the store, loaded once per import."""

    def __init__(self, store):
        self.store = store
        self.areas = store.features("qm_areas")
        self.area_by_key = {}
        for row, _ in self.areas:
            for alias in aliases(row["name"]) + [row["slug"]]:
                self.area_by_key.setdefault(name_key(alias), row["slug"])
        self.area_geom = {row["slug"]: geom for row, geom in self.areas}
        places = store.features("places", "kind IN ('kita', 'school', 'youth_centre', 'green_space')")
        self.places = places
        self.place_keys = np.array([name_key(r["name"]) for r, _ in places])
        self._address_cache: dict = {}
        self._plr_points: dict = {}

    def prepare(self, row_no: int, row: dict, geom, given_crs, *, from_vector: bool = False):
        errors: list[tuple[str, str]] = []
        text = {k: ("" if v is None or (isinstance(v, float) and v != v) else str(v).strip()) for k, v in row.items()}
        if from_vector and geom is None and not any(text.get(k) for k in ("place", "address", "qm_area")):
            errors.append(("geometry", "empty geometry, and no place, address or qm_area to locate the project"))
        title = text.get("title", "")
        rep = RowReport(row_no, None, title[:80])
        if not title:
            errors.append(("title", "missing"))
        for key, value in text.items():
            if len(value) > MAX_TEXT:
                errors.append((key, f"longer than {MAX_TEXT} characters"))
        values = {"title": title, "place": text.get("place") or None, "address": text.get("address") or None,
                  "source_url": text.get("source_url") or None, "qm_area_stated": text.get("qm_area") or None}
        values["fund"], values["fund_stated"] = _fund(text.get("fund", ""), errors)
        values["fund_stated"] = text.get("fund_stated") or values["fund_stated"]
        values["handlungsfelder"] = ";".join(_handlungsfelder(text.get("handlungsfeld", ""), errors))
        values["handlungsfeld_inferred"] = _flag(text.get("handlungsfeld_inferred", ""), "handlungsfeld_inferred", errors) or 0
        start, end = _year(text.get("start_year"), "start_year", errors), _year(text.get("end_year"), "end_year", errors)
        if start and end and end < start:
            errors.append(("end_year", f"{end} is before start_year {start}"))
        values["start_year"], values["end_year"] = start, end
        values["cost_eur"] = _cost(text.get("cost_eur", ""), errors)
        values["cost_stated"] = text.get("cost_stated") or text.get("cost_eur") or None
        values["climate"] = _climate(text.get("climate", ""), errors, f"{title} {text.get('fund', '')}")
        status = text.get("status", "")
        if status and status not in STATUSES:
            errors.append(("status", f"unknown status '{status}'; use {', '.join(STATUSES)}"))
        values["status"] = status or derive_status(start, end)
        area_slug = None
        if text.get("qm_area"):
            area_slug = self.area_by_key.get(name_key(text["qm_area"])) or self.area_by_key.get(
                name_key(short_name(text["qm_area"])))
            if area_slug is None:
                errors.append(("qm_area", f"'{text['qm_area']}' is no QM area"))
        point, precision, located_by, plr_id = self._locate(text, geom, given_crs, area_slug, errors)
        stated = text.get("location_precision")
        if stated and point is not None and precision == "exact":  # a point whose file says how it was found
            if stated not in STATED_PRECISIONS:
                errors.append(("location_precision", f"'{stated}' is not one of {', '.join(STATED_PRECISIONS)}"))
            precision, located_by = stated, text.get("located_by") or None
        if precision not in PLR_PRECISE:
            plr_id = None  # a point placed for its area says nothing about the Planungsraum
        if area_slug is None and point is not None and not errors:
            inside = self.store.ids_at("qm_areas", "slug", point.x, point.y)
            area_slug = inside[0] if inside else None
        values.update(area_slug=area_slug, location_precision=precision, located_by=located_by, plr_id=plr_id,
                      origin="import")
        values["qm_area_stated"] = text.get("qm_area_stated") or values["qm_area_stated"]
        values["id"] = text.get("id") or project_id(text.get("qm_area") or area_slug or "", title)
        rep.id, rep.errors, rep.location_precision = values["id"], errors, precision
        return rep, values, point

    def _locate(self, text, geom, given_crs, area_slug, errors):
        """(point in EPSG:25833, precision, how, plr_id) — never a guess."""
        point = None
        if geom is not None:
            point = _point_from_geometry(geom, errors)
        elif text.get("lat") or text.get("lon"):
            point = _point_from_lonlat(text.get("lon"), text.get("lat"), errors)
        elif text.get("x") or text.get("y"):
            point = _point_from_xy(text.get("x"), text.get("y"), given_crs, errors)
        elif text.get("wkt"):
            point = _point_from_wkt(text["wkt"], given_crs, errors)
        if point is not None:
            plr = self.store.ids_at("planungsraeume", "plr_id", point.x, point.y)
            if not plr:
                errors.append(("geometry", "the point lies outside Berlin's Planungsräume"))
                return None, None, "", None
            return point, "exact", "coordinates", plr[0]
        if errors:
            return None, None, "", None
        facility = self._facility(text.get("place"), area_slug)
        if facility is not None:
            row, geom = facility
            plr = self.store.ids_at("planungsraeume", "plr_id", geom.x, geom.y)
            return geom, "facility", f"{row['kind']}: {row['name']}", plr[0] if plr else None
        if text.get("address"):
            plr_id = self._address_plr(text["address"])
            if plr_id:
                return self._plr_point(plr_id), "planungsraum", plr_id, plr_id
        if area_slug:
            geom = self.area_geom.get(area_slug)
            return (geom.representative_point() if geom is not None else None), "area", "", None
        return None, "none", "", None

    def _plr_point(self, plr_id: str):
        """The representative point of a Planungsraum (computed once per import)."""
        if plr_id not in self._plr_points:
            self._plr_points[plr_id] = self.store.geometry("planungsraeume", "plr_id = ?", (plr_id,)).representative_point()
        return self._plr_points[plr_id]

    def _facility(self, place, area_slug):
        if not place:
            return None
        keys = [k for k in {name_key(place), name_key(short_name(place))} if k]
        hits = [self.places[i] for i in np.flatnonzero(np.isin(self.place_keys, keys))]
        area_geom = self.area_geom.get(area_slug) if area_slug else None
        if area_geom is not None:
            hits = [h for h in hits if h[1].distance(area_geom) <= FACILITY_RADIUS_M]
        return hits[0] if len(hits) == 1 else None

    def _address_plr(self, address: str):
        parsed = parse_address(address)
        if parsed is None:
            return None
        key = (parsed["street_key"], parsed["hnr"], parsed["suffix"], parsed["plz"])
        if key not in self._address_cache:
            where, params = "street_key = ? AND hnr = ?", [parsed["street_key"], parsed["hnr"]]
            if parsed["plz"]:
                where, params = where + " AND plz = ?", params + [parsed["plz"]]
            rows = self.store.query(f"SELECT plr_id, hnr_suffix FROM addresses WHERE {where} ORDER BY hnr_suffix, fid",
                                    params)
            exact = [r for r in rows if r["hnr_suffix"] == parsed["suffix"]] or rows
            self._address_cache[key] = exact[0]["plr_id"] if exact else None
        return self._address_cache[key]


def _check_duplicate_ids(prepared) -> None:
    seen: dict[str, int] = {}
    for rep, values, _ in prepared:
        if values["id"] in seen:
            rep.errors.append(("id", f"duplicate id '{values['id']}' (also in row {seen[values['id']]})"))
        else:
            seen[values["id"]] = rep.row


def _fund(text: str, errors) -> tuple[str, str | None]:
    if not text:
        return "not stated", None
    key = name_key(text)
    for url_key, fund in FUND_KEYS.items():
        if key in (name_key(url_key), name_key(fund)) or (url_key not in ("other", "not-stated") and key.startswith(name_key(fund)[:8])):
            return fund, text
    errors.append(("fund", f"unknown fund '{text}'; use one of {', '.join(FUND_KEYS.values())}"))
    return "other", text


def _handlungsfelder(text: str, errors) -> list[str]:
    found = []
    for part in (p.strip() for p in re.split(r"[;|]", text or "") if p.strip()):
        key = name_key(part)
        match = next((h for k, h in HANDLUNGSFELD_KEYS.items()
                      if key in (name_key(k), name_key(h)) or key.startswith(name_key(h).split("und")[0][:8])), None)
        if match is None:
            errors.append(("handlungsfeld", f"unknown Handlungsfeld '{part}'; use {'; '.join(HANDLUNGSFELDER)}"))
        elif match not in found:
            found.append(match)
    return found


def _year(text, name, errors):
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


def _cost(text: str, errors):
    if not text:
        return None
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
    if not 0 <= value <= MAX_COST_EUR:
        errors.append(("cost_eur", f"{text} is not between 0 and {MAX_COST_EUR:,.0f} EUR"))
        return None
    return value


def _climate(text: str, errors, context: str) -> int:
    """Stated yes/no, or 1 when title or fund speak of climate (Soziale Klimaprojekte)."""
    flag = _flag(text, "climate", errors)
    return int("klima" in context.lower()) if flag is None else flag


def _flag(text: str, field_name: str, errors) -> int | None:
    if not text:
        return None
    value = text.strip().lower()
    if value in ("1", "1.0", "true", "yes", "ja", "x", "wahr"):
        return 1
    if value in ("0", "0.0", "false", "no", "nein", "falsch"):
        return 0
    errors.append((field_name, f"'{text}' is not yes/no"))
    return None


def _number(text, name, errors):
    try:
        value = float(str(text).replace(",", "."))
    except (TypeError, ValueError):
        errors.append((name, f"'{text}' is not a number"))
        return None
    if not np.isfinite(value):
        errors.append((name, f"'{text}' is not a finite number"))
        return None
    return value


def _point_from_lonlat(lon_text, lat_text, errors):
    lon, lat = _number(lon_text, "lon", errors), _number(lat_text, "lat", errors)
    if lon is None or lat is None:
        return None
    west, south, east, north = crs_mod.BERLIN_LONLAT
    if south <= lon <= north and west <= lat <= east:
        errors.append(("lat", f"lat {lat} and lon {lon} look swapped (Berlin is near lat 52.5, lon 13.4)"))
        return None
    if not (west <= lon <= east and south <= lat <= north):
        errors.append(("lat", f"lat {lat}, lon {lon} lie outside Berlin"))
        return None
    x, y = crs_mod.web_to_store_transformer().transform(lon, lat)
    return shapely.Point(x, y)


def _point_from_xy(x_text, y_text, given_crs, errors):
    x, y = _number(x_text, "x", errors), _number(y_text, "y", errors)
    if x is None or y is None:
        return None
    return _to_store_point(shapely.Point(x, y), given_crs, "x", errors)


def _point_from_wkt(text, given_crs, errors):
    try:
        geom = shapely.from_wkt(text)
    except shapely.errors.GEOSException:
        errors.append(("wkt", "not valid WKT"))
        return None
    point = _point_from_geometry(geom, errors, field_name="wkt")
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


def _point_from_geometry(geom, errors, field_name="geometry"):
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


def prepare_one(store, data: dict):
    """Validate and locate one project given as a dict of texts (a web form or JSON)."""
    row = {_column_key(k): (None if v in (None, "") else str(v)) for k, v in data.items() if k != "csrf_token"}
    return _Context(store).prepare(1, row, None, None)
