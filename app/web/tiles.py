"""Big point layers as vector tiles, and a map page that draws them.

/tiles/<layer>.json             TileJSON 3.0.0: tile URL, bounds, zoom range, fields, attribution
                                (with SYNTHETIC TEST DATA for made-up layers), the thinning rule
/tiles/<layer>/<z>/<x>/<y>.pbf  a Mapbox Vector Tile (application/vnd.mapbox-vector-tile), gzip,
                                ETag from the layer's version and the tile address, Cache-Control
/ebenen/                        the loaded big layers, linked
/ebenen/<layer>                 the layer on a map (Leaflet + Leaflet.VectorGrid, static files only)

Views are thin: the store reads and encodes (``app/store/big.py``), ``app/tiles.py`` holds the
rule. Errors are JSON under /tiles (unknown layer or zoom out of range 404, bad coordinates 400).
"""
from __future__ import annotations

import gzip

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import gettext

from .. import catalog, i18n, tiles
from ..errors import BadRequest, NotFound
from ..store.big import open_big_layers
from .pages import asset_url, render_page  # one page renderer (CSP, headers) for every HTML page

bp = Blueprint("tiles", __name__)
MVT = "application/vnd.mapbox-vector-tile"
MAX_AGE_VERSIONED = 24 * 3600   # ?v=<layer version> in the URL: a reload changes the URL
MAX_AGE = 300
SYNTHETIC_LABEL = "SYNTHETIC TEST DATA"


def get_big_layers():
    layers = current_app.extensions.get("kiezkarte_big_layers")
    if layers is None:
        layers = open_big_layers(current_app.config["STORE"])
        current_app.extensions["kiezkarte_big_layers"] = layers
    return layers


def _layer(layer_id: str) -> tuple[dict, catalog.Layer]:
    meta = get_big_layers().meta(layer_id)
    try:
        entry = catalog.layer(layer_id)
    except KeyError:
        raise NotFound(f"layer '{layer_id}' has no catalogue entry") from None
    return meta, entry


@bp.get("/tiles/<layer_id>/<z>/<x>/<y>.pbf")
def tile(layer_id, z, x, y):
    try:
        z, x, y = int(z), int(x), int(y)
    except ValueError:
        raise BadRequest(f"tile coordinates must be integers, not {z}/{x}/{y}") from None
    meta, entry = _layer(layer_id)
    try:
        tiles.check_tile(z, x, y, meta["min_zoom"], meta["max_zoom"])
    except tiles.BadTile as exc:
        raise (NotFound if exc.status == 404 else BadRequest)(str(exc)) from None
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    etag = f'{meta["version"]}-{z}-{x}-{y}' + ("-gz" if gz else "")
    response = Response(mimetype=MVT)
    response.set_etag(etag)
    response.vary.add("Accept-Encoding")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_VERSIONED if request.args.get("v") == meta["version"] else MAX_AGE
    if entry.synthetic:
        response.headers["Kiezkarte-Data"] = SYNTHETIC_LABEL
    if request.if_none_match.contains(etag):  # the client has it: nothing read, nothing encoded
        response.status_code = 304
        return response
    body = _tile_body(layer_id, meta, z, x, y, gz)
    if gz and body:
        response.content_encoding = "gzip"
    response.set_data(body)
    return response


CELL_TILES_KEPT = 512  # city-wide tiles (cells) are the same for everybody: kept per process, ~20 KB each


def _tile_body(layer_id: str, meta: dict, z: int, x: int, y: int, gz: bool) -> bytes:
    """The tile's bytes (gzip'd when asked); tiles of the cell pyramid are kept per process and layer version."""
    keep = z <= meta["cluster_max_zoom"]
    key = (layer_id, meta["version"], z, x, y, gz)
    cache = current_app.extensions.setdefault("kiezkarte_cell_tiles", {})
    if keep and key in cache:
        return cache[key]
    body = get_big_layers().tile(layer_id, z, x, y)
    if gz and body:
        body = gzip.compress(body, compresslevel=6, mtime=0)
    if keep:
        if len(cache) >= CELL_TILES_KEPT:
            cache.clear()
        cache[key] = body
    return body


