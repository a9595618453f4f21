"""OGC API – Features (Part 1 Core, Part 2 CRS by reference) over the store. No Flask here.

Every collection is declared once in ``COLLECTIONS``: store table, the rows it publishes,
its id column, its queryable properties, its temporal columns and the catalogue layers its
attribution comes from. The functions below answer one resource each with plain dicts (and,
for items, ready JSON text), so the thin blueprint in ``app/web/ogc.py`` renders the same
answer as JSON or HTML.

Items are answered by indexed queries only: attribute filters, ``datetime`` and paging in
SQL (``LIMIT``/``OFFSET`` in fid order); ``bbox`` through the store's R-tree, exact: an
envelope inside the box is a match without reading its geometry, only envelopes crossing
the box edge have their geometry tested. Coordinates leave in CRS84 (lon/lat, 6 decimals)
or, with ``crs``, in EPSG:25833 (metres, 2 decimals); transformation is one vectorised call
per page. Errors carry their HTTP status (400 for bad parameters, 404 for unknown things).

The built store is read-only, so a rendered GeoJSON page is a function of the store file and
the request: ``items_geojson`` keeps recent pages per process (bounded in bytes, dropped when
the store file changes), with the ``timeStamp`` of when they were generated. Collections that
planners edit at run time (projects) are always read fresh.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from urllib.parse import quote, urlencode

import numpy as np
import shapely

from . import catalog, crs
from .errors import BadRequest, NotFound
from .params import whole_number
from .store.geometry import decode as decode_geometry

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_25833 = "http://www.opengis.net/def/crs/EPSG/0/25833"
SUPPORTED_CRS = (CRS84, EPSG_25833)
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
DECIMALS = {CRS84: crs.WEB_DECIMALS, EPSG_25833: 2}
DISPLAY_DECIMALS = {CRS84: 4, EPSG_25833: 0}       # HTML pages: about 10 m, 1 m
CRS_NAMES = {CRS84: "CRS84", EPSG_25833: "EPSG:25833"}

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
TITLE = "Kiezkarte – OGC API Features"
DESCRIPTION = ("Berlin's Quartiersmanagement areas, Planungsräume with their burdens, QM projects, green spaces, "
               "social infrastructure and Milieuschutz areas, for GIS clients (QGIS, GDAL/OGR, ArcGIS).")


@dataclass(frozen=True)
class Queryable:
    """A property that ``/items`` can be filtered by with ``?name=value``.

    ``member``: the property is a ';'-separated list and the filter matches lists containing
    the value. ``sql``: an expression over the table (aliased ``t``) for a derived property.
    """
    name: str
    description: str = ""
    member: bool = False


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: str
    id_column: str
    layers: tuple[str, ...]                       # catalogue layers for attribution and licence
    where: str = ""                               # the rows of ``table`` this collection publishes
    params: tuple = ()
    queryables: tuple[Queryable, ...] = ()
    temporal: tuple[str, str] | None = None       # (start year column, end year column)
    integers: tuple[str, ...] = ()                # columns published as whole numbers
    booleans: tuple[str, ...] = ()                # 0/1 columns published as false/true
    derived: tuple[tuple[str, str], ...] = ()     # (property, SQL expression over alias t)
    editable: bool = False                        # changed at run time: count and extent read per request

    @property
    def attribution(self) -> list[str]:
        return catalog.attributions(*self.layers)

    @property
    def licence(self) -> list[str]:
        return list(dict.fromkeys(catalog.layer(layer).licence for layer in self.layers))


_SOCIAL_KINDS = ("kita", "school", "youth_centre", "care_home", "pharmacy")
_BEZIRK_OF_PLACE = "(SELECT p.bezirk FROM planungsraeume p WHERE p.plr_id = t.plr_id)"
_BEZIRK_OF_PROJECT = "(SELECT q.bezirk FROM qm_areas q WHERE q.slug = t.area_slug)"

COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "qm_areas", "Quartiersmanagement-Gebiete (Grenzen angenähert)",
        "The Quartiersmanagement areas that have a geometry (34 of 51). The official boundaries are not "
        "available offline, so every boundary is an approximation and says which in `boundary_basis`: "
        "`source` = union of the Planungsräume a source names (can be larger than the area), `name-match` = "
        "the Planungsraum of the same name (the heart of the area, not its boundary). Programme years are "
        "the temporal extent (`datetime`); an area without `end_year` is still running.",
        "qm_areas", "slug", ("qm_areas",), where="geom IS NOT NULL",
        queryables=(Queryable("bezirk", "Bezirk"), Queryable("status_group", "active or ended"),
                    Queryable("boundary_basis", "source or name-match")),
        temporal=("start_year", "end_year"), integers=("start_year", "end_year", "residents_stated")),
    Collection(
        "planungsraeume", "LOR-Planungsräume mit Indikatoren",
        "The 542 LOR Planungsräume (2021) with residents (30.06.2022), the Umweltgerechtigkeit core "
        "indicators 2021/2022 (ug_*: 1 low, 2 medium, 3 high burden, 0 no data; ug_burden_count = number "
        "in category 3), MSS 2021 status and dynamics, public green and playground area, green per resident, "
        "counts of kitas, schools and youth centres, and the QM areas they belong to (`qm_areas`, "
        "';'-separated slugs).",
        "planungsraeume", "plr_id", ("planungsraeume", "einwohner", "umweltgerechtigkeit", "mss", "gruenanlagen"),
        queryables=(Queryable("bezirk", "Bezirk"), Queryable("bez_id", "Bezirk number"),
                    Queryable("bzr_id", "Bezirksregion id"), Queryable("pgr_id", "Prognoseraum id"),
                    Queryable("ug_burden_count", "number of Umweltgerechtigkeit indicators in category 3"),
                    Queryable("ug_air"), Queryable("ug_noise"), Queryable("ug_thermal"), Queryable("ug_green"),
                    Queryable("ug_social"), Queryable("mss_status"), Queryable("mss_dynamic"),
                    Queryable("qm_areas", "slug of a QM area the Planungsraum belongs to", member=True)),
        integers=("residents", "mss_residents_2020", "age_under_6", "age_6_15", "age_15_18", "age_18_27",
                  "age_27_45", "age_45_55", "age_55_65", "age_65_plus", "foreigners")),
    Collection(
        "projects", "QM-Projekte",
        "The researched Quartiersmanagement projects (fund, Handlungsfelder, years, cost, status, place). "
        "None was published with coordinates: `location_precision` says how each was placed (facility, "
        "planungsraum, area) and projects that could not be placed have no geometry; as OGC API Features "
        "requires, a `bbox` query also returns those. `datetime` matches the years start_year..end_year; "
        "a project without end_year counts as open-ended, one without any year matches every `datetime`.",
        "projects", "id", ("projects",), editable=True, booleans=("climate", "handlungsfeld_inferred"),
        queryables=(Queryable("fund", "Baufonds, Projektfonds, Aktionsfonds, Quartiersfonds (historical), not stated"),
                    Queryable("status", "completed, ongoing, unknown"), Queryable("area_slug", "QM area"),
                    Queryable("bezirk", "Bezirk of the QM area"), Queryable("climate", "Soziales Klimaprojekt"),
                    Queryable("location_precision", "facility, planungsraum, area, none"),
                    Queryable("handlungsfelder", "a Handlungsfeld of the project", member=True)),
        temporal=("start_year", "end_year"), integers=("start_year", "end_year"),
        derived=(("bezirk", _BEZIRK_OF_PROJECT),)),
    Collection(
        "green_spaces", "Grünanlagen (Mittelpunkte)",
        "Public green spaces as centre points, with their Planungsraum and Bezirk.",
        "places", "id", ("green_spaces",), where="kind = 'green_space'",
        queryables=(Queryable("plr_id", "Planungsraum"), Queryable("plz", "postcode"), Queryable("bezirk", "Bezirk")),
        derived=(("bezirk", _BEZIRK_OF_PLACE),)),
    Collection(
        "social_infrastructure", "Soziale Infrastruktur",
        "Kitas, schools, youth centres, care homes and pharmacies (`kind`), with their Planungsraum and Bezirk.",
        "places", "id", ("kitas", "schools", "youth_centres", "care_homes", "pharmacies"),
        where=f"kind IN ({', '.join('?' * len(_SOCIAL_KINDS))})", params=_SOCIAL_KINDS,
        queryables=(Queryable("kind", ", ".join(_SOCIAL_KINDS)), Queryable("plr_id", "Planungsraum"),
                    Queryable("plz", "postcode"), Queryable("bezirk", "Bezirk")),
        derived=(("bezirk", _BEZIRK_OF_PLACE),)),
    Collection(
        "milieuschutz", "Soziale Erhaltungsgebiete (Milieuschutz) und städtebauliche Erhaltungsgebiete",
        "Preservation areas: `kind` ES = soziale Erhaltungsverordnung (Milieuschutz), EM = städtebauliche "
        "Erhaltungsverordnung.",
        "milieuschutz", "id", ("milieuschutz",),
        queryables=(Queryable("kind", "ES or EM"), Queryable("bezirk", "Bezirk"))),
)
_BY_ID = {c.id: c for c in COLLECTIONS}

ITEMS_PARAMS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs"})
ITEM_PARAMS = frozenset({"f", "crs"})


def get(collection_id: str) -> Collection:
    try:
        return _BY_ID[collection_id]
    except KeyError:
        raise NotFound(f"no collection '{collection_id}'; collections: {', '.join(_BY_ID)}") from None


def check_params(args: dict[str, list[str]], allowed) -> dict[str, str]:
    """Unknown or repeated query parameters are a 400 (OGC API Features /req/core/query-param-unknown)."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    repeated = sorted(k for k, v in args.items() if len(v) > 1)
    if repeated:
        raise BadRequest(f"parameter(s) given more than once: {', '.join(repeated)}")
    return {k: v[0] for k, v in args.items()}


