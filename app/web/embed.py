"""Maps for other websites: embed pages, the embed-code generator, oEmbed.

/embed/                  the Berlin overview map, nothing else
/embed/gebiete/<slug>    the map of one QM area (a short card when it has no boundary)
/embed/kiez/<plr_id>     the map of one Planungsraum
/oembed?url=…            oEmbed 1.0 (rich) for this site's pages: an <iframe> of the embed

An embed is the map with a title, the legend, the sources and an "open the full map" link
(same state, new tab). Its state is in its URL like on the full pages (indicator, layers,
map view, selected feature, project filter, language).

- **No session, no cookie.** Embed pages, oEmbed and the public data they fetch get a null
  session: a planner's session cookie is neither read nor refreshed, so no ``Set-Cookie``
  and no ``Vary: Cookie`` (shared caches may keep them), and no edit controls.
- **Framing.** Embeds send ``frame-ancestors`` from the setting ``EMBED_FRAME_ANCESTORS``
  (default ``*``, any site; this site's own pages may always frame them, for the
  generator's preview); every other page keeps ``'self'`` (app/web/http.py).
- **Caching.** The HTML of an embed depends only on its URL and the built store, so it is
  rendered once per process and URL and served with ``Cache-Control: public`` and a stable
  ETag (conditional requests get 304 in app/web/http.py).
- **Privacy.** Nothing from other servers unless ``TILE_URL`` is set; when its host is not
  this site and ``TILE_CLICK_TO_LOAD`` is on, the embed asks before the first tile.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, url_for
from flask.sessions import SessionInterface
from flask_babel import force_locale, gettext
from markupsafe import escape
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from .. import i18n, maps, queries
from ..errors import KiezkarteError
from ..project_filter import ProjectFilter
from . import filters, get_store, pages
from .page_cache import remember, remembered

bp = Blueprint("embed", __name__)

EMBED_MAX_AGE = 600  # seconds; the data they fetch is cached longer (an hour)
OEMBED_SIZE = (640, 480)  # width and height of an oEmbed iframe when the consumer allows it
GENERATOR_HEIGHTS = (300, 400, 500, 600)
GENERATOR_HEIGHT = 400
STATE_ARGS = ProjectFilter.PARAMS + maps.MapState.PARAMS + ("lang",)  # what an embed's URL may carry
PAGE_CACHE_ENTRIES = 1024
# Requests that never need a session: the embeds, oEmbed, and the public data and files they load.
SESSIONLESS = re.compile(r"^/(embed(/.*)?|oembed|static/.*|api/(planungsraeume|areas|bezirke|projects|places)(/.*)?)$")
# Pages whose URL oEmbed answers (and which name it in their <head>), with the map each one embeds.
EMBEDS = {"pages.index": "overview", "pages.compare": "overview", "pages.search": "overview",
          "pages.statistics": "overview", "pages.area": "area", "pages.kiez": "kiez",
          "embed.overview": "overview", "embed.area": "area", "embed.kiez": "kiez"}
FULL_PAGE = {"overview": "pages.index", "area": "pages.area", "kiez": "pages.kiez"}
EMBED_PAGE = {"overview": "embed.overview", "area": "embed.area", "kiez": "embed.kiez"}
_SOURCE = re.compile(r"^(\*|'self'|'none'|https?:|(https?|wss?)://(\*\.)?[A-Za-z0-9.-]+(:(\d{1,5}|\*))?/?|"
                     r"(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d{1,5})?)$")


# ------------------------------------------------------------------ the embed pages

@bp.get("/embed/")
def overview():
    return _embed("overview", None)


@bp.get("/embed/gebiete/<slug>")
def area(slug):
    return _embed("area", slug)


@bp.get("/embed/kiez/<plr_id>")
def kiez(plr_id):
    return _embed("kiez", plr_id)


def _embed(kind: str, key: str | None):
    cache_key = request.url  # host, path and query: the page depends on nothing else
    entry = remembered("kiezkarte_embed_pages", cache_key)
    if entry is None:
        entry = remember("kiezkarte_embed_pages", cache_key, _render_embed(kind, key), PAGE_CACHE_ENTRIES)
    html, script_hash = entry
    response = current_app.make_response(html)
    _embed_headers(response, script_hash)
    return response


def _render_embed(kind: str, key: str | None) -> tuple[str, str | None]:
    """The embed's HTML and the CSP hash of its one inline script."""
    store = get_store()
    state = filters.map_state()
    flt = filters.request_filter(with_area=kind == "overview")
    full_path = url_for(FULL_PAGE[kind], **({"slug": key} if kind == "area" else {"plr_id": key} if kind == "kiez" else {}))
    env = pages.map_env(embed=True, planner=False, tile_ask=tiles_need_asking(), full_url=full_path)
    area_row = None
    if kind == "overview":
        title = gettext("Quartiersmanagement in Berlin")
        map_page = maps.overview_map(env, flt, state)
    elif kind == "area":
        area_row, geom = queries.area(store, key)
        title = gettext("QM area %(name)s", name=area_row["short_name"])
        map_page = maps.area_map(env, area_row, geom, flt, state)
    else:
        row, geom = queries.planungsraum(store, key)
        title = gettext("Kiez %(name)s", name=row["plr_name"])
        map_page = maps.kiez_map(env, row, geom, state)
    query = state_query(request.args)
    html = render_template("embed.html", title=title, map_page=map_page, area=area_row,
                           full_url=full_path + (f"?{query}" if query else ""))
    return html, map_page.script_hash if map_page else None


