"""Map builders: the only module that knows Folium and Leaflet, and the one place that
escapes text for map HTML.

A map page is a ``folium.Map`` with our own small template (no full-page styles, no
``user-scalable=no``), only local assets (one script bundle of Leaflet 1.9.4 and
``static/js/kiezkarte.js``, one stylesheet bundle; no CDN), tiles only when the ``TILE_URL``
setting names some, and one call ``kiezkarte.init(map, config)``. The config names the layer
URLs of the JSON API (the Planungsräume are fetched, never inlined: all 542 for Berlin, those
around the place for an area or a Kiez), the indicator classes and colours, and the strings
the script needs. The script draws every layer and builds every popup from feature
properties with DOM nodes and ``textContent`` — data never becomes HTML.

The page's ``<head>`` asks for the layer data first (``<link rel="preload" as="fetch">``) and a
small inline script there reads and parses it while the browser still loads Leaflet and parses
the page (``EARLY_DATA_SCRIPT``): the map is drawn the moment it is made, before the tables and
lists below it are parsed. The project markers are fetched once the map is drawn. The whole
map state lives in the URL (``MapState``: indicator, visible layers, centre and zoom, the
selected feature, next to the project filter and the language), so the same URL gives the same
map.

What Leaflet does insert as HTML (attributions, the container's label) goes through
``escape`` here first; the config goes into the inline script as HTML-safe JSON.
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Callable

import folium
from flask_babel import gettext
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from markupsafe import escape as _escape

from . import catalog, crs, i18n, nearby, queries
from .project_filter import ProjectFilter

LEAFLET_JS = "vendor/leaflet-1.9.4/leaflet.js"
LEAFLET_CSS = "vendor/leaflet-1.9.4/leaflet.css"
APP_JS = "js/kiezkarte.js"
# What a map page loads: one script and one stylesheet (bundles declared in app/web/pages.py).
MAP_JS = "bundle/map.js"  # Leaflet + kiezkarte.js
SITE_CSS = "bundle/site.css"  # Leaflet's CSS + map.css + the site's styles
EMBED_CSS = "bundle/embed.css"  # Leaflet's CSS + map.css + the embed frame

BERLIN_CENTER = (52.5163, 13.4050)
BERLIN_BOUNDS = ((52.3383, 13.0884), (52.6755, 13.7612))  # (south, west), (north, east)
DEFAULT_INDICATOR = "ug_burden_count"
PLACE_KINDS = ("green_space", "kita", "school", "youth_centre", "drinking_fountain", "cool_room")
PLACE_COLOURS = {"green_space": "#1b7837", "kita": "#762a83", "school": "#2166ac", "youth_centre": "#c51b7d",
                 "drinking_fountain": "#0086a8", "cool_room": "#35478c"}
PLACES_PADDING_M = 400  # places just outside an area still matter to its residents
LAYER_TOGGLES = ("areas-active", "areas-ended", "bezirke", "projects")  # switchable on every map, shown at first
VIEW_LIMITS = {"zoom": (9.0, 19.0), "lat": (52.2, 52.85), "lon": (12.8, 14.05)}  # the maps' maxBounds
_SELECTION = re.compile(r"(plr|area|project|place):[A-Za-z0-9_.:-]{1,100}")


def escape(text) -> str:
    """Escape text for HTML that Leaflet or Folium insert raw (attributions, labels)."""
    return str(_escape("" if text is None else str(text)))


def script_json(value) -> str:
    """JSON that is safe inside an inline <script> (no '</script>', no '<!--')."""
    return str(htmlsafe_json_dumps(value))


@dataclass(frozen=True)
class MapView:
    """Centre and zoom, written in URLs as ``map=<zoom>/<lat>/<lon>``."""

    zoom: float
    lat: float
    lon: float

    @classmethod
    def parse(cls, text) -> "MapView | None":
        """``'14.5/52.53/13.33'`` -> MapView; None for anything else or a view outside Berlin's maps."""
        parts = str(text or "").split("/")
        if len(parts) != 3 or len(str(text)) > 40:
            return None
        try:
            zoom, lat, lon = (float(p) for p in parts)
        except ValueError:
            return None
        view = cls(round(zoom, 2), round(lat, 5), round(lon, 5))
        for name, (low, high) in VIEW_LIMITS.items():
            if not low <= getattr(view, name) <= high:
                return None
        return view

    def arg(self) -> str:
        return f"{self.zoom:g}/{self.lat:.5f}/{self.lon:.5f}"


