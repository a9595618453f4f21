"""Compare two built GeoPackage stores table by table: schema, then every row.

Used when changing how the build writes the store (``python scripts/compare_stores.py
OLD.gpkg NEW.gpkg``): prints each table whose declaration or rows differ, with the first
differing row, and exits 1 if any does. File layout (page order, root pages) is ignored.
"""
from __future__ import annotations

import hashlib
import sqlite3
import sys


def schema(con: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """(type, name) -> SQL of every table, index, trigger and view."""
    return {(t, n): sql for t, n, sql in con.execute("SELECT type, name, sql FROM sqlite_master")}


def rows(con: sqlite3.Connection, table: str) -> list[tuple]:
    """Every row of ``table`` in a stable order (all columns), NULLs and types kept."""
    quoted = '"' + table.replace('"', '""') + '"'
    width = len(con.execute(f"SELECT * FROM {quoted} LIMIT 0").description)
    order = ", ".join(str(i) for i in range(1, width + 1))
    return con.execute(f"SELECT * FROM {quoted} ORDER BY {order}").fetchall()


def differences(old_path, new_path) -> list[str]:
    old, new = sqlite3.connect(old_path), sqlite3.connect(new_path)
    out = []
    old_schema, new_schema = schema(old), schema(new)
    for key in sorted(set(old_schema) | set(new_schema)):
        if old_schema.get(key) != new_schema.get(key):
            out.append(f"{key[0]} {key[1]}: {old_schema.get(key)!r} != {new_schema.get(key)!r}")
    tables = sorted(n for (t, n), sql in old_schema.items()
                    if t == "table" and (t, n) in new_schema and not (sql or "").startswith("CREATE VIRTUAL"))
    for table in tables:
        a, b = rows(old, table), rows(new, table)
        if a != b:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            out.append(f"table {table}: {len(a)} vs {len(b)} rows; first difference at row {first}: "
                       f"{a[first] if first < len(a) else None!r:.300} != {b[first] if first < len(b) else None!r:.300}")
    return out


def digest(path) -> str:
    """One hash of schema and rows, for a quick equal/not-equal."""
    con = sqlite3.connect(path)
    h = hashlib.sha256(repr(sorted(schema(con).items())).encode())
    for (t, n), sql in sorted(schema(con).items()):
        if t == "table" and not (sql or "").startswith("CREATE VIRTUAL"):
            h.update(repr(rows(con, n)).encode())
    return h.hexdigest()


if __name__ == "__main__":
    found = differences(sys.argv[1], sys.argv[2])
    print("\n".join(found) if found else "identical: same schema and rows in every table")
    sys.exit(1 if found else 0)
