"""Find a Kiez: an address or a point -> Planungsraum and QM area(s).

Addresses are looked up in the official address table (no geocoder): street and
number, postcode optional, tolerant of 'Str.'/'Straße', case and spaces. A point is
WGS84 lon/lat or EPSG:25833 x/y. Nothing found is an answer with suggestions and a
``reason`` code (no_house_number, not_found, outside_berlin), never an exception.
"""
from __future__ import annotations

import difflib
import functools
import re

from . import crs
from .errors import BadRequest
from .names import name_key

# The house number is the last number before an optional postcode; street names may
# contain digits themselves ("Privatstraße 2 14", "Straße 101 5").
_ADDRESS = re.compile(
    r"^\s*(?:(?P<plz1>\d{5})\s+)?(?P<street>.*?\D)\.?\s*(?P<hnr>\d+)\s*(?P<suffix>[a-zA-Z])?"
    r"(?:\s*,?\s*(?P<plz2>\d{5}))?(?:\s*,?\s*berlin)?\s*$", re.IGNORECASE)
MAX_SUGGESTIONS = 8


def parse_address(text: str) -> dict | None:
    """'Ackerstraße 1a, 10115 Berlin' -> street, hnr, suffix, plz; None if there is no number."""
    m = _ADDRESS.match(text or "")
    if not m:
        return None
    street = m.group("street").strip().rstrip(",")
    return {"street": street, "street_key": name_key(street), "hnr": str(int(m.group("hnr"))),
            "suffix": (m.group("suffix") or "").upper(), "plz": m.group("plz1") or m.group("plz2") or ""}


def best_first(suffix: str) -> str:
    """ORDER BY for the rows ``a`` of the ``addresses`` table that match a typed street and
    number, best first: the typed suffix (``suffix``: its SQL), then by suffix, postcode and
    table order. The address search and the import (``import_rows``) place an address alike."""
    return f"a.hnr_suffix <> {suffix}, a.hnr_suffix, a.plz, a.fid"


def lookup_address(store, text: str) -> dict:
    text = (text or "").strip()
    if not text:
        raise BadRequest("give an address, e.g. 'Ackerstraße 1'")
    if len(text) > 200:
        raise BadRequest("address too long (at most 200 characters)")
    parsed = parse_address(text)
    if parsed is None:
        return {"query": text, "found": False, "reason": "no_house_number", "message": "no house number found",
                "suggestions": suggest_streets(store, text)}
    where, params = "a.street_key = ? AND a.hnr = ?", [parsed["street_key"], parsed["hnr"]]
    if parsed["plz"]:
        where, params = where + " AND a.plz = ?", params + [parsed["plz"]]
    rows = store.query(f"SELECT a.street, a.hnr, a.hnr_suffix, a.plz, a.ortsteil, a.plr_id FROM addresses a "
                       f"WHERE {where} ORDER BY {best_first('?')}", params + [parsed["suffix"]])
    exact = [r for r in rows if r["hnr_suffix"] == parsed["suffix"]]
    rows = exact or rows
    if not rows:
        return {"query": text, "found": False, "reason": "not_found", "message": "address not in the address table",
                "suggestions": suggest_addresses(store, parsed)}
    best = rows[0]
    plr_ids = sorted({r["plr_id"] for r in rows})
    return {"query": text, "found": True,
            "address": {"street": best["street"], "hnr": best["hnr"], "hnr_suffix": best["hnr_suffix"],
                        "plz": best["plz"], "ortsteil": best["ortsteil"]},
            "exact": bool(exact), **_kiez(store, best["plr_id"]),
            "other_planungsraeume": [p for p in plr_ids if p != best["plr_id"]]}


def lookup_point(store, *, lon=None, lat=None, x=None, y=None) -> dict:
    if lon is not None or lat is not None:
        lon, lat = _number(lon, "lon"), _number(lat, "lat")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise BadRequest("lon must be within -180..180 and lat within -90..90")
        x, y = crs.web_to_store_transformer().transform(lon, lat)
    elif x is not None or y is not None:
        x, y = _number(x, "x"), _number(y, "y")
    else:
        raise BadRequest("give lat and lon (WGS84) or x and y (EPSG:25833)")
    ids = store.ids_at("planungsraeume", "plr_id", x, y)
    point = {"x": round(x, 2), "y": round(y, 2), "crs": "EPSG:25833"}
    if not ids:
        return {"found": False, "reason": "outside_berlin", "point": point,
                "message": "this point lies outside Berlin's Planungsräume"}
    return {"found": True, "point": point, **_kiez(store, ids[0], x=x, y=y)}