@dataclass(frozen=True)
class MapState:
    """What a map shows besides the project filter, as the URL says (``indicator``, ``layers``, ``map``, ``sel``)."""

    indicator: str = DEFAULT_INDICATOR
    layers: tuple[str, ...] | None = None  # the switchable layers shown; None: the map's defaults
    view: MapView | None = None  # None: fitted to the place
    selection: str | None = None  # "plr:<id>", "area:<slug>", "project:<id>" or "place:<kind>:<number>": its popup is open

    PARAMS = ("indicator", "layers", "map", "sel")

    @classmethod
    def from_args(cls, args) -> "MapState":
        """From query arguments; unknown values are dropped (an old permalink still opens a map)."""
        indicator = args.get("indicator", "")
        layers = None
        if args.get("layers") is not None:
            known = LAYER_TOGGLES + PLACE_KINDS
            given = [x for x in str(args.get("layers")).split(",") if x in known]
            layers = tuple(x for x in known if x in given)
        selection = args.get("sel") or None
        return cls(indicator=indicator if indicator in indicator_ids() else DEFAULT_INDICATOR, layers=layers,
                   view=MapView.parse(args.get("map")),
                   selection=selection if selection and _SELECTION.fullmatch(selection) else None)

    def args(self) -> dict[str, str]:
        """The query arguments of this state (defaults left out)."""
        out = {}
        if self.indicator != DEFAULT_INDICATOR:
            out["indicator"] = self.indicator
        if self.layers is not None:
            out["layers"] = ",".join(self.layers) or "none"
        if self.view is not None:
            out["map"] = self.view.arg()
        if self.selection:
            out["sel"] = self.selection
        return out

    def visible(self, offered: tuple[str, ...], defaults: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(x for x in offered if x in (defaults if self.layers is None else self.layers))


@dataclass(frozen=True)
class MapPage:
    """The pieces a page template places: assets in <head>, the container, the inline script."""

    head: Markup
    body: Markup
    script: Markup
    indicators: tuple = ()  # (id, label) for the <select id="indicator-select">
    places: tuple = ()  # place kinds the page offers as toggles
    indicator: str = DEFAULT_INDICATOR  # the indicator shown first (chosen in the URL)
    layers: tuple = ()  # (layer id, label, shown) of every switchable layer
    data_urls: tuple = ()  # what the map fetches before it is drawn (preloaded)

    @property
    def script_hash(self) -> str:
        """CSP sources of the page's two inline scripts ('sha256-…' each), so no other inline script can run."""
        return " ".join(_csp_hash(text) for text in (EARLY_DATA_SCRIPT, str(self.script)))


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# In <head>, right after the preload links: reads and parses the layers they name while the browser
# still loads Leaflet and parses the page, so the map is drawn the moment it is made (kiezkarte.js
# takes them from window.kiezkarteData). No extra headers: the requests match the preloads.
EARLY_DATA_SCRIPT = (
    "window.kiezkarteData={};"
    "document.querySelectorAll('link[rel=\"preload\"][as=\"fetch\"]').forEach(function(l){"
    "var p=window.kiezkarteData[l.href]=fetch(l.href,{credentials:'same-origin'}).then(function(r){"
    "if(!r.ok)throw new Error(l.href+': HTTP '+r.status);return r.json();});"
    "p.catch(function(){});});"
)


@dataclass(frozen=True)
class MapEnv:
    """What a map needs from the web layer: URLs (language kept) and the tile settings."""

    static_url: Callable[[str], str]
    api_url: Callable[..., str]
    page_url: Callable[..., str]
    lang: str
    tile_url: str = ""
    tile_attribution: str = ""
    planner: bool = False  # a signed-in planner: popups offer edit links
    embed: bool = False  # an embed: links open in a new tab, history never grows (the host page owns it)
    tile_ask: bool = False  # ask before fetching the first tile (a third-party tile server in an embed)
    full_url: str = ""  # embeds: the full page of this map (its state is appended by the script)
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ Folium plumbing

class _Map(folium.Map):
    """folium.Map without its full-page header (html/body height, user-scalable=no)."""

    _template = Template("""
        {% macro header(this, kwargs) %}{% endmacro %}
        {% macro html(this, kwargs) %}
            <div class="map" id={{ this.get_name()|tojson }} role="region" aria-label="{{ this.label_html }}"></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map({{ this.get_name()|tojson }}, {
                center: {{ this.location|tojson }},
                crs: L.CRS.{{ this.crs }},
                ...{{ this.options|tojavascript }}
            });
            {% if this.fit %}
            {{ this.get_name() }}.fitBounds({{ this.fit|tojson }}, {animate: false});
            {% endif %}
        {% endmacro %}
    """)

    def __init__(self, *, label: str, fit=None, **kwargs):
        super().__init__(**kwargs)
        self._id = "main"  # stable name: the same page renders the same bytes (ETag, CSP hash)
        self.label_html = escape(label)
        # Fitted at once, not animated from the first view: an animation would move the map
        # again after its layers are drawn, and Leaflet would redraw every path.
        self.fit = [list(corner) for corner in fit] if fit else None
        # Instance lists: never mutate Folium's module-level defaults (they are shared).
        self.default_js = []
        self.default_css = []


class _Init(folium.MacroElement):
    """Hands the map and its config to static/js/kiezkarte.js."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            kiezkarte.init({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
    """)

    def __init__(self, config: dict):
        super().__init__()
        self._name = "KiezkarteInit"
        self._id = "main"
        self.config_json = script_json(config)


