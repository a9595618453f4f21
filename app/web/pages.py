"""HTML pages for residents: parse the request, call one query, render.

/                 Berlin overview map, address search, projects by filter, every QM area as a table
/gebiete/<slug>   one QM area: map, figures next to Berlin's, projects by filter, sources
/kiez/<plr_id>    one Planungsraum: the same, with its QM area(s)
/suche            find my Kiez without JavaScript (redirects to the Kiez page, or lists the choices)
/statistik        projects and known money by fund, Handlungsfeld and year; projects over burdens
/vergleich        every QM area compared, sortable by every column, as CSV too
/static/<path>    our assets: gzip, ETag, long cache with a content-hash version

Readers get no cookies; the language is the ``lang`` query parameter (see app/i18n.py), the
project filter and the chosen indicator are query parameters too (see app/web/filters.py).
Pages seen by a signed-in planner carry edit links and are never cached by anyone else.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
import mimetypes
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import catalog, charts, i18n, lookup, maps, queries, stats
from ..config import REPO_ROOT
from ..errors import BadRequest
from ..project_filter import ProjectFilter
from . import errors, filters, get_store
from .auth import current_user
from .http import text_response
from .page_cache import for_readers, remember, remembered

STATIC_DIR = REPO_ROOT / "static"
# Files that always travel together, served as one (fewer requests before the map is drawn).
BUNDLES = {
    maps.MAP_JS: ("vendor/leaflet-1.9.4/leaflet.js", "js/kiezkarte.js"),
    maps.SITE_CSS: ("vendor/leaflet-1.9.4/leaflet.css", "css/map.css", "css/kiezkarte.css"),
    maps.EMBED_CSS: ("vendor/leaflet-1.9.4/leaflet.css", "css/map.css", "css/embed.css"),
    "bundle/site.js": ("js/find.js", "js/filters.js", "js/embed-code.js", "js/language-links.js"),  # deferred: after the map
}
STATIC_MAX_AGE = 365 * 24 * 3600  # URLs carry a content hash, so a year is safe
MAX_QUERY = 200
RESIDENTS_DATE = date(2022, 6, 30)  # edition of the layer "einwohner" (see app/catalog.py)
OVERVIEW_LAYERS = ("qm_areas", "planungsraeume", "umweltgerechtigkeit", "mss", "einwohner", "gruenanlagen", "bezirke")

bp = Blueprint("pages", __name__)


# ------------------------------------------------------------------ pages

@bp.get("/")
@for_readers
def index():
    store = get_store()
    flt = filters.page_filter()
    areas = queries.areas(store)
    projects = [p for p, _ in queries.projects(store, flt)]
    total = store.scalar("SELECT count(*) FROM projects")
    state = filters.map_state()
    map_page = map_once(("overview", flt, state), lambda env: maps.overview_map(env, flt, state))
    return render_page("index.html", map_page=map_page, areas=areas,
                 exports=export_links(flt),
                 projects=projects, total=total, area_names={a["slug"]: a["short_name"] for a in areas},
                 form=filters.filter_form(flt, areas=areas, has_map=True), flt=flt,
                 attributions=catalog.attributions(*OVERVIEW_LAYERS, "projects"))


@bp.get("/gebiete/<slug>")
@for_readers
def area(slug):
    store = get_store()
    flt = filters.page_filter(with_area=False)
    row, geom = queries.area_detail(store, slug)
    projects = [p for p, _ in queries.projects(store, flt, area_slug=slug)]
    total = store.scalar("SELECT count(*) FROM projects WHERE area_slug = ?", (slug,))
    state = filters.map_state()
    map_page = map_once(("area", slug, flt, state), lambda env: maps.area_map(env, row, geom, flt, state))
    return render_page("area.html", area=row, projects=projects, total=total, map_page=map_page, flt=flt,
                 exports=export_links(replace(flt, area=slug)),
                 name_note=i18n.area_name_note(row["name"], row["short_name"]),
                 form=filters.filter_form(flt, has_map=map_page is not None),
                 figures=figure_rows(row["figures"]["area"], row["figures"]["berlin"]))


@bp.get("/kiez/<plr_id>")
def kiez(plr_id):
    """One Planungsraum. Arriving from the search (``?address=``) it names the address found in
    it; such pages are not kept (one per address would push the others out of the cache)."""
    if "address" in request.args:
        return kiez_page(plr_id)
    return kept_kiez_page(plr_id=plr_id)


def kiez_page(plr_id):
    row, geom = queries.planungsraum(get_store(), plr_id)
    state = filters.map_state()
    map_page = map_once(("kiez", plr_id, state), lambda env: maps.kiez_map(env, row, geom, state))
    return render_page("kiez.html", plr=row, map_page=map_page, searched=searched_address(plr_id),
                 indicators=kiez_rows(row, row["berlin"]), residents_date=RESIDENTS_DATE)


kept_kiez_page = for_readers(kiez_page)


def searched_address(plr_id: str) -> str | None:
    """The address in ``?address=`` as the address table writes it, if it lies in this Kiez
    (looked up again: a link cannot make a Kiez claim an address that is elsewhere)."""
    text = request.args.get("address", "").strip()
    if not text or len(text) > MAX_QUERY:
        return None
    result = lookup.lookup_address(get_store(), text)
    matches = [result, *result["other_matches"]] if result["found"] else []
    return next((lookup.address_label(m["address"]) for m in matches if m["planungsraum"]["plr_id"] == plr_id), None)


@bp.get("/suche")
def search():
    """Find my Kiez without JavaScript: an address -> its Kiez page; an address found in
    several Planungsräume (no postcode typed) -> a list to choose from; else suggestions."""
    if "address" not in request.args:
        return render_page("search.html", value=request.args.get("prefill", "")[:MAX_QUERY], result=None)
    address = request.args["address"].strip()
    if not address:
        return render_page("search.html", value="", result=None, empty=True)
    if len(address) > MAX_QUERY:
        raise BadRequest(gettext("The address is too long (at most %(n)s characters).", n=MAX_QUERY))
    result = lookup.lookup_address(get_store(), address)
    if result["found"] and not result["ambiguous"]:
        return redirect(kiez_link(result), code=303)
    choices = [(m, lookup.address_label(m["address"]), kiez_link(m))
               for m in [result, *result["other_matches"]]] if result["found"] else []
    return render_page("search.html", value=address, result=result, choices=choices)


def kiez_link(match: dict) -> str:
    """The Kiez page of a look-up's match, naming its address."""
    return i18n.url("pages.kiez", plr_id=match["planungsraum"]["plr_id"], address=lookup.address_label(match["address"]))


