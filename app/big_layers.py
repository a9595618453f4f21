"""Load a big point layer (a street-tree cadastre, or the synthetic one) into the store.

``load_big_layer(store_url, layer_id, source)`` takes a GeoDataFrame or a file — GeoJSON,
GeoPackage, (zipped) Shapefile through ``sources.read_vector`` (its CRS checked against its
coordinates; a lying CRS is refused), or CSV with lon/lat columns (``lon``/``lat``,
``longitude``/``latitude``, ``lng``, ``länge``/``breite``) or x/y in a CRS given with ``crs`` —
validates it (points only, every row with a geometry, inside Berlin), keeps the attribute
columns as the layer's fields (text, integer or real; names made SQL-safe), adds ``plr_id``
(the Planungsraum of each point, by a spatial join against the built store's
Planungsräume) when the file has none, sorts the points in space (Morton order of their
position, so neighbouring points are neighbouring rows), computes the cell pyramid of
``app.tiles`` and hands everything to the store (``store.big.write_big_layer``), which
replaces that one layer atomically. The store itself is not rebuilt.

Every layer needs a catalogue entry (``app/catalog.py``): its attribution, licence and, for
made-up data, the SYNTHETIC label come from there.
"""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import catalog, crs, sources, spatial, tiles
from .errors import KiezkarteError, SourceError
from .store.big import BigLayer, LAYER_ID, write_big_layer

LON_LAT = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("länge", "breite"), ("laenge", "breite"))
RESERVED = {"fid", "geom", "geometry"}


