"""GeoPackage backend: written once by the build, then read through SQLite.

Writing goes to a temporary file next to the target and is renamed into place only
when complete, so a failed build never leaves a half-written store. Reading uses
plain ``sqlite3`` in read-only mode with connections pooled across threads: point look-ups
use the GeoPackage R-tree spatial index, attribute look-ups ordinary indexes.
"""
from __future__ import annotations

import contextlib
import glob
import os
import sqlite3
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from ..errors import StoreMissing
from .base import SQLReader
from .read_pool import ReadPool

# Fixed timestamps make two builds of the same data byte-identical. The temporary file is
# renamed into place only when complete, so it needs no rollback journal and is flushed once.
_STAMP = "2000-01-01T00:00:00.000Z"
_GDAL_WRITE = {"OGR_CURRENT_DATE": _STAMP, "OGR_SQLITE_JOURNAL": "OFF", "OGR_SQLITE_SYNCHRONOUS": "OFF"}

# Attribute indexes: (table, column list)
INDEXES = (
    ("address_numbers", ("street_id", "hnr", "hnr_suffix")),
    ("address_streets", ("street_key",)),
    ("streets", ("street_key",)),
    ("planungsraeume", ("plr_id",)),
    ("qm_areas", ("slug",)),
    ("area_plr", ("area_slug",)),
    ("area_plr", ("plr_id",)),
    ("research_projects", ("area_slug",)),
    ("places", ("kind",)),
    ("geojson", ("key",)),
)

# Views over the tables the build writes: (name, the tables it reads, its SELECT with {0}, {1}, ...
# for those tables). ``addresses`` is the address table the look-ups read: the build stores each
# street, postcode and Ortsteil once (``address_streets``, 12,000 rows) and each of the 400,000
# addresses as its number, suffix, Planungsraum and the fid of its street (``address_numbers``):
# 4 values to bind per address instead of 7, which halves the time to write them. Every look-up
# names the street key: SQLite's CROSS JOIN keeps the streets the outer loop (without it and without
# statistics it may index the house numbers alone for each query); PostgreSQL reads it as a plain join.
VIEWS = (
    ("addresses", ("address_streets", "address_numbers"),
     "SELECT n.fid AS fid, s.street AS street, s.street_key AS street_key, n.hnr AS hnr, n.hnr_suffix AS hnr_suffix, "
     "s.plz AS plz, s.ortsteil AS ortsteil, n.plr_id AS plr_id FROM {0} s CROSS JOIN {1} n WHERE n.street_id = s.fid"),
)

_MAX_SQL_VARIABLES = 30_000  # below SQLite's default limit of 32,766 bound values per statement


def _remove_orphans(path: Path) -> None:
    """Delete temporary stores left by builds that were killed (their process is gone)."""
    for leftover in path.parent.glob(f".{path.stem}-*.tmp.gpkg*"):
        try:
            pid = int(leftover.name[len(path.stem) + 2:].split("-", 1)[0])
            os.kill(pid, 0)  # still running: its file, leave it
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            continue


def write_geopackage(path, layers: dict[str, gpd.GeoDataFrame], tables: dict[str, pd.DataFrame]) -> None:
    """Write every layer and table into a new GeoPackage, then move it to ``path``."""
    tmp = start_geopackage(path)
    try:
        add_to_geopackage(tmp, layers, tables)
        commit_geopackage(tmp, path)
    except BaseException:
        discard_geopackage(tmp)
        raise