def _render(m: _Map, env: MapEnv, config: dict) -> MapPage:
    _Init(config).add_to(m)
    root = m.get_root()
    root.header._children.pop("meta_http", None)  # the page has its own <meta charset>
    root.render()
    # The data first (it is the slowest part) and the script that reads it (before the stylesheet, so
    # it need not wait for it), then the one stylesheet and the one script.
    data = _data_urls(config)
    head = "".join(f'<link rel="preload" href="{escape(url)}" as="fetch" crossorigin>\n' for url in data)
    head += f"<script>{EARLY_DATA_SCRIPT}</script>\n"
    head += f'<link rel="stylesheet" href="{escape(env.static_url(EMBED_CSS if env.embed else SITE_CSS))}">\n'
    head += f'<script src="{escape(env.static_url(MAP_JS))}"></script>\n'
    labels = layer_labels()
    return MapPage(head=Markup(head + root.header.render()), body=Markup(root.html.render()),
                   script=Markup(root.script.render()),
                   indicators=tuple((i["id"], i["label"]) for i in config["indicators"]),
                   places=tuple(p["kind"] for p in config["places"]), indicator=config["indicator"],
                   layers=tuple((x, labels[x], x in config["visible"]) for x in config["toggles"]),
                   data_urls=tuple(data))


def _data_urls(config: dict) -> list[str]:
    """The layers the map is drawn from (the project markers follow it and are not preloaded)."""
    layers = config["layers"]
    urls = [layers["planungsraeume"]["url"], layers["areas"]["url"]]
    if layers.get("bezirke"):
        urls.append(layers["bezirke"]["url"])
    return urls


def _new_map(label: str, *, bounds=None, view: MapView | None = None) -> _Map:
    if view is not None:  # a permalink: exactly its view
        return _Map(label=label, location=[view.lat, view.lon], tiles=None, zoom_start=view.zoom, zoom_snap=0.25,
                    scroll_wheel_zoom=False, control_scale=True)
    return _Map(label=label, location=BERLIN_CENTER, tiles=None, zoom_start=10, zoom_snap=0.25,
                scroll_wheel_zoom=False, control_scale=True, fit=bounds or BERLIN_BOUNDS)


def _corners(bounds) -> list[list[float]]:
    """Bounds as the script takes them: [[south, west], [north, east]] (what the map fits when the URL names no view)."""
    return [list(corner) for corner in bounds]


def layer_labels() -> dict[str, str]:
    """The switchable layers by id, in the page's language."""
    labels = {"areas-active": gettext("Active QM areas"), "areas-ended": gettext("Ended QM areas"),
              "bezirke": gettext("District boundaries"), "projects": gettext("Projects")}
    labels.update({kind: i18n.label(i18n.PLACE_KIND, kind) for kind in PLACE_KINDS})
    return labels


# ------------------------------------------------------------------ the maps

