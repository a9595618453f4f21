"""Big point layers in PostGIS: the schema ``<schema>_layers`` beside the store's schema.

Per layer: ``"<layer>"`` (fid, geom Point EPSG:25833 with a GiST index, the layer's fields),
``"<layer>__cells"`` (the cell pyramid of ``app.tiles``, B-tree index on (z, tx, ty)) and one
row of ``big_layers`` (id, metadata JSON). A load builds ``…__new`` tables (bulk ``COPY``),
indexes and analyses them, then drops the old tables and renames the new ones, all in one
transaction under an advisory lock: readers see the old layer or the new one. A store
rebuild swaps only the store's own schema and never touches this one.

Tiles come from SQL: ``ST_AsMVT`` over the stored cells (zooms up to the layer's
``cluster_max_zoom``), or over the points (``ST_Transform`` to EPSG:3857 and
``ST_AsMVTGeom`` with the tile's buffer) — by the same rule as ``app.tiles``: a tile with
more than ``POINT_LIMIT`` points gets cells aggregated from its points in the query.
"""
from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import psycopg
import psycopg.errors
import shapely

from .. import tiles
from ..errors import NotFound
from . import geometry, postgis
from .big import BigLayer, check_id

LAYERS_SUFFIX = "_layers"
_TYPES = {"TEXT": 'text COLLATE "C"', "INTEGER": "bigint", "REAL": "double precision"}


def layers_location(url: str) -> postgis.Location:
    where = postgis.parse_url(url)
    return replace(where, schema=where.schema + LAYERS_SUFFIX)


# ---------------------------------------------------------------- writing

def write_postgis_layer(url: str, layer: BigLayer) -> str:
    where = layers_location(url)
    s, name = f'"{where.schema}"', layer.id
    fields = layer.meta["fields"]
    try:
        with psycopg.connect(where.conninfo, autocommit=True, connect_timeout=10) as conn:
            postgis._ensure_postgis(conn, where)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kiezkarte big layer {where.schema}"])
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
                conn.execute(f'CREATE TABLE IF NOT EXISTS {s}.big_layers (id text COLLATE "C" PRIMARY KEY, '
                             "meta text NOT NULL)")
                conn.execute(f'DROP TABLE IF EXISTS {s}."{name}__new", {s}."{name}__cells__new"')
                columns = "".join(f', "{f["name"]}" {_TYPES[f["type"]]}' for f in fields)
                conn.execute(f'CREATE TABLE {s}."{name}__new" (fid bigint PRIMARY KEY, '
                             f"geom geometry(Point, {geometry.SRS_ID}) NOT NULL{columns})")
                _copy_points(conn, f'{s}."{name}__new"', layer)
                conn.execute(f'CREATE INDEX "sidx_{name}__new" ON {s}."{name}__new" USING gist (geom)')
                conn.execute(f'CREATE TABLE {s}."{name}__cells__new" (z integer, tx bigint, ty bigint, px integer, '
                             "py integer, n bigint)")
                _copy_cells(conn, f'{s}."{name}__cells__new"', layer.cells)
                conn.execute(f'CREATE INDEX "idx_{name}__cells__new" ON {s}."{name}__cells__new" (z, tx, ty)')
                conn.execute(f'ANALYZE {s}."{name}__new"')
                conn.execute(f'ANALYZE {s}."{name}__cells__new"')
                conn.execute(f'DROP TABLE IF EXISTS {s}."{name}", {s}."{name}__cells"')
                conn.execute(f'ALTER TABLE {s}."{name}__new" RENAME TO "{name}"')
                conn.execute(f'ALTER INDEX {s}."sidx_{name}__new" RENAME TO "sidx_{name}"')
                conn.execute(f'ALTER TABLE {s}."{name}__cells__new" RENAME TO "{name}__cells"')
                conn.execute(f'ALTER INDEX {s}."idx_{name}__cells__new" RENAME TO "idx_{name}__cells"')
                conn.execute(f"INSERT INTO {s}.big_layers (id, meta) VALUES (%s, %s) "
                             "ON CONFLICT (id) DO UPDATE SET meta = excluded.meta", [name, json.dumps(layer.meta)])
    except psycopg.OperationalError as exc:
        raise postgis.StoreUnavailable(f"cannot write to the PostGIS store {where.safe}: {str(exc).strip()[:300]}") from exc
    return f"{where.safe} table {name}"


def _copy_points(conn, table: str, layer: BigLayer) -> None:
    """COPY in CSV: fid, the point as hex EWKB, the fields (missing values are unquoted empty
    fields, i.e. NULL; the loader has made empty texts missing)."""
    frame = layer.frame
    names = [f["name"] for f in layer.meta["fields"]]
    hexes = shapely.to_wkb(shapely.set_srid(frame.geometry.to_numpy(), geometry.SRS_ID), hex=True, include_srid=True)
    out = frame[names].copy()
    out.insert(0, "geom", hexes)
    out.insert(0, "fid", np.arange(1, len(frame) + 1))
    columns = ", ".join(f'"{c}"' for c in ["fid", "geom", *names])
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, len(out), 200_000):
            buf = io.StringIO()
            out.iloc[start:start + 200_000].to_csv(buf, header=False, index=False, na_rep="", lineterminator="\n")
            copy.write(buf.getvalue())