@dataclass
class LoadReport:
    layer: str
    count: int = 0
    where: str = ""
    seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def as_text(self) -> str:
        timing = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        lines = [f"{self.layer}: {self.count:,} points -> {self.where} ({timing})"]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def load_big_layer(store_url: str, layer_id: str, source, *, crs_of_xy: str | None = None,
                   fields: list[str] | None = None, description: str = "") -> LoadReport:
    """Validate ``source`` (a file path or a GeoDataFrame) and store it as the big layer ``layer_id``."""
    entry = _catalogue_entry(layer_id)
    report = LoadReport(layer_id)
    started = time.perf_counter()
    if isinstance(source, gpd.GeoDataFrame):
        frame, label = crs.to_store(crs.checked_crs(source, "<frame>", strict=True)), "<frame>"
    else:
        frame, label = read_points(Path(source), report.notes, crs_of_xy=crs_of_xy), str(source)
    report.seconds["read"] = time.perf_counter() - started
    t = time.perf_counter()
    layer = prepare(layer_id, frame, label, store_url=store_url, fields=fields, notes=report.notes,
                    synthetic=entry.synthetic, description=description)
    report.seconds["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    report.where = write_big_layer(store_url, layer)
    report.seconds["write"] = time.perf_counter() - t
    report.count = len(layer.frame)
    return report


def _catalogue_entry(layer_id: str) -> catalog.Layer:
    if not LAYER_ID.fullmatch(layer_id or ""):
        raise KiezkarteError(f"a layer id is lower-case letters, digits and _ (at most 40), not '{layer_id}'")
    try:
        return catalog.layer(layer_id)
    except KeyError:
        raise KiezkarteError(f"layer '{layer_id}' has no entry in app/catalog.py: add one (title, source, licence, "
                             "attribution) before loading it") from None


# ---------------------------------------------------------------- reading

def read_points(path: Path, notes: list[str], *, crs_of_xy: str | None = None) -> gpd.GeoDataFrame:
    """A points file (vector formats or CSV) -> GeoDataFrame in EPSG:25833."""
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv_points(path, notes, crs_of_xy)
    return sources.read_vector(path, notes, strict_crs=True)


def _read_csv_points(path: Path, notes: list[str], crs_of_xy: str | None) -> gpd.GeoDataFrame:
    text = path.read_bytes()[:4096].decode("utf-8", errors="replace")
    sep = ";" if text.count(";") > text.count(",") else ","
    frame = sources.read_csv(path, sep=sep)
    lower = {c.strip().lower(): c for c in frame.columns}
    pair = next(((lower[a], lower[b]) for a, b in LON_LAT if a in lower and b in lower), None)
    declared = "EPSG:4326"
    if pair is None and "x" in lower and "y" in lower:
        pair, declared = (lower["x"], lower["y"]), crs_of_xy or "EPSG:25833"
    if pair is None:
        raise SourceError(path, "needs coordinate columns: lon and lat (or longitude/latitude), or x and y "
                                f"(EPSG:25833 unless given); found {', '.join(frame.columns)}", field="lon")
    decimal_comma = sep == ";"
    x = sources.numbers(frame, pair[0], path, decimal_comma=decimal_comma, allow_missing=False)
    y = sources.numbers(frame, pair[1], path, decimal_comma=decimal_comma, allow_missing=False)
    attributes = frame.drop(columns=list(pair))
    for column in attributes.columns:  # a column of numbers only is numeric
        values = attributes[column].str.strip()
        missing = values.isin(sources.MISSING)
        if decimal_comma and not values.str.contains(".", regex=False).any():
            values = values.str.replace(",", ".", regex=False)
        parsed = pd.to_numeric(values.where(~missing), errors="coerce")
        if (parsed.notna() | missing).all() and parsed.notna().any() and not _looks_like_ids(attributes[column][~missing]):
            attributes[column] = parsed
    gdf = gpd.GeoDataFrame(attributes, geometry=gpd.points_from_xy(x, y), crs=declared)
    return crs.to_store(crs.checked_crs(gdf, path, strict=crs_of_xy is not None, notes=notes))


def _looks_like_ids(values: pd.Series) -> bool:
    """Digits with leading zeros (LOR ids, tree numbers) stay text."""
    return bool(values.str.match(r"0\d").any())


# ---------------------------------------------------------------- validating and preparing

def prepare(layer_id: str, frame: gpd.GeoDataFrame, label: str, *, store_url: str | None = None,
            fields: list[str] | None = None, notes: list[str] | None = None, synthetic: bool = False,
            description: str = "") -> BigLayer:
    """Checked points in EPSG:25833 -> a ``BigLayer`` (fields, spatial order, cells, metadata)."""
    notes = notes if notes is not None else []
    frame = _points_only(frame, label)
    if store_url is not None and "plr_id" not in frame.columns and (fields is None or "plr_id" in fields):
        frame = _with_plr(frame, store_url, label, notes)
    attributes, kinds = _fields(frame, label, fields)
    x, y = shapely.get_coordinates(frame.geometry.to_numpy()).T
    mx, my = crs.store_to_mercator_transformer().transform(x, y)
    order = np.argsort(_morton(mx, my), kind="stable")
    ordered = gpd.GeoDataFrame(attributes.iloc[order].reset_index(drop=True),
                               geometry=gpd.GeoSeries(frame.geometry.to_numpy()[order], crs=crs.STORE_CRS))
    cells = tiles.cell_pyramid(np.asarray(mx)[order], np.asarray(my)[order], tiles.CLUSTER_MAX_ZOOM)
    lon, lat = crs.store_to_web_transformer().transform(x, y)
    meta = {"layer": layer_id, "version": uuid.uuid4().hex[:16], "count": int(len(ordered)),
            "fields": [{"name": n, "type": kinds[n]} for n in attributes.columns],
            "bounds": [round(float(np.min(lon)), 6), round(float(np.min(lat)), 6),
                       round(float(np.max(lon)), 6), round(float(np.max(lat)), 6)],
            "cluster_max_zoom": tiles.CLUSTER_MAX_ZOOM, "point_limit": tiles.POINT_LIMIT,
            "min_zoom": tiles.MIN_ZOOM, "max_zoom": tiles.MAX_ZOOM, "cells": int(len(cells["z"])),
            "source": Path(label).name if label != "<frame>" else description or "generated",
            "synthetic": bool(synthetic), "description": description,
            "loaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return BigLayer(layer_id, ordered, cells, meta)


def _points_only(frame: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    if len(frame) == 0:
        raise SourceError(label, "no features")
    geoms = frame.geometry
    missing = (geoms.isna() | geoms.is_empty).to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise SourceError(label, f"{int(missing.sum())} feature(s) without a location", row=row + 2, field="geometry")
    kinds = geoms.geom_type.to_numpy()
    multi = kinds == "MultiPoint"
    if multi.any():  # a MultiPoint of one point is a point
        parts = shapely.get_num_geometries(geoms.to_numpy()[multi])
        if (parts != 1).any():
            row = int(np.flatnonzero(multi)[np.flatnonzero(parts != 1)[0]])
            raise SourceError(label, "a MultiPoint with several points: one tree is one point", row=row + 2,
                              field="geometry")
        frame = frame.copy()
        frame.loc[multi, frame.geometry.name] = shapely.get_geometry(geoms.to_numpy()[multi], 0)
        kinds = frame.geometry.geom_type.to_numpy()
    if (kinds != "Point").any():
        row = int(np.flatnonzero(kinds != "Point")[0])
        raise SourceError(label, f"a {kinds[row]}: a big layer holds points only", row=row + 2, field="geometry")
    lon, lat = crs.store_to_web_transformer().transform(*shapely.get_coordinates(frame.geometry.to_numpy()).T)
    west, south, east, north = crs.BERLIN_LONLAT
    outside = (lon < west) | (lon > east) | (lat < south) | (lat > north)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise SourceError(label, f"{int(outside.sum())} point(s) outside Berlin, the first at "
                                 f"{lon[row]:.5f}, {lat[row]:.5f}", row=row + 2, field="geometry")
    return frame


def _with_plr(frame: gpd.GeoDataFrame, store_url: str, label: str, notes: list[str]) -> gpd.GeoDataFrame:
    """Each point's Planungsraum (or none), from the built store's Planungsräume."""
    from .store import open_store, store_exists
    if not store_exists(store_url):
        notes.append(f"{label}: no built store, so no plr_id (run `kiezkarte build` and load again)")
        return frame
    plr = open_store(store_url).read_layer("planungsraeume")
    x, y = shapely.get_coordinates(frame.geometry.to_numpy()).T
    found = spatial.locate_points(plr.geometry.to_numpy(), x, y)
    ids = plr["plr_id"].to_numpy(dtype=object)
    frame = frame.copy()
    frame["plr_id"] = np.where(found >= 0, ids[np.maximum(found, 0)], None)
    if (found < 0).any():
        notes.append(f"{label}: {int((found < 0).sum())} point(s) lie in no Planungsraum (plr_id empty)")
    return frame


def _fields(frame: gpd.GeoDataFrame, label: str, wanted: list[str] | None) -> tuple[pd.DataFrame, dict]:
    """The attribute columns as the store keeps them: SQL-safe names, text / integer / real."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if wanted is not None:
        unknown = [w for w in wanted if w not in columns]
        if unknown:
            raise SourceError(label, f"no column(s) {', '.join(unknown)}; found {', '.join(columns)}", field=unknown[0])
        columns = list(wanted)
    out, kinds, taken = {}, {}, set()
    for column in columns:
        name = _sql_name(str(column), taken)
        taken.add(name)
        series = frame[column].reset_index(drop=True)
        if pd.api.types.is_bool_dtype(series):
            series, kind = series.astype("Int64"), "INTEGER"
        elif pd.api.types.is_integer_dtype(series):
            series, kind = series.astype("Int64"), "INTEGER"
        elif pd.api.types.is_float_dtype(series):
            values = series.to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if len(finite) and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2 ** 53):
                series, kind = series.round().astype("Int64"), "INTEGER"  # whole numbers with gaps: integers
            else:
                series, kind = series.astype(float), "REAL"
        else:
            text = series.astype(object).where(series.notna(), None)
            text = text.map(lambda v: None if v is None or str(v).strip() in sources.MISSING else str(v))
            series, kind = text, "TEXT"
        out[name], kinds[name] = series, kind
    return pd.DataFrame(out), kinds


def _sql_name(name: str, taken: set) -> str:
    clean = re.sub(r"[^a-z0-9_]", "_", name.strip().lower().replace("ä", "ae").replace("ö", "oe")
                   .replace("ü", "ue").replace("ß", "ss"))[:40] or "field"
    if not clean[0].isalpha():
        clean = "f_" + clean
    if clean in RESERVED:
        clean += "_"
    base, i = clean, 2
    while clean in taken:
        clean, i = f"{base}_{i}", i + 1
    return clean


def _morton(mx, my) -> np.ndarray:
    """Z-order key of EPSG:3857 positions on a 2^16 grid over the world."""
    gx, gy = tiles.world_units(mx, my, 4)  # 16 tiles x 4096 units = 2^16 per side
    def spread(v):
        v = np.clip(np.asarray(v), 0, 65535).astype(np.uint64)
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)
    return spread(gx) | (spread(gy) << np.uint64(1))