def overview_map(env: MapEnv, flt: ProjectFilter | None = None, state: MapState | None = None) -> MapPage:
    """Berlin: Planungsräume by indicator, QM areas, districts, and the projects the filter selects."""
    flt, state = flt or ProjectFilter(), state or MapState()
    config = _config(env, mode="overview", bezirke=True, project_bases=[{}], flt=flt, state=state)
    label = gettext("Map of Berlin's Quartiersmanagement areas and Planungsräume")
    config["fit"] = _corners(BERLIN_BOUNDS)
    return _render(_new_map(label, bounds=bbox_bounds(flt.bbox), view=state.view), env, config)


def area_map(env: MapEnv, area: dict, geom, flt: ProjectFilter | None = None,
             state: MapState | None = None) -> MapPage | None:
    """The map of one QM area, fitted to it (or to the filter's map view); None when it has no boundary.

    It fetches only the Planungsräume around the area; the script fetches the others when the
    map is moved beyond them.
    """
    if geom is None:
        return None
    flt, state = replace(flt or ProjectFilter(), area=None), state or MapState()  # the area is the projects' base
    near = _near(env, geom)
    config = _config(env, mode="area", focus={"area": area["slug"]}, project_bases=[{"area": area["slug"]}],
                     flt=flt, state=state, places_bbox=lonlat_bbox(geom, PLACES_PADDING_M), near=near)
    label = gettext("Map of the QM area %(name)s", name=area["short_name"])
    config["fit"] = _corners(lat_lon_bounds(geom))
    return _render(_new_map(label, bounds=bbox_bounds(flt.bbox) or lat_lon_bounds(geom), view=state.view), env, config)


def kiez_map(env: MapEnv, plr: dict, geom, state: MapState | None = None) -> MapPage:
    state = state or MapState()
    slugs = [a["slug"] for a in plr.get("qm_areas") or []]
    near = _near(env, geom)
    config = _config(env, mode="kiez", focus={"plr": plr["plr_id"]}, project_bases=[{"area": s} for s in slugs],
                     state=state, places_bbox=lonlat_bbox(geom, PLACES_PADDING_M), near=near)
    label = gettext("Map of the Planungsraum %(name)s", name=plr["plr_name"])
    config["fit"] = _corners(lat_lon_bounds(geom))
    return _render(_new_map(label, bounds=lat_lon_bounds(geom), view=state.view), env, config)


def _near(env: MapEnv, geom) -> dict:
    """The Planungsräume around a place, by their box (``/api/planungsraeume?bbox=``): the same
    features as ``?area=``, but answered from the cached layer without a query of the store."""
    box = nearby.around(geom)
    return {"url": env.api_url("api.planungsraeume", bbox=",".join(f"{v:.4f}" for v in box)), "box": box}


def editor_map(env: MapEnv, *, point: tuple[float, float] | None = None, current: tuple[float, float] | None = None,
               area_slug: str | None = None, area_geom=None) -> MapPage:
    """A small map on which a planner places a project: a click sets the form's lat/lon fields.

    ``point`` (lat, lon) is the project's exact point, ``current`` where it is shown now (any
    precision). The map fits the point, else the project's area, else Berlin.
    """
    config = _config(env, mode="editor", focus={"area": area_slug} if area_slug else {}, project_bases=[],
                     bezirke=True)
    config["editor"] = {"lat_field": "lat", "lon_field": "lon", "area_field": "qm_area",
                        "point": list(point) if point else None, "current": list(current) if current else None}
    if point or current:
        lat, lon = point or current
        bounds = ((lat - 0.004, lon - 0.007), (lat + 0.004, lon + 0.007))
    elif area_geom is not None:
        bounds = lat_lon_bounds(area_geom)
    else:
        bounds = None
    return _render(_new_map(gettext("Map for placing the project"), bounds=bounds), env, config)


def bbox_bounds(bbox) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """A filter's lon/lat box (west, south, east, north) as Leaflet bounds, clipped to Berlin; None without one."""
    if not bbox:
        return None
    west, south, east, north = bbox
    (b_south, b_west), (b_north, b_east) = BERLIN_BOUNDS
    west, south, east, north = max(west, b_west - 0.2), max(south, b_south - 0.2), min(east, b_east + 0.2), min(north, b_north + 0.2)
    if west >= east or south >= north:
        return None
    return (south, west), (north, east)