def _copy_cells(conn, table: str, cells: dict) -> None:
    data = np.column_stack([cells[k] for k in ("z", "tx", "ty", "px", "py", "n")]).astype(np.int64)
    with conn.cursor().copy(f"COPY {table} (z, tx, ty, px, py, n) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, len(data), 200_000):
            buf = io.StringIO()
            np.savetxt(buf, data[start:start + 200_000], fmt="%d", delimiter=",")
            copy.write(buf.getvalue())


# ---------------------------------------------------------------- reading

class PostGISBigLayers:
    backend = "postgis"

    def __init__(self, url: str):
        self.location = layers_location(url)
        self._conninfo = self.location.conninfo
        self._schema = f'"{self.location.schema}"'
        self._search_path = None

    def __repr__(self) -> str:
        return f"PostGISBigLayers({self.location.safe!r})"

    def _rows(self, sql: str, params=()) -> list[dict]:
        if self._search_path is None:
            _, postgis_schema = postgis._inspect(self.location)
            self._search_path = postgis._search_path(self.location.schema, postgis_schema, "public")
        try:
            with postgis._connection(self._conninfo, self._search_path) as conn:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        except psycopg.errors.UndefinedTable:
            raise NotFound("no big layers in this store (load one with `kiezkarte load-layer`)") from None

    def ids(self) -> list[str]:
        try:
            return [r["id"] for r in self._rows(f"SELECT id FROM {self._schema}.big_layers ORDER BY id")]
        except NotFound:
            return []

    def meta(self, layer_id: str) -> dict:
        rows = self._rows(f"SELECT meta FROM {self._schema}.big_layers WHERE id = %s", [check_id(layer_id)])
        if not rows:
            raise NotFound(f"no big layer '{layer_id}' (load it with `kiezkarte load-layer`)")
        return json.loads(rows[0]["meta"])

    def tile(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        meta = self.meta(layer_id)
        t = f'{self._schema}."{layer_id}"'
        params = {"layer": layer_id, "z": z, "x": x, "y": y, "extent": tiles.EXTENT, "buffer": tiles.BUFFER,
                  "cell": tiles.CELL, "limit": tiles.POINT_LIMIT, "margin": tiles.CELL / tiles.EXTENT}
        if z <= meta["cluster_max_zoom"]:
            sql = (f"SELECT ST_AsMVT(q, %(layer)s, %(extent)s, 'geom') AS tile FROM ("
                   f"SELECT ST_MakePoint(lx, ly) AS geom, n AS count FROM ("
                   f"SELECT px + (tx - %(x)s) * %(extent)s AS lx, py + (ty - %(y)s) * %(extent)s AS ly, n "
                   f'FROM {self._schema}."{layer_id}__cells" WHERE z = %(z)s AND tx BETWEEN %(x)s - 1 AND %(x)s + 1 '
                   f"AND ty BETWEEN %(y)s - 1 AND %(y)s + 1) c WHERE lx >= -%(buffer)s AND lx < %(extent)s + %(buffer)s "
                   f"AND ly >= -%(buffer)s AND ly < %(extent)s + %(buffer)s) q")
        else:
            fields = "".join(f', p."{f["name"]}"' for f in meta["fields"])
            names = "".join(f', "{f["name"]}"' for f in meta["fields"])
            sql = (
                "WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e, "
                f"ST_Expand(ST_Transform(ST_Segmentize(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), "
                f"(2 * {tiles.ORIGIN} / (1 << %(z)s)) / 16), {geometry.SRS_ID}), 1.0) AS box), "
                f"c AS MATERIALIZED (SELECT p.fid{fields}, g, "
                "(ST_X(g) - ST_XMin(b.e)) * %(extent)s / (ST_XMax(b.e) - ST_XMin(b.e)) AS px, "
                "(ST_YMax(b.e) - ST_Y(g)) * %(extent)s / (ST_YMax(b.e) - ST_YMin(b.e)) AS py "
                f"FROM b, LATERAL (SELECT p.*, ST_Transform(p.geom, 3857) AS g FROM {t} p WHERE p.geom && b.box) p), "
                "k AS (SELECT count(*) AS n FROM c WHERE px >= 0 AND px < %(extent)s AND py >= 0 AND py < %(extent)s) "
                "SELECT CASE WHEN k.n <= %(limit)s THEN "
                f"(SELECT ST_AsMVT(q, %(layer)s, %(extent)s, 'geom', 'fid') FROM (SELECT fid{names}, "
                "ST_AsMVTGeom(g, b.e, %(extent)s, %(buffer)s, true) AS geom FROM c, b "
                "WHERE px >= -%(buffer)s AND px < %(extent)s + %(buffer)s "
                "AND py >= -%(buffer)s AND py < %(extent)s + %(buffer)s) q) "
                "ELSE (SELECT ST_AsMVT(q, %(layer)s, %(extent)s, 'geom') FROM ("
                "SELECT ST_MakePoint(floor(avg(px)), floor(avg(py))) AS geom, count(*) AS count FROM c "
                "WHERE floor(px / %(cell)s) BETWEEN -1 AND %(extent)s / %(cell)s "
                "AND floor(py / %(cell)s) BETWEEN -1 AND %(extent)s / %(cell)s "
                "GROUP BY floor(px / %(cell)s), floor(py / %(cell)s)) q) END AS tile FROM k, b")
        rows = self._rows(sql, params)
        return bytes(rows[0]["tile"] or b"") if rows else b""

    def points_in_box(self, layer_id: str, minx: float, miny: float, maxx: float, maxy: float):
        rows = self._rows(f'SELECT fid, ST_X(geom) AS x, ST_Y(geom) AS y FROM {self._schema}."{check_id(layer_id)}" '
                          f"WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, {geometry.SRS_ID}) ORDER BY fid",
                          [float(minx), float(miny), float(maxx), float(maxy)])
        return (np.array([r["fid"] for r in rows], dtype=np.int64), np.array([r["x"] for r in rows], dtype=float),
                np.array([r["y"] for r in rows], dtype=float))
