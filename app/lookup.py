"""Find a Kiez: an address or a point -> Planungsraum and QM area(s).

Addresses are looked up in the official address table (no geocoder): street and
number, postcode and Ortsteil optional (so a suggestion's label can be typed back), tolerant
of 'Str.'/'Straße', case, spaces and commas. A point is WGS84 lon/lat or EPSG:25833 x/y.
Nothing found is an answer with suggestions and a ``reason`` code (not_an_address,
no_house_number, not_found, outside_berlin), never an exception.
"""
from __future__ import annotations

import difflib
import functools
import re

from . import crs
from .errors import BadRequest
from .names import name_key

# The house number is the last number before an optional postcode and Ortsteil ("Ackerstraße 5,
# 13585 Spandau", as suggestions are labelled); street names may contain digits themselves
# ("Privatstraße 2 14", "Straße 101 5"). A five-digit number after a comma is a postcode
# ("Ackerstraße, 13355 Gesundbrunnen": no house number). The Ortsteil is read, not checked:
# the postcode decides, as in the import (``import_rows``).
_ADDRESS = re.compile(
    r"^\s*(?:(?P<plz1>\d{5})\s+)?(?P<street>.*?\D)\.?\s*(?P<hnr>(?<!,)(?<!,\s)\d+|\d{1,4})\s*(?P<suffix>[a-zA-Z])?"
    r"(?:[\s,]+(?P<plz2>\d{5}))?(?:[\s,]+(?P<place>[^\W\d_][^\d]*?))?\s*$", re.IGNORECASE)
# A street as suggestions label it ("Ackerstraße, 13355 Gesundbrunnen"), or after its postcode.
_STREET_LABEL = re.compile(r"^\s*(?P<street>.*?\S)\s*,\s*(?P<plz>\d{5})(?:\s+[^\W\d_][^\d]*)?\s*$"
                           r"|^\s*(?P<plz1>\d{5})\s+(?P<street1>\D+?)\s*$")
# What a street name (and a postcode or Ortsteil) is written with; anything else is no address.
_ADDRESS_LIKE = re.compile(r"^(?=.*[^\W\d_].*[^\W\d_])[\w\s.,'()/\-]+$")
MAX_SUGGESTIONS = 8
MAX_HNR = 99_999  # above any house number; a longer typed one is compared as this (SQL integers are 64-bit)


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
    """The Kiez of an address, and in ``other_matches`` the other postcodes and Planungsräume
    it was found in; ``ambiguous``: with no postcode typed, they lie in more than one
    Planungsraum (the search then lets the resident choose instead of guessing)."""
    text = (text or "").strip()
    if not text:
        raise BadRequest("give an address, e.g. 'Ackerstraße 1'")
    if len(text) > 200:
        raise BadRequest("address too long (at most 200 characters)")
    parsed = parse_address(text)
    if parsed is None:
        if not _ADDRESS_LIKE.match(text):
            return {"query": text, "found": False, "reason": "not_an_address", "message": "no address recognised",
                    "suggestions": []}
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
    best, *others = _matches(store, rows)
    other_plrs = sorted({m["planungsraum"]["plr_id"] for m in others} - {best["planungsraum"]["plr_id"]})
    return {"query": text, "found": True, **best, "exact": bool(exact),
            "ambiguous": bool(other_plrs) and not parsed["plz"], "other_planungsraeume": other_plrs,
            "other_matches": others}


def _matches(store, rows: list[dict]) -> list[dict]:
    """The first of ``rows`` (best first) for each postcode and Planungsraum, with its Kiez."""
    firsts = {}
    for r in rows:
        firsts.setdefault((r["plz"], r["plr_id"]), r)
    return [{"address": {k: r[k] for k in ("street", "hnr", "hnr_suffix", "plz", "ortsteil")}, **_kiez(store, r["plr_id"])}
            for r in firsts.values()]


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
    """Suggestions as you type: streets, or addresses once a house number is typed (the typed
    suffix first; only in the postcode, when one is typed: a suggestion typed back suggests itself)."""
    m = re.match(r"^\s*(?P<street>.*?[^\d\s,])\.?\s+(?P<hnr>\d+)\s*(?P<suffix>[a-zA-Z]?)", text or "")
    if not m:
        return suggest_streets(store, text, limit)
    plz = (parse_address(text) or {}).get("plz", "")
    rows = store.query("SELECT street, hnr, hnr_suffix, plz, ortsteil, plr_id FROM addresses "
                       "WHERE street_key = ? AND hnr LIKE ? AND (? = '' OR plz = ?) "
                       "ORDER BY length(hnr), hnr, hnr_suffix <> ?, hnr_suffix, plz, fid LIMIT ?",
                       (name_key(m.group("street")), m.group("hnr") + "%", plz, plz, m.group("suffix").upper(), limit))
    return [{"label": address_label(r), **r} for r in rows]


def suggest_streets(store, text: str, limit: int = MAX_SUGGESTIONS) -> list[dict]:
    """Streets starting with what was typed, else the closest spellings, each in every
    postcode it has (only the one typed in a label like 'Ackerstraße, 13355 Gesundbrunnen')."""
    label = _STREET_LABEL.match(text or "")
    street, plz = ((label["street"] or label["street1"], label["plz"] or label["plz1"]) if label
                   else (re.sub(r"\d.*$", "", text or ""), ""))
    key = name_key(street)
    if not key:
        return []
    rows = store.query("SELECT street, plz, ortsteil FROM streets WHERE street_key >= ? AND street_key < ? "
                       "AND (? = '' OR plz = ?) ORDER BY street_key, plz LIMIT ?", (key, key + "\uffff", plz, plz, limit))
    if not rows:
        close = difflib.get_close_matches(key, store.street_keys, n=limit, cutoff=0.75)
        rows = [r for k in close for r in store.query(
            "SELECT street, plz, ortsteil FROM streets WHERE street_key = ? AND (? = '' OR plz = ?) ORDER BY plz",
            (k, plz, plz))][:limit]
    return [{"label": f"{r['street']}, {r['plz']} {r['ortsteil']}", **r} for r in rows]


def suggest_addresses(store, parsed: dict, limit: int = MAX_SUGGESTIONS) -> list[dict]:
    """The nearest house numbers on the street (in the typed postcode first), or the streets
    spelled alike. Each says what to ``search`` for: the typed number stays with the street
    and postcode chosen."""
    rows = store.query("SELECT street, hnr, hnr_suffix, plz, ortsteil, plr_id FROM addresses "
                       "WHERE street_key = ? AND hnr <> '' "
                       "ORDER BY plz <> ?, abs(CAST(hnr AS INTEGER) - ?), hnr_suffix, plz, fid LIMIT ?",
                       (parsed["street_key"], parsed["plz"], min(int(parsed["hnr"]), MAX_HNR), limit))
    if rows:
        return [{"label": address_label(r), "search": address_label(r), **r} for r in rows]
    number = parsed["hnr"] + parsed["suffix"]
    return [{**s, "search": f"{s['street']} {number}, {s['plz']} {s['ortsteil']}"}
            for s in suggest_streets(store, parsed["street"], limit)]


def address_label(r: dict) -> str:
    """How suggestions and choices show an address; typed back, it finds the same one."""
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
