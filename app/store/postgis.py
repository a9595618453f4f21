"""PostGIS backend: the same store over PostgreSQL, for deployments with many app servers.

A store URL is a libpq URL with one extra query parameter, ``schema`` (default
``kiezkarte``): ``postgresql://user:password@host:5432/dbname?schema=kiezkarte``. The built
tables live in that schema, the planners' tables (projects, users, audit_log,
sign_in_failures) in ``<schema>_planner`` of the same database (or the schema a
``PLANNER_STORE`` URL names; see ``postgis_planner``).

Building: the build writes its GeoPackage as always (``gpkg.write_geopackage``) and
``load_geopackage`` copies that file's tables into a staging schema in ONE transaction
(``COPY``, GiST and B-tree indexes, ``ANALYZE``), then renames the staging schema to the
store's name, the old one away and drops it, still in that transaction. Readers see the
old store or the new one, never a half-built one; the planner schema is never touched.
Both backends so hold the same rows with the same types, and answer the same questions
with the same values (``tests/test_postgis.py`` compares them request by request).

Reading: the app's SQL is written for SQLite, with ``?`` placeholders. ``to_postgres``
translates it in one place: ``?`` -> ``%s``, ``LIKE`` -> ``ILIKE`` (SQLite's LIKE ignores
ASCII case), NULLs sorted first as SQLite does (``NULLS FIRST`` / ``NULLS LAST`` after
each ``ORDER BY`` item). Text columns are ``COLLATE "C"`` (SQLite's binary order and ASCII
``lower``); ``instr`` is created with the store. Geometry columns read as (E)WKB bytes,
which ``geometry.decode`` reads like GeoPackage blobs, and ``numeric`` results (``sum``
of integers) as int or float, as SQLite gives them.

Connections come from one pool per process and database (``psycopg_pool``), opened on
first use; a forked child (a gunicorn worker) starts its own pools.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import psycopg.errors
import shapely
from psycopg.adapt import Loader
from psycopg.rows import dict_row, tuple_row

from ..errors import KiezkarteError, NotFound, StoreMissing
from . import geometry
from .base import SQLReader
from .geometry import decode as decode_geometry

DEFAULT_SCHEMA = "kiezkarte"
PLANNER_SUFFIX = "_planner"
POOL_MAX_SIZE = 8          # connections per process and database
POOL_TIMEOUT_S = 5.0      # waiting for a free (or any) connection
SCHEMA_COMMENT = "kiezkarte store"  # marks schemas a build may replace

# SQLite column types (as GDAL and write_geopackage declare them) -> PostgreSQL, and back.
_TO_PG = {"INTEGER": "bigint", "INT": "bigint", "MEDIUMINT": "bigint", "SMALLINT": "bigint", "TINYINT": "bigint",
          "BOOLEAN": "smallint", "REAL": "double precision", "FLOAT": "double precision",
          "DOUBLE": "double precision"}
_FROM_PG = {"bigint": "INTEGER", "integer": "INTEGER", "smallint": "BOOLEAN", "double precision": "REAL",
            "real": "REAL", "text": "TEXT"}
_TEXT = 'text COLLATE "C"'
_GEOMETRY_TYPES = {"GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
                   "GEOMETRYCOLLECTION"}


class StoreUnavailable(StoreMissing):
    """The database cannot be reached (503, like a missing store)."""


# -- locations ------------------------------------------------------------------------------------

def is_url(url) -> bool:
    return str(url).startswith(("postgresql:", "postgres:"))


@dataclass(frozen=True)
class Location:
    conninfo: str   # the libpq URL without our own parameters
    schema: str

    @property
    def url(self) -> str:
        parts = urlsplit(self.conninfo)
        query = parse_qsl(parts.query, keep_blank_values=True) + [("schema", self.schema)]
        return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))

    @property
    def safe(self) -> str:
        """The URL without a password, for messages."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rsplit("@", 1)
        if len(netloc) == 2:
            netloc[0] = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc="@".join(netloc)))


def parse_url(url: str) -> Location:
    parts = urlsplit(str(url))
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "") or DEFAULT_SCHEMA
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,50}", schema):
        raise KiezkarteError(f"schema must be a lower-case SQL name (letters, digits, _), not '{schema}'")
    rest = [(k, v) for k, v in query if k != "schema"]
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return Location(urlunsplit(parts._replace(scheme=scheme, query=urlencode(rest, quote_via=quote))), schema)


