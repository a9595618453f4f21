"""Validate and locate the rows of an import a column at a time.

Each check (``import_checks``) runs once per distinct value of a column — a file of
10,000 rows has a few funds, years and statuses — and its errors go to every row holding
that value, in the order a row's fields are checked. Addresses are looked up in a few
queries for all rows, points are transformed and placed in Planungsräume and QM areas as
arrays. Location stays honest: coordinates > facility name > address > QM area.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from . import crs as crs_mod
from . import import_checks as checks
from .lookup import best_first, parse_address
from .names import aliases, name_key, short_name
from .projects import FACILITY_RADIUS_M, project_id, status as derive_status
from .reasons import Reason
from .store.geometry import decode as decode_geometry
from .store.planner import PROJECT_FIELDS

MAX_TEXT = 500
STATED_PRECISIONS = ("exact", "facility", "planungsraum", "area")
PLR_PRECISE = ("exact", "facility", "planungsraum")  # precise enough to name the Planungsraum
ADDRESS_NOT_FOUND = {
    "area": Reason("not in the official address table (street, house number, postcode?): "
                   "placed at its QM area's centre"),
    "none": Reason("not in the official address table (street, house number, postcode?): "
                   "the project has no location"),
}
# Asked only where no postcode was typed: CASE evaluates lazily, AND in a result column does not.
_IN_SEVERAL_PLANUNGSRAEUME = ("CASE WHEN typed_plz = '' THEN EXISTS (SELECT 1 FROM addresses o WHERE o.street_key = "
                              "best.street_key AND o.hnr = best.hnr AND o.plr_id <> best.plr_id) END")
ADDRESSES_PER_QUERY = 2_000  # 10,000 bound values, well below every limit


@dataclass
class RowReport:
    row: int
    id: str | None
    title: str
    action: str = "error"  # create | update | unchanged | valid (no error, but the file has some) | error
    errors: list[tuple[str, str]] = field(default_factory=list)
    location_precision: str | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (field, note): imported, but look again

    def as_dict(self) -> dict:
        return {"row": self.row, "id": self.id, "title": self.title, "action": self.action,
                "errors": [{"field": f, "reason": r} for f, r in self.errors],
                "warnings": [{"field": f, "note": n} for f, n in self.warnings],
                "location_precision": self.location_precision}


class Context:
    """What validation and location need from the store, loaded once per import."""

    def __init__(self, store):
        self.store = store
        areas = store.features("qm_areas")
        self.area_by_key = {}
        for row, _ in areas:
            for alias in aliases(row["name"]) + [row["slug"]]:
                self.area_by_key.setdefault(name_key(alias), row["slug"])
        self.area_geom = {row["slug"]: geom for row, geom in areas}
        self.area_plr_ids = {row["slug"]: set((row["plr_ids"] or "").split(";")) for row, _ in areas}
        self._address_plrs: dict[str, list[str]] = {}  # address -> its Planungsräume, best first

    @functools.cached_property
    def _places(self) -> tuple[list, dict]:
        """Kitas, schools, youth centres and green spaces, and {name key: their positions} (loaded
        when a row names a place)."""
        places = [({"kind": r["kind"], "name": r["name"]}, decode_geometry(r["geom"])) for r in self.store.query(
            "SELECT kind, name, geom FROM places WHERE kind IN ('kita', 'school', 'youth_centre', 'green_space') "
            "ORDER BY fid")]
        by_key = defaultdict(list)
        for i, (row, _) in enumerate(places):
            by_key[name_key(row["name"])].append(i)
        return places, by_key

    @functools.cached_property
    def _planungsraeume(self) -> dict:
        """Every Planungsraum's geometry (loaded when a row has a point to place)."""
        return {r["plr_id"]: decode_geometry(r["geom"])
                for r in self.store.query("SELECT plr_id, geom FROM planungsraeume ORDER BY fid")}

    def area_slug(self, text: str, errors) -> str | None:
        if not text:
            return None
        slug = self.area_by_key.get(name_key(text)) or self.area_by_key.get(name_key(short_name(text)))
        if slug is None:
            errors.append(("qm_area", Reason("'%(value)s' is no QM area", value=text)))
        return slug

    def plr_at(self, points) -> list[str | None]:
        """The Planungsraum covering each point (the first by id where several do), else None."""
        return _first_covering(self._planungsraeume, points) if points else []  # no points: load nothing

    def area_at(self, points) -> list[str | None]:
        return _first_covering(self.area_geom, points)

    def plr_points(self, plr_ids) -> dict:
        """{plr_id: a point inside it}: where projects placed by their address go (one per Planungsraum)."""
        wanted = sorted(set(plr_ids))
        if not wanted:
            return {}
        if "_planungsraeume" in self.__dict__:
            geoms = {p: self._planungsraeume[p] for p in wanted}
        else:  # only the Planungsräume asked for
            geoms = {r["plr_id"]: decode_geometry(r["geom"]) for r in self.store.query(
                f"SELECT plr_id, geom FROM planungsraeume WHERE plr_id IN ({', '.join('?' * len(wanted))})", wanted)}
        points = shapely.point_on_surface(np.array(list(geoms.values()), dtype=object)).tolist()
        return dict(zip(geoms, points))

    def facility(self, place, area_slug):
        """The one kita, school, youth centre or green space of that name (near the area, if given)."""
        if not place:
            return None
        keys = [k for k in {name_key(place), name_key(short_name(place))} if k]
        places, by_key = self._places
        hits = [places[i] for i in sorted({i for k in keys for i in by_key.get(k, ())})]
        area_geom = self.area_geom.get(area_slug) if area_slug else None
        if area_geom is not None:
            hits = [h for h in hits if h[1].distance(area_geom) <= FACILITY_RADIUS_M]
        return hits[0] if len(hits) == 1 else None

    def address_plr(self, texts) -> tuple[dict, dict]:
        """({address: plr_id or None}, {address: postcode placed in}) for many addresses, looked
        up in a few queries; the second holds the ambiguous ones (no postcode given, and found
        in several Planungsräume), as ``lookup_address`` calls them.

        As ``lookup_address`` places one: a postcode, when given, must match, and of the rows
        left the first by ``best_first``. The choice is made in SQL, so one row per address
        comes back."""
        parsed = {text: parse_address(text) for text in set(texts)}
        keys = sorted({(p["street_key"], p["hnr"], p["suffix"], p["plz"]) for p in parsed.values() if p})
        found, ambiguous = {}, {}
        for start in range(0, len(keys), ADDRESSES_PER_QUERY):  # sorted: neighbours in the index
            chunk = keys[start:start + ADDRESSES_PER_QUERY]
            rows = self.store.query(
                f"WITH wanted (k, street_key, hnr, suffix, plz) AS (VALUES {', '.join(['(?, ?, ?, ?, ?)'] * len(chunk))}) "
                f"SELECT k, plr_id, plz, {_IN_SEVERAL_PLANUNGSRAEUME} AS several "
                "FROM (SELECT w.k, w.street_key, w.hnr, w.plz AS typed_plz, a.plr_id, a.plz, "
                f"row_number() OVER (PARTITION BY w.k ORDER BY {best_first('w.suffix')}) AS n "
                "FROM wanted w JOIN addresses a "
                "ON a.street_key = w.street_key AND a.hnr = w.hnr AND (w.plz = '' OR a.plz = w.plz)) AS best WHERE n = 1",
                [value for k, key in enumerate(chunk, start) for value in (k, *key)])
            for r in rows:
                found[keys[r["k"]]] = r["plr_id"]
                if r["several"]:
                    ambiguous[keys[r["k"]]] = r["plz"]
        key_of = {text: (p["street_key"], p["hnr"], p["suffix"], p["plz"]) for text, p in parsed.items() if p}
        return ({text: found.get(key_of[text]) if text in key_of else None for text in parsed},
                {text: ambiguous[key] for text, key in key_of.items() if key in ambiguous})


    def address_in_area(self, text: str, slug: str) -> str | None:
        """Of the Planungsräume an address lies in (best first), the first of the QM area ``slug``."""
        if text not in self._address_plrs:  # rows of a file share addresses: asked once per address
            parsed = parse_address(text)
            self._address_plrs[text] = [r["plr_id"] for r in self.store.query(
                f"SELECT a.plr_id FROM addresses a WHERE a.street_key = ? AND a.hnr = ? ORDER BY {best_first('?')}",
                (parsed["street_key"], parsed["hnr"], parsed["suffix"]))]
        return next((p for p in self._address_plrs[text] if p in self.area_plr_ids.get(slug, ())), None)