# -- metadata documents --------------------------------------------------------------------------

def _link(href: str, rel: str, type_: str, title: str = "") -> dict:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _all_layers() -> tuple[str, ...]:
    return tuple(dict.fromkeys(layer for c in COLLECTIONS for layer in c.layers))


def _credits() -> dict:
    layers = _all_layers()
    return {"attribution": catalog.attributions(*layers),
            "licence": list(dict.fromkeys(catalog.layer(layer).licence for layer in layers))}


def landing(base: str) -> dict:
    return {
        "title": TITLE, "description": DESCRIPTION,
        "links": [
            _link(base, "self", JSON, "this document"),
            _link(f"{base}?f=html", "alternate", HTML, "this document as HTML"),
            _link(f"{base}/api", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
            _link(f"{base}/api?f=html", "service-doc", HTML, "the API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            _link(f"{base}/collections", "data", JSON, "the collections"),
        ],
        **_credits(),
    }


def conformance(base: str) -> dict:
    return {"conformsTo": list(CONFORMANCE),
            "links": [_link(f"{base}/conformance", "self", JSON), _link(f"{base}/conformance?f=html", "alternate", HTML)],
            **_credits()}


def collections(store, base: str) -> dict:
    return {"links": [_link(f"{base}/collections", "self", JSON), _link(f"{base}/collections?f=html", "alternate", HTML)],
            "collections": [_collection_doc(store, c, base) for c in COLLECTIONS],
            "crs": list(SUPPORTED_CRS), **_credits()}


def collection(store, collection_id: str, base: str) -> dict:
    return _collection_doc(store, get(collection_id), base, self_link=True)


def _collection_doc(store, c: Collection, base: str, self_link: bool = False) -> dict:
    url = f"{base}/collections/{c.id}"
    links = [
        _link(url, "self" if self_link else "collection", JSON, c.title),
        _link(f"{url}?f=html", "alternate", HTML, "as HTML"),
        _link(f"{url}/items", "items", GEOJSON, "the features"),
        _link(f"{url}/items?f=html", "items", HTML, "the features as HTML"),
        _link(f"{url}/queryables", REL_QUERYABLES, SCHEMA, "the properties items can be filtered by"),
        _link(f"{url}/schema", "describedby", SCHEMA, "the schema of the features"),
    ]
    for layer in c.layers:
        source = catalog.layer(layer).source
        if source.startswith("http"):
            links.append(_link(source, "license", HTML, f"{catalog.layer(layer).title}: source and licence"))
    meta = _extent(store, c)
    extent = {"spatial": {"bbox": [list(meta["bbox"])], "crs": CRS84}}
    if c.temporal:
        extent["temporal"] = {"interval": [list(meta["interval"])], "trs": TRS}
    return {"id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
            "extent": extent, "crs": list(SUPPORTED_CRS), "storageCrs": EPSG_25833,
            "numberOfFeatures": meta["count"], "attribution": c.attribution, "licence": c.licence,
            "queryables": [q.name for q in c.queryables], "links": links}


def queryables(store, collection_id: str, base: str) -> dict:
    """The queryable properties as JSON Schema (as OGC API Features Part 3 publishes them)."""
    c = get(collection_id)
    types = _meta(store, c)["types"]
    props = {}
    for q in c.queryables:
        schema = {"title": q.name, "type": types[q.name]}
        if q.member:
            schema = {"title": q.name, "type": "string"}
        if q.description:
            schema["description"] = q.description + (" (matches lists containing the value)" if q.member else "")
        props[q.name] = schema
    return {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": f"{base}/collections/{c.id}/queryables",
            "type": "object", "title": c.title, "properties": props, "additionalProperties": False,
            "attribution": c.attribution, "licence": c.licence,
            "links": [_link(f"{base}/collections/{c.id}", "collection", JSON, c.title)]}


def schema(store, collection_id: str, base: str) -> dict:
    """JSON Schema of one feature (GeoJSON), with the type of every property."""
    c = get(collection_id)
    types = _meta(store, c)["types"]
    return {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": f"{base}/collections/{c.id}/schema",
            "title": c.title, "type": "object", "required": ["type", "geometry", "properties"],
            "properties": {"type": {"type": "string", "enum": ["Feature"]},
                           "id": {"type": "string", "description": f"the {c.id_column} of the feature"},
                           "geometry": {"description": "GeoJSON geometry or null"},
                           "properties": {"type": "object",
                                          "properties": {name: {"type": t} for name, t in types.items()}}},
            "attribution": c.attribution, "licence": c.licence,
            "links": [_link(f"{base}/collections/{c.id}", "collection", JSON, c.title)]}


def openapi(store, base: str) -> dict:
    """The API definition (OpenAPI 3.0), generated from the declared collections."""
    def param(name, description, schema_, **extra):
        return {"name": name, "in": "query", "required": False, "description": description, "schema": schema_,
                "style": "form", "explode": False, **extra}

    f = param("f", "response format (default: from the Accept header, else JSON)", {"type": "string", "enum": ["json", "html"]})
    crs_param = param("crs", "CRS of the response coordinates (default CRS84)", {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)})
    common = [
        param("limit", f"number of features per page (default {DEFAULT_LIMIT}; larger values are reduced to {MAX_LIMIT})",
              {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        param("offset", "number of features to skip (the next links set it)", {"type": "integer", "minimum": 0, "default": 0}),
        param("bbox", "west,south,east,north (CRS84 lon/lat unless bbox-crs says otherwise)",
              {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
        param("bbox-crs", "CRS of bbox (default CRS84)", {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}),
        param("datetime", "an instant or interval (RFC 3339; '..' or empty for an open end); dates and years allowed",
              {"type": "string"}),
        crs_param, f,
    ]
    ok = {"description": "success"}
    errors = {"400": {"description": "bad parameter"}, "404": {"description": "not found"}}

    def op(summary, op_id, parameters, media):
        return {"get": {"summary": summary, "operationId": op_id, "parameters": parameters,
                        "responses": {"200": {**ok, "content": {m: {} for m in media}}, **errors}}}

    paths = {
        "/": op("landing page", "getLandingPage", [f], (JSON, HTML)),
        "/api": op("this API definition", "getAPI", [f], (OPENAPI, HTML)),
        "/conformance": op("conformance classes", "getConformance", [f], (JSON, HTML)),
        "/collections": op("the collections", "getCollections", [f], (JSON, HTML)),
    }
    for c in COLLECTIONS:
        types = _meta(store, c)["types"]
        filters = [param(q.name, (q.description or q.name) + (" (list contains)" if q.member else ""),
                         {"type": "string" if q.member else types[q.name]}) for q in c.queryables]
        p = f"/collections/{c.id}"
        paths[p] = op(c.title, f"describe_{c.id}", [f], (JSON, HTML))
        paths[f"{p}/items"] = op(f"features of {c.id}", f"getFeatures_{c.id}", common + filters, (GEOJSON, HTML))
        item = op(f"one feature of {c.id}", f"getFeature_{c.id}", [crs_param, f], (GEOJSON, HTML))
        item["get"]["parameters"].insert(0, {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}})
        paths[f"{p}/items/{{featureId}}"] = item
        paths[f"{p}/queryables"] = op(f"queryables of {c.id}", f"getQueryables_{c.id}", [f], (SCHEMA, HTML))
        paths[f"{p}/schema"] = op(f"schema of {c.id}", f"getSchema_{c.id}", [f], (SCHEMA, HTML))
    return {"openapi": "3.0.3",
            "info": {"title": TITLE, "version": "1.0.0", "description": DESCRIPTION,
                     "license": {"name": "code MIT; data under the licences named per collection"},
                     "x-attribution": _credits()["attribution"], "x-licence": _credits()["licence"]},
            "servers": [{"url": base}], "paths": paths}


# -- items ---------------------------------------------------------------------------------------

@dataclass
class Page:
    """One answer of /items or /items/{id}: metadata plus features as (id, properties, geometry JSON)."""
    collection: Collection
    content_crs: str
    features: list[tuple[str, dict, str | None]]
    number_matched: int | None = None
    links: list[dict] = field(default_factory=list)
    time_stamp: str = ""
    query: dict = field(default_factory=dict)

    def describe_geometry(self, geometry_json: str | None) -> str:
        """The geometry for people (HTML pages): 'Point, 13.3413 52.5416 (CRS84)', 'MultiPolygon, 57
        vertices (CRS84)' or 'no location'."""
        if geometry_json is None:
            return "no location"
        geometry = shapely.from_geojson(geometry_json)
        crs_name = CRS_NAMES[self.content_crs]
        if geometry.geom_type == "Point":
            digits = DISPLAY_DECIMALS[self.content_crs]
            return f"Point, {geometry.x:.{digits}f} {geometry.y:.{digits}f} ({crs_name})"
        return f"{geometry.geom_type}, {shapely.get_num_coordinates(geometry):,} vertices ({crs_name})"

    def geojson(self) -> str:
        """The GeoJSON text: geometries are already JSON, so they are spliced in, not re-encoded."""
        c = self.collection
        head = {"type": "FeatureCollection", "timeStamp": self.time_stamp, "numberMatched": self.number_matched,
                "numberReturned": len(self.features), "attribution": c.attribution, "licence": c.licence,
                "links": self.links}
        parts = [_dumps(head)[:-1], ',"features":[',
                 ",".join(_feature_json(fid, props, geom) for fid, props, geom in self.features), "]}"]
        return "".join(parts)

    def feature(self) -> str:
        c = self.collection
        fid, props, geom = self.features[0]
        extra = {"attribution": c.attribution, "licence": c.licence, "links": self.links}
        return _feature_json(fid, props, geom)[:-1] + "," + _dumps(extra)[1:]


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _feature_json(fid, props, geom) -> str:
    return f'{{"type":"Feature","id":{_dumps(fid)},"properties":{_dumps(props)},"geometry":{geom or "null"}}}'


def items(store, collection_id: str, args: dict[str, list[str]], base: str) -> Page:
    c = get(collection_id)
    allowed = ITEMS_PARAMS | {q.name for q in c.queryables}
    query = check_params(args, allowed)
    limit = whole_number(query.get("limit"), "limit", DEFAULT_LIMIT, minimum=1)
    limit = min(limit, MAX_LIMIT)  # larger values are not an error (OGC API Features 1.0.1, /req/core/fc-limit-response-1)
    offset = whole_number(query.get("offset"), "offset", 0, minimum=0)
    out_crs = _crs(query.get("crs"), "crs")
    bbox_crs = _crs(query.get("bbox-crs"), "bbox-crs")
    where, params = _filters(store, c, query)

    if query.get("bbox") is not None:
        area = _bbox(query["bbox"], bbox_crs)
        fids = _fids_in_area(store, c, area, where, params)
        matched = len(fids)
        page = fids[offset:offset + limit]
        rows = _rows(store, c, f"t.fid IN ({','.join(map(str, page))})", ()) if page else []
    else:
        matched = store.scalar(f'SELECT COUNT(*) FROM "{c.table}" t WHERE {where}', params)
        rows = _rows(store, c, where, params, limit=limit, offset=offset)

    result = Page(c, out_crs, _features(store, c, rows, out_crs), number_matched=matched, time_stamp=_now(), query=query)
    result.links = _page_links(base, c, query, offset, limit, matched, len(rows))
    return result


def items_geojson(store, collection_id: str, args: dict[str, list[str]], base: str) -> tuple[bytes, str, str]:
    """(GeoJSON as UTF-8, content CRS, strong ETag) of one page of items; recent pages come from memory."""
    c = get(collection_id)
    if c.editable:
        page = items(store, collection_id, args, base)
        body = page.geojson().encode("utf-8")
        return body, page.content_crs, _etag(body)
    key = ("items", _version(store), collection_id, base, tuple(sorted((k, tuple(v)) for k, v in args.items())))
    hit = _PAGES.get(store, key)
    if hit is None:
        page = items(store, collection_id, args, base)
        body = page.geojson().encode("utf-8")
        hit = (body, page.content_crs, _etag(body))
        _PAGES.put(store, key, hit, len(body))
    return hit


def _etag(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class _PageCache:
    """Least recently used rendered pages per store, at most ``max_bytes`` of text per store."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._stores: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def get(self, store, key):
        with self._lock:
            entries = self._stores.get(store)
            if entries is None or key not in entries:
                return None
            entries.move_to_end(key)
            return entries[key][0]

    def put(self, store, key, value, size: int) -> None:
        if size > self.max_bytes // 4:
            return
        with self._lock:
            entries = self._stores.setdefault(store, OrderedDict())
            entries[key] = (value, size)
            total = sum(s for _, s in entries.values())
            while total > self.max_bytes:
                _, (_, dropped) = entries.popitem(last=False)
                total -= dropped


_PAGES = _PageCache(max_bytes=64 * 1024 * 1024)


def _version(store):
    """Changes when a rebuild replaces the store (its file, or its PostGIS schema)."""
    return store.version()


def item(store, collection_id: str, feature_id: str, args: dict[str, list[str]], base: str) -> Page:
    c = get(collection_id)
    query = check_params(args, ITEM_PARAMS)
    out_crs = _crs(query.get("crs"), "crs")
    where = f"({c.where}) AND " if c.where else ""
    rows = _rows(store, c, f"{where}t.{_quoted(c.id_column)} = ?", (*c.params, feature_id))
    if not rows:
        raise NotFound(f"no feature '{feature_id}' in collection '{c.id}'")
    url = f"{base}/collections/{c.id}/items/{quote(feature_id, safe='')}"
    crs_q = {"crs": query["crs"]} if "crs" in query else {}
    links = [_link(_url(url, {**crs_q, "f": "json"}), "self", GEOJSON, "this feature"),
             _link(_url(url, {**crs_q, "f": "html"}), "alternate", HTML, "this feature as HTML"),
             _link(f"{base}/collections/{c.id}", "collection", JSON, c.title)]
    return Page(c, out_crs, _features(store, c, rows, out_crs), links=links, time_stamp=_now(), query=query)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _url(path: str, query: dict) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def _page_links(base: str, c: Collection, query: dict, offset: int, limit: int, matched: int, returned: int) -> list[dict]:
    url = f"{base}/collections/{c.id}/items"
    keep = {k: v for k, v in query.items() if k not in ("f", "offset", "limit")}

    def at(off, fmt):
        return _url(url, {**keep, "limit": limit, **({"offset": off} if off else {}), "f": fmt})

    links = [_link(at(offset, "json"), "self", GEOJSON, "this page"),
             _link(at(offset, "html"), "alternate", HTML, "this page as HTML"),
             _link(f"{base}/collections/{c.id}", "collection", JSON, c.title)]
    for fmt, type_ in (("json", GEOJSON), ("html", HTML)):
        if offset + returned < matched:
            links.append(_link(at(offset + limit, fmt), "next", type_, "next page"))
        if offset > 0:
            links.append(_link(at(max(0, offset - limit), fmt), "prev", type_, "previous page"))
    return links


# -- parameters ----------------------------------------------------------------------------------

def _crs(text: str | None, name: str) -> str:
    if text is None:
        return CRS84
    value = text.strip().strip("<>")
    if value not in SUPPORTED_CRS:
        raise BadRequest(f"{name} must be one of {', '.join(SUPPORTED_CRS)}")
    return value


def _bbox(text: str, bbox_crs: str):
    """The box as a polygon in the store CRS, or None when it misses Berlin."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadRequest("bbox must be four numbers: minx,miny,maxx,maxy (CRS84: west,south,east,north)") from None
    if len(values) == 6:  # with heights: drop them
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise BadRequest("bbox must be four numbers: minx,miny,maxx,maxy (CRS84: west,south,east,north)")
    minx, miny, maxx, maxy = values
    if minx > maxx or miny > maxy:
        raise BadRequest("bbox must have minx <= maxx and miny <= maxy (boxes across the antimeridian are not supported)")
    if bbox_crs == EPSG_25833:
        return shapely.box(minx, miny, maxx, maxy)
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise BadRequest("bbox in CRS84 must lie within -180..180 (lon) and -90..90 (lat)")
    eps = 1e-9  # a point or a line is a valid box; give it a hair of width so it stays a polygon
    return crs.lonlat_box_in_store_crs((minx - eps, miny - eps, maxx + eps, maxy + eps))


_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _year(text: str, name: str) -> int:
    """The (UTC) year of an RFC 3339 date-time, a date, a year-month or a year."""
    text = text.strip()
    m = _DATE.fullmatch(text)
    try:
        if m:
            year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
            date(year, month, day)  # validates month and day
            return year
        if "T" not in text.upper():
            raise ValueError
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} '{text[:40]}' is not an RFC 3339 date-time, a date or a year") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.year


def parse_datetime(text: str) -> tuple[int | None, int | None]:
    """``datetime`` -> (first year, last year) it touches; None for an open end."""
    parts = text.split("/")
    if len(parts) == 1:
        if parts[0].strip() in ("", ".."):
            raise BadRequest("datetime must be an instant or an interval such as 2015/2020, ../2020 or 2015/..")
        year = _year(parts[0], "datetime")
        return year, year
    if len(parts) != 2:
        raise BadRequest("datetime must be an instant or an interval start/end")
    start, end = ((None if p.strip() in ("", "..") else _year(p, "datetime")) for p in parts)
    if start is None and end is None:
        raise BadRequest("datetime needs at least one end: '../..' is not an interval")
    if start is not None and end is not None and start > end:
        raise BadRequest("datetime interval must not end before it starts")
    return start, end


def _filters(store, c: Collection, query: dict) -> tuple[str, tuple]:
    """SQL WHERE (over alias t) and parameters for the collection, its property filters and datetime."""
    where, params = [f"({c.where})" if c.where else "TRUE"], list(c.params)
    types = _meta(store, c)["types"]
    derived = dict(c.derived)
    for q in c.queryables:
        if q.name not in query:
            continue
        expr = derived.get(q.name, f"t.{_quoted(q.name)}")
        value = query[q.name]
        if q.member:
            where.append(f"instr(';' || {expr} || ';', ';' || ? || ';') > 0")
            params.append(value)
        else:
            where.append(f"{expr} = ?")
            params.append(_typed(value, types[q.name], q.name))
    if "datetime" in query:
        start, end = parse_datetime(query["datetime"])
        if c.temporal:  # collections without time match every datetime (OGC API Features /req/core/fc-time-response)
            s, e = (f"t.{_quoted(col)}" for col in c.temporal)
            if end is not None:
                where.append(f"({s} IS NULL OR {s} <= ?)")
                params.append(end)
            if start is not None:
                where.append(f"({e} IS NULL OR {e} >= ?)")
                params.append(start)
    return " AND ".join(where), tuple(params)


def _typed(value: str, type_: str, name: str):
    try:
        if type_ == "integer":
            return int(value)
        if type_ == "number":
            return float(value)
        if type_ == "boolean":
            return {"true": 1, "1": 1, "false": 0, "0": 0}[value.strip().lower()]
    except (ValueError, KeyError):
        raise BadRequest(f"{name} must be a{'n' if type_[0] in 'ai' else ''} {type_}, not '{value[:40]}'") from None
    return value


# -- reading ------------------------------------------------------------------------------------

def _columns(store, c: Collection) -> list[str]:
    return list(_meta(store, c)["columns"])


def _rows(store, c: Collection, where: str, params, *, limit: int | None = None, offset: int = 0) -> list[dict]:
    cols = ", ".join([f"t.{_quoted(col)}" for col in _columns(store, c)]
                     + [f"{sql} AS {_quoted(name)}" for name, sql in c.derived])
    sql = f'SELECT t.geom AS geom, {cols} FROM "{c.table}" t WHERE {where} ORDER BY t.fid'
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return store.query(sql, params)


def _fids_in_area(store, c: Collection, area, where: str, params) -> list[int]:
    """Fids (ascending) of the features meeting ``area`` (store CRS), plus those without geometry."""
    no_geometry = [r["fid"] for r in store.query(f'SELECT t.fid FROM "{c.table}" t WHERE {where} AND t.geom IS NULL', params)]
    if area is None:
        return no_geometry
    envelopes = store.envelopes(c.table, where, params, bbox=area.bounds)
    if not envelopes:
        return no_geometry
    fid, minx, miny, maxx, maxy = (np.array(col) for col in zip(*envelopes))
    shapely.prepare(area)
    corners = np.stack([np.column_stack([minx, miny]), np.column_stack([maxx, maxy])], axis=1)
    inside = shapely.covers(area, shapely.envelope(shapely.multipoints(corners)))
    edge = [int(f) for f in fid[~inside]]
    hits = set(int(f) for f in fid[inside])
    if edge:
        rows = store.query(f'SELECT fid, geom FROM "{c.table}" WHERE fid IN ({",".join(map(str, edge))})')
        geoms = np.array([decode_geometry(r["geom"]) for r in rows], dtype=object)
        hits.update(r["fid"] for r, hit in zip(rows, shapely.intersects(area, geoms)) if hit)
    return sorted(hits.union(no_geometry))


def _features(store, c: Collection, rows: list[dict], out_crs: str) -> list[tuple[str, dict, str | None]]:
    geoms = np.array([decode_geometry(r.pop("geom")) for r in rows], dtype=object)
    booleans = _meta(store, c)["booleans"]
    return [(str(r[c.id_column]), _properties(c, r, booleans), g) for r, g in zip(rows, _geometry_json(geoms, out_crs))]


def _properties(c: Collection, row: dict, booleans: tuple[str, ...]) -> dict:
    """Store values as JSON values: NaN -> null, whole-number columns -> int, 0/1 -> false/true."""
    for name, value in row.items():
        if isinstance(value, float):
            if math.isnan(value):
                row[name] = None
            elif name in c.integers:
                row[name] = int(value)
    for name in booleans:
        if row.get(name) is not None:
            row[name] = bool(row[name])
    return row


def _geometry_json(geoms: np.ndarray, out_crs: str) -> list[str | None]:
    """GeoJSON geometry texts in ``out_crs``, rounded; one transformer call for the whole page."""
    if not len(geoms):
        return []
    present = shapely.is_geometry(geoms)
    out = np.empty(len(geoms), dtype=object)
    if present.any():
        some = geoms[present]
        coords = shapely.get_coordinates(some)
        if out_crs == CRS84:
            x, y = crs.store_to_web_transformer().transform(coords[:, 0], coords[:, 1])
            coords = np.column_stack([x, y])
        coords = np.round(coords, DECIMALS[out_crs])
        out[present] = shapely.to_geojson(shapely.set_coordinates(some.copy(), coords))
    return [g if isinstance(g, str) else None for g in out]


# -- per-store metadata ----------------------------------------------------------------------------

_META: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_SQL_TYPES = {"INTEGER": "integer", "MEDIUMINT": "integer", "SMALLINT": "integer", "TINYINT": "integer",
              "REAL": "number", "FLOAT": "number", "DOUBLE": "number", "BOOLEAN": "boolean", "TEXT": "string"}


def _cached(store, key, compute):
    per_store = _META.setdefault(store, {})
    key = (_version(store), *key)
    if key not in per_store:
        per_store[key] = compute()
    return per_store[key]


def _meta(store, c: Collection) -> dict:
    """Columns and property types of a collection; read once per store."""
    return _cached(store, ("meta", c.id), lambda: _read_meta(store, c))


def _extent(store, c: Collection) -> dict:
    """Count, CRS84 bbox and temporal interval; read once per store, per request when editable."""
    return _read_extent(store, c) if c.editable else _cached(store, ("extent", c.id), lambda: _read_extent(store, c))


def _read_meta(store, c: Collection) -> dict:
    info = store.columns(c.table)
    columns = [r["name"] for r in info if r["name"] not in ("fid", "geom")]
    types = {}
    for r in info:
        if r["name"] in columns:
            types[r["name"]] = ("integer" if r["name"] in c.integers else "boolean" if r["name"] in c.booleans
                                else _SQL_TYPES.get(r["type"].split("(")[0].upper(), "string"))
    booleans = tuple(n for n, t in types.items() if t == "boolean")
    for name, _ in c.derived:
        types[name] = "string"
    return {"columns": columns, "types": types, "booleans": booleans}


def _read_extent(store, c: Collection) -> dict:
    where = c.where or "TRUE"
    count = store.scalar(f'SELECT COUNT(*) FROM "{c.table}" t WHERE {where}', c.params)
    envelopes = store.envelopes(c.table, where, c.params)
    if envelopes:
        _, minx, miny, maxx, maxy = zip(*envelopes)
        bounds = crs.store_to_web_transformer().transform_bounds(min(minx), min(miny), max(maxx), max(maxy))
    else:
        bounds = crs.BERLIN_LONLAT
    meta = {"count": count, "bbox": tuple(round(v, 6) for v in bounds)}
    if c.temporal:
        s, e = c.temporal
        row = store.query(f'SELECT MIN({s}) AS s, MAX({e}) AS e, SUM(CASE WHEN {e} IS NULL AND {s} IS NOT NULL THEN 1 ELSE 0 END) AS open '
                          f'FROM "{c.table}" t WHERE {where}', c.params)[0]
        start = f"{int(row['s'])}-01-01T00:00:00Z" if row["s"] is not None else None
        end = f"{int(row['e'])}-12-31T23:59:59Z" if row["e"] is not None and not row["open"] else None
        meta["interval"] = (start, end)
    return meta
