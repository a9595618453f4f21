"""The planners' data: projects, accounts and the audit log — the only data written at run time.

It lives apart from the built store (``<store>-planner.gpkg`` by default), so a rebuild
never touches what planners entered. It is a GeoPackage too (QGIS opens it), written
through ``sqlite3`` in WAL mode: every change is one transaction, readers see either
all of it or none of it, and every change of a project goes to the audit log with its
before and after state.
"""
from __future__ import annotations

import contextlib
import json
import operator
import os
import sqlite3
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from ..errors import BadRequest, NotFound
from . import geometry

PROJECT_COLUMNS = (  # name, SQLite type
    ("id", "TEXT"), ("title", "TEXT"), ("area_slug", "TEXT"), ("qm_area_stated", "TEXT"), ("fund", "TEXT"),
    ("fund_stated", "TEXT"), ("handlungsfelder", "TEXT"), ("handlungsfeld_inferred", "INTEGER"),
    ("climate", "INTEGER"), ("start_year", "INTEGER"), ("end_year", "INTEGER"), ("status", "TEXT"),
    ("cost_eur", "REAL"), ("cost_stated", "TEXT"), ("place", "TEXT"), ("address", "TEXT"),
    ("location_precision", "TEXT"), ("located_by", "TEXT"), ("plr_id", "TEXT"), ("source_url", "TEXT"),
    ("origin", "TEXT"), ("updated_at", "TEXT"),
)
PROJECT_FIELDS = tuple(name for name, _ in PROJECT_COLUMNS)
_fields = operator.itemgetter(*PROJECT_FIELDS)  # a project's values in column order
_SNAPSHOT_FIELDS = tuple(k for k in PROJECT_FIELDS if k not in ("updated_at", "origin"))
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # one encoder: json.dumps makes one per call
_AUDIT_INSERT = ("INSERT INTO audit_log (at, username, action, project_id, before, after, note) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)")
_IDS_PER_QUERY = 500  # ids bound in one SELECT ... IN (...)
SAME_PLACE_M = 0.25  # 6 decimals of a degree are about 0.1 m: closer points are the same place

# Signed-in sessions, by the SHA-256 of the token in the session cookie: signing out deletes the
# row, so a copy of the cookie is refused afterwards (``accounts``). Stores made before it get it on opening.
SESSIONS_DDL = ('CREATE TABLE IF NOT EXISTS {s}sign_in_sessions (fid {key}, token_hash TEXT NOT NULL UNIQUE, '
                'username TEXT NOT NULL, started_at {real} NOT NULL)')

_ATTRIBUTE_TABLES = {
    "users": 'CREATE TABLE users (fid INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE, '
             'password_hash TEXT NOT NULL, created_at TEXT NOT NULL)',
    "audit_log": 'CREATE TABLE audit_log (fid INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, username TEXT NOT NULL, '
                 'action TEXT NOT NULL, project_id TEXT, before TEXT, after TEXT, note TEXT)',
    "sign_in_failures": 'CREATE TABLE sign_in_failures (fid INTEGER PRIMARY KEY AUTOINCREMENT, '
                        'client TEXT NOT NULL, at REAL NOT NULL)',
    "sign_in_sessions": SESSIONS_DDL.format(s="", key="INTEGER PRIMARY KEY AUTOINCREMENT", real="REAL"),
}


def default_path(store_path) -> str:
    p = Path(store_path)
    return str(p.with_name(f"{p.stem}-planner.gpkg"))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def ensure(path, research: gpd.GeoDataFrame) -> int:
    """Create the planner store if missing, then bring in the research projects.

    New research projects are added; research projects no planner has touched follow
    the research table; one a planner edited keeps the planner's version, one a planner
    deleted stays deleted. Returns how many projects were added or refreshed.
    """
    if not os.path.exists(path):
        _create(path, research.iloc[:0])
    return seed(PlannerStore(path), research)