def planner_location(store_url: str, planner_url: str | None = None) -> Location:
    """Where the planner tables live: ``<schema>_planner`` beside the store, or the schema
    ``planner_url`` names, which must be in the same database."""
    store = parse_url(store_url)
    if not planner_url:
        return replace(store, schema=store.schema + PLANNER_SUFFIX)
    if not is_url(planner_url):
        raise KiezkarteError("with a PostGIS store the planner tables live in the same database: "
                             "leave PLANNER_STORE empty or give a postgresql:// URL of that database")
    where = parse_url(planner_url)
    if where.conninfo != store.conninfo:
        raise KiezkarteError(f"the planner store {where.safe} must be in the store's database {store.safe}")
    if where.schema == store.schema:
        raise KiezkarteError("the planner tables need a schema of their own, not the store's")
    return where


# -- SQL translation ------------------------------------------------------------------------------

_TOKEN = re.compile(r"""(?P<str>'(?:[^']|'')*')|(?P<ident>"(?:[^"]|"")*")|(?P<word>[A-Za-z_][A-Za-z_0-9$]*)
                        |(?P<space>\s+)|(?P<other>.)""", re.X | re.S)
_ORDER_END = {"LIMIT", "OFFSET", "FETCH", "FOR"}


@functools.lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """SQLite-flavoured SQL with ``?`` placeholders -> PostgreSQL with ``%s`` (see the module doc)."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(sql)]
    out: list[tuple[str, str]] = []
    i, n = 0, len(tokens)
    while i < n:
        kind, text = tokens[i]
        if kind == "word" and text.upper() == "LIKE":
            out.append(("word", "ILIKE"))
            i += 1
            continue
        if kind == "word" and text.upper() == "ORDER":
            j = i + 1
            while j < n and tokens[j][0] == "space":
                j += 1
            if j < n and tokens[j][0] == "word" and tokens[j][1].upper() == "BY":
                out.extend(tokens[i:j + 1])
                i = j + 1
                items: list[list] = [[]]
                depth = 0
                while i < n:
                    k, t = tokens[i]
                    if k == "other" and t == "(":
                        depth += 1
                    elif k == "other" and t == ")":
                        if depth == 0:
                            break
                        depth -= 1
                    elif depth == 0 and ((k == "word" and t.upper() in _ORDER_END) or (k == "other" and t == ";")):
                        break
                    if depth == 0 and k == "other" and t == ",":
                        items.append([])
                    else:
                        items[-1].append((k, "ILIKE" if k == "word" and t.upper() == "LIKE" else t))
                    i += 1
                for number, item in enumerate(items):
                    if number:
                        out.append(("other", ","))
                    out.extend(_nulls_as_sqlite(item))
                continue
        out.append((kind, text))
        i += 1
    return "".join("%s" if (k == "other" and t == "?") else t.replace("%", "%%") for k, t in out)


def _nulls_as_sqlite(item: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One ORDER BY item with SQLite's NULL order: first when ascending, last when descending."""
    trail = []
    while item and item[-1][0] == "space":
        trail.insert(0, item.pop())
    words = [t.upper() for k, t in item if k == "word"]
    solid = [t.lower() for k, t in item if k != "space"]
    key = solid[:-1] if solid and solid[-1] in ("asc", "desc") else solid
    if not solid or "NULLS" in words[-2:] or (key and key[-1] == "fid" and len(key) in (1, 3)):
        return item + trail  # given already, or the never-NULL key (keeps its index usable)
    return item + [("space", " "), ("word", "NULLS LAST" if words and words[-1] == "DESC" else "NULLS FIRST")] + trail


def _params(params) -> list:
    """Parameters as SQLite stores them: booleans are 0/1."""
    return [int(p) if isinstance(p, bool) else p for p in params]


# -- connections ----------------------------------------------------------------------------------

class _GeometryLoader(Loader):
    """geometry (hex EWKB in text results) -> bytes, which ``geometry.decode`` reads."""

    def load(self, data):
        return bytes.fromhex(bytes(data).decode("ascii"))