def _first_covering(geoms: dict, points) -> list[str | None]:
    """For each point the smallest id whose geometry covers it (as ``store.ids_at(...)[0]``)."""
    ids, shapes = list(geoms), list(geoms.values())
    found: list[str | None] = [None] * len(points)
    if not points:
        return found
    point_index, geom_index = shapely.STRtree(shapes).query(np.array(points, dtype=object), predicate="covered_by")
    for p, g in zip(point_index.tolist(), geom_index.tolist()):
        if found[p] is None or ids[g] < found[p]:
            found[p] = ids[g]
    return found


def _each(values: list[str], check, errors) -> list:
    """``check(value, errs)`` once per distinct text (cells are texts, '' when empty: factorize
    would set None aside); its errors go to every row holding the value."""
    codes, distinct = pd.factorize(np.array(values, dtype=object))
    results, found = np.empty(len(distinct), dtype=object), []
    for k, value in enumerate(distinct.tolist()):
        errs: list = []
        results[k] = check(value, errs)
        found.append(errs)
    bad = [k for k, errs in enumerate(found) if errs]
    for i in np.flatnonzero(np.isin(codes, bad)).tolist() if bad else ():
        errors[i].extend(found[codes[i]])
    return results[codes].tolist()


def _texts(column) -> list[str]:
    """Cells as stripped texts, '' for a missing one."""
    return [v.strip() if type(v) is str else "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
            for v in column.tolist()]