# ------------------------------------------------------------------ geometry at the edge

def lonlat_bbox(geom, pad_m: float = 0.0) -> tuple[float, float, float, float]:
    """west, south, east, north (EPSG:4326) of a store geometry (EPSG:25833), padded in metres."""
    minx, miny, maxx, maxy = geom.bounds
    xs = [minx - pad_m, maxx + pad_m, minx - pad_m, maxx + pad_m]
    ys = [miny - pad_m, miny - pad_m, maxy + pad_m, maxy + pad_m]
    lons, lats = crs.store_to_web_transformer().transform(xs, ys)
    return (round(min(lons), 5), round(min(lats), 5), round(max(lons), 5), round(max(lats), 5))


def lat_lon_bounds(geom, pad_m: float = 150.0) -> tuple[tuple[float, float], tuple[float, float]]:
    west, south, east, north = lonlat_bbox(geom, pad_m)
    return (south, west), (north, east)


# ------------------------------------------------------------------ config for kiezkarte.js

def _layer(url: str, *layer_ids: str) -> dict:
    return {"url": url, "attribution": " · ".join(escape(a) for a in catalog.attributions(*layer_ids))}


def _config(env: MapEnv, *, mode: str, focus: dict | None = None, bezirke: bool = True,
            project_bases: list[dict] = (), flt: ProjectFilter | None = None, state: MapState | None = None,
            places_bbox=None, near: dict | None = None) -> dict:
    filter_args = (flt or ProjectFilter()).args()
    state = state or MapState()
    plr_layer = _layer(env.api_url("api.planungsraeume"), "planungsraeume", "umweltgerechtigkeit", "mss", "einwohner",
                       "gruenanlagen")
    if near:  # those around the place first; all of them once the map is moved beyond
        west, south, east, north = near["box"]
        plr_layer.update(full=plr_layer["url"], url=near["url"], bounds=[[south, west], [north, east]])
    layers = {
        "planungsraeume": plr_layer,
        "areas": _layer(env.api_url("api.areas"), "qm_areas"),
        # "base" is the layer without the filter: the page's script adds the filter the visitor chooses.
        "projects": [{**_layer(env.api_url("api.projects", **base, **filter_args), "projects"),
                      "base": env.api_url("api.projects", **base)} for base in project_bases],
    }
    if bezirke:
        layers["bezirke"] = _layer(env.api_url("api.bezirke"), "bezirke")
    places = []
    if places_bbox is not None:
        bbox = ",".join(f"{v:.5f}" for v in places_bbox)
        for kind in PLACE_KINDS:
            layer = _layer(env.api_url("api.places", kind=kind, bbox=bbox), queries.PLACE_LAYER[kind])
            places.append({"kind": kind, "label": i18n.label(i18n.PLACE_KIND, kind),
                           "colour": PLACE_COLOURS[kind], **layer})
    links = {"kiez": env.page_url("pages.kiez", plr_id="__ID__"),
             "area": env.page_url("pages.area", slug="__ID__"),
             "project": env.page_url("pages.area", slug="__AREA__", _anchor="project-__ID__")}
    if env.planner and not env.embed:  # only signed-in planners see edit links, never in an embed
        links["edit"] = env.page_url("planning.edit_project", project_id="__ID__")
    if env.full_url:
        links["full"] = env.full_url
    toggles = LAYER_TOGGLES + (tuple(p["kind"] for p in places) if mode != "editor" else ())
    tiles = None
    if env.tile_url:
        tiles = {"url": env.tile_url, "attribution": escape(env.tile_attribution or env.tile_url),
                 "ask": env.tile_ask, "host": tile_host(env.tile_url)}
    return {
        "mode": mode,
        "embed": env.embed,
        "lang": env.lang,
        "focus": focus or {},
        "indicator": state.indicator if state.indicator in indicator_ids() else DEFAULT_INDICATOR,
        "default_indicator": DEFAULT_INDICATOR,
        "toggles": list(toggles),
        "defaults": list(LAYER_TOGGLES),
        "visible": list(state.visible(toggles, LAYER_TOGGLES)),
        "selection": state.selection,
        "tiles": tiles,
        "filter": filter_args,
        "indicators": indicator_legends(),
        "layers": layers,
        "places": places,
        "links": links,
        "labels": {
            "status_group": _labels(i18n.STATUS_GROUP),
            "area_status": _labels(i18n.AREA_STATUS),
            "basis": _labels(i18n.BOUNDARY_BASIS),
            "precision": _labels(i18n.LOCATION_PRECISION),
            "project_status": _labels(i18n.PROJECT_STATUS),
            "fund": _labels(i18n.FUND),
        },
        "text": _strings(),
    }