def _embed_headers(response, script_hash: str | None) -> None:
    response.headers["Content-Security-Policy"] = pages.csp(script_hash) + "; " + frame_ancestors()
    response.cache_control.public = True
    response.cache_control.max_age = EMBED_MAX_AGE


def frame_ancestors() -> str:
    """The CSP directive of the embeds: the configured sites (and always this one)."""
    sources = current_app.extensions["kiezkarte_frame_ancestors"]
    if "*" in sources:
        return "frame-ancestors *"
    if "'none'" in sources:
        return "frame-ancestors 'none'"
    return "frame-ancestors " + " ".join(["'self'"] + [s for s in sources if s != "'self'"])


def parse_frame_ancestors(value) -> tuple[str, ...]:
    """'*' or origins separated by spaces (or commas) -> CSP sources; ValueError for anything else."""
    sources = tuple(s for s in re.split(r"[\s,]+", str(value or "").strip()) if s)
    if not sources:
        raise ValueError("EMBED_FRAME_ANCESTORS is empty: use '*' or a list of origins")
    bad = [s for s in sources if not _SOURCE.match(s)]
    if bad:
        raise ValueError(f"EMBED_FRAME_ANCESTORS: not an origin: {', '.join(bad)} "
                         "(use '*' or origins like https://www.berlin.de, separated by spaces)")
    return sources


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def tiles_need_asking() -> bool:
    """Embeds ask before the first tile when the tile server is another host (and the setting says so)."""
    tile_url = current_app.config.get("TILE_URL") or ""
    if not tile_url or not _flag(current_app.config.get("TILE_CLICK_TO_LOAD", "true")):
        return False
    host = urlsplit(tile_url).netloc
    return bool(host) and host.lower() != request.host.lower()


def state_query(args) -> str:
    """The state arguments of a query (filter, map state, language), as the site writes them."""
    pairs = [(k, v) for k, v in args.items(multi=True) if k in STATE_ARGS and v]
    return readable(urlencode(pairs))


def readable(query: str) -> str:
    return query.replace("%2C", ",").replace("%2F", "/").replace("%3A", ":")


# ------------------------------------------------------------------ the <iframe> snippet

def iframe_snippet(src: str, title: str, width, height) -> str:
    """The HTML other sites paste: every value escaped, lazy, sandboxed, no referrer."""
    return (f'<iframe src="{escape(src)}" title="{escape(title)}" width="{escape(width)}" height="{escape(height)}" '
            f'loading="lazy" style="border:0;max-width:100%" allow="fullscreen" referrerpolicy="no-referrer" '
            f'sandbox="allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"></iframe>')


