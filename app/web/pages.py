"""HTML pages for residents: parse the request, call one query, render.

/                 Berlin overview map, address search, every QM area as a table
/gebiete/<slug>   one QM area: map, figures next to Berlin's, projects, sources
/kiez/<plr_id>    one Planungsraum: the same, with its QM area(s)
/suche            find my Kiez without JavaScript (redirects to the Kiez page)
/static/<path>    our assets: gzip, ETag, long cache with a content-hash version

No cookies are set; the language is the ``lang`` query parameter (see app/i18n.py).
"""
from __future__ import annotations

import hashlib
from datetime import date
import mimetypes
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import catalog, i18n, lookup, maps, queries
from ..config import REPO_ROOT
from ..errors import BadRequest
from . import errors, get_store
from .http import text_response

STATIC_DIR = REPO_ROOT / "static"
STATIC_MAX_AGE = 365 * 24 * 3600  # URLs carry a content hash, so a year is safe
MAX_QUERY = 200
RESIDENTS_DATE = date(2022, 6, 30)  # edition of the layer "einwohner" (see app/catalog.py)
OVERVIEW_LAYERS = ("qm_areas", "planungsraeume", "umweltgerechtigkeit", "mss", "einwohner", "gruenanlagen", "bezirke")

bp = Blueprint("pages", __name__)


# ------------------------------------------------------------------ pages

@bp.get("/")
def index():
    store = get_store()
    return _page("index.html", map_page=maps.overview_map(_map_env()), areas=queries.areas(store),
                 attributions=catalog.attributions(*OVERVIEW_LAYERS))


@bp.get("/gebiete/<slug>")
def area(slug):
    store = get_store()
    row, geom = queries.area_detail(store, slug)
    projects = [p for p, _ in queries.projects(store, area_slug=slug)]
    return _page("area.html", area=row, projects=projects, map_page=maps.area_map(_map_env(), row, geom),
                 figures=figure_rows(row["figures"]["area"], row["figures"]["berlin"]))


@bp.get("/kiez/<plr_id>")
def kiez(plr_id):
    row, geom = queries.planungsraum(get_store(), plr_id)
    return _page("kiez.html", plr=row, map_page=maps.kiez_map(_map_env(), row, geom),
                 indicators=kiez_rows(row, row["berlin"]), residents_date=RESIDENTS_DATE)


@bp.get("/suche")
def search():
    """Find my Kiez without JavaScript: an address -> its Kiez page, or suggestions."""
    address = request.args.get("address", "").strip()
    if not address:
        return _page("search.html", value=request.args.get("prefill", "")[:MAX_QUERY], result=None)
    if len(address) > MAX_QUERY:
        raise BadRequest(gettext("The address is too long (at most %(n)s characters).", n=MAX_QUERY))
    result = lookup.lookup_address(get_store(), address)
    if result["found"]:
        return redirect(i18n.url("pages.kiez", plr_id=result["planungsraum"]["plr_id"]), code=303)
    return _page("search.html", value=address, result=result)


# ------------------------------------------------------------------ static files

@bp.get("/static/<path:filename>")
def static(filename):
    body, mimetype = _static_file(filename)
    response = text_response(body, mimetype, max_age=STATIC_MAX_AGE if request.args.get("v") else 300)
    if request.args.get("v"):
        response.cache_control.immutable = True
    return response


def _static_file(filename: str) -> tuple[bytes, str]:
    cache = current_app.extensions.setdefault("kiezkarte_static", {})
    if filename not in cache:
        path = (STATIC_DIR / filename).resolve()
        if STATIC_DIR.resolve() not in path.parents or not path.is_file():
            abort(404)
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mimetype == "application/javascript":
            mimetype = "text/javascript"
        cache[filename] = (path.read_bytes(), mimetype)
    return cache[filename]


def asset_url(filename: str) -> str:
    """/static/<file>?v=<hash of its content>: cached for a year, refreshed when it changes."""
    body, _ = _static_file(filename)
    versions = current_app.extensions.setdefault("kiezkarte_static_versions", {})
    if filename not in versions:
        versions[filename] = hashlib.sha256(body).hexdigest()[:12]
    return url_for("pages.static", filename=filename, v=versions[filename])


# ------------------------------------------------------------------ what pages show

UG = (("noise", "ug_noise"), ("air", "ug_air"), ("thermal", "ug_thermal"), ("green", "ug_green"),
      ("social", "ug_social"))


def _ug_sentences() -> dict:
    return {
        "noise": gettext("with a high noise burden"),
        "air": gettext("with high air pollution"),
        "thermal": gettext("with high heat stress"),
        "green": gettext("with a poor supply of green space"),
        "social": gettext("with high social disadvantage"),
    }


def _multiple_text() -> str:
    return gettext("in a Planungsraum with two or more high burdens")


def _low_status_text() -> str:
    return gettext("in a Planungsraum with low or very low social status (MSS 2021)")