class _NumericLoader(Loader):
    """numeric (``sum`` of integers) -> int, or float when it has a fraction, as SQLite answers."""

    def load(self, data):
        text = bytes(data).decode("ascii")
        return int(text) if text.lstrip("-").isdigit() else float(text)


class _Connection(psycopg.Connection):
    """A pooled connection that remembers its search path and whether it reads geometries."""


def _configure(conn) -> None:
    conn.adapters.register_loader("numeric", _NumericLoader)
    conn.kk_search_path = None
    conn.kk_geometry = False
    _register_geometry(conn)


def _register_geometry(conn) -> None:
    row = conn.cursor(row_factory=tuple_row).execute(
        "SELECT t.oid, n.nspname FROM pg_type t JOIN pg_extension e ON e.extname = 'postgis' "
        "JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = 'geometry' AND t.typnamespace = e.extnamespace"
    ).fetchone()
    if row is not None:
        conn.adapters.register_loader(row[0], _GeometryLoader)
        conn.kk_geometry = row[1]


_POOLS: dict = {}
_POOLS_LOCK = threading.Lock()
_ORPHANS: list = []  # a forked child's inherited pools: kept, never closed (their sockets are the parent's)


def _pool(conninfo: str):
    from psycopg_pool import ConnectionPool
    with _POOLS_LOCK:
        pool = _POOLS.get(conninfo)
        if pool is None:
            pool = ConnectionPool(conninfo, connection_class=_Connection, min_size=1, max_size=POOL_MAX_SIZE,
                                  kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": 5,
                                          # no server-side prepared statements: a rebuild may change a
                                          # table's columns under a cached 'SELECT *'
                                          "prepare_threshold": None},
                                  configure=_configure, check=ConnectionPool.check_connection,
                                  timeout=POOL_TIMEOUT_S, name="kiezkarte", open=True)
            _POOLS[conninfo] = pool
        return pool


def close_pools() -> None:
    """Close every pool of this process (tests call it before stopping their server)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def _forget_pools_after_fork() -> None:
    global _POOLS_LOCK
    _ORPHANS.extend(_POOLS.values())
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools_after_fork)
atexit.register(close_pools)


@contextlib.contextmanager
def _connection(conninfo: str, search_path: str):
    """A pooled connection with the store's search path; unreachable databases are a 503."""
    from psycopg_pool import PoolTimeout
    try:
        with _pool(conninfo).connection() as conn:
            if not conn.kk_geometry:
                _register_geometry(conn)
            if conn.kk_search_path != search_path:
                conn.execute("SELECT set_config('search_path', %s, false)", [search_path])
                conn.kk_search_path = search_path
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise StoreUnavailable(f"the PostGIS store cannot be reached: {str(exc).strip()[:200]}") from exc


def _search_path(*schemas: str) -> str:
    return ", ".join(f'"{s}"' for s in dict.fromkeys(s for s in schemas if s))


def _inspect(where: Location) -> tuple[bool, str | None]:
    """(does the schema exist, the schema PostGIS is installed in) through a connection of its own,
    so an unreachable database is known at once, not after the pool's wait."""
    try:
        with psycopg.connect(where.conninfo, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(
                "SELECT to_regnamespace(%s) IS NOT NULL, (SELECT n.nspname::text FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis')", [where.schema]).fetchone()
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"the PostGIS store {where.safe} cannot be reached: {str(exc).strip()[:200]}") from exc


def exists(url: str) -> bool:
    """Whether a built store is at ``url``."""
    try:
        return _inspect(parse_url(url))[0]
    except StoreUnavailable:
        return False


# -- reading ---------------------------------------------------------------------------------------