_derived_status = functools.lru_cache(maxsize=None)(derive_status)


def prepare_rows(context: Context, table, geoms, given_crs, *, from_vector: bool = False):
    """(reports, rows, points): every row of ``table`` (texts and ``_row``) validated and located.

    ``rows`` are complete for the planner store (every field, None where unknown); a row's
    report carries its errors in the order its fields are checked."""
    n = len(table)
    texts = {str(name): _texts(table.iloc[:, j]) for j, name in enumerate(table.columns) if name != "_row"}
    blank, absent = [""] * n, [None] * n
    col = texts.get
    errors: list[list] = [[] for _ in range(n)]
    warnings: list[list] = [[] for _ in range(n)]

    if from_vector:
        place, address, qm_area = col("place", blank), col("address", blank), col("qm_area", blank)
        for i in range(n):
            if geoms[i] is None and not (place[i] or address[i] or qm_area[i]):
                errors[i].append(("geometry", Reason("empty geometry, and no place, address or qm_area to locate "
                                              "the project")))
    title = col("title", blank)
    for i in (i for i, t in enumerate(title) if not t):
        errors[i].append(("title", Reason("missing")))
    for key, values in texts.items():
        if max(map(len, values), default=0) > MAX_TEXT:
            for i in (i for i, v in enumerate(values) if len(v) > MAX_TEXT):
                errors[i].append((key, Reason("longer than %(limit)s characters", limit=MAX_TEXT)))
    funds = _each(col("fund", blank), checks.fund, errors)
    handlungsfelder = _each(col("handlungsfeld", blank), checks.handlungsfelder, errors)
    inferred = _each(col("handlungsfeld_inferred", blank),
                     lambda t, e: checks.flag(t, "handlungsfeld_inferred", e) or 0, errors)
    start = _each(col("start_year", blank), lambda t, e: checks.year(t, "start_year", e), errors)
    end = _each(col("end_year", blank), lambda t, e: checks.year(t, "end_year", e), errors)
    for i, (s, e) in enumerate(zip(start, end)):
        if s and e and e < s:
            errors[i].append(("end_year", Reason("%(end)s is before start_year %(start)s", end=e, start=s)))
    cost = _each(col("cost_eur", blank), checks.cost, errors)
    climate_flags = _each(col("climate", blank), lambda t, e: checks.flag(t, "climate", e), errors)
    status_text = _each(col("status", blank), checks.status, errors)
    area_slug = _each(col("qm_area", blank), context.area_slug, errors)
    point, precision, located_by, plr = _locate(context, texts, geoms, given_crs, area_slug, errors, warnings)

    stated, stated_by = col("location_precision", blank), col("located_by", blank)
    for i in range(n):
        if stated[i] and point[i] is not None and precision[i] == "exact":  # a point whose file says how it was found
            if stated[i] not in STATED_PRECISIONS:
                errors[i].append(("location_precision",
                                  Reason("'%(value)s' is not one of %(allowed)s", value=stated[i],
                                         allowed=", ".join(STATED_PRECISIONS))))
            precision[i], located_by[i] = stated[i], stated_by[i] or None
        if precision[i] not in PLR_PRECISE:
            plr[i] = None  # a point placed for its area says nothing about the Planungsraum
    unplaced = [i for i in range(n) if area_slug[i] is None and point[i] is not None and not errors[i]]
    for i, slug in zip(unplaced, _shared_points_at(context.area_at, [point[i] for i in unplaced])):
        area_slug[i] = slug

    fund_text, qm_area = col("fund", blank), col("qm_area", blank)
    ids = [given or project_id(area_text or slug or "", t)
           for given, area_text, slug, t in zip(col("id", blank), qm_area, area_slug, title)]
    columns = {
        "id": ids, "title": title, "area_slug": area_slug,
        "qm_area_stated": [s or a or None for s, a in zip(col("qm_area_stated", blank), qm_area)],
        "fund": [f for f, _ in funds],
        "fund_stated": [s or stated_fund for s, (_, stated_fund) in zip(col("fund_stated", blank), funds)],
        "handlungsfelder": [h or None for h in handlungsfelder], "handlungsfeld_inferred": inferred,
        "climate": [int("klima" in f"{t} {f}".lower()) if flag is None else flag
                    for flag, t, f in zip(climate_flags, title, fund_text)],
        "start_year": start, "end_year": end,
        "status": [s or _derived_status(a, b) for s, a, b in zip(status_text, start, end)],
        "cost_eur": cost, "cost_stated": [s or c or None for s, c in zip(col("cost_stated", blank), col("cost_eur", blank))],
        "place": [p or None for p in col("place", blank)], "address": [a or None for a in col("address", blank)],
        "location_precision": precision, "located_by": [b or None for b in located_by], "plr_id": plr,
        "source_url": [s or None for s in col("source_url", blank)], "origin": ["import"] * n, "updated_at": absent,
    }
    rows = [dict(zip(PROJECT_FIELDS, values)) for values in zip(*(columns[k] for k in PROJECT_FIELDS))]
    _check_duplicate_ids(ids, table["_row"].tolist(), errors)
    reports = [RowReport(row_no, ids[i], title[i][:80], errors=errors[i], location_precision=precision[i],
                         warnings=warnings[i])
               for i, row_no in enumerate(table["_row"].tolist())]
    return reports, rows, point