def tile_host(url: str) -> str:
    """The host a tile URL template names ('{s}.tile.example.org' -> 'tile.example.org'), for people to read."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return re.sub(r"^\{[a-z]\}\.", "", host.replace("%7B", "{").replace("%7D", "}"))


def _labels(vocabulary: dict) -> dict:
    return {code: str(text) for code, text in vocabulary.items()}


def _strings() -> dict:
    return {
        "planungsraum": gettext("Planungsraum"),
        "qm_area": gettext("QM area"),
        "bezirk": gettext("District"),
        "residents": gettext("Residents"),
        "part_of": gettext("Part of the QM area"),
        "open_kiez": gettext("Open the page of this Kiez"),
        "open_area": gettext("Open the page of this area"),
        "years": gettext("Years"),
        "since": gettext("since"),
        "project": gettext("Project"),
        "projects_here": gettext("Projects at this point"),
        "place": gettext("Place"),
        "fund": gettext("Fund"),
        "location": gettext("Location"),
        "website": gettext("Website"),
        "legend_colours": gettext("Colours of the Planungsräume"),
        "legend_lines": gettext("Lines"),
        "line_active": gettext("active QM area"),
        "line_ended": gettext("ended QM area"),
        "line_approx": gettext("dashed: approximate boundary"),
        "line_bezirk": gettext("district boundary"),
        "load_error": gettext("Some map layers could not be loaded. The facts below the map are complete."),
        "loading": gettext("Loading map layers …"),
        "places_count": gettext("%(count)s shown"),
        "no_data": gettext("no data"),
        "sources": gettext("Sources of the map layers"),
        "edit": gettext("Edit"),
        "click_to_place": gettext("Click the map to place the project, or type its latitude and longitude."),
        "placed_at": gettext("Placed at %(lat)s, %(lon)s. Save the form to keep it."),
        "new_point": gettext("New location of the project"),
        "current_point": gettext("Where the project is shown now"),
        "projects_shown": gettext("%(count)s projects on the map"),
        "tiles_button": gettext("Show the basemap"),
        "tiles_ask": gettext("The basemap is loaded from %(host)s, which then learns your IP address."),
        "map_hint_touch": gettext("Tap the map to move it with one finger."),
        "new_tab": gettext("(opens in a new tab)"),
    }


def indicator_ids() -> tuple[str, ...]:
    return tuple(d["id"] for d in queries.indicator_definitions())


def indicator_legends() -> list[dict]:
    """Every indicator with the labels and colours of its classes, in the page's language."""
    out = []
    english = i18n.current_lang() == "en"
    for d in queries.indicator_definitions():
        item = {"id": d["id"], "label": d["label_en"] if english else d["label"], "kind": d["kind"],
                "unit": d["unit"], "higher_is_worse": d["higher_is_worse"]}
        if d["kind"] == "category":
            item["classes"] = [{"value": c["value"], "label": c["label_en"] if english else c["label"],
                                "colour": c["colour"]} for c in d["classes"]]
        else:
            item["breaks"] = d["breaks"]
            item["classes"] = _number_classes(d["breaks"], d["colours"], d["unit"])
            item["no_data"] = {"label": gettext("no data"), "colour": d["no_data_colour"]}
        out.append(item)
    return out


def _number_classes(breaks, colours, unit: str) -> list[dict]:
    def fmt(v):
        text = i18n.number(v)
        return f"{text} {unit}" if unit else text

    classes = []
    bounds = [None, *breaks, None]
    for i, colour in enumerate(colours):
        low, high = bounds[i], bounds[i + 1]
        if low is None:
            text = gettext("under %(value)s", value=fmt(high))
        elif high is None:
            text = gettext("%(value)s or more", value=fmt(low))
        else:
            text = gettext("%(low)s to under %(high)s", low=i18n.number(low), high=fmt(high))
        classes.append({"min": low, "max": high, "label": text, "colour": colour})
    return classes
