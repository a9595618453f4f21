"""Big point layers (a street-tree cadastre: about a million points) beside the built store.

They are loaded on their own (``kiezkarte load-layer``, ``kiezkarte synthetic-trees``), never by
``kiezkarte build``, and a rebuild never touches them; loading one never rebuilds the store.
Where they live follows the ``STORE`` setting:

- GeoPackage store ``geodata/kiezkarte.gpkg``: one GeoPackage per layer in
  ``geodata/kiezkarte-layers/<layer>.gpkg`` with the tables ``points`` (the features in
  EPSG:25833, written by GDAL with its R-tree spatial index ``rtree_points_geom``; rows in
  spatial order, so a tile reads neighbouring rows), ``cells`` (the cell pyramid of
  ``app.tiles``: z, tx, ty, px, py, n with an index on (z, tx, ty)) and ``big_layer``
  (the layer's metadata as JSON). A load writes a temporary file and renames it into place:
  readers see the old layer or the new one (each reader notices the new file and reopens).
  The file opens in QGIS as it is.
- PostGIS store ``postgresql://…?schema=kiezkarte``: the schema ``kiezkarte_layers`` with one
  table per layer (``"<layer>"``, GiST index), its cells (``"<layer>__cells"``) and the
  catalogue table ``big_layers`` (id, metadata JSON); a load replaces a layer in one
  transaction (see ``big_postgis``).

``open_big_layers(store_url)`` gives either reader, with the same methods: ``ids()``,
``meta(layer)``, ``tile(layer, z, x, y)`` (uncompressed MVT bytes) and ``points_in_box``.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .. import crs, tiles
from ..errors import KiezkarteError, NotFound
from .geometry import decode as decode_geometry
from .read_pool import ReadPool

LAYERS_SUFFIX = "-layers"
LAYER_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass
class BigLayer:
    """A layer ready to store: ``frame`` holds the points (EPSG:25833, in spatial order; its
    columns besides the geometry are the layer's fields), ``cells`` the pyramid from
    ``tiles.cell_pyramid``, ``meta`` what ``meta()`` answers."""
    id: str
    frame: gpd.GeoDataFrame
    cells: dict
    meta: dict


def check_id(layer_id: str) -> str:
    if not LAYER_ID.fullmatch(layer_id or ""):
        raise NotFound(f"no big layer '{layer_id}'")
    return layer_id


def layers_folder(store_path) -> Path:
    """``geodata/kiezkarte.gpkg`` -> ``geodata/kiezkarte-layers``."""
    path = Path(store_path)
    return path.with_name(path.stem + LAYERS_SUFFIX)


def open_big_layers(store_url: str):
    from . import _path, backend
    if backend(store_url) == "postgis":
        from .big_postgis import PostGISBigLayers
        return PostGISBigLayers(store_url)
    return GeoPackageBigLayers(layers_folder(_path(store_url)))


def write_big_layer(store_url: str, layer: BigLayer) -> str:
    """Store (or replace) one big layer; returns where it went (for messages)."""
    from . import _path, backend
    check_id(layer.id)
    if backend(store_url) == "postgis":
        from .big_postgis import write_postgis_layer
        return write_postgis_layer(store_url, layer)
    return str(write_geopackage_layer(layers_folder(_path(store_url)), layer))


# ---------------------------------------------------------------- GeoPackage: writing

def write_geopackage_layer(folder: Path, layer: BigLayer) -> Path:
    """Write the layer as the store is written (``gpkg.start_geopackage``: a temporary file
    beside its target, temporary files of killed loads removed first), then move it into place."""
    from .gpkg import (_GDAL_WRITE, _attribute_columns, _write_attributes, _writing, commit_geopackage,
                       discard_geopackage, start_geopackage)
    target = folder / f"{layer.id}.gpkg"
    tmp = start_geopackage(target)
    try:
        pyogrio.set_gdal_config_options(_GDAL_WRITE)
        pyogrio.write_dataframe(layer.frame, tmp, layer="points", driver="GPKG", geometry_type="Point",
                                promote_to_multi=False, layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"})
        with _writing(tmp) as con:
            for name, df in (("cells", pd.DataFrame(layer.cells)),
                             ("big_layer", pd.DataFrame({"key": ["meta"], "value": [json.dumps(layer.meta)]}))):
                _write_attributes(con, name, df, _attribute_columns(df))
            con.execute('CREATE INDEX "idx_cells_tile" ON "cells" (z, tx, ty)')
        commit_geopackage(tmp, target)
    except BaseException:
        discard_geopackage(tmp)
        raise
    finally:
        pyogrio.set_gdal_config_options({k: None for k in _GDAL_WRITE})
    return target


# ---------------------------------------------------------------- GeoPackage: reading

class GeoPackageBigLayers:
    backend = "geopackage"

    def __init__(self, folder):
        self.folder = Path(folder)
        self._opened: dict[str, tuple] = {}  # layer id -> (file stamp, ReadPool, meta)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GeoPackageBigLayers({str(self.folder)!r})"

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.gpkg") if LAYER_ID.fullmatch(p.stem))

    def _layer(self, layer_id: str) -> tuple[ReadPool, dict]:
        """The connections to the layer's file and its metadata; a new file (a reload renamed
        into place) is noticed by its inode and gets new connections."""
        path = self.folder / f"{check_id(layer_id)}.gpkg"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise NotFound(f"no big layer '{layer_id}' (load it with `kiezkarte load-layer`)") from None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        held = self._opened.get(layer_id)
        if held is not None and held[0] == stamp:
            return held[1], held[2]
        pool = ReadPool(lambda: sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False))
        with pool.connection() as con:
            meta = json.loads(con.execute("SELECT value FROM big_layer WHERE key = 'meta'").fetchone()[0])
        with self._lock:
            self._opened[layer_id] = (stamp, pool, meta)
        return pool, meta

    def meta(self, layer_id: str) -> dict:
        return self._layer(layer_id)[1]

    def tile(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        """The MVT tile z/x/y of the layer (uncompressed; b'' when empty), by ``app.tiles``' rule."""
        pool, meta = self._layer(layer_id)
        if z <= meta["cluster_max_zoom"]:
            rows = _fetch(pool, "SELECT tx, ty, px, py, n FROM cells WHERE z = ? AND tx BETWEEN ? AND ? "
                                "AND ty BETWEEN ? AND ?", (z, x - 1, x + 1, y - 1, y + 1))
            if not rows:
                return b""
            a = np.array(rows, dtype=np.int64)
            return tiles.encode_cells(layer_id, *tiles.cells_around(x, y, a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4]))
        fields = [f["name"] for f in meta["fields"]]
        minx, miny, maxx, maxy = _store_box(z, x, y, tiles.CELL)
        columns = "".join(f', p."{f}"' for f in fields)
        rows = _fetch(pool, f"SELECT p.fid, p.geom{columns} {_POINTS_IN_BOX}", (minx, maxx, miny, maxy))
        if not rows:
            return b""
        fids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        x25833, y25833 = point_xy([r[1] for r in rows])
        mx, my = crs.store_to_mercator_transformer().transform(x25833, y25833)
        properties = {f: [r[i + 2] for r in rows] for i, f in enumerate(fields)}
        return tiles.tile_from_points(layer_id, z, x, y, mx, my, fids, properties)

    def points_in_box(self, layer_id: str, minx: float, miny: float, maxx: float, maxy: float):
        """(fid, x, y) arrays of the points inside a box in EPSG:25833 (exact, for checks)."""
        pool, _ = self._layer(layer_id)
        rows = _fetch(pool, f"SELECT p.fid, p.geom {_POINTS_IN_BOX}", (minx, maxx, miny, maxy))
        fids = np.array([r[0] for r in rows], dtype=np.int64)
        x, y = point_xy([r[1] for r in rows])
        keep = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        return fids[keep], x[keep], y[keep]