def seed(store: "PlannerStore", research: gpd.GeoDataFrame) -> int:
    """Bring the research projects into an existing planner store (either backend); see ``ensure``."""
    with store.transaction() as con:
        touched = {r["project_id"] for r in con.execute(
            "SELECT DISTINCT project_id FROM audit_log WHERE username != 'system'")}
        rows = [{**_clean(row), "origin": "research", "updated_at": None}
                for row in research.drop(columns="geometry").to_dict("records")]
        existing = store._existing(con, [row["id"] for row in rows])
        fresh = [(row, geom) for row, geom in zip(rows, research.geometry) if row["id"] not in touched and (
            row["id"] not in existing or _snapshot(*existing[row["id"]][1:]) != _snapshot(row, geom))]
        con.executemany("DELETE FROM projects WHERE id = ?", [(row["id"],) for row, _ in fresh if row["id"] in existing])
        store._write_projects(con, Plan(inserts=fresh))
        if fresh:
            store._audit(con, "system", "seed", None, None, None, f"{len(fresh)} research projects from qm_projects.csv")
    return len(fresh)


def _create(path, empty_projects: gpd.GeoDataFrame) -> None:
    """A new GeoPackage with the projects layer (R-tree indexed) and the attribute tables."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp.gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    frame = gpd.GeoDataFrame({name: _empty_series(kind) for name, kind in PROJECT_COLUMNS},
                             geometry=gpd.GeoSeries([], crs=empty_projects.crs or "EPSG:25833"))
    pyogrio.write_dataframe(frame, tmp, layer="projects", driver="GPKG", geometry_type="Point",
                            layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"})
    con = sqlite3.connect(tmp)
    with con:
        for name, ddl in _ATTRIBUTE_TABLES.items():
            con.execute(ddl)
            con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES (?, 'attributes', ?)",
                        (name, name))
        con.execute("CREATE UNIQUE INDEX idx_projects_id ON projects (id)")
        con.execute("CREATE INDEX idx_projects_area ON projects (area_slug)")
        con.execute("CREATE INDEX idx_audit_project ON audit_log (project_id)")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    os.replace(tmp, path)


def _empty_series(kind):
    import pandas as pd
    return pd.Series([], dtype={"TEXT": "object", "INTEGER": "Int64", "REAL": "float64"}[kind])


def _clean(row: dict) -> dict:
    out = {}
    for key in PROJECT_FIELDS:
        value = row.get(key)
        if value is not None and value != value or value == "":  # NaN and empty text are both "not known"
            value = None
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        out[key] = value
    return out


class PlannerStore:
    """Writes to the planner GeoPackage. Reads go through the read store, which attaches it.

    ``postgis_planner.PostGISPlanner`` reuses every method but ``transaction`` and the geometry
    encoding: the SQL here is the app's dialect (``?`` placeholders), rows are read by name.
    """

    backend = "geopackage"
    GEOMETRY_SQL = "?"                       # how a geometry parameter enters an INSERT/UPDATE
    INTEGRITY_ERRORS = (sqlite3.IntegrityError,)

    def __init__(self, path):
        self.path = str(path)
        if not os.path.exists(self.path):
            raise NotFound(f"no planner store at {self.path}")
        self._lock = threading.Lock()
        self._add_sessions_table()

    def _add_sessions_table(self) -> None:
        """A planner store made before sessions were recorded gets their table (once)."""
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as con:
            if con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sign_in_sessions'").fetchone()[0]:
                return
        with self.transaction() as con:
            con.execute(_ATTRIBUTE_TABLES["sign_in_sessions"])
            con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier) "
                        "VALUES ('sign_in_sessions', 'attributes', 'sign_in_sessions')")

    @contextlib.contextmanager
    def transaction(self):
        """One write transaction: all of it is committed, or none of it."""
        with self._lock:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            geometry.register_functions(con)
            con.row_factory = sqlite3.Row
            try:
                con.execute("BEGIN IMMEDIATE")
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.close()

    # -- projects
    def project(self, con, project_id: str) -> tuple[dict, object] | None:
        found = self._existing(con, [project_id]).get(project_id)
        return None if found is None else found[1:]

    def save(self, con, username: str, row: dict, geom, *, action_note: str | None = None) -> str:
        """Create or update one project by id, with an audit entry. Returns created|updated|unchanged."""
        plan = self.plan(con, username, [_clean(row)], [geom], action_note=action_note)
        self.apply(con, plan)
        return plan.actions[0]

    def plan(self, con, username: str, rows: list[dict], geoms: list, *, action_note: str | None = None) -> "Plan":
        """What saving ``rows`` (complete, as ``_clean`` gives them) by id would do, read in one go.

        A new id is a create, a changed project an update with its before and after, an
        unchanged one nothing (a point within ``SAME_PLACE_M`` of the stored one is the same)."""
        if not all(row.get("id") for row in rows):
            raise BadRequest("a project needs an id")
        existing = self._existing(con, [row["id"] for row in rows])
        at = now()
        plan = Plan(at=at, username=username, note=action_note)
        for row, geom in zip(rows, geoms):
            old = existing.get(row["id"])
            if old is None:
                plan.inserts.append(({**row, "updated_at": at}, geom))
                plan.actions.append("created")
                continue
            fid, old_row, old_geom = old
            before = _snapshot(old_row, old_geom)
            merged = {**old_row, **{k: v for k, v in row.items() if k not in ("updated_at", "origin")}}
            if geom is not None and old_geom is not None and geom.distance(old_geom) < SAME_PLACE_M:
                geom = old_geom  # the same place, rounded on its way through lon/lat
            after = _snapshot(merged, geom)
            if after == before:
                plan.actions.append("unchanged")
                continue
            plan.updates.append((fid, {**merged, "updated_at": at}, geom))
            plan.audit.append((row["id"], before, after))
            plan.actions.append("updated")
        return plan

    def apply(self, con, plan: "Plan") -> None:
        """Write a plan: the inserts, updates and audit entries, each as one batch."""
        self._write_projects(con, plan)
        created = [(row["id"], None, _snapshot(row, geom, wkt))
                   for (row, geom), wkt in zip(plan.inserts, _wkt([geom for _, geom in plan.inserts]))]
        con.executemany(_AUDIT_INSERT, [
            (plan.at, plan.username, "create" if before is None else "update", project_id, _json(before), _json(after),
             plan.note) for project_id, before, after in created + plan.audit])

    def _write_projects(self, con, plan: "Plan") -> None:
        """GeoPackage: GDAL's R-tree triggers would call back into Python for every row, and its
        feature-count trigger updates a counter per row; they are set aside inside the
        transaction, the R-tree gets the written boxes at once and the count is set once."""
        if not (plan.inserts or plan.updates):
            return
        triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'projects' "
                               "AND (name LIKE 'rtree_projects_geom_%' OR name = 'trigger_insert_feature_count_projects')"
                               ).fetchall()
        for name, _ in triggers:
            con.execute(f'DROP TRIGGER "{name}"')
        last_fid = con.execute("SELECT coalesce(max(fid), 0) FROM projects").fetchone()[0]
        self._write_rows(con, plan)
        new_fids = [r[0] for r in con.execute("SELECT fid FROM projects WHERE fid > ? ORDER BY fid", (last_fid,))]
        fids = new_fids + [fid for fid, _, _ in plan.updates]
        geoms = [geom for _, geom in plan.inserts] + [geom for _, _, geom in plan.updates]
        con.executemany('DELETE FROM "rtree_projects_geom" WHERE id = ?', [(fid,) for fid in fids[len(new_fids):]])
        boxed = [(fid, geom) for fid, geom in zip(fids, geoms) if geom is not None and not geom.is_empty]
        bounds = shapely.bounds(np.array([geom for _, geom in boxed], dtype=object)).tolist() if boxed else []
        con.executemany('INSERT INTO "rtree_projects_geom" (id, minx, maxx, miny, maxy) VALUES (?, ?, ?, ?, ?)',
                        [(fid, minx, maxx, miny, maxy) for (fid, _), (minx, miny, maxx, maxy) in zip(boxed, bounds)])
        if new_fids:  # GDAL's feature count, kept by a trigger one UPDATE per row: once for all
            con.execute("UPDATE gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM projects) "
                        "WHERE lower(table_name) = 'projects'")
        for _, sql in triggers:
            con.execute(sql)

    def _write_rows(self, con, plan: "Plan") -> None:
        columns = ", ".join(f'"{k}"' for k in PROJECT_FIELDS)
        geometry_values = self.geometry_values([geom for _, geom in plan.inserts] + [geom for _, _, geom in plan.updates])
        con.executemany(f"INSERT INTO projects ({columns}, geom) VALUES ({', '.join('?' * len(PROJECT_FIELDS))}, "
                        f"{self.GEOMETRY_SQL})", [(*_fields(row), blob) for (row, _), blob
                                                 in zip(plan.inserts, geometry_values)])
        assignments = ", ".join(f'"{k}" = ?' for k in PROJECT_FIELDS)
        con.executemany(f"UPDATE projects SET {assignments}, geom = {self.GEOMETRY_SQL} WHERE fid = ?",
                        [(*_fields(row), blob, fid) for (fid, row, _), blob
                         in zip(plan.updates, geometry_values[len(plan.inserts):])])

    def _existing(self, con, ids: list[str]) -> dict:
        """{id: (fid, row, geometry)} of the stored projects among ``ids``."""
        out = {}
        distinct = list(dict.fromkeys(ids))
        for start in range(0, len(distinct), _IDS_PER_QUERY):
            chunk = distinct[start:start + _IDS_PER_QUERY]
            for row in con.execute(f"SELECT * FROM projects WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
                row = dict(row)
                geom = geometry.decode(row.pop("geom"))
                out[row["id"]] = (row.pop("fid"), row, geom)
        return out

    def delete(self, con, username: str, project_id: str) -> None:
        existing = self.project(con, project_id)
        if existing is None:
            raise NotFound(f"no project '{project_id}'")
        con.execute("DELETE FROM projects WHERE id = ?", (project_id,))
        self._audit(con, username, "delete", project_id, _snapshot(*existing), None, None)

    def geometry_value(self, geom):
        return geometry.encode(geom)

    def geometry_values(self, geoms: list) -> list:
        """``geometry_value`` of many geometries; points (what imports bring) encoded as arrays."""
        arr = np.array(geoms, dtype=object)
        is_point = (shapely.get_type_id(arr) == 0) & ~shapely.is_empty(arr)
        out = [None if point else self.geometry_value(g) for g, point in zip(geoms, is_point.tolist())]
        header = b"GP" + bytes([0, 0b00000011]) + struct.pack("<i", geometry.SRS_ID)
        for i, wkb, (x, y) in zip(np.flatnonzero(is_point).tolist(), shapely.to_wkb(arr[is_point], byte_order=1).tolist(),
                                  shapely.get_coordinates(arr[is_point]).tolist()):
            out[i] = header + struct.pack("<4d", x, x, y, y) + wkb
        return out

    def _audit(self, con, username, action, project_id, before, after, note) -> None:
        con.execute(_AUDIT_INSERT, (now(), username, action, project_id, _json(before), _json(after), note))

    # -- accounts
    def add_user(self, username: str, password_hash: str) -> None:
        with self.transaction() as con:
            try:
                con.execute("INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
                            (username, password_hash, now()))
            except self.INTEGRITY_ERRORS:
                raise BadRequest(f"user '{username}' exists already") from None

    def start_session(self, token_hash: str, username: str, at: float, expired_before: float) -> None:
        with self.transaction() as con:
            con.execute("DELETE FROM sign_in_sessions WHERE started_at < ?", (expired_before,))
            con.execute("INSERT INTO sign_in_sessions (token_hash, username, started_at) VALUES (?, ?, ?)",
                        (token_hash, username, at))

    def end_session(self, token_hash: str) -> None:
        with self.transaction() as con:
            con.execute("DELETE FROM sign_in_sessions WHERE token_hash = ?", (token_hash,))

    def record_failure(self, client: str, at: float) -> None:
        with self.transaction() as con:
            con.execute("INSERT INTO sign_in_failures (client, at) VALUES (?, ?)", (client, at))
            con.execute("DELETE FROM sign_in_failures WHERE at < ?", (at - 86400,))


@dataclass
class Plan:
    """The writes of saving projects, made by ``username`` at ``at`` (with ``note``): (row,
    geometry) inserts, (fid, row, geometry) updates, the updates' (project id, before, after)
    snapshots for the audit log (JSON only when written), and per project what happens
    (created|updated|unchanged). A create's audit entry is made from its insert only when the
    plan is written: a dry run never needs it."""
    at: str | None = None
    username: str | None = None
    note: str | None = None
    inserts: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    audit: list = field(default_factory=list)
    actions: list = field(default_factory=list)


def _snapshot(row: dict, geom, wkt: str | None = None) -> dict:
    """What the audit log keeps of a project; ``wkt``: the geometry's, if known already."""
    snap = dict(zip(_SNAPSHOT_FIELDS, map(row.get, _SNAPSHOT_FIELDS)))
    snap["geometry"] = wkt if wkt is not None else (None if geom is None else geom.wkt)
    return snap


def _wkt(geoms: list) -> list:
    """``geom.wkt`` of many geometries at once (None for None)."""
    return shapely.to_wkt(np.array(geoms, dtype=object), rounding_precision=-1).tolist() if geoms else []


def _json(value) -> str | None:
    return None if value is None else _JSON.encode(value)