def suggest(store, text: str, limit: int = MAX_SUGGESTIONS) -> list[dict]:
    """Suggestions as you type: streets, or addresses once a house number is typed."""
    m = re.match(r"^\s*(?P<street>.*?[^\d\s,])\.?\s+(?P<hnr>\d+)\s*(?P<suffix>[a-zA-Z]?)", text or "")
    if not m:
        return suggest_streets(store, text, limit)
    rows = store.query("SELECT street, hnr, hnr_suffix, plz, ortsteil, plr_id FROM addresses "
                       "WHERE street_key = ? AND hnr LIKE ? ORDER BY length(hnr), hnr, hnr_suffix, plz, fid LIMIT ?",
                       (name_key(m.group("street")), m.group("hnr") + "%", limit))
    return [{"label": _address_label(r), **r} for r in rows]


def suggest_streets(store, text: str, limit: int = MAX_SUGGESTIONS) -> list[dict]:
    """Streets starting with what was typed, else the closest spellings."""
    key = name_key(re.sub(r"\d.*$", "", text or ""))
    if not key:
        return []
    rows = store.query("SELECT street, plz, ortsteil FROM streets WHERE street_key >= ? AND street_key < ? "
                       "ORDER BY street_key, plz LIMIT ?", (key, key + "\uffff", limit))
    if not rows:
        close = difflib.get_close_matches(key, store.street_keys, n=limit, cutoff=0.75)
        rows = [r for k in close for r in store.query(
            "SELECT street, plz, ortsteil FROM streets WHERE street_key = ? ORDER BY plz LIMIT 2", (k,))][:limit]
    return [{"label": f"{r['street']}, {r['plz']} {r['ortsteil']}", **r} for r in rows]


def suggest_addresses(store, parsed: dict, limit: int = MAX_SUGGESTIONS) -> list[dict]:
    """The nearest house numbers on the street, or streets spelled alike."""
    rows = store.query("SELECT street, hnr, hnr_suffix, plz, ortsteil FROM addresses WHERE street_key = ? "
                       "ORDER BY abs(CAST(hnr AS INTEGER) - ?), hnr_suffix, fid LIMIT ?",
                       (parsed["street_key"], int(parsed["hnr"]), limit))
    if not rows:
        return suggest_streets(store, parsed["street"], limit)
    return [{"label": _address_label(r), **r} for r in rows]


def _address_label(r: dict) -> str:
    return f"{r['street']} {r['hnr']}{r['hnr_suffix']}, {r['plz']} {r['ortsteil']}"


def _kiez(store, plr_id: str, x=None, y=None) -> dict:
    plrs, areas_by_slug = _kiez_names(store, store.version())
    plr = plrs[plr_id]
    if x is not None:  # a point: the areas whose drawn boundary contains it
        slugs = store.ids_at("qm_areas", "slug", x, y)
    else:  # an address: the areas its Planungsraum belongs to
        slugs = [s for s in (plr.get("qm_areas") or "").split(";") if s]
    areas = [areas_by_slug[s] for s in slugs]
    return {"planungsraum": {"plr_id": plr["plr_id"], "plr_name": plr["plr_name"], "bezirk": plr["bezirk"],
                             "bezirksregion": plr["bzr_name"]},
            "qm_areas": [{"slug": a["slug"], "name": a["name"], "status": a["status"],
                          "boundary_basis": a["boundary_basis"]} for a in areas]}


@functools.lru_cache(maxsize=4)
def _kiez_names(store, version) -> tuple[dict, dict]:
    """The 542 Planungsräume and the QM areas by id, without geometry, once per store and
    version (a rebuild gives a new version): each look-up then reads only its address."""
    plrs = {r["plr_id"]: r for r in store.query(
        "SELECT plr_id, plr_name, bezirk, bzr_name, qm_areas FROM planungsraeume")}
    areas = {r["slug"]: r for r in store.query("SELECT slug, name, status, boundary_basis FROM qm_areas")}
    return plrs, areas


def _number(value, name) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadRequest(f"{name} must be a finite number")
    return number
