"""Read-side questions the pages and the API both ask, answered from the store.

Each returns plain dicts (and shapely geometries in EPSG:25833), so one answer can
be rendered as HTML and as JSON. Errors carry their HTTP status and a ``Reason``
(English in JSON, translated on pages).
"""
from __future__ import annotations

from dataclasses import replace

from . import catalog, crs, indicators
from .errors import AreaNotFound, BadRequest, PlanungsraumNotFound
from .project_filter import ProjectFilter
from .reasons import Reason

PLACE_KINDS = ("green_space", "kita", "school", "youth_centre", "drinking_fountain", "cool_room",
               "water_playground", "care_home", "pharmacy")
PLACE_LAYER = {"green_space": "green_spaces", "kita": "kitas", "school": "schools", "youth_centre": "youth_centres",
               "drinking_fountain": "drinking_fountains", "cool_room": "cool_rooms",
               "water_playground": "water_playgrounds", "care_home": "care_homes", "pharmacy": "pharmacies"}
MAX_PLACES = 10_000  # all of Berlin's places fit; big layers go through tiles


def areas(store) -> list[dict]:
    return store.rows("qm_areas", order="status_group, short_name")


def area(store, slug: str) -> tuple[dict, object]:
    found = store.features("qm_areas", "slug = ?", (slug,))
    if not found:
        raise AreaNotFound(Reason("no QM area '%(slug)s'", slug=slug))
    return found[0]


def figures(store, zone: str) -> dict | None:
    rows = store.rows("area_indicators", "zone = ?", (zone,))
    return rows[0] if rows else None


def area_detail(store, slug: str) -> tuple[dict, object]:
    """An area with its figures next to Berlin's, its Planungsräume and sources."""
    row, geom = area(store, slug)
    row = dict(row)
    row["figures"] = {"area": figures(store, slug), "berlin": figures(store, "berlin")}
    row["planungsraeume"] = store.query(
        "SELECT a.plr_id, p.plr_name, a.share FROM area_plr a JOIN planungsraeume p USING (plr_id) "
        "WHERE a.area_slug = ? ORDER BY a.plr_id", (slug,))
    row["sources"] = [s for s in (row.get("sources") or "").split(";") if s]
    row["attribution"] = catalog.attributions("qm_areas", "planungsraeume", "umweltgerechtigkeit", "mss", "einwohner")
    return row, geom


def planungsraum(store, plr_id: str) -> tuple[dict, object]:
    found = store.features("planungsraeume", "plr_id = ?", (plr_id,))
    if not found:
        raise PlanungsraumNotFound(Reason("no Planungsraum '%(plr_id)s'", plr_id=plr_id))
    row, geom = found[0]
    row = dict(row)
    row["qm_areas"] = [store.rows("qm_areas", "slug = ?", (s,))[0] for s in (row.get("qm_areas") or "").split(";") if s]
    row["berlin"] = figures(store, "berlin")
    row["attribution"] = catalog.attributions("planungsraeume", "umweltgerechtigkeit", "mss", "einwohner", "gruenanlagen")
    return row, geom


def projects(store, flt: ProjectFilter | None = None, *, area_slug: str | None = None) -> list[tuple[dict, object]]:
    """Projects matching the filter, with their points (None where not located)."""
    flt = flt or ProjectFilter()
    if area_slug:
        flt = replace(flt, area=area_slug)
    if flt.area:
        area(store, flt.area)  # 404 for an unknown area
    where, params = flt.sql()
    box = flt.store_box()
    if box is not None and box.is_empty:
        return []  # the box misses Berlin
    if box is not None:
        where = " AND ".join(w for w in (where, f"fid IN ({store.fids_in_bbox('projects', *box.bounds)})") if w)
    rows = store.features("projects", where, params, order="area_slug, start_year DESC, title")
    if box is not None:
        rows = [(r, g) for r, g in rows if g is not None and box.covers(g)]
    return rows


def places(store, kinds: list[str], bbox_lonlat=None) -> list[tuple[dict, object]]:
    """Named points of the given kinds, inside a lon/lat box if one is given."""
    unknown = [k for k in kinds if k not in PLACE_KINDS]
    if unknown or not kinds:
        raise BadRequest(f"kind must be one or more of {', '.join(PLACE_KINDS)}")
    where = f"kind IN ({', '.join('?' * len(kinds))})"
    box = None
    if bbox_lonlat is not None:
        box = crs.lonlat_box_in_store_crs(bbox_lonlat)
        if box is None:
            return []
        where += f" AND fid IN ({store.fids_in_bbox('places', *box.bounds)})"
    rows = store.features("places", where, kinds, order="kind, name", limit=MAX_PLACES + 1)
    if box is not None:
        rows = [(r, g) for r, g in rows if box.covers(g)]
    if len(rows) > MAX_PLACES:
        raise BadRequest(f"more than {MAX_PLACES} places: narrow the bbox or the kinds")
    return rows


def indicator_definitions() -> list[dict]:
    out = []
    for ind in indicators.INDICATORS:
        d = {"id": ind.id, "label": ind.label, "label_en": ind.label_en, "kind": ind.kind, "unit": ind.unit,
             "higher_is_worse": ind.higher_is_worse, "attribution": catalog.layer(ind.source_layer).attribution}
        if ind.kind == "category":
            d["classes"] = [{"value": c, "label": de, "label_en": en, "colour": col} for c, de, en, col in ind.classes]
        else:
            d["breaks"], d["colours"] = list(ind.breaks), list(ind.colours)
            d["no_data_colour"] = indicators.NO_DATA_COLOUR
        out.append(d)
    return out
