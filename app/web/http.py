"""HTTP caching and compression, in one place for every response.

Views set a strong ETag (or let ``finish_response`` compute one) and a Cache-Control;
the after-request hook compresses with gzip when the client accepts it, then answers
conditional requests with 304. Compressed bodies of the big precomputed layers are
kept per ETag, so a popular layer is compressed once per process.
"""
from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict

from flask import Flask, Response, request

COMPRESSIBLE = ("application/json", "application/geo+json", "text/html", "text/css", "text/javascript",
                "application/javascript", "image/svg+xml", "text/csv", "text/plain")
MIN_COMPRESS_BYTES = 500
_GZIP_CACHE: "OrderedDict[str, bytes]" = OrderedDict()
_GZIP_CACHE_ENTRIES = 64


def text_response(text: str | bytes, mimetype: str, *, max_age: int = 300, etag: str | None = None) -> Response:
    """A cacheable response for stored text (GeoJSON layers and the like); pass ``etag`` when known."""
    body = text.encode("utf-8") if isinstance(text, str) else text
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag or hashlib.sha256(body).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response


# Every response: no sniffing, no referrer to other sites, only the browser features we use.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), interest-cohort=()",
}
# Pages set their own Content-Security-Policy (app/web/pages.py); anything else gets one of these.
CSP_HTML = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
CSP_DATA = "default-src 'none'; frame-ancestors 'none'"


def init_app(app: Flask) -> None:
    app.after_request(finish_response)
    app.after_request(security_headers)


def security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    csp = response.headers.get("Content-Security-Policy")
    if csp is None:
        response.headers["Content-Security-Policy"] = CSP_HTML if response.mimetype == "text/html" else CSP_DATA
    elif "frame-ancestors" not in csp:  # framing: only our own pages, unless a route allows more (embeds)
        response.headers["Content-Security-Policy"] = csp.rstrip("; ") + "; frame-ancestors 'self'"
    return response


def finish_response(response: Response) -> Response:
    if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.direct_passthrough:
        return response
    if response.get_etag() == (None, None):
        response.add_etag()
    if not response.cache_control.max_age and not response.cache_control.no_store:
        response.cache_control.public = True
        response.cache_control.max_age = 60
    if _gzip_wanted(response) and _not_modified(response, suffix="-gz"):
        response.set_etag(response.get_etag()[0] + "-gz")  # no body to compress: the client has it
        response.vary.add("Accept-Encoding")
        return response.make_conditional(request)
    _maybe_gzip(response)
    return response.make_conditional(request)


def _gzip_wanted(response: Response) -> bool:
    return ("gzip" in request.headers.get("Accept-Encoding", "") and not response.content_encoding
            and response.mimetype in COMPRESSIBLE)


def _not_modified(response: Response, suffix: str) -> bool:
    etag, _ = response.get_etag()
    return bool(etag) and request.if_none_match.contains(etag + suffix)


def _maybe_gzip(response: Response) -> None:
    response.vary.add("Accept-Encoding")
    if ("gzip" not in request.headers.get("Accept-Encoding", "") or response.content_encoding
            or response.mimetype not in COMPRESSIBLE):
        return
    body = response.get_data()
    if len(body) < MIN_COMPRESS_BYTES:
        return
    etag, _ = response.get_etag()
    key = f"{etag}:{len(body)}"
    compressed = _GZIP_CACHE.get(key)
    if compressed is None:
        compressed = gzip.compress(body, compresslevel=6, mtime=0)
        _GZIP_CACHE[key] = compressed
        if len(_GZIP_CACHE) > _GZIP_CACHE_ENTRIES:
            _GZIP_CACHE.popitem(last=False)
    else:
        _GZIP_CACHE.move_to_end(key)
    response.set_data(compressed)
    response.content_encoding = "gzip"
    response.set_etag(f"{etag}-gz")
