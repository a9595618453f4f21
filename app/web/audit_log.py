"""The audit log as planners read it (/planung/protokoll): each entry in words, in the page's language.

The log keeps snapshots of a project (``planner._snapshot``: the stored codes, the point as
WKT in EPSG:25833). This turns an entry into when (Berlin time), who, what, which project and
what changed, with the project form's labels and the point as latitude/longitude. A page
holds the newest ``PAGE_SIZE`` entries of a filter and links to older ones: an import writes
one entry per project, so the log is long. The raw JSON is one link away (/api/audit/<fid>),
not on the page: it would make it ten times larger.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import shapely
from babel.dates import format_datetime
from flask_babel import get_locale, gettext, lazy_gettext

from .. import crs, i18n, queries

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
BERLIN = ZoneInfo("Europe/Berlin")

ACTIONS = {"create": lazy_gettext("created"), "update": lazy_gettext("changed"), "delete": lazy_gettext("deleted"),
           "seed": lazy_gettext("research projects brought in")}
WEB_EDIT_NOTE = "edited on the web"  # save_project's note
IMPORT_NOTE = re.compile(r"import (?P<file>.+)")  # the importer's note
SEED_NOTE = re.compile(r"(?P<n>\d+) research projects from (?P<file>.+)")  # planner.seed's note

# What a reader of the log is shown of a snapshot, in the project form's order and words. The rest
# (how the source stated fund, cost and area, how the point was found) is in the raw data.
FIELDS = (("title", lazy_gettext("Title")), ("area_slug", lazy_gettext("QM area")), ("fund", lazy_gettext("Fund")),
          ("handlungsfelder", lazy_gettext("Fields of action (Handlungsfelder)")),
          ("climate", lazy_gettext("Soziales Klimaprojekt")), ("start_year", lazy_gettext("Start year")),
          ("end_year", lazy_gettext("End year")), ("status", lazy_gettext("Status")),
          ("cost_eur", lazy_gettext("Cost in euros")), ("place", lazy_gettext("Place")),
          ("address", lazy_gettext("Address")), ("source_url", lazy_gettext("Source (web address)")),
          ("location", lazy_gettext("Location")))
SNAPSHOT_KEYS = {"location": ("geometry", "location_precision")}  # the snapshot's keys of a shown field
SUMMARY_FIELDS = ("fund", "area_slug", "place", "location")  # of a created or deleted project, beside its title


@dataclass
class Entry:
    fid: int
    at: str  # as stored: ISO 8601 in UTC
    when: str  # Berlin time, formatted for the page's locale
    who: str
    code: str  # the action as stored: create, update, delete, seed
    action: str  # ... as the page says it
    note: str | None
    project_id: str | None
    title: str | None = None
    exists: bool = False  # the project is still there (its edit page works)
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (label, before, after) of an update
    summary: list[tuple[str, str]] = field(default_factory=list)  # (label, value) of a create or delete
    has_raw: bool = False  # before or after kept: /api/audit/<fid> gives them as stored


@dataclass
class Page:
    entries: list[Entry]
    total: int  # entries matching the filter
    newer: int | None  # ``after`` for the link to newer entries (None: these are the newest)
    older: int | None  # ``before`` for the link to older entries (None: no older ones)
    users: list[str]  # every user name in the log, for the filter


def read_page(store, *, user: str | None = None, project: str | None = None, before: int | None = None,
              after: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """``limit`` entries of the filter, newest first: those before fid ``before``, or right after
    fid ``after`` (going back to newer ones), or else the newest."""
    where, params = ["1 = 1"], []
    if user:
        where.append("username = ?")
        params.append(user)
    if project:
        where.append("project_id = ?")
        params.append(project)
    condition = " AND ".join(where)
    columns = "fid, at, username, action, project_id, before, after, note"
    if after is not None:
        rows = store.query(f"SELECT {columns} FROM audit_log WHERE {condition} AND fid > ? ORDER BY fid LIMIT ?",
                           (*params, after, limit))[::-1]
    elif before is not None:
        rows = store.query(f"SELECT {columns} FROM audit_log WHERE {condition} AND fid < ? ORDER BY fid DESC LIMIT ?",
                           (*params, before, limit))
    else:
        rows = store.query(f"SELECT {columns} FROM audit_log WHERE {condition} ORDER BY fid DESC LIMIT ?",
                           (*params, limit))

    def any_beyond(op: str, fid: int) -> bool:
        return bool(store.query(f"SELECT 1 AS found FROM audit_log WHERE {condition} AND fid {op} ? LIMIT 1",
                                (*params, fid)))

    newer = rows[0]["fid"] if rows and any_beyond(">", rows[0]["fid"]) else None
    older = rows[-1]["fid"] if rows and any_beyond("<", rows[-1]["fid"]) else None
    total = store.scalar(f"SELECT count(*) FROM audit_log WHERE {condition}", params)
    users = [r["username"] for r in store.query("SELECT DISTINCT username FROM audit_log ORDER BY username")]
    return Page(entries=_entries(store, rows), total=total, newer=newer, older=older, users=users)


def _entries(store, rows: list[dict]) -> list[Entry]:
    ids = sorted({r["project_id"] for r in rows if r["project_id"]})
    existing = {r["id"] for r in store.query(f"SELECT id FROM projects WHERE id IN ({', '.join('?' * len(ids))})",
                                             ids)} if ids else set()
    words = _Words(areas={a["slug"]: a["short_name"] for a in queries.areas(store)},
                   labels=[(name, str(label)) for name, label in FIELDS], to_web=crs.store_to_web_transformer().transform)
    return [_entry(row, existing, words) for row in rows]


@dataclass
class _Words:
    """What every entry of a page is told with, looked up once per page."""
    areas: dict  # slug -> short name
    labels: list  # (field, translated label)
    to_web: object  # (x, y) in the store's CRS -> (lon, lat)


def _entry(row: dict, existing: set, words: _Words) -> Entry:
    before, after = _snapshot(row["before"]), _snapshot(row["after"])
    entry = Entry(fid=row["fid"], at=row["at"], when=berlin_time(row["at"]), who=row["username"], code=row["action"],
                  action=i18n.label(ACTIONS, row["action"]), note=note(row["note"]), project_id=row["project_id"],
                  exists=row["project_id"] in existing, has_raw=bool(row["before"] or row["after"]))
    latest = after or before or {}
    entry.title = latest.get("title")
    if before and after:
        changed = [(label, _value(name, before, words), _value(name, after, words)) for name, label in words.labels
                   if any(before.get(key) != after.get(key) for key in SNAPSHOT_KEYS.get(name, (name,)))]
        entry.changes = [(label, old, new) for label, old, new in changed if old != new]  # not a point moved by 1 cm
    elif latest:
        shown = [(label, _value(name, latest, words)) for name, label in words.labels if name in SUMMARY_FIELDS]
        entry.summary = [(label, value) for label, value in shown if value != i18n.NO_VALUE]
    return entry


def berlin_time(at: str) -> str:
    """'2026-11-25T07:04:32+00:00' -> '25.11.2026, 08:04:32' (de) or 'Nov 25, 2026, 8:04:32 AM' (en)."""
    try:
        moment = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return str(at)
    return format_datetime(moment, format="medium", tzinfo=BERLIN, locale=get_locale())


def note(text: str | None) -> str | None:
    """The fixed notes in the page's language; file names (and any other note) as they are."""
    if not text:
        return None
    if text == WEB_EDIT_NOTE:
        return gettext("edited on the web")
    if match := SEED_NOTE.fullmatch(text):
        return gettext("%(n)s research projects from %(file)s", n=i18n.number(int(match["n"])), file=match["file"])
    if match := IMPORT_NOTE.fullmatch(text):
        return gettext("import of %(file)s", file=match["file"])
    return text