def start_geopackage(path) -> str:
    """A fresh temporary path beside ``path`` for a store being written (the file does not exist yet).

    Temporary files of killed builds are deleted first. The pid in the name says whose file it is.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-{os.getpid()}-", suffix=".tmp.gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return tmp


def add_to_geopackage(tmp, layers: dict[str, gpd.GeoDataFrame], tables: dict[str, pd.DataFrame]) -> None:
    """Add layers and tables to the store being written at ``tmp`` (created by the first call).

    Layers (with geometry) go through GDAL. Attribute tables go through ``sqlite3`` in the
    same shape GDAL gives them (``fid`` key, the same column types, the feature-count
    triggers, rows in ``gpkg_contents`` as 'attributes' and in ``gpkg_ogr_contents``), in
    one transaction with thousands of rows per statement: GDAL took 1.8 s for the 400,000
    addresses as 7 columns, this 0.45 s (0.25 s as the 4 of ``address_numbers``). Their indexes (``INDEXES``) are created after the inserts, and
    the ``VIEWS`` over them once all their tables are written.
    ``tests/test_store_write.py`` checks that both give the same tables. Calls may come from
    different processes, one after the other, never at the same time.
    """
    columns = {name: _attribute_columns(df) for name, df in tables.items()}
    by_gdal = [name for name, cols in columns.items() if cols is None]
    if not layers and len(by_gdal) < len(tables) and not os.path.exists(tmp):
        by_gdal.insert(0, next(name for name in tables if name not in by_gdal))  # GDAL creates the GeoPackage
    if layers or by_gdal:  # (no GDAL call at all otherwise: this may run in a forked child)
        try:
            pyogrio.set_gdal_config_options(_GDAL_WRITE)
            for name, gdf in layers.items():
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", promote_to_multi=False,
                                        layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"})
            for name in by_gdal:
                pyogrio.write_dataframe(tables[name], tmp, layer=name, driver="GPKG")
        finally:
            pyogrio.set_gdal_config_options({k: None for k in _GDAL_WRITE})
    with _writing(tmp) as con:
        for name, df in tables.items():
            if name not in by_gdal:
                _write_attributes(con, name, df, columns[name])
        _create_indexes(con, [*layers, *tables])
        _create_views(con, [*layers, *tables])


def move_layers(source, tmp) -> None:
    """Move every layer GDAL wrote into the GeoPackage ``source`` into the store being
    written at ``tmp``, as they are: tables, R-tree node tables, triggers, indexes and
    their rows in the ``gpkg_*`` tables are copied, nothing is re-encoded. ``source``
    is deleted.

    So the layers can be written beside another process's writes into ``tmp`` and
    joined in a few milliseconds (GDAL takes 0.15 s for the build's layers).
    """
    with _writing(tmp, source=source) as con:
        objects = con.execute("SELECT type, name, tbl_name, sql FROM source.sqlite_master WHERE sql IS NOT NULL").fetchall()
        present = {name for (name,) in con.execute("SELECT name FROM main.sqlite_master")}
        for kind, name, table, sql in objects:  # GeoPackage tables GDAL creates with the first layer
            if table.startswith("gpkg_") and name not in present:
                con.execute(sql)
        con.execute("INSERT OR IGNORE INTO main.gpkg_spatial_ref_sys SELECT * FROM source.gpkg_spatial_ref_sys")
        layers = [name for (name,) in con.execute("SELECT table_name FROM source.gpkg_geometry_columns")]
        sql = {name: sql for _, name, _, sql in objects}
        for layer in layers:
            rtree = f"rtree_{layer}_geom"
            con.execute(sql[layer])
            con.execute(f"INSERT INTO main.{_sql_name(layer)} SELECT * FROM source.{_sql_name(layer)}")  # page copies
            if rtree in sql:
                con.execute(sql[rtree])  # creates the R-tree's node tables, then filled as they were
                for part in ("node", "rowid", "parent"):
                    shadow = _sql_name(f"{rtree}_{part}")
                    con.execute(f"DELETE FROM main.{shadow}")
                    con.execute(f"INSERT INTO main.{shadow} SELECT * FROM source.{shadow}")
            for kind, name, table, definition in objects:
                if table == layer and kind in ("trigger", "index"):
                    con.execute(definition)
            for meta in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents"):
                con.execute(f"INSERT INTO main.{meta} SELECT * FROM source.{meta} WHERE table_name = ?", (layer,))
    discard_geopackage(source)


@contextlib.contextmanager
def _writing(tmp, source=None):
    """A connection to the store being written (with ``source`` attached), in one
    transaction, committed on success."""
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")  # a temporary file, renamed into place only when complete
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -65536")  # 64 MiB: the address table and its index sort in memory
        if source is not None:
            con.execute("ATTACH DATABASE ? AS source", (str(source),))
        con.execute("BEGIN")
        yield con
        con.execute("COMMIT")
    finally:
        con.close()


def _create_indexes(con: sqlite3.Connection, names) -> None:
    for table, cols in INDEXES:
        if table in names:
            con.execute(f'CREATE INDEX "idx_{table}_{"_".join(cols)}" ON "{table}" ({", ".join(cols)})')


def view_sql(view: str, tables, select: str, schema: str | None = None) -> str:
    """``CREATE VIEW`` for one of ``VIEWS``, in ``schema`` if given (PostGIS), else in the GeoPackage."""
    def qualified(name):
        return f"{_sql_name(schema)}.{_sql_name(name)}" if schema else _sql_name(name)
    return f"CREATE VIEW {qualified(view)} AS {select.format(*map(qualified, tables))}"


def _create_views(con: sqlite3.Connection, names) -> None:
    """The views whose tables are all among ``names``, registered in ``gpkg_contents`` as
    attributes, as the GeoPackage standard allows: GIS software lists them as tables."""
    for view, tables, select in VIEWS:
        if set(tables) <= set(names):
            con.execute(view_sql(view, tables, select))
            con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, "
                        "srs_id) VALUES (?, 'attributes', ?, '', ?, 0)", (view, view, _STAMP))


def commit_geopackage(tmp, path) -> None:
    """Move the complete store at ``tmp`` to ``path``: flushed to disk first, so that after a
    crash ``path`` holds either the old store or the whole new one."""
    with open(tmp, "rb+") as written:
        os.fsync(written.fileno())
    os.replace(tmp, path)
    folder = os.open(Path(path).parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself
    finally:
        os.close(folder)


def discard_geopackage(tmp) -> None:
    """Delete a store being written, with its journals and side files (``<tmp>-*``)."""
    for leftover in [tmp, *glob.glob(glob.escape(str(tmp)) + "-*")]:
        if os.path.exists(leftover):
            os.unlink(leftover)


def _attribute_columns(df: pd.DataFrame) -> list[tuple[str, str, list]] | None:
    """[(name, SQL type, values)] ready to bind, or None when GDAL should write the table.

    Missing values become NULL, as GDAL writes them: None as such, NaN because SQLite
    stores a bound NaN as NULL.
    """
    if not 0 < len(df.columns) <= _MAX_SQL_VARIABLES or any(str(name).lower() == "fid" for name in df.columns):
        return None
    out = []
    for name in df.columns:
        series = df[name]
        dtype, kind = series.dtype, series.dtype.kind
        if isinstance(dtype, pd.StringDtype):
            na = {"na_value": None} if dtype.na_value is pd.NA else {}  # else NaN
            values, sql_type = series.to_numpy(dtype=object, **na).tolist(), "TEXT"
        elif kind == "O" and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
            values, sql_type = series.to_numpy(dtype=object, na_value=None).tolist(), "TEXT"
        elif dtype == bool:
            values, sql_type = series.to_numpy().astype(np.int64).tolist(), "BOOLEAN"
        elif dtype == np.int64 or dtype == np.float64:
            values, sql_type = series.to_numpy().tolist(), "INTEGER" if kind == "i" else "REAL"
        elif isinstance(dtype, pd.Int64Dtype):
            values, sql_type = [None if v is None else int(v) for v in series.to_numpy(dtype=object, na_value=None)], "INTEGER"
        else:
            return None
        out.append((str(name), sql_type, values))
    return out


def _write_attributes(con: sqlite3.Connection, name: str, df: pd.DataFrame, columns) -> None:
    """One attribute table, declared and registered as GDAL's GeoPackage driver does it."""
    table = _sql_name(name)
    fields = "".join(f", {_sql_name(col)} {sql_type}" for col, sql_type, _ in columns)
    con.execute(f"CREATE TABLE {table} ( \"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL{fields})")
    width, rows = len(columns), len(df)
    per_statement = _MAX_SQL_VARIABLES // width

    def values(start: int, stop: int) -> list:  # rows start..stop-1, one after the other
        flat = [None] * ((stop - start) * width)
        for i, (_, _, column) in enumerate(columns):
            flat[i::width] = column[start:stop]
        return flat

    def insert(n: int) -> str:
        head = f"INSERT INTO {table} ({', '.join(_sql_name(c) for c, _, _ in columns)}) VALUES "
        return head + ",".join(["(" + ",".join("?" * width) + ")"] * n)

    whole = rows - rows % per_statement
    if whole:
        con.executemany(insert(per_statement), (values(i, i + per_statement) for i in range(0, whole, per_statement)))
    if whole < rows:
        con.execute(insert(rows - whole), values(whole, rows))
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) "
                "VALUES (?, 'attributes', ?, '', ?, 0)", (name, name, _STAMP))
    con.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?, ?)", (name, len(df)))
    literal = "'" + name.replace("'", "''") + "'"
    con.execute(f'CREATE TRIGGER {_sql_name(f"trigger_insert_feature_count_{name}")} AFTER INSERT ON {table} '
                f"BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 "
                f"WHERE lower(table_name) = lower({literal}); END")
    con.execute(f'CREATE TRIGGER {_sql_name(f"trigger_delete_feature_count_{name}")} AFTER DELETE ON {table} '
                f"BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 "
                f"WHERE lower(table_name) = lower({literal}); END")


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


