"""OGC API Features at /ogc: parse the request, call one function of ``app.ogc``, render JSON or HTML.

The format comes from ``f=json|html``, else from the Accept header (JSON unless HTML is
preferred, so GDAL, QGIS and curl get JSON and browsers get HTML). Links are absolute,
built from the request's root URL. Errors follow the same choice: JSON ``{"error": …}`` for
clients, an HTML page with the same status for browsers.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import HTTPException

from .. import ogc
from ..errors import BadRequest, KiezkarteError, NotFound
from . import get_store
from .errors import render as render_error

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _base() -> str:
    return request.root_url.rstrip("/") + bp.url_prefix


def _args() -> dict[str, list[str]]:
    return {key: request.args.getlist(key) for key in request.args}


def _wants_html() -> bool:
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise BadRequest("f must be json or html")
        return f == "html"
    best = request.accept_mimetypes.best_match([ogc.JSON, ogc.GEOJSON, ogc.HTML], default=ogc.JSON)
    return best == ogc.HTML


def _prefers_html() -> bool:
    """Like ``_wants_html``, but never raises: an error page must not fail on a bad ``f``."""
    try:
        return _wants_html()
    except BadRequest:
        return False


def _respond(body: str, content_type: str, headers: dict | None = None) -> Response:
    response = Response(body, content_type=content_type, headers=headers or {})
    response.vary.add("Accept")
    return response


def _document(doc: dict, template: str, content_type: str = ogc.JSON, allowed=frozenset({"f"}), **context) -> Response:
    """A metadata document as JSON, or as HTML through ``templates/ogc/<template>``."""
    ogc.check_params(_args(), allowed)
    if _wants_html():
        return _respond(render_template(f"ogc/{template}", doc=doc, base=_base(), **context), "text/html; charset=utf-8")
    return _respond(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), content_type)


@bp.get("")
@bp.get("/")
def landing():
    return _document(ogc.landing(_base()), "landing.html")


@bp.get("/conformance")
def conformance():
    return _document(ogc.conformance(_base()), "conformance.html")


@bp.get("/api")
def api():
    return _document(ogc.openapi(get_store(), _base()), "api.html", content_type=ogc.OPENAPI)


@bp.get("/collections")
def collections():
    return _document(ogc.collections(get_store(), _base()), "collections.html")


@bp.get("/collections/<collection_id>")
def collection(collection_id):
    return _document(ogc.collection(get_store(), collection_id, _base()), "collection.html")


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id):
    return _document(ogc.queryables(get_store(), collection_id, _base()), "schema.html", content_type=ogc.SCHEMA,
                     collection=ogc.get(collection_id), kind="Queryables")


@bp.get("/collections/<collection_id>/schema")
def schema(collection_id):
    return _document(ogc.schema(get_store(), collection_id, _base()), "schema.html", content_type=ogc.SCHEMA,
                     collection=ogc.get(collection_id), kind="Schema")


@bp.get("/collections/<collection_id>/items")
def items(collection_id):
    if _wants_html():
        page = ogc.items(get_store(), collection_id, _args(), _base())
        return _respond(render_template("ogc/items.html", page=page, base=_base()), "text/html; charset=utf-8")
    body, content_crs, etag = ogc.items_geojson(get_store(), collection_id, _args(), _base())
    response = _respond(body, ogc.GEOJSON, {"Content-Crs": f"<{content_crs}>"})
    response.set_etag(etag)
    return response


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id, feature_id):
    page = ogc.item(get_store(), collection_id, feature_id, _args(), _base())
    if _wants_html():
        return _respond(render_template("ogc/item.html", page=page, base=_base()), "text/html; charset=utf-8")
    return _respond(page.feature(), ogc.GEOJSON, {"Content-Crs": f"<{page.content_crs}>"})


@bp.get("/<path:unknown>")
def unknown_path(unknown):
    raise NotFound(f"no resource '/{unknown}' in this API; start at {_base()}")


@bp.errorhandler(KiezkarteError)
@bp.errorhandler(HTTPException)
def error(exc):
    """Errors of this API: an HTML page for browsers (``f=html`` or Accept), else JSON."""
    status = getattr(exc, "status", None) or getattr(exc, "code", None) or 500
    message = str(exc) if isinstance(exc, KiezkarteError) else (exc.description or exc.name)
    if not _prefers_html():
        return render_error(status, message)
    html = render_template("ogc/error.html", status=status, message=message, base=_base())
    return _respond(html, "text/html; charset=utf-8"), status