@bp.get("/statistik")
def statistics():
    """Projects and known money of the filtered selection; projects laid over the burdens."""
    store = get_store()
    flt = filters.page_filter()
    areas = queries.areas(store)
    area_row = next((a for a in areas if a["slug"] == flt.area), None) if flt.area else None
    if flt.area and area_row is None:
        queries.area(store, flt.area)  # 404
    project_stats = stats.project_stats(store, flt)
    baufonds = replace(flt, fund=("baufonds",))
    return render_page("statistics.html", flt=flt, area=area_row, stats=project_stats,
                 tables=statistics_tables(project_stats), overlay=stats.burden_overlay(store, flt),
                 baufonds=stats.burden_overlay(store, baufonds), baufonds_args=baufonds.args(),
                 berlin_args=replace(flt, area=None).args(),
                 form=filters.filter_form(flt, areas=areas, keep=()), exports=export_links(flt))


@bp.get("/vergleich")
def compare():
    """Every QM area in one table, sorted on the server by any column."""
    sort = request.args.get("sort", "name")
    order = request.args.get("order", "asc")
    if order not in ("asc", "desc"):
        raise BadRequest(gettext("order must be asc or desc"))
    rows = stats.compare_areas(get_store(), sort, order == "desc")
    sort_args = {} if (sort, order) == ("name", "asc") else {"sort": sort, "order": order}
    return render_page("compare.html", rows=rows, columns=compare_columns(sort, order), sort=sort, order=order,
                 csv_url=url_for("api.compare_csv", **sort_args),
                 attributions=catalog.attributions("qm_areas", "umweltgerechtigkeit", "einwohner", "gruenanlagen",
                                                   "projects"))


# ------------------------------------------------------------------ static files