class PostGISStore(SQLReader):
    """Read access to a built PostGIS store, with the planner schema on the search path.

    The same public methods as ``GeoPackageStore``; ``query``/``scalar`` take the app's
    SQLite-flavoured SQL (``to_postgres``).
    """

    backend = "postgis"

    def __init__(self, url: str, planner_url: str | None = None):
        self.location = parse_url(url)
        self.planner_location = planner_location(url, planner_url)
        self.url = self.location.url
        self.planner_path = self.planner_location.url  # where the planner tables are (as GeoPackageStore's)
        self._conninfo = self.location.conninfo
        present, postgis_schema = _inspect(self.location)
        if not present:
            raise StoreMissing(f"no store in {self.location.safe}: run `kiezkarte build --store URL` first")
        self._search_path = _search_path(self.location.schema, self.planner_location.schema, postgis_schema, "public")

    def __repr__(self) -> str:
        return f"PostGISStore({self.location.safe!r})"

    # -- plumbing
    def _execute(self, sql: str, params=(), *, translate: bool = True) -> list[dict]:
        with _connection(self._conninfo, self._search_path) as conn:
            cursor = conn.execute(to_postgres(sql) if translate else sql, _params(params))
            return cursor.fetchall() if cursor.description else []

    def query(self, sql: str, params=()) -> list[dict]:
        return self._execute(sql, params)

    def scalar(self, sql: str, params=()):
        rows = self._execute(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def version(self):
        """Changes when a rebuild swaps in a new schema (its object id)."""
        return self._execute("SELECT oid::bigint AS v FROM pg_namespace WHERE nspname = %s", [self.location.schema],
                             translate=False)[0]["v"]

    def tables(self) -> list[str]:
        return [r["table_name"] for r in self._execute(
            "SELECT table_name::text AS table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name", [self.location.schema], translate=False)]

    def columns(self, table: str) -> list[dict]:
        """[{name, type}] in table order, types named as in the GeoPackage (INTEGER, REAL, TEXT, BOOLEAN)."""
        rows = self._execute(
            "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS pg_type FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [f'"{table}"'], translate=False)
        return [{"name": r["name"], "type": _column_type(r["pg_type"])} for r in rows]

    def read_layer(self, name: str) -> gpd.GeoDataFrame | pd.DataFrame:
        """A whole layer as a (Geo)DataFrame with the dtypes pyogrio gives the GeoPackage's."""
        columns = [c for c in self.columns(name) if c["name"] != "fid"]
        if not columns:
            raise NotFound(f"no layer '{name}'")
        rows = self.query(f'SELECT * FROM "{name}" ORDER BY fid')
        data = {}
        geometry_column = None
        for c in columns:
            values = [r[c["name"]] for r in rows]
            if c["type"] in _GEOMETRY_TYPES:
                geometry_column = c["name"]
                continue
            data[c["name"]] = _series(values, c["type"])
        frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
        if geometry_column is None:
            return frame
        geoms = [decode_geometry(r[geometry_column]) for r in rows]
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=f"EPSG:{geometry.SRS_ID}", index=frame.index))

    def fids_in_bbox(self, table: str, minx: float, miny: float, maxx: float, maxy: float) -> str:
        """SQL sub-select of the fids whose bounding box meets the box (GiST index)."""
        return f'SELECT fid FROM "{table}" WHERE geom && {_envelope_sql(minx, miny, maxx, maxy)}'

    def candidates_at(self, table: str, id_column: str, x: float, y: float) -> list[dict]:
        return self.query(f'SELECT t.{id_column} AS id, t.geom AS geom FROM "{table}" t '
                          f"WHERE t.geom && {_envelope_sql(x, y, x, y)}")

    def envelopes(self, table: str, where: str = "", params=(), bbox=None) -> list[tuple]:
        """[(fid, minx, miny, maxx, maxy)] by ascending fid, as ``GeoPackageStore.envelopes``: the
        envelopes are rounded outwards to float32 exactly as SQLite's R-tree stores them, so both
        stores give the same boxes and the same matches."""
        sql = (f'SELECT t.fid, ST_XMin(t.geom) AS minx, ST_YMin(t.geom) AS miny, ST_XMax(t.geom) AS maxx, '
               f'ST_YMax(t.geom) AS maxy FROM "{table}" t WHERE t.geom IS NOT NULL AND NOT ST_IsEmpty(t.geom)')
        if bbox is not None:  # a candidate filter a metre wider; the exact test follows on the rounded boxes
            sql += f" AND t.geom && {_envelope_sql(bbox[0] - 1, bbox[1] - 1, bbox[2] + 1, bbox[3] + 1)}"
        if where:
            sql += f" AND ({where})"
        rows = self.query(sql + " ORDER BY t.fid", params)
        if not rows:
            return []
        fid = [r["fid"] for r in rows]
        minx, miny = (rtree_down(np.array([r[k] for r in rows], dtype=np.float64)) for k in ("minx", "miny"))
        maxx, maxy = (rtree_up(np.array([r[k] for r in rows], dtype=np.float64)) for k in ("maxx", "maxy"))
        keep = np.ones(len(rows), dtype=bool)
        if bbox is not None:
            keep = (maxx >= float(bbox[0])) & (minx <= float(bbox[2])) & (maxy >= float(bbox[1])) & (miny <= float(bbox[3]))
        return [(fid[i], float(minx[i]), float(miny[i]), float(maxx[i]), float(maxy[i])) for i in np.flatnonzero(keep)]