@dataclass(frozen=True)
class Generator:
    """What the embed-code generator of a full page offers and starts with."""

    embed_url: str  # absolute, without a query
    titles: dict  # lang -> the embed's title
    lang: str
    default_lang: str
    indicators: tuple
    indicator: str
    default_indicator: str
    layers: tuple  # (id, label, shown)
    defaults: tuple  # the layers an embed shows when ?layers= is not given
    filter_query: str
    heights: tuple
    height: int
    src: str  # the embed URL of the page's state
    snippet: str


def generator(map_page) -> Generator | None:
    """The embed-code generator for the current full page, or None (no embed for it)."""
    kind = EMBEDS.get(request.endpoint or "")
    if map_page is None or kind is None or request.endpoint == "pages.statistics":
        return None
    view_args = request.view_args or {}
    embed_url = url_for(EMBED_PAGE[kind], **view_args, _external=True)
    titles = {}
    for lang in i18n.LOCALES:
        with force_locale(lang):
            titles[lang] = embed_title(kind, view_args)
    state = filters.map_state()
    flt = filters.request_filter(with_area=kind == "overview")
    args = {**flt.args(), **{k: v for k, v in state.args().items() if k in ("indicator", "layers")},
            **i18n.lang_args()}
    src = embed_url + (f"?{readable(urlencode(args))}" if args else "")
    return Generator(embed_url=embed_url, titles=titles, lang=i18n.current_lang(),
                     default_lang=current_app.config["BABEL_DEFAULT_LOCALE"], indicators=map_page.indicators,
                     indicator=map_page.indicator, default_indicator=maps.DEFAULT_INDICATOR, layers=map_page.layers, defaults=maps.LAYER_TOGGLES,
                     filter_query=readable(urlencode(flt.args())), heights=GENERATOR_HEIGHTS,
                     height=GENERATOR_HEIGHT, src=src,
                     snippet=iframe_snippet(src, "Kiezkarte: " + titles[i18n.current_lang()], "100%", GENERATOR_HEIGHT))


def embed_title(kind: str, view_args: dict) -> str:
    store = get_store()
    if kind == "area":
        row, _ = queries.area(store, view_args["slug"])
        return gettext("QM area %(name)s", name=row["short_name"])
    if kind == "kiez":
        row, _ = queries.planungsraum(store, view_args["plr_id"])
        return gettext("Kiez %(name)s", name=row["plr_name"])
    return gettext("Quartiersmanagement in Berlin")


# ------------------------------------------------------------------ oEmbed

