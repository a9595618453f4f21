"""Reading an import file into a table of texts: CSV as Excel writes it, GeoJSON, GeoPackage, zipped Shapefile.

``read`` gives one text (or None) per cell, with the columns renamed to the importer's
field names and ``_row`` holding the number a person finds the row under (the line of a
CSV, the feature of a vector file), and the geometries of a vector file.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pyogrio

from . import sources
from .errors import SourceError
from .names import name_key
from .reasons import Reason

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".zip", ".shp"}
CSV_SUFFIXES = {".csv", ".txt"}
SPREADSHEET_SUFFIXES = {".xlsx", ".xls", ".ods"}
ZIP_MAX_RATIO = 100  # uncompressed / compressed: more is a zip bomb

# Accepted column names (lower case, umlauts spelled out) for each field.
COLUMNS = {
    "id": ("id", "project_id", "projekt_id", "projektid", "kennung"),
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
_ALL_NAMES = {n: key for key, names in COLUMNS.items() for n in names}


def read(path: Path, name: str, given_crs, max_bytes: int):
    """(table of texts with ``_row``, geometries or Nones, notes) of an import file."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, name)
    if suffix in VECTOR_SUFFIXES:
        if given_crs is not None:
            raise SourceError(name, Reason("a CRS is given only for CSV files; a vector file declares its own"))
        if suffix == ".zip":
            _check_zip(path, name, max_bytes)
        notes: list[str] = []
        layer = _layer_to_read(path, name, notes)
        try:
            gdf = sources.read_vector(path, notes, strict_crs=True, layer=layer)
        except SourceError as exc:
            raise SourceError(name, exc.reason) from None
        attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        table = attrs.astype(object).where(attrs.notna(), None)
        table = table.apply(lambda col: col.map(lambda v: None if v is None else _text_of(v)))
        _name_columns(table, notes, dbase=suffix in (".zip", ".shp"))
        table.insert(0, "_row", range(1, len(table) + 1))
        return table, list(gdf.geometry), notes
    if suffix in SPREADSHEET_SUFFIXES:
        raise SourceError(name, Reason("a spreadsheet ('%(suffix)s'): save it as CSV (in Excel: File, Save As, "
                                       "CSV UTF-8) and upload that", suffix=suffix))
    raise SourceError(name, Reason("unsupported file type '%(suffix)s'; use .csv, .geojson, .gpkg or a zipped "
                                   "Shapefile (.zip)", suffix=suffix))


def _layer_to_read(path: Path, name: str, notes: list[str]) -> str | None:
    """The layer named 'projects', else the only (or first) layer with geometry."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:
        raise SourceError(name, Reason("cannot be read as a vector file: %(detail)s", detail=exc)) from None
    if len(layers) <= 1:
        return None
    names = [str(n) for n, geometry_type in layers if geometry_type]
    chosen = "projects" if "projects" in names else (names[0] if names else None)
    if chosen is None:
        raise SourceError(name, Reason("no layer with geometry"))
    notes.append(Reason("read layer '%(layer)s' of %(layers)s", layer=chosen,
                        layers=", ".join(str(n) for n, _ in layers)))
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
        notes = [Reason("read as Windows-1252 (not UTF-8)")]
    if "\x00" in text:
        raise SourceError(name, Reason("not a text file (contains NUL bytes)"))
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first and "," not in first else ",")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(name, Reason("cannot be read as CSV: %(detail)s", detail=exc)) from None
    if frame.empty:
        raise SourceError(name, Reason("no data rows"))
    _name_columns(frame, notes)
    frame = frame.replace({"": None})
    frame.insert(0, "_row", range(2, len(frame) + 2))  # line numbers: the header is line 1
    return frame, [None] * len(frame), notes


def _check_zip(path: Path, name: str, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise SourceError(name, Reason("not a valid zip file")) from None
    total = sum(i.file_size for i in infos)
    for info in infos:
        if info.filename.startswith(("/", "\\")) or ".." in Path(info.filename).parts:
            raise SourceError(name, Reason("unsafe path in zip: '%(path)s'", path=info.filename))
    if total > max_bytes * 10 or total > ZIP_MAX_RATIO * max(path.stat().st_size, 1):
        raise SourceError(name, Reason("zip expands too much (possible zip bomb)"))
    stems = {Path(i.filename).stem.lower() for i in infos if i.filename.lower().endswith(".shp")}
    exts = {Path(i.filename).suffix.lower() for i in infos}
    if stems and not {".shx", ".dbf"} <= exts:
        raise SourceError(name, Reason("zipped Shapefile lacks its .shx or .dbf part"))


def _name_columns(table: pd.DataFrame, notes: list, *, dbase: bool = False) -> None:
    """Columns renamed to the fields they hold, and a note naming the columns no field takes;
    ``table.attrs["columns"]`` keeps each field's heading as the file has it, for reports in
    the planner's own words. ``dbase``: a Shapefile, whose names are cut to 10 characters."""
    keys = [column_key(c, dbase=dbase) for c in table.columns]
    table.attrs["columns"] = {key: str(c) for key, c in zip(keys, table.columns)}
    table.columns = keys
    unknown = [str(c) for c in keys if c not in _ALL_NAMES]
    if unknown:
        notes.append(Reason("columns ignored: %(columns)s", columns=", ".join(unknown)))


def column_key(column: str, *, dbase: bool = False) -> str:
    """The field a column holds ('Kosten (EUR)' -> 'cost_eur'; with ``dbase`` also a name cut
    to 10 characters: 'handlungsf' -> 'handlungsfeld'), else the column's own name."""
    key = _compare_key(column)
    found = _KEYS.get(key) or (_DBASE_KEYS.get(key) if dbase and len(str(column)) == DBASE_NAME_LENGTH else None)
    return found or str(column)


def _compare_key(name) -> str:
    return name_key(str(name)).replace("strasse", "str")  # name_key drops separators


DBASE_NAME_LENGTH = 10
_KEYS = {_compare_key(n): key for n, key in _ALL_NAMES.items()}
_DBASE_KEYS = {_compare_key(n[:DBASE_NAME_LENGTH]): key  # reversed: the first field listed wins a cut name
               for n, key in reversed(_ALL_NAMES.items())}  # ('handlungsf': handlungsfeld, not _inferred)