def _column_type(pg_type: str) -> str:
    """A PostgreSQL column type as the GeoPackage declares it: geometry(Polygon,25833) -> POLYGON."""
    if pg_type.startswith("geometry"):
        return pg_type.partition("(")[2].partition(",")[0].upper() or "GEOMETRY"
    return _FROM_PG.get(pg_type.split(" COLLATE")[0], "TEXT")


def _envelope_sql(minx, miny, maxx, maxy) -> str:
    values = [float(v) for v in (minx, miny, maxx, maxy)]
    if not all(np.isfinite(values)):
        raise KiezkarteError("a box needs finite coordinates")
    return "ST_MakeEnvelope({}, {}, {}, {}, {})".format(*(repr(v) for v in values), geometry.SRS_ID)


_TOWARDS, _AWAY = 1.0 - 1.0 / 8388608.0, 1.0 + 1.0 / 8388608.0  # SQLite rtree.c RNDTOWARDS / RNDAWAY


def rtree_down(d: np.ndarray) -> np.ndarray:
    """float32 at or below ``d``, computed as SQLite's R-tree does (``rtreeValueDown``)."""
    f = d.astype(np.float32).astype(np.float64)
    fix = f > d
    f[fix] = (d[fix] * np.where(d[fix] < 0, _AWAY, _TOWARDS)).astype(np.float32)
    return f


def rtree_up(d: np.ndarray) -> np.ndarray:
    """float32 at or above ``d``, computed as SQLite's R-tree does (``rtreeValueUp``)."""
    f = d.astype(np.float32).astype(np.float64)
    fix = f < d
    f[fix] = (d[fix] * np.where(d[fix] < 0, _TOWARDS, _AWAY)).astype(np.float32)
    return f


def _series(values: list, kind: str) -> pd.Series:
    """A column as pyogrio reads it from a GeoPackage: integers (float with NULLs), booleans, reals, text."""
    if kind in ("INTEGER", "BOOLEAN"):
        if any(v is None for v in values):
            return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        return pd.Series(values, dtype="bool" if kind == "BOOLEAN" else "int64")
    if kind == "REAL":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values, dtype=None if any(v is not None for v in values) else "object")


# -- writing -------------------------------------------------------------------------------------

def write_postgis(url: str, layers: dict, tables: dict) -> None:
    """Write the store as a GeoPackage (the same file the default backend gets), then load it."""
    with tempfile.TemporaryDirectory(prefix="kiezkarte-build-") as folder:
        path = Path(folder) / "store.gpkg"
        from .gpkg import write_geopackage
        write_geopackage(path, layers, tables)
        load_geopackage(path, url)