@bp.get("/oembed")
def oembed():
    """oEmbed 1.0: the rich type, JSON only (format=xml: 501); 404 for URLs this site cannot embed."""
    args = request.args
    if args.get("format", "json") != "json":
        return _oembed_error(501, "only format=json is supported")
    url = (args.get("url") or "").strip()
    if not url:
        return _oembed_error(400, "url is required")
    try:
        maxwidth, maxheight = _dimension(args.get("maxwidth")), _dimension(args.get("maxheight"))
    except ValueError:
        return _oembed_error(400, "maxwidth and maxheight must be positive whole numbers")
    target = resolve(url)
    if target is None:
        return _oembed_error(404, "no embeddable map for this URL")
    kind, view_args, state_args, origin = target
    lang = state_args.get("lang") if state_args.get("lang") in i18n.LOCALES else None
    try:
        with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
            title = "Kiezkarte: " + embed_title(kind, view_args)
        ProjectFilter.from_args(filters.merged_args(MultiDict(state_args)))  # a bad filter is a bad URL
    except KiezkarteError as exc:
        return _oembed_error(exc.status, str(exc))
    width = min(OEMBED_SIZE[0], maxwidth or OEMBED_SIZE[0])
    height = min(OEMBED_SIZE[1], maxheight or OEMBED_SIZE[1])
    query = readable(urlencode(list(state_args.items(multi=True))))
    # The page's own origin (scheme and host as the consumer knows them, e.g. https behind a proxy)
    src = origin + url_for(EMBED_PAGE[kind], **view_args) + (f"?{query}" if query else "")
    body = {"version": "1.0", "type": "rich", "title": title, "provider_name": "Kiezkarte",
            "provider_url": origin + url_for("pages.index"), "cache_age": 3600,
            "html": iframe_snippet(src, title, width, height), "width": width, "height": height}
    response = jsonify(body)
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def _oembed_error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _dimension(text) -> int | None:
    if text in (None, ""):
        return None
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def resolve(url: str):
    """A URL of this site -> (embed kind, its view args, the state args of its query, its origin); None if
    this site cannot embed it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.host.lower():
        return None
    adapter = current_app.url_map.bind(request.host, url_scheme=parts.scheme)
    path = parts.path or "/"
    try:
        endpoint, view_args = adapter.match(path, method="GET")
    except RequestRedirect as redirect:  # e.g. /embed -> /embed/
        try:
            endpoint, view_args = adapter.match(urlsplit(redirect.new_url).path, method="GET")
        except HTTPException:
            return None
    except HTTPException:
        return None
    kind = EMBEDS.get(endpoint)
    if kind is None:
        return None
    query = MultiDict(parse_qsl(parts.query))
    if endpoint == "pages.statistics" and query.get("area"):  # the statistics of one area: its map
        kind, view_args = "area", {"slug": query.pop("area")}
    if kind == "area":
        query.pop("area", None)
    state = MultiDict([(k, v) for k, v in query.items(multi=True) if k in STATE_ARGS and v])
    store = get_store()
    try:
        if kind == "area":
            queries.area(store, view_args["slug"])
        elif kind == "kiez":
            queries.planungsraum(store, view_args["plr_id"])
    except KiezkarteError:
        return None
    return kind, view_args, state, f"{parts.scheme}://{parts.netloc}"


def oembed_discovery_href() -> str | None:
    """The oEmbed URL of the current page (for <link rel="alternate" type="application/json+oembed">)."""
    if EMBEDS.get(request.endpoint or "") is None:
        return None
    query = state_query(request.args)
    page = request.base_url + (f"?{query}" if query else "")
    return url_for("embed.oembed", url=page, format="json", _external=True)


# ------------------------------------------------------------------ no sessions here

class _NoSessionFor(SessionInterface):
    """The app's session interface, except that some requests get a null session: nothing read or set."""

    def __init__(self, inner: SessionInterface):
        self.inner = inner
        self.null_session_class = inner.null_session_class
        self.pickle_based = getattr(inner, "pickle_based", False)

    def open_session(self, app, request_):
        if request_.method in ("GET", "HEAD") and SESSIONLESS.match(request_.path):
            return self.make_null_session(app)
        return self.inner.open_session(app, request_)

    def save_session(self, app, session, response):
        return self.inner.save_session(app, session, response)

    def is_null_session(self, obj) -> bool:
        return self.inner.is_null_session(obj)

    def make_null_session(self, app):
        return self.inner.make_null_session(app)

    def get_cookie_name(self, app):
        return self.inner.get_cookie_name(app)


@bp.errorhandler(KiezkarteError)
def _embed_error(exc: KiezkarteError):
    """Errors of embed pages as a small embed page (framable like the embeds, no cookie)."""
    html = render_template("embed_error.html", code=exc.status, message=str(exc))
    response = current_app.make_response((html, exc.status))
    _embed_headers(response, None)
    response.cache_control.max_age = 60
    return response


def init_app(app: Flask) -> None:
    app.extensions["kiezkarte_frame_ancestors"] = parse_frame_ancestors(app.config.get("EMBED_FRAME_ANCESTORS", "*"))
    app.session_interface = _NoSessionFor(app.session_interface)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(embed_generator=generator, oembed_discovery_href=oembed_discovery_href)