@bp.get("/tiles/<layer_id>.json")
def tilejson(layer_id):
    return tilejson_body(layer_id), 200, {"Cache-Control": "public, max-age=60"}


def tilejson_body(layer_id: str) -> dict:
    meta, entry = _layer(layer_id)
    template = (request.host_url.rstrip("/") + f"/tiles/{layer_id}/{{z}}/{{x}}/{{y}}.pbf?v={meta['version']}")
    west, south, east, north = meta["bounds"]
    kinds = {"TEXT": "String", "INTEGER": "Number", "REAL": "Number"}
    fields = {f["name"]: kinds[f["type"]] for f in meta["fields"]}
    description = (f"{meta['count']:,} points. Up to zoom {meta['cluster_max_zoom']} (and above it in any tile holding "
                   f"more than {meta['point_limit']:,} points) a tile carries cells of a 64 x 64 grid per tile with the "
                   "number of points as 'count', placed at their mean position; above it the points themselves.")
    if entry.synthetic:
        description = f"{SYNTHETIC_LABEL}: made-up points, not real trees. " + description
    return {
        "tilejson": "3.0.0",
        "name": (f"{SYNTHETIC_LABEL}: " if entry.synthetic else "") + entry.title_en,
        "description": description,
        "attribution": entry.attribution,
        "synthetic": entry.synthetic,
        "version": meta["version"],
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": meta["min_zoom"],
        "maxzoom": meta["max_zoom"],
        "bounds": [west, south, east, north],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), 11],
        "vector_layers": [{"id": layer_id, "fields": {**fields, "count": "Number"}, "minzoom": meta["min_zoom"],
                           "maxzoom": meta["max_zoom"],
                           "description": "points (feature id = store fid), or cells with 'count' (see description)"}],
        "count": meta["count"],
        "cluster_max_zoom": meta["cluster_max_zoom"],
        "point_limit": meta["point_limit"],
        "loaded_at": meta["loaded_at"],
        "source": meta["source"],
        "catalogue": entry.as_dict(),
        "page": url_for("tiles.layer_page", layer_id=layer_id),
    }


# ------------------------------------------------------------------ the map page

@bp.get("/ebenen/")
def layer_index():
    """The big layers loaded beside the store, each with its map page and TileJSON."""
    big = get_big_layers()
    layers = []
    for layer_id in big.ids():
        meta, entry = _layer(layer_id)
        layers.append({"id": layer_id, "entry": entry, "meta": meta})
    return render_page("tiles/index.html", layers=layers, title=gettext("Large data layers"))


@bp.get("/ebenen/<layer_id>")
def layer_page(layer_id):
    meta, entry = _layer(layer_id)
    lang = i18n.current_lang()
    config = {
        "layer": layer_id,
        "tiles": url_for("tiles.tile", layer_id=layer_id, z=0, x=0, y=0, v=meta["version"])
        .replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf"),
        "bounds": meta["bounds"], "minZoom": meta["min_zoom"], "maxZoom": meta["max_zoom"],
        "clusterMaxZoom": meta["cluster_max_zoom"],
        "attribution": entry.attribution,
        "basemap": current_app.config.get("TILE_URL") or "",
        "basemapAttribution": current_app.config.get("TILE_ATTRIBUTION") or "",
        "fields": [f["name"] for f in meta["fields"]],
        "text": {"count": gettext("points in this cell"), "synthetic": SYNTHETIC_LABEL if entry.synthetic else ""},
    }
    return render_page("tiles/layer.html", layer=entry, meta=meta, config=config,
                       title=entry.title if lang == "de" else entry.title_en, synthetic=entry.synthetic,
                       tilejson_url=url_for("tiles.tilejson", layer_id=layer_id),
                       assets={"leaflet_css": asset_url("vendor/leaflet-1.9.4/leaflet.css"),
                               "leaflet_js": asset_url("vendor/leaflet-1.9.4/leaflet.js"),
                               "vectorgrid_js": asset_url("vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js"),
                               "tiles_js": asset_url("js/tiles.js")})