def _snapshot(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _value(name: str, snap: dict, words: _Words) -> str:
    """One field of a snapshot as the page shows it: labels for codes, numbers for the locale."""
    value = snap.get(name)
    if name == "location":
        return _location(snap, words.to_web)
    if value is None or value == "":
        return i18n.NO_VALUE
    if name == "area_slug":
        return words.areas.get(value, value)
    if name == "fund":
        return i18n.label(i18n.FUND, value)
    if name == "handlungsfelder":
        return i18n.handlungsfelder(value) or i18n.NO_VALUE
    if name == "status":
        return i18n.label(i18n.PROJECT_STATUS, value)
    if name == "climate":
        return gettext("yes") if value else gettext("no")
    if name in ("start_year", "end_year"):
        return str(int(value))
    if name == "cost_eur":
        return i18n.number(value, digits=2)
    return str(value)


def _location(snap: dict, to_web) -> str:
    """'Latitude 52.5331 · longitude 13.3283 (exact location)': the stored point in EPSG:4326."""
    precision = i18n.label(i18n.LOCATION_PRECISION_SHORT, snap.get("location_precision"))
    try:
        point = shapely.from_wkt(snap["geometry"]) if snap.get("geometry") else None
    except shapely.errors.GEOSException:
        point = None
    if point is None or point.is_empty:
        return precision or i18n.NO_VALUE
    lon, lat = to_web(*point.representative_point().coords[0])
    where = gettext("Latitude %(lat)s · longitude %(lon)s", lat=i18n.number(lat, digits=5), lon=i18n.number(lon, digits=5))
    return f"{where} ({precision})" if precision else where
