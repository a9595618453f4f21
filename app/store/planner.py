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
import os
import sqlite3
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pyogrio

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
SAME_PLACE_M = 0.25  # 6 decimals of a degree are about 0.1 m: closer points are the same place

_ATTRIBUTE_TABLES = {
    "users": 'CREATE TABLE users (fid INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE, '
             'password_hash TEXT NOT NULL, created_at TEXT NOT NULL)',
    "audit_log": 'CREATE TABLE audit_log (fid INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, username TEXT NOT NULL, '
                 'action TEXT NOT NULL, project_id TEXT, before TEXT, after TEXT, note TEXT)',
    "sign_in_failures": 'CREATE TABLE sign_in_failures (fid INTEGER PRIMARY KEY AUTOINCREMENT, '
                        'client TEXT NOT NULL, at REAL NOT NULL)',
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
    changed = 0
    with store.transaction() as con:
        present = {r["id"] for r in con.execute("SELECT id FROM projects")}
        touched = {r["project_id"] for r in con.execute(
            "SELECT DISTINCT project_id FROM audit_log WHERE username != 'system'")}
        for row, geom in zip(research.drop(columns="geometry").to_dict("records"), research.geometry):
            row = {**_clean(row), "origin": "research", "updated_at": None}
            if row["id"] in touched:
                continue
            if row["id"] not in present:
                store._insert(con, row, geom)
                changed += 1
            elif _snapshot(*store.project(con, row["id"])) != _snapshot(row, geom):
                con.execute("DELETE FROM projects WHERE id = ?", (row["id"],))
                store._insert(con, row, geom)
                changed += 1
        if changed:
            store._audit(con, "system", "seed", None, None, None, f"{changed} research projects from qm_projects.csv")
    return changed


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
        row = con.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
        if row is None:
            return None
        row = dict(row)
        geom = geometry.decode(row.pop("geom"))
        row.pop("fid")
        return row, geom

    def save(self, con, username: str, row: dict, geom, *, action_note: str | None = None) -> str:
        """Create or update one project by id, with an audit entry. Returns created|updated|unchanged."""
        row = _clean(row)
        if not row.get("id"):
            raise BadRequest("a project needs an id")
        existing = self.project(con, row["id"])
        if existing is None:
            row["updated_at"] = now()
            self._insert(con, row, geom)
            self._audit(con, username, "create", row["id"], None, _snapshot(row, geom), action_note)
            return "created"
        before = _snapshot(*existing)
        merged = {**existing[0], **{k: v for k, v in row.items() if k not in ("updated_at", "origin")}}
        if geom is not None and existing[1] is not None and geom.distance(existing[1]) < SAME_PLACE_M:
            geom = existing[1]  # the same place, rounded on its way through lon/lat
        if _snapshot(merged, geom) == before:
            return "unchanged"
        merged["updated_at"] = now()
        assignments = ", ".join(f'"{k}" = ?' for k in PROJECT_FIELDS)
        con.execute(f"UPDATE projects SET {assignments}, geom = {self.GEOMETRY_SQL} WHERE id = ?",
                    [merged[k] for k in PROJECT_FIELDS] + [self.geometry_value(geom), row["id"]])
        self._audit(con, username, "update", row["id"], before, _snapshot(merged, geom), action_note)
        return "updated"

    def delete(self, con, username: str, project_id: str) -> None:
        existing = self.project(con, project_id)
        if existing is None:
            raise NotFound(f"no project '{project_id}'")
        con.execute("DELETE FROM projects WHERE id = ?", (project_id,))
        self._audit(con, username, "delete", project_id, _snapshot(*existing), None, None)

    def _insert(self, con, row: dict, geom) -> None:
        columns = ", ".join(f'"{k}"' for k in PROJECT_FIELDS)
        con.execute(f"INSERT INTO projects ({columns}, geom) VALUES ({', '.join('?' * len(PROJECT_FIELDS))}, "
                    f"{self.GEOMETRY_SQL})", [row.get(k) for k in PROJECT_FIELDS] + [self.geometry_value(geom)])

    def geometry_value(self, geom):
        return geometry.encode(geom)

    def _audit(self, con, username, action, project_id, before, after, note) -> None:
        con.execute("INSERT INTO audit_log (at, username, action, project_id, before, after, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (now(), username, action, project_id, _json(before), _json(after), note))

    # -- accounts
    def add_user(self, username: str, password_hash: str) -> None:
        with self.transaction() as con:
            try:
                con.execute("INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
                            (username, password_hash, now()))
            except self.INTEGRITY_ERRORS:
                raise BadRequest(f"user '{username}' exists already") from None

    def record_failure(self, client: str, at: float) -> None:
        with self.transaction() as con:
            con.execute("INSERT INTO sign_in_failures (client, at) VALUES (?, ?)", (client, at))
            con.execute("DELETE FROM sign_in_failures WHERE at < ?", (at - 86400,))


def _snapshot(row: dict, geom) -> dict:
    snap = {k: row.get(k) for k in PROJECT_FIELDS if k not in ("updated_at", "origin")}
    snap["geometry"] = None if geom is None else geom.wkt
    return snap


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