def figure_rows(area: dict | None, berlin: dict) -> list[dict]:
    """The area's figures next to Berlin's, as rows for a table and for sentences."""
    if not area:
        return []
    sentences = _ug_sentences()
    rows = [{"label": gettext("Residents (population-weighted from the Planungsräume)"), "kind": "number",
             "area": area["residents"], "berlin": berlin["residents"]}]
    for key, _ in UG:
        rows.append({"label": sentences[key], "kind": "share", "sentence": True,
                     "area": area[f"share_high_{key}"], "berlin": berlin[f"share_high_{key}"]})
    rows.append({"label": _multiple_text(), "kind": "share",
                 "sentence": True, "area": area["share_multiply_burdened"], "berlin": berlin["share_multiply_burdened"]})
    rows.append({"label": _low_status_text(), "kind": "share",
                 "sentence": True,
                 "area": (area["share_mss_niedrig"] or 0) + (area["share_mss_sehr_niedrig"] or 0),
                 "berlin": (berlin["share_mss_niedrig"] or 0) + (berlin["share_mss_sehr_niedrig"] or 0)})
    rows.append({"label": gettext("Public green space per resident"), "kind": "m2",
                 "area": area["green_m2_per_resident"], "berlin": berlin["green_m2_per_resident"]})
    for key, text in (("kita_count", gettext("Day-care centres (Kitas)")), ("school_count", gettext("Schools")),
                      ("youth_centre_count", gettext("Youth centres"))):
        if key in area:
            rows.append({"label": text, "kind": "count", "area": area[key], "berlin": berlin[key]})
    return rows


def kiez_rows(plr: dict, berlin: dict) -> list[dict]:
    """Each indicator of one Planungsraum: its class, and Berlin's share of residents in class 'high'."""
    sentences = _ug_sentences()
    legends = {d["id"]: d for d in maps.indicator_legends()}
    rows = []
    for key, column in UG:
        legend = legends[column]
        rows.append({"label": legend["label"], "value": _class_label(legend, plr.get(column)),
                     "high": plr.get(column) == 3,
                     "berlin": berlin[f"share_high_{key}"], "berlin_text": sentences[key]})
    legend = legends["ug_burden_count"]
    rows.append({"label": legend["label"], "value": i18n.number(plr.get("ug_burden_count")),
                 "high": (plr.get("ug_burden_count") or 0) >= 2, "berlin": berlin["share_multiply_burdened"],
                 "berlin_text": _multiple_text()})
    legend = legends["mss_status"]
    rows.append({"label": legend["label"], "value": _class_label(legend, plr.get("mss_status")),
                 "high": plr.get("mss_status") in ("niedrig", "sehr niedrig"),
                 "berlin": (berlin["share_mss_niedrig"] or 0) + (berlin["share_mss_sehr_niedrig"] or 0),
                 "berlin_text": _low_status_text()})
    return rows


def _class_label(legend: dict, value) -> str:
    for c in legend["classes"]:
        if c["value"] == value:
            return c["label"]
    return gettext("no data")


# ------------------------------------------------------------------ rendering

def _map_env() -> maps.MapEnv:
    return maps.MapEnv(static_url=asset_url, api_url=lambda endpoint, **v: url_for(endpoint, **v),
                       page_url=i18n.url, lang=i18n.current_lang(),
                       tile_url=current_app.config.get("TILE_URL") or "",
                       tile_attribution=current_app.config.get("TILE_ATTRIBUTION") or "")


def _page(template: str, status: int = 200, **context):
    html = render_template(template, **context)
    response = current_app.make_response((html, status))
    map_page = context.get("map_page")
    response.headers["Content-Security-Policy"] = _csp(map_page.script_hash if map_page else None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


def _csp(script_hash: str | None) -> str:
    """Only our own files (and the map's one inline script, by hash); tiles only from TILE_URL's host."""
    img = ["'self'", "data:"]
    tile_url = current_app.config.get("TILE_URL") or ""
    if tile_url:
        parts = urlsplit(tile_url)
        img.append(f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}")
    scripts = ["'self'"] + ([script_hash] if script_hash else [])
    return ("default-src 'self'; "
            f"script-src {' '.join(scripts)}; "
            "style-src 'self'; "
            f"img-src {' '.join(img)}; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")


def render_error(status: int, message: str):
    titles = {404: gettext("Not found"), 400: gettext("Bad request"), 503: gettext("Not available")}
    return _page("error.html", status=status, code=status, message=message,
                 title=titles.get(status, gettext("Something went wrong")))


def init_app(app: Flask) -> None:
    i18n.init_app(app)
    app.register_blueprint(bp)
    errors.set_html_renderer(render_error)
    app.jinja_env.filters["safe_url"] = safe_url
    app.jinja_env.globals.update(asset_url=asset_url, i18n=i18n)  # base.html works for every blueprint
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def safe_url(value) -> str | None:
    """An http(s) URL from the data, or None (never a javascript: or data: link)."""
    text = str(value or "").strip()
    return text if urlsplit(text).scheme in ("http", "https") and urlsplit(text).netloc else None

