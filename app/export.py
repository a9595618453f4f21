"""Export any layer, or a filtered selection of projects, as GeoJSON, CSV or GeoPackage.

Every export carries the layer's attribution and licence (a foreign member in
GeoJSON, a column in CSV, the layer description and an ``attribution`` table in a
GeoPackage). Exported projects can be imported again unchanged.
"""
from __future__ import annotations

import json
import re
import os
import tempfile
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from . import catalog, crs, geojson, queries
from .errors import BadRequest, NotFound
from .project_filter import ProjectFilter

FORMATS = {"geojson": "application/geo+json", "csv": "text/csv", "gpkg": "application/geopackage+sqlite3"}
PROJECT_EXPORT_FIELDS = ("id", "title", "qm_area", "qm_area_stated", "fund", "fund_stated", "handlungsfelder",
                         "handlungsfeld_inferred", "climate", "start_year", "end_year", "status", "cost_eur",
                         "cost_stated", "place", "address", "location_precision", "located_by", "plr_id", "source_url")
INTEGER_FIELDS = {"start_year", "end_year", "climate", "handlungsfeld_inferred", "residents"}
PLACE_KIND = {layer: kind for kind, layer in queries.PLACE_LAYER.items()}


@dataclass(frozen=True)
class ExportLayer:
    id: str
    table: str
    id_column: str
    where: str = ""
    drop: tuple[str, ...] = ()


LAYERS = {layer.id: layer for layer in (
    ExportLayer("projects", "projects", "id"),
    ExportLayer("qm_areas", "qm_areas", "slug"),
    ExportLayer("planungsraeume", "planungsraeume", "plr_id"),
    ExportLayer("bezirke", "bezirke", "bez_id"),
    ExportLayer("ortsteile", "ortsteile", "ortsteil_id"),
    ExportLayer("bezirksregionen", "bezirksregionen", "bzr_id"),
    ExportLayer("prognoseraeume", "prognoseraeume", "pgr_id"),
    ExportLayer("milieuschutz", "milieuschutz", "id"),
    *(ExportLayer(layer, "places", "id", where=f"kind = '{kind}'") for layer, kind in PLACE_KIND.items()),
)}


def export(store, layer_id: str, fmt: str, flt: ProjectFilter | None = None) -> tuple[bytes, str, str]:
    """(body, mimetype, file name) of one layer in one format."""
    if layer_id not in LAYERS:
        raise NotFound(f"no layer '{layer_id}'; layers: {', '.join(sorted(LAYERS))}")
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}")
    layer = LAYERS[layer_id]
    if layer_id == "projects":
        rows = queries.projects(store, flt or ProjectFilter())
        rows = [({k: _project_value(r, k) for k in PROJECT_EXPORT_FIELDS}, g) for r, g in rows]
    else:
        if flt is not None and not flt.is_empty():
            raise BadRequest("filters apply to the projects layer only")
        rows = store.features(layer.table, layer.where, order=layer.id_column)
    attribution = catalog.layer(layer_id).as_dict()
    frame = gpd.GeoDataFrame([r for r, _ in rows], geometry=[g for _, g in rows], crs=crs.STORE_CRS) if rows else \
        gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs=crs.STORE_CRS))
    frame = frame.drop(columns=[c for c in ("fid", *layer.drop) if c in frame.columns])
    for column in INTEGER_FIELDS & set(frame.columns):  # years stay years when some are unknown
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    body = {"geojson": _geojson, "csv": _csv, "gpkg": _gpkg}[fmt](frame, layer, attribution)
    suffix = f"-{_filter_slug(flt)}" if flt is not None and not flt.is_empty() else ""
    return body, FORMATS[fmt], f"kiezkarte-{layer_id}{suffix}.{fmt}"


def _project_value(row: dict, key: str):
    return row.get("area_slug") if key == "qm_area" else row.get(key)


def _geojson(frame, layer, attribution) -> bytes:
    props = [c for c in frame.columns if c != frame.geometry.name]
    features = [geojson.feature({p: frame[p].iloc[i] for p in props}, frame.geometry.iloc[i],
                                feature_id=frame[layer.id_column].iloc[i] if layer.id_column in frame else None)
                for i in range(len(frame))]
    doc = {"type": "FeatureCollection", "name": layer.id, "attribution": attribution["attribution"],
           "licence": attribution["licence"], "source": attribution["source"], "features": features}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _csv(frame, layer, attribution) -> bytes:
    """One row per feature: the attributes, WKT in EPSG:4326, lon/lat of the point (or a point on the shape)."""
    web = frame.geometry.to_crs(crs.WEB_CRS)
    points = web.where(web.geom_type == "Point", web.representative_point())
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table["wkt"] = [None if g is None or g.is_empty else shapely.to_wkt(g, rounding_precision=crs.WEB_DECIMALS, trim=True)
                    for g in web]
    table["lon"] = [None if p is None or p.is_empty else round(p.x, crs.WEB_DECIMALS) for p in points]
    table["lat"] = [None if p is None or p.is_empty else round(p.y, crs.WEB_DECIMALS) for p in points]
    table["attribution"] = attribution["attribution"]
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _gpkg(frame, layer, attribution) -> bytes:
    fd, path = tempfile.mkstemp(suffix=".gpkg")
    os.close(fd)
    os.unlink(path)
    try:
        pyogrio.write_dataframe(frame, path, layer=layer.id, driver="GPKG",
                                layer_options={"DESCRIPTION": attribution["attribution"], "IDENTIFIER": attribution["title"]})
        pyogrio.write_dataframe(pd.DataFrame([attribution]), path, layer="attribution", driver="GPKG")
        with open(path, "rb") as f:
            return f.read()
    finally:
        if os.path.exists(path):
            os.unlink(path)


def _filter_slug(flt: ProjectFilter) -> str:
    text = "-".join(f"{k}-{v}" for k, v in flt.args().items()).replace(",", "+")
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", text)[:80]  # a file name for a header: no newlines, quotes or slashes