@bp.get("/static/<path:filename>")
def static(filename):
    body, mimetype = _static_file(filename)
    response = text_response(body, mimetype, max_age=STATIC_MAX_AGE if request.args.get("v") else 300)
    if request.args.get("v"):
        response.cache_control.immutable = True
    return response


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on pages that declare no icon (raw JSON, for one): the site's icon."""
    body, mimetype = _static_file("favicon.svg")
    return text_response(body, mimetype, max_age=STATIC_MAX_AGE)


def _static_file(filename: str) -> tuple[bytes, str]:
    cache = current_app.extensions.setdefault("kiezkarte_static", {})
    if filename not in cache and filename in BUNDLES:
        parts = [_static_file(part) for part in BUNDLES[filename]]
        separator = b"\n;\n" if filename.endswith(".js") else b"\n"
        cache[filename] = (separator.join(body for body, _ in parts), parts[0][1])
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


def euro(value) -> str:
    """A known amount as '1.234 €' (de) or '1,234 €' (en); an unknown one as 'not stated', never 0 €."""
    return gettext("not stated") if value is None else i18n.number(value) + "\u00a0€"  # no break before €


def statistics_tables(project_stats: dict) -> list[dict]:
    """The three breakdowns (fund, Handlungsfeld, year) as labelled rows with two small charts each.

    Charts and tables use the same translated labels and show an unknown amount the same way.
    """
    def fund_label(key):
        return i18n.label(i18n.FUND, key)

    def field_label(key):
        return gettext("not stated") if key == "(nicht angegeben)" else i18n.label(i18n.HANDLUNGSFELD, key)

    def year_label(key):
        return gettext("year not known") if key == "unknown" else str(key)

    specs = (("fund", gettext("By fund"), gettext("Fund"), "by_fund", fund_label,
              (gettext("Projects and known money by fund"), gettext("Number of projects by fund"),
               gettext("Known money in euros by fund"))),
             ("handlungsfeld", gettext("By field of action (Handlungsfeld)"), gettext("Field of action"),
              "by_handlungsfeld", field_label,
              (gettext("Projects and known money by field of action"), gettext("Number of projects by field of action"),
               gettext("Known money in euros by field of action"))),
             ("year", gettext("By start year"), gettext("Start year"), "by_year", year_label,
              (gettext("Projects and known money by start year"), gettext("Number of projects by start year"),
               gettext("Known money in euros by start year"))))
    tables = []
    for key, title, column, stat_key, label, (caption, projects_title, money_title) in specs:
        rows = [{"key": g["key"], "label": label(g["key"]), "projects": g["projects"], "with_cost": g["with_cost"],
                 "money_eur": g["money_eur"]} for g in project_stats[stat_key]]
        chart_projects = charts.bar_chart([(r["label"], r["projects"]) for r in rows], title=projects_title,
                                          value_format=i18n.number, colour="#0b4f8a", label_width=180, width=420,
                                          bar_height=20)
        chart_money = charts.bar_chart([(r["label"], r["money_eur"]) for r in rows], title=money_title,
                                       value_format=euro, colour="#b35806", label_width=180, width=460,
                                       bar_height=20)
        tables.append({"key": key, "title": title, "column": column, "rows": rows,
                       "caption": caption,
                       "charts": ((gettext("Projects"), chart_projects), (gettext("Known money"), chart_money))})
    return tables


def year_span(start, end) -> str:
    """'1999–2027', 'since 2019', 'until 2020' or 'years not known'. A function, not a Jinja
    macro: the overview's tables show it in every row, and a macro call costs ten times more."""
    if start and end:
        return f"{int(start)}–{int(end)}"
    if start:
        return gettext("since %(year)s", year=int(start))
    if end:
        return gettext("until %(year)s", year=int(end))
    return gettext("years not known")


def export_links(flt: ProjectFilter) -> list[tuple[str, str]]:
    """(label, URL) of the exports of the filtered projects."""
    return [(label, url_for("api.export_layer", layer_id="projects", fmt=fmt, **flt.args()))
            for fmt, label in (("csv", "CSV"), ("geojson", "GeoJSON"), ("gpkg", "GeoPackage"))]


