"""Import projects from CSV, GeoJSON, GeoPackage or zipped Shapefile — all or nothing.

``import_projects`` reads a file (``import_read``), validates and locates every row a
column at a time (``import_rows``: naming row, field and reason; coordinates > facility
name > address > QM area), and then either reports what would happen (dry run) or writes
every row in one transaction (``PlannerStore.plan``/``apply``). A file with any error
writes nothing. Re-importing a file updates by project id instead of duplicating; an
unchanged row stays unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pyproj import CRS

from . import collector
from .errors import BadRequest, SourceError
from .import_read import VECTOR_SUFFIXES, column_key, read
from .import_rows import Context, RowReport, prepare_rows
from .reasons import Reason

MAX_ROWS = 50_000
_ACTIONS = {"created": "create", "updated": "update", "unchanged": "unchanged"}
ACTIONS = ("create", "update", "unchanged", "valid", "error")  # "valid": no error, but the file has some

__all__ = ["ImportReport", "RowReport", "import_projects", "prepare_one"]


@dataclass
class ImportReport:
    file: str
    rows: list[RowReport]
    dry_run: bool
    committed: bool = False
    notes: list[str] = field(default_factory=list)
    headings: dict[str, str] = field(default_factory=dict)  # field -> its column heading in the file

    def heading(self, field_name: str) -> str:
        """A field as the file names it: 'Kosten (cost_eur)', or the field itself."""
        heading = self.headings.get(field_name, field_name)
        return field_name if heading == field_name else f"{heading} ({field_name})"

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        return [(r.row, f, reason) for r in self.rows for f, reason in r.errors]

    @property
    def warnings(self) -> list[tuple[int, str, str]]:
        return [(r.row, f, note) for r in self.rows for f, note in r.warnings]

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ACTIONS, 0)
        for r in self.rows:
            out[r.action] += 1
        return out

    def as_dict(self) -> dict:
        return {"file": self.file, "dry_run": self.dry_run, "committed": self.committed, "counts": self.counts,
                "notes": self.notes, "rows": [r.as_dict() for r in self.rows]}

    def as_text(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items() if n or k in _ACTIONS.values())
        warned = len(self.warnings)
        lines = [f"{self.file}: {'dry run, ' if self.dry_run else ''}{counts}"
                 + (f", {warned} warning{'s' * (warned != 1)}" if warned else "")
                 + ("; committed" if self.committed else "; nothing written")]
        lines += [f"note: {n}" for n in self.notes]
        for r in self.rows:
            if r.errors:
                lines += [f"row {r.row}, field '{f}': {reason}" for f, reason in r.errors]
            else:
                lines.append(f"row {r.row}: {r.action} {r.id} ({r.location_precision})")
            lines += [f"row {r.row}, field '{f}': warning: {note}" for f, note in r.warnings]
        return "\n".join(lines)


def import_projects(path, store, planner, *, username: str, dry_run: bool = False, crs: str | None = None,
                    max_bytes: int = 20_000_000, display_name: str | None = None) -> ImportReport:
    """Validate and locate every row of ``path``; write all of them, or nothing."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise SourceError(name, Reason("file not found"))
    if path.stat().st_size > max_bytes:
        raise SourceError(name, Reason("file is larger than the limit of %(limit)s MB", limit=f"{max_bytes / 1e6:g}"))
    if path.stat().st_size == 0:
        raise SourceError(name, Reason("file is empty"))
    given_crs = _crs(crs) if crs else None
    table, geoms, notes = read(path, name, given_crs, max_bytes)
    if len(table) > MAX_ROWS:
        raise SourceError(name, Reason("%(n)s rows; at most %(limit)s in one import", n=len(table), limit=MAX_ROWS))
    with collector.paused():
        reports, rows, points = prepare_rows(Context(store), table, geoms, given_crs,
                                             from_vector=path.suffix.lower() in VECTOR_SUFFIXES)
        report = ImportReport(name, reports, dry_run, notes=notes, headings=table.attrs.get("columns", {}))
        if report.errors:
            for rep in reports:
                rep.action = "error" if rep.errors else "valid"
            return report
        with planner.transaction() as con:  # a dry run plans the same writes and leaves them undone
            plan = planner.plan(con, username, rows, points, action_note=f"import {name}")
            if not dry_run:
                planner.apply(con, plan)
    for rep, action in zip(reports, plan.actions):
        rep.action = _ACTIONS[action]
    report.committed = not dry_run
    return report


def _crs(text: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except Exception:
        raise BadRequest(Reason("unknown CRS '%(crs)s'; use e.g. EPSG:25833 or EPSG:4326", crs=text)) from None


def prepare_one(store, data: dict):
    """Validate and locate one project given as a dict of texts (a web form or JSON)."""
    row = {column_key(k): (None if v in (None, "") else str(v)) for k, v in data.items() if k != "csrf_token"}
    table = pd.DataFrame([row], dtype=object)
    table.insert(0, "_row", [1])
    reports, rows, points = prepare_rows(Context(store), table, [None], None)
    return reports[0], rows[0], points[0]