def _locate(context: Context, texts: dict, geoms, given_crs, area_slug, errors, warnings):
    """Per row (point in EPSG:25833, precision, how, plr_id) — never a guess. An address that
    is not in the official table is a warning: the project is kept, placed only by its area."""
    n = len(geoms)
    absent = [None] * n
    lon, lat, x, y = (texts.get(k, absent) for k in ("lon", "lat", "x", "y"))
    wkt = texts.get("wkt", [""] * n)
    point, precision, located_by, plr = [None] * n, [None] * n, [""] * n, [None] * n
    lonlat_rows, lonlats, projected_rows, projected, projected_field = [], [], [], [], []
    for i in range(n):
        if geoms[i] is not None:
            point[i] = checks.point_from_geometry(geoms[i], errors[i])
        elif lat[i] or lon[i]:
            found = checks.lonlat(lon[i], lat[i], errors[i])
            if found is not None:
                lonlat_rows.append(i)
                lonlats.append(found)
        elif x[i] or y[i] or wkt[i]:
            found = checks.xy(x[i], y[i], errors[i]) if x[i] or y[i] else checks.wkt_xy(wkt[i], errors[i])
            if found is not None:
                projected_rows.append(i)
                projected.append(found)
                projected_field.append("x" if x[i] or y[i] else "wkt")
    if lonlats:
        lons, lats = np.array(lonlats, dtype=float).T
        xs, ys = crs_mod.web_to_store_transformer().transform(lons, lats)
        for i, p in zip(lonlat_rows, shapely.points(xs, ys).tolist()):
            point[i] = p
    if projected:
        for i, p in zip(projected_rows, checks.to_store_points(projected, projected_field, given_crs,
                                                                [errors[i] for i in projected_rows])):
            point[i] = p
    with_point = [i for i in range(n) if point[i] is not None]
    for i, plr_id in zip(with_point, context.plr_at([point[i] for i in with_point])):
        if plr_id is None:
            errors[i].append(("geometry", Reason("the point lies outside Berlin's Planungsräume")))
            point[i] = None
        else:
            precision[i], located_by[i], plr[i] = "exact", "coordinates", plr_id

    rest = [i for i in range(n) if point[i] is None and not errors[i]]  # a row with errors is not located further
    place, address = texts.get("place", [""] * n), texts.get("address", [""] * n)
    facilities = {}
    for i in rest:
        key = (place[i], area_slug[i])
        if key not in facilities:
            facilities[key] = context.facility(*key)
        if facilities[key] is not None:
            row, geom = facilities[key]
            point[i], precision[i], located_by[i] = geom, "facility", f"{row['kind']}: {row['name']}"
    at_facility = [i for i in rest if point[i] is not None]
    for i, plr_id in zip(at_facility, _shared_points_at(context.plr_at, [point[i] for i in at_facility])):
        plr[i] = plr_id
    by_address = [i for i in rest if point[i] is None and address[i]]
    plr_of, placed_in_plz = context.address_plr(address[i] for i in by_address)
    chosen = {}
    for i in by_address:
        chosen[i] = plr_of[address[i]]
        if address[i] not in placed_in_plz:
            continue
        in_area = context.address_in_area(address[i], area_slug[i]) if area_slug[i] else None
        if in_area:  # of the Planungsräume that have the address, the one in the project's own QM area
            chosen[i] = in_area
        else:
            warnings[i].append(("address", Reason("in several Planungsräume and no postcode given: placed at the "
                                                  "one of postcode %(plz)s; add the postcode to be sure",
                                                  plz=placed_in_plz[address[i]])))
    plr_points = context.plr_points(p for p in chosen.values() if p)
    for i, plr_id in chosen.items():
        if plr_id:
            point[i], precision[i], located_by[i], plr[i] = plr_points[plr_id], "planungsraum", plr_id, plr_id
    for i in rest:
        if point[i] is None:
            if area_slug[i]:
                geom = context.area_geom.get(area_slug[i])
                point[i], precision[i] = (geom.representative_point() if geom is not None else None), "area"
            else:
                precision[i] = "none"
    for i in by_address:
        if precision[i] != "planungsraum":
            warnings[i].append(("address", ADDRESS_NOT_FOUND[precision[i]]))
    return point, precision, located_by, plr


def _shared_points_at(where, points) -> list:
    """``where(points)`` asked once per distinct point object (projects placed alike share one)."""
    distinct = {id(p): p for p in points}
    found = dict(zip(distinct, where(list(distinct.values()))))
    return [found[id(p)] for p in points]


def _check_duplicate_ids(ids, row_numbers, errors) -> None:
    seen: dict[str, int] = {}
    for i, (project, row_no) in enumerate(zip(ids, row_numbers)):
        if project in seen:
            errors[i].append(("id", Reason("duplicate id '%(value)s' (also in row %(row)s)", value=project,
                                                 row=seen[project])))
        else:
            seen[project] = row_no
