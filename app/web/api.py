"""JSON API (EPSG:4326, RFC 7946, application/geo+json): parse, call one function, answer."""
from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, jsonify, request, url_for

from .. import catalog, export, geojson, lookup, nearby, openapi, queries, stats
from ..errors import BadRequest, NotFound
from ..project_filter import ProjectFilter, parse_bbox
from . import get_store
from .http import text_response

bp = Blueprint("api", __name__, url_prefix="/api")
GEOJSON = "application/geo+json"


def _collection(features: list[dict], *layer_ids: str):
    body = {"type": "FeatureCollection", "attribution": catalog.attributions(*layer_ids), "features": features}
    response = jsonify(body)
    response.mimetype = GEOJSON
    return response


def _feature(body: dict):
    response = jsonify(body)
    response.mimetype = GEOJSON
    return response


def _stored(key: str):
    """A precomputed layer: its bytes and ETag are made once per process (the built store is immutable)."""
    store = get_store()
    cache = current_app.extensions.setdefault("kiezkarte_layer_responses", {})
    if key not in cache:
        body = store.geojson(key)
        if body is None:
            raise NotFound(f"layer '{key}' is not in the store; rebuild it")
        encoded = body.encode("utf-8")
        cache[key] = (encoded, hashlib.sha256(encoded).hexdigest()[:32])
    body, etag = cache[key]
    return text_response(body, GEOJSON, max_age=3600, etag=etag)


@bp.get("/")
def index():
    return jsonify({"openapi": url_for(".openapi_spec"), "endpoints": {
        "areas": url_for(".areas"), "area": "/api/areas/<slug>",
        "planungsraeume": url_for(".planungsraeume"), "planungsraum": "/api/planungsraeume/<plr_id>",
        "projects": url_for(".projects") + "?area=<slug>&fund=<fund>", "places": url_for(".places") + "?kind=kita,school&bbox=w,s,e,n",
        "bezirke": url_for(".bezirke"), "lookup": url_for(".lookup_view") + "?address=… or ?lat=…&lon=…",
        "suggest": url_for(".suggest") + "?q=…", "export": "/api/export/<layer>.<geojson|csv|gpkg>?<project filters>",
        "stats": url_for(".statistics") + "?<project filters>", "compare": url_for(".compare") + "?sort=…&order=desc", "indicators": url_for(".indicator_list"), "layers": url_for(".layers")}})


@bp.get("/openapi.json")
def openapi_spec():
    return jsonify(openapi.spec())


@bp.get("/areas")
def areas():
    return _stored("qm_areas")


AREA_RESPONSES = 256  # kept per process: 51 areas (and unknown slugs are not kept)


@bp.get("/areas/<slug>")
def area(slug):
    """One area: read only from the built store, so its bytes and ETag are made once per process
    and store version (a rebuild changes the version; the area's GeoJSON costs ~3 ms to render)."""
    store = get_store()
    key = (store.version(), slug)
    cache = current_app.extensions.setdefault("kiezkarte_area_responses", {})
    hit = cache.get(key)
    if hit is None:
        row, geom = queries.area_detail(store, slug)
        body = _feature(geojson.feature(row, geom, feature_id=slug)).get_data()
        hit = (body, hashlib.sha256(body).hexdigest()[:32])
        if len(cache) >= AREA_RESPONSES:
            cache.clear()
        cache[key] = hit
    return text_response(hit[0], GEOJSON, max_age=60, etag=hit[1])


@bp.get("/planungsraeume")
def planungsraeume():
    """All 542, or only those near a QM area (``?area=<slug>``) or meeting a box (``?bbox=w,s,e,n``)."""
    area, bbox = request.args.get("area"), request.args.get("bbox")
    if area and bbox:
        raise BadRequest("give area or bbox, not both")
    if area:
        _, geom = queries.area(get_store(), area)  # 404 for an unknown area
        return _stored_near("planungsraeume", nearby.around(geom) if geom is not None else None)
    if bbox:
        return _stored_near("planungsraeume", nearby.rounded(parse_bbox(bbox)))
    return _stored("planungsraeume")


