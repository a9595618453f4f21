"""What both read stores share: everything that is plain SQL over ``query``/``scalar``.

A backend (``gpkg.GeoPackageStore``, ``postgis.PostGISStore``) supplies the connection
(``query``, ``scalar``) and its spatial index (``fids_in_bbox``, ``candidates_at``,
``envelopes``); the rest is written once here.
"""
from __future__ import annotations

import functools
import json

import shapely

from .geometry import decode as decode_geometry


def select_sql(table: str, where: str = "", order: str = "", limit: int | None = None) -> str:
    """SELECT * with an optional filter, a stable order (ties broken by fid) and a limit."""
    return (f'SELECT * FROM "{table}"' + (f" WHERE {where}" if where else "")
            + (f" ORDER BY {order}, fid" if order else "") + (f" LIMIT {int(limit)}" if limit else ""))


class SQLReader:
    """Read methods written once for every backend."""

    @functools.cached_property
    def street_keys(self) -> list[str]:
        """Every distinct street key, for 'did you mean' suggestions."""
        return [r["street_key"] for r in self.query("SELECT DISTINCT street_key FROM streets")]

    def planner_version(self):
        """Grows with every write of the planners' data, seen from every process: each write
        appends to the audit log in its transaction (``planner.PlannerStore``), under one lock."""
        return self.scalar("SELECT max(fid) FROM audit_log")

    def meta(self, key: str):
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else json.loads(value)

    def geojson(self, key: str) -> str | None:
        """Precomputed GeoJSON text (EPSG:4326, simplified) written by the build."""
        return self.scalar("SELECT body FROM geojson WHERE key = ?", (key,))

    def rows(self, table: str, where: str = "", params=(), order: str = "") -> list[dict]:
        rows = self.query(select_sql(table, where, order), params)
        for r in rows:
            r.pop("geom", None)
            r.pop("fid", None)
        return rows

    def features(self, table: str, where: str = "", params=(), order: str = "", limit: int | None = None):
        """Rows with their geometry: [(properties, shapely geometry in EPSG:25833 or None)]."""
        out = []
        for row in self.query(select_sql(table, where, order, limit), params):
            geom = decode_geometry(row.pop("geom", None))
            row.pop("fid", None)
            out.append((row, geom))
        return out

    def geometry(self, table: str, where: str, params=()):
        return decode_geometry(self.scalar(f'SELECT geom FROM "{table}" WHERE {where}', params))

    def ids_at(self, table: str, id_column: str, x: float, y: float) -> list[str]:
        """Ids of the features of ``table`` covering the point: index candidates, tested exactly."""
        rows = self.candidates_at(table, id_column, x, y)
        point = shapely.Point(x, y)
        return sorted(r["id"] for r in rows if (g := decode_geometry(r["geom"])) is not None and g.covers(point))

    def candidates_at(self, table: str, id_column: str, x: float, y: float) -> list[dict]:
        """Rows (id, geom) whose bounding box holds the point, from the backend's spatial index."""
        raise NotImplementedError