PLANNER_LAYERS = ("projects", "users", "audit_log", "sign_in_failures")


class GeoPackageStore(SQLReader):
    """Read access to a built store, with the planner store attached.

    The planner GeoPackage (projects, accounts, audit log) is attached to every read
    connection, so ``projects`` resolves to its table without a prefix.
    """

    backend = "geopackage"

    def __init__(self, path, planner_path=None):
        self.path = str(path)
        self.planner_path = str(planner_path) if planner_path else None
        if not os.path.exists(self.path):
            raise StoreMissing(f"no store at {self.path}: run `kiezkarte build` first")
        self._pool = ReadPool(self._open)

    # -- plumbing
    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        con.row_factory = sqlite3.Row
        # The store's indexes are chosen for its queries. Without statistics SQLite may instead
        # build a throw-away index over a whole table for one join of many keys (it did for the
        # import's batch join of addresses: seconds instead of milliseconds). The ``addresses``
        # view fixes its own join order too (``VIEWS``), for readers such as GDAL and QGIS.
        con.execute("PRAGMA automatic_index = OFF")
        if self.planner_path and os.path.exists(self.planner_path):
            con.execute("ATTACH DATABASE ? AS planner", (f"file:{self.planner_path}",))
        return con

    def query(self, sql: str, params=()) -> list[dict]:
        with self._pool.connection() as con:
            return [dict(r) for r in con.execute(sql, params)]

    def scalar(self, sql: str, params=()):
        with self._pool.connection() as con:
            row = con.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def version(self) -> tuple:
        """Changes when a rebuild replaces the store file."""
        st = os.stat(self.path)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def columns(self, table: str) -> list[dict]:
        """[{name, type}] of a table (built or planner), in table order, with its declared SQL type."""
        return [{"name": r["name"], "type": r["type"]} for r in self.query(f'PRAGMA table_info("{table}")')]

    def tables(self) -> list[str]:
        return [r["table_name"] for r in self.query("SELECT table_name FROM gpkg_contents ORDER BY table_name")]

    def read_layer(self, name: str) -> gpd.GeoDataFrame | pd.DataFrame:
        """A whole layer as a (Geo)DataFrame — for builds, exports and tests, not per request."""
        path = self.planner_path if name in PLANNER_LAYERS and self.planner_path else self.path
        return pyogrio.read_dataframe(path, layer=name, fid_as_index=False)

    def fids_in_bbox(self, table: str, minx: float, miny: float, maxx: float, maxy: float) -> str:
        """SQL sub-select of the fids whose bounding box meets the box (R-tree index)."""
        return (f'SELECT id FROM "rtree_{table}_geom" WHERE maxx >= {float(minx)} AND minx <= {float(maxx)} '
                f"AND maxy >= {float(miny)} AND miny <= {float(maxy)}")

    def candidates_at(self, table: str, id_column: str, x: float, y: float) -> list[dict]:
        return self.query(
            f'SELECT t.{id_column} AS id, t.geom AS geom FROM "{table}" t JOIN "rtree_{table}_geom" r ON t.fid = r.id '
            "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?", (x, x, y, y))

    # -- envelopes (OGC API Features, app/ogc.py)
    def envelopes(self, table: str, where: str = "", params=(), bbox=None) -> list[tuple]:
        """[(fid, minx, miny, maxx, maxy)] from the R-tree, by ascending fid: the rows of ``table``
        (alias ``t`` in ``where``) whose envelope meets ``bbox`` (minx, miny, maxx, maxy; None: all).
        Rows without geometry have no envelope. R-tree boxes are float32, rounded outwards."""
        sql, args = f'SELECT r.id, r.minx, r.miny, r.maxx, r.maxy FROM "rtree_{table}_geom" r WHERE 1', []
        if bbox is not None:
            sql += " AND r.maxx >= ? AND r.minx <= ? AND r.maxy >= ? AND r.miny <= ?"
            args = [float(bbox[0]), float(bbox[2]), float(bbox[1]), float(bbox[3])]
        if where:
            sql += f' AND r.id IN (SELECT t.fid FROM "{table}" t WHERE {where})'
            args += list(params)
        with self._pool.connection() as con:
            return [tuple(row) for row in con.execute(sql + " ORDER BY r.id", args)]