def _stored_near(key: str, box):
    """The features of a precomputed layer meeting a lon/lat box (none without a box), cached per box."""
    cache = current_app.extensions.setdefault("kiezkarte_layer_subsets", {})
    entry = cache.get((key, box))
    if entry is None:
        indexes = current_app.extensions.setdefault("kiezkarte_layer_indexes", {})
        if key not in indexes:
            body = get_store().geojson(key)
            if body is None:
                raise NotFound(f"layer '{key}' is not in the store; rebuild it")
            indexes[key] = nearby.LayerIndex(body)
        encoded = indexes[key].within(box or (0.0, 0.0, 0.0, 0.0)).encode("utf-8")
        entry = (encoded, hashlib.sha256(encoded).hexdigest()[:32])
        if len(cache) >= 512:  # boxes come from URLs: keep the cache bounded
            cache.pop(next(iter(cache)))
        cache[(key, box)] = entry
    body, etag = entry
    return text_response(body, GEOJSON, max_age=3600, etag=etag)


@bp.get("/planungsraeume/<plr_id>")
def planungsraum(plr_id):
    row, geom = queries.planungsraum(get_store(), plr_id)
    return _feature(geojson.feature(row, geom, feature_id=plr_id))


@bp.get("/bezirke")
def bezirke():
    return _stored("bezirke")


@bp.get("/projects")
def projects():
    rows = queries.projects(get_store(), ProjectFilter.from_args(request.args))
    return _collection([geojson.feature(r, g, feature_id=r["id"]) for r, g in rows], "projects")


@bp.get("/places")
def places():
    kinds = [k for k in request.args.get("kind", "").split(",") if k]
    bbox = parse_bbox(request.args.get("bbox"))
    rows = queries.places(get_store(), kinds, bbox)
    layers = sorted({queries.PLACE_LAYER[k] for k in kinds})
    return _collection([geojson.feature(r, g, feature_id=r["id"]) for r, g in rows], *layers)


@bp.get("/export/<layer_id>.<fmt>")
def export_layer(layer_id, fmt):
    body, mimetype, filename = export.export(get_store(), layer_id, fmt, ProjectFilter.from_args(request.args))
    response = text_response(body, mimetype, max_age=300)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/stats")
def statistics():
    flt = ProjectFilter.from_args(request.args)
    store = get_store()
    return jsonify({"projects": stats.project_stats(store, flt), "burdens": stats.burden_overlay(store, flt)})


@bp.get("/compare")
def compare():
    rows = stats.compare_areas(get_store(), request.args.get("sort", "name"), request.args.get("order") == "desc")
    return jsonify({"columns": [{"key": k, "label": de, "label_en": en} for k, de, en in stats.COMPARE_COLUMNS],
                    "areas": rows, "attribution": catalog.attributions("qm_areas", "umweltgerechtigkeit", "einwohner")})


@bp.get("/compare.csv")
def compare_csv():
    rows = stats.compare_areas(get_store(), request.args.get("sort", "name"), request.args.get("order") == "desc")
    keys = ["slug"] + [k for k, *_ in stats.COMPARE_COLUMNS]
    lines = [",".join(keys)] + [",".join(_csv_cell(r.get(k)) for k in keys) for r in rows]
    response = text_response("\n".join(lines) + "\n", "text/csv", max_age=300)
    response.headers["Content-Disposition"] = 'attachment; filename="kiezkarte-qm-areas-compared.csv"'
    return response


def _csv_cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if any(c in text for c in ',"\n') or text[:1] in ("=", "+", "-", "@"):  # quoted; no formula injection in Excel
        text = '"' + ("'" + text if text[:1] in ("=", "+", "-", "@") else text).replace('"', '""') + '"'
    return text


@bp.get("/lookup")
def lookup_view():
    args = request.args
    store = get_store()
    if "address" in args:
        return jsonify(lookup.lookup_address(store, args["address"]))
    return jsonify(lookup.lookup_point(store, lon=args.get("lon"), lat=args.get("lat"), x=args.get("x"), y=args.get("y")))


@bp.get("/suggest")
def suggest():
    q = request.args.get("q", "")
    if len(q) > 200:
        raise BadRequest("q too long (at most 200 characters)")
    return jsonify({"query": q, "suggestions": lookup.suggest(get_store(), q)})


@bp.get("/indicators")
def indicator_list():
    return jsonify({"indicators": queries.indicator_definitions()})


@bp.get("/layers")
def layers():
    return jsonify({"layers": [layer.as_dict() for layer in catalog.LAYERS]})