def load_geopackage(path, url: str) -> None:
    """Copy every table of a built GeoPackage into the store at ``url``, atomically (see the module doc)."""
    from .gpkg import INDEXES, VIEWS, view_sql
    where = parse_url(url)
    target, staging, previous = where.schema, where.schema + "__building", where.schema + "__previous"
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with psycopg.connect(where.conninfo, autocommit=True, connect_timeout=10) as conn:
            _ensure_postgis(conn, where)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kiezkarte build {target}"])
                _check_replaceable(conn, target)
                conn.execute(f'DROP SCHEMA IF EXISTS "{staging}" CASCADE')
                conn.execute(f'CREATE SCHEMA "{staging}"')
                geometry_columns = {t: (c, kind.upper(), srs) for t, c, kind, srs in src.execute(
                    "SELECT table_name, column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns")}
                views = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
                names = [r[0] for r in src.execute("SELECT table_name FROM gpkg_contents ORDER BY table_name")
                         if r[0] not in views]
                for name in names:
                    _copy_table(src, conn, staging, name, geometry_columns.get(name))
                for table, cols in INDEXES:
                    if table in names:
                        conn.execute(f'CREATE INDEX "idx_{table}_{"_".join(cols)}" ON "{staging}"."{table}" '
                                     f'({", ".join(cols)})')
                for view, tables, select in VIEWS:
                    if view in views:
                        conn.execute(view_sql(view, tables, select, schema=staging))
                conn.execute(f'CREATE FUNCTION "{staging}".instr(text, text) RETURNS integer LANGUAGE sql '
                             "IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT strpos($1, $2)'")
                for name in names:
                    conn.execute(f'ANALYZE "{staging}"."{name}"')
                conn.execute(f"COMMENT ON SCHEMA \"{staging}\" IS '{SCHEMA_COMMENT}'")
                conn.execute(f'DROP SCHEMA IF EXISTS "{previous}" CASCADE')
                if conn.execute("SELECT to_regnamespace(%s) IS NOT NULL AS present", [target]).fetchone()[0]:
                    conn.execute(f'ALTER SCHEMA "{target}" RENAME TO "{previous}"')
                conn.execute(f'ALTER SCHEMA "{staging}" RENAME TO "{target}"')
                conn.execute(f'DROP SCHEMA IF EXISTS "{previous}" CASCADE')
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"cannot write the PostGIS store {where.safe}: {str(exc).strip()[:300]}") from exc
    finally:
        src.close()


def _ensure_postgis(conn, where: Location) -> None:
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.errors.InsufficientPrivilege:
        raise KiezkarteError(f"PostGIS is not installed in {where.safe} and this user may not install it: "
                             "ask the database owner for `CREATE EXTENSION postgis`") from None


def _check_replaceable(conn, schema: str) -> None:
    """A build replaces only a schema a build made (or an empty one), never someone else's tables."""
    row = conn.execute("SELECT obj_description(to_regnamespace(%s), 'pg_namespace') AS comment, "
                       "(SELECT count(*) FROM pg_class WHERE relnamespace = to_regnamespace(%s)) AS objects",
                       [schema, schema]).fetchone()
    if row[1] and row[0] != SCHEMA_COMMENT:
        raise KiezkarteError(f"schema '{schema}' holds tables that no Kiezkarte build wrote; "
                             "choose another with ?schema=NAME in the store URL")


def _copy_table(src: sqlite3.Connection, conn, schema: str, name: str, geometry_column) -> None:
    info = src.execute(f'PRAGMA table_info("{name}")').fetchall()  # cid, name, type, notnull, default, pk
    geom_name, geom_type, srid = geometry_column or (None, None, None)
    defs = []
    for _, col, kind, *_ in info:
        if col == "fid":
            defs.append('"fid" bigint PRIMARY KEY')
        elif col == geom_name:
            defs.append(f'"{col}" geometry({geom_type if geom_type in _GEOMETRY_TYPES else "GEOMETRY"}, {int(srid)})')
        else:
            defs.append(f'"{col}" {_TO_PG.get(kind.split("(")[0].upper(), _TEXT)}')
    conn.execute(f'CREATE TABLE "{schema}"."{name}" ({", ".join(defs)})')
    names = [col for _, col, *_ in info]
    geom_at = names.index(geom_name) if geom_name else None
    cursor = src.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in names)} FROM "{name}" ORDER BY fid')
    columns = ", ".join(f'"{c}"' for c in names)
    with conn.cursor().copy(f'COPY "{schema}"."{name}" ({columns}) FROM STDIN') as copy:
        while batch := cursor.fetchmany(20_000):
            if geom_at is not None:
                geoms = np.array([decode_geometry(r[geom_at]) for r in batch], dtype=object)
                present = shapely.is_geometry(geoms)
                hexes = np.full(len(batch), None, dtype=object)
                if present.any():
                    hexes[present] = shapely.to_wkb(shapely.set_srid(geoms[present], int(srid)),
                                                    hex=True, include_srid=True)
                batch = [r[:geom_at] + (h,) + r[geom_at + 1:] for r, h in zip(batch, hexes)]
            for row in batch:
                copy.write_row(row)
    if geom_name:
        conn.execute(f'CREATE INDEX "sidx_{name}_{geom_name}" ON "{schema}"."{name}" USING gist ("{geom_name}")')