def compare_labels() -> dict[str, str]:
    return {"name": gettext("QM area"), "bezirk": gettext("District"), "status_group": gettext("Status"),
            "boundary_basis": gettext("Boundary"), "residents": gettext("Residents"),
            "share_high_air": gettext("High air pollution"), "share_high_noise": gettext("High noise"),
            "share_high_thermal": gettext("High heat stress"), "share_high_green": gettext("Poor green supply"),
            "share_high_social": gettext("High social disadvantage"),
            "plr_multiply_burdened": gettext("Multiply burdened Planungsräume"),
            "green_m2_per_resident": gettext("Green m² per resident"), "projects": gettext("Projects"),
            "money_eur": gettext("Known money (EUR)")}


COMPARE_KIND = {"residents": "number", "plr_multiply_burdened": "number", "green_m2_per_resident": "m2",
                "projects": "number", "money_eur": "euro"}


def compare_columns(sort: str, order: str) -> list[dict]:
    """Each column of the comparison with its sort link (ascending first; again: the other way round)."""
    labels = compare_labels()
    columns = []
    for key, *_ in stats.COMPARE_COLUMNS:
        current = key == sort
        next_order = ("desc" if order == "asc" else "asc") if current else "asc"
        args = {} if (key, next_order) == ("name", "asc") else {"sort": key, "order": next_order}
        kind = "share" if key.startswith("share_") else COMPARE_KIND.get(key, "text")
        columns.append({"key": key, "label": labels[key], "kind": kind, "url": i18n.url("pages.compare", **args),
                        "aria_sort": ("ascending" if order == "asc" else "descending") if current else None,
                        "next_order": next_order})
    return columns


def _class_label(legend: dict, value) -> str:
    for c in legend["classes"]:
        if c["value"] == value:
            return c["label"]
    return gettext("no data")


# ------------------------------------------------------------------ rendering

MAP_CACHE_ENTRIES = 512


def map_once(key: tuple, build):
    """A page's map, made once per process for the same place, filter, state, language and reader.

    A map depends only on these and the built store (read-only); Folium takes milliseconds
    to render one, so the pieces are kept (bounded, least recently used first out).
    """
    env = map_env()
    full_key = (request.script_root, env.lang, env.planner, env.tile_url, env.tile_attribution, *key)
    page = remembered("kiezkarte_map_pages", full_key)
    if page is None:
        page = remember("kiezkarte_map_pages", full_key, build(env), MAP_CACHE_ENTRIES)
    return page


def map_env(**overrides) -> maps.MapEnv:
    """What maps need from the web layer; embeds pass ``embed=True, planner=False`` (they never read the session)."""
    values = {"static_url": asset_url, "api_url": lambda endpoint, **v: url_for(endpoint, **v),
              "page_url": i18n.url, "lang": i18n.current_lang(),
              "tile_url": current_app.config.get("TILE_URL") or "",
              "tile_attribution": current_app.config.get("TILE_ATTRIBUTION") or ""}
    values.update(overrides)
    if "planner" not in values:
        values["planner"] = bool(current_user())
    return maps.MapEnv(**values)


def render_page(template: str, status: int = 200, **context):
    html = render_template(template, **context)
    response = current_app.make_response((html, status))
    map_page = context.get("map_page")
    response.headers["Content-Security-Policy"] = csp(map_page.script_hash if map_page else None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.vary.add("Cookie")
    if current_user():  # a planner's page (edit links, CSRF tokens) is for nobody else
        response.cache_control.no_store = True
        response.cache_control.private = True
        response.cache_control.public = False
    return response


def csp(script_hash: str | None) -> str:
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
    titles = {404: gettext("Not found"), 400: gettext("Bad request"), 503: gettext("Not available"),
              401: gettext("Sign-in required"), 403: gettext("Not allowed"), 429: gettext("Too many attempts")}
    return render_page("error.html", status=status, code=status, message=message,
                 title=titles.get(status, gettext("Something went wrong")))


def init_app(app: Flask) -> None:
    i18n.init_app(app)
    app.register_blueprint(bp)
    errors.set_html_renderer(render_error)
    app.jinja_env.filters.update(safe_url=safe_url, euro=euro)
    app.jinja_env.globals.update(asset_url=asset_url, i18n=i18n, year_span=year_span)  # for every blueprint
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def safe_url(value) -> str | None:
    """An http(s) URL from the data, or None (never a javascript: or data: link)."""
    text = str(value or "").strip()
    return text if urlsplit(text).scheme in ("http", "https") and urlsplit(text).netloc else None