# the points whose R-tree box meets (minx, maxx, miny, maxy)
_POINTS_IN_BOX = ("FROM points p JOIN rtree_points_geom r ON p.fid = r.id "
                  "WHERE r.maxx >= ? AND r.minx <= ? AND r.maxy >= ? AND r.miny <= ?")


def _fetch(pool: ReadPool, sql: str, params) -> list:
    with pool.connection() as con:
        return con.execute(sql, params).fetchall()


def _store_box(z: int, x: int, y: int, units: float) -> tuple[float, float, float, float]:
    """The tile grown by ``units`` tile units, as a box in EPSG:25833 that contains it (edges
    densified, a metre to spare)."""
    minx, miny, maxx, maxy = tiles.tile_bounds(z, x, y)
    pad = (maxx - minx) * units / tiles.EXTENT
    box = crs.mercator_to_store_transformer().transform_bounds(minx - pad, miny - pad, maxx + pad, maxy + pad,
                                                               densify_pts=21)
    return box[0] - 1.0, box[1] - 1.0, box[2] + 1.0, box[3] + 1.0


_POINT_BLOB = 29  # GeoPackage header without envelope (8 bytes) + little-endian WKB point (21 bytes)


def point_xy(blobs: list) -> tuple[np.ndarray, np.ndarray]:
    """GeoPackage point blobs -> x, y arrays; GDAL's usual layout is read in one go."""
    if not blobs:
        return np.empty(0), np.empty(0)
    if all(b is not None and len(b) == _POINT_BLOB for b in blobs):
        a = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(-1, _POINT_BLOB)
        wkb_type = a[:, 9:13].copy().view("<u4").ravel()
        if (a[:, 3] == 1).all() and (a[:, 8] == 1).all() and (wkb_type == 1).all():
            return a[:, 13:21].copy().view("<f8").ravel(), a[:, 21:29].copy().view("<f8").ravel()
    geoms = np.array([decode_geometry(b) for b in blobs], dtype=object)
    if any(g is None or g.geom_type != "Point" for g in geoms):
        raise KiezkarteError("a big layer holds something else than points")
    xy = shapely.get_coordinates(geoms)
    return xy[:, 0], xy[:, 1]
