"""The HTML pages through Flask's test client, on the real store.

Every area page and a sample of Planungsraum pages render; unknown ones are a 404 page;
German by default, English with ?lang=en (lang attribute, strings, number formats, links
keep the language); no page loads anything from another server; data that looks like
HTML is shown as text; the page weight stays within budget.
"""
from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import folium
import pytest

from app import create_app, i18n, maps
from app.build import build
from app.config import REPO_ROOT

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_AREA = "beusselstrasse"
HOSTILE_KITA_XY = (387150.0, 5821400.0)  # inside the Beusselstraße area (EPSG:25833)
GZIP = {"Accept-Encoding": "gzip"}


def build_hostile_store(raw: Path, target: Path) -> Path:
    """A store with a project and a kita whose names (and links) are HTML and script."""
    with (raw / "qm" / "qm_projects.csv").open("a", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerow(
            [HOSTILE, "Beusselstraße", "Baufonds", "", "2024", "", "", "<b>Ort</b>", "", "javascript:alert(3)", "", ""])
    kitas = raw / "social_infrastructure_points" / "kindertagesstaetten.geojson"
    data = json.loads(kitas.read_text(encoding="utf-8"))
    feature = json.loads(json.dumps(data["features"][0]))
    feature["properties"].update({"e_nr": "99999999", "e_name": HOSTILE, "e_web": "javascript:alert(4)"})
    feature["geometry"]["coordinates"] = list(HOSTILE_KITA_XY)
    data["features"].append(feature)
    kitas.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    build(raw, target)
    return target


class Assets(HTMLParser):
    """Every URL a page loads by itself (scripts, styles, icons, images, frames) and every link."""

    def __init__(self):
        super().__init__()
        self.loaded, self.links, self.inline_scripts, self.html_lang, self.oembed = [], [], [], None, []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag == "script":
            if a.get("src"):
                self.loaded.append(a["src"])
            else:
                self._in_script = True
                self.inline_scripts.append("")
        if tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "icon", "preload", "modulepreload"):
            self.loaded.append(a["href"])  # (rel=alternate and canonical only name a URL)
        if tag == "link" and a.get("rel") == "alternate" and a.get("type") == "application/json+oembed":
            self.oembed.append(a["href"])
        if tag in ("img", "iframe", "source", "video", "audio", "embed") and a.get("src"):
            self.loaded.append(a["src"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_scripts[-1] += data

    @property
    def map_script(self) -> str:
        """The inline script that makes the map (the other one, in <head>, only reads its data)."""
        [script] = [s for s in self.inline_scripts if "kiezkarte.init(" in s]
        return script


def parse(html: str) -> Assets:
    parser = Assets()
    parser.feed(html)
    return parser


# ------------------------------------------------------------------ every page renders

def test_overview_renders_with_all_areas_listed(client, store):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    areas = store.rows("qm_areas")
    assert len(areas) == 51
    for area in areas:  # every area is in the table below the map, the undrawn ones too
        assert f'href="/gebiete/{area["slug"]}"' in html
    assert html.count("area-row--undrawn") == sum(a["boundary_basis"] == "none" for a in areas) == 17
    assert 'id="indicator-select"' in html and 'id="legend"' in html
    assert 'action="/suche"' in html


def test_every_area_page_renders(client, store):
    for area in store.rows("qm_areas"):
        r = client.get(f"/gebiete/{area['slug']}")
        assert r.status_code == 200, area["slug"]
        html = r.get_data(as_text=True)
        assert area["bezirk"] in html
        has_map = 'class="map"' in html
        assert has_map == (area["boundary_basis"] != "none"), area["slug"]


def test_area_page_shows_figures_next_to_berlin_and_explains_approximation(client):
    html = client.get("/gebiete/beusselstrasse?lang=en").get_data(as_text=True)
    assert "35% of residents live with a high noise burden — Berlin: 20%" in html
    assert "Approximate boundary: the Planungsräume that a source names" in html
    assert "https://www.qm-beusselstrasse.de" in html
    assert "no own location known: placed at the area&#39;s centre" in html  # location precision, honestly
    assert 'id="project-beusselstrasse-' in html


def test_area_without_boundary_has_all_facts_but_no_map(client):
    html = client.get("/gebiete/alte-hellersdorfer-strasse?lang=en").get_data(as_text=True)
    assert 'class="map"' not in html and "kiezkarte.init" not in html
    assert "No boundary of this area is known" in html
    assert "Familienzeit" in html  # its projects are listed
    assert "not on a map: the area has no known boundary" in html
    assert "https://alte-hellersdorfer.de" in html


def test_every_kiez_page_renders(client, store):
    plrs = store.rows("planungsraeume", order="plr_id")
    assert len(plrs) == 542
    for plr in plrs:
        r = client.get(f"/kiez/{plr['plr_id']}")
        assert r.status_code == 200, plr["plr_id"]
        html = r.get_data(as_text=True)
        assert plr["plr_id"] in html
        for slug in (plr["qm_areas"] or "").split(";"):
            if slug:
                assert f'href="/gebiete/{slug}"' in html  # offers its QM area


@pytest.mark.parametrize("path", ["/gebiete/no-such-area", "/kiez/99999999", "/no/such/page"])
def test_unknown_pages_are_a_404_html_page(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert '<html lang="de"' in html and "Nicht gefunden" in html
    en = client.get(path + "?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in en and "Not found" in en


def test_kiez_without_published_residents(client, store):
    plr = store.rows("planungsraeume", "residents IS NULL")[0]
    html = client.get(f"/kiez/{plr['plr_id']}?lang=en").get_data(as_text=True)
    assert "not published" in html and "– m²" not in html


def test_api_errors_stay_json(client):
    r = client.get("/api/areas/no-such-area")
    assert r.status_code == 404 and r.is_json


# ------------------------------------------------------------------ languages

def test_german_by_default_and_english_on_request(client):
    de = client.get("/kiez/01200517").get_data(as_text=True)
    en = client.get("/kiez/01200517?lang=en").get_data(as_text=True)
    assert '<html lang="de"' in de and '<html lang="en"' in en
    assert "Meinen Kiez finden" in de and "Find my Kiez" in en
    assert "Lärmbelastung" in de and "Noise" in en
    # numbers: 3.821.881 residents in Berlin; 15,5 m² green per resident (de) / 15.5 (en)
    assert "15,5 m²" in de and "15.5 m²" in en
    assert "20\xa0%" in de and "20%" in en
    assert "Stand 30. Juni 2022" in de and "June 30, 2022" in en
    html = client.get("/gebiete/beusselstrasse").get_data(as_text=True)
    assert "3.821.881" in html and "10.706" in html
    assert "3,821,881" in client.get("/gebiete/beusselstrasse?lang=en").get_data(as_text=True)


def test_links_keep_the_language(client):
    for path in ("/?lang=en", "/gebiete/beusselstrasse?lang=en", "/kiez/01200517?lang=en"):
        page = parse(client.get(path).get_data(as_text=True))
        # the API and OGC API documents are for programs, in one language
        internal = [h for h in page.links if h.startswith("/") and not h.startswith(("/static/", "/api/", "/ogc/"))]
        assert internal
        switch = [h for h in internal if "lang=" not in h]
        # the only link without lang=en is the switch back to German (the default)
        assert len(switch) == 1, switch
        assert all("lang=en" in h for h in internal if h not in switch)
    page = parse(client.get("/").get_data(as_text=True))
    internal = [h for h in page.links if h.startswith("/")]
    assert [h for h in internal if "lang=" in h] == ["/?lang=en"]
    # the filter form carries the language as a hidden field
    assert '<input type="hidden" name="lang" value="en">' in client.get("/?lang=en").get_data(as_text=True)


def test_unknown_language_falls_back_to_german(client):
    assert '<html lang="de"' in client.get("/?lang=xx").get_data(as_text=True)


UI_CODE = ("app/maps.py", "app/i18n.py", "app/web/pages.py", "app/web/planning.py", "app/web/filters.py",
           "app/web/embed.py", "app/web/audit_log.py")


def _is_ui(path: str) -> bool:
    return path in UI_CODE or (path.startswith("app/templates/") and path.endswith(".html"))


def test_every_ui_string_has_a_german_translation():
    """Every string of every page, the planners' included (code and templates), is in the German catalogue,
    and so is every ``Reason`` anywhere in the app (reasons exist to be shown in the page's language)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    with (REPO_ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
    found = {msg for path, _, msg, _, _ in extract_from_dir(str(REPO_ROOT), method_map, options_map, keywords=keywords)
             if _is_ui(path)}
    reasons = {msg for path, _, msg, _, _ in extract_from_dir(str(REPO_ROOT), method_map, options_map,
                                                               keywords={"Reason": None}) if path.startswith("app/")}
    assert len(reasons) > 60
    found |= reasons
    assert len(found) > 350
    with (i18n.TRANSLATIONS_DIR / "de" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        de = read_po(f)
    missing = sorted(str(m) for m in found if not (de.get(m) and de.get(m).string and not de.get(m).fuzzy))
    assert not missing, f"untranslated (run pybabel extract/update, see README): {missing}"


def test_catalogues_compile_when_missing_or_older(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS_DIR, source, ignore=shutil.ignore_patterns("*.mo"))
    i18n.compile_catalogs(source)
    mo = source / "de" / "LC_MESSAGES" / "messages.mo"
    assert mo.exists()
    first = mo.stat().st_mtime_ns
    i18n.compile_catalogs(source)
    assert mo.stat().st_mtime_ns == first  # up to date: not rewritten
    po = source / "de" / "LC_MESSAGES" / "messages.po"
    po.touch()
    mo_time = po.stat().st_mtime - 10
    import os
    os.utime(mo, (mo_time, mo_time))
    i18n.compile_catalogs(source)
    assert mo.stat().st_mtime >= po.stat().st_mtime


# ------------------------------------------------------------------ privacy: nothing from elsewhere

@pytest.mark.parametrize("path", ["/", "/gebiete/beusselstrasse", "/gebiete/alte-hellersdorfer-strasse",
                                  "/kiez/01200517", "/suche", "/suche?address=Nirgendwostr%201", "/gebiete/x"])
def test_pages_load_only_local_files_and_set_no_cookies(client, path):
    r = client.get(path)
    assert "Set-Cookie" not in r.headers
    page = parse(r.get_data(as_text=True))
    assert page.loaded, path
    for url in page.loaded:
        assert url.startswith("/") and not url.startswith("//"), url
    html = r.get_data(as_text=True)
    assert "cdn" not in html.lower() and "bootstrap" not in html.lower() and "jquery" not in html.lower()
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "style-src 'self';" in csp


def inline_script_sources(html: str) -> list[str]:
    """The CSP source ('sha256-…') of each inline script of a page."""
    import base64
    import hashlib
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in parse(html).inline_scripts]


def test_the_only_inline_scripts_are_the_maps_and_the_csp_names_exactly_their_hashes(client):
    r = client.get("/gebiete/beusselstrasse")
    html = r.get_data(as_text=True)
    page = parse(html)
    assert page.inline_scripts == [maps.EARLY_DATA_SCRIPT, page.map_script]  # its data, then the map
    script_src = re.search(r"script-src ([^;]*);", r.headers["Content-Security-Policy"]).group(1).split()
    assert script_src == ["'self'", *inline_script_sources(html)]
    assert "kiezkarte.init(map_main" in page.map_script
    assert "L.tileLayer" not in page.map_script  # no TILE_URL: no tile server contacted
    # the data script reads only what the page preloads, and comes before the stylesheet (it need not wait for it)
    head = html[:html.index("</head>")]
    assert head.index("<script>") < head.index('rel="stylesheet"')
    assert head.index('rel="preload"') < head.index("<script>")


def test_layers_are_loaded_from_the_api_not_inlined(client):
    html = client.get("/").get_data(as_text=True)
    assert '"/api/planungsraeume"' in html and '"/api/areas"' in html and '"/api/bezirke"' in html
    assert '"coordinates"' not in html  # no GeoJSON in the page
    area = client.get("/gebiete/beusselstrasse").get_data(as_text=True)
    assert "/api/projects?area=beusselstrasse" in area and "/api/places?kind=kita" in area


def test_tiles_only_from_the_configured_server(store_url):
    app = create_app({"STORE": store_url, "TESTING": True,
                      "TILE_URL": "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
                      "TILE_ATTRIBUTION": "© Example <script>alert(5)</script>"})
    r = app.test_client().get("/")
    html = r.get_data(as_text=True)
    assert "https://{s}.tiles.example.org/{z}/{x}/{y}.png" in html
    assert "<script>alert(5)" not in html
    assert "img-src 'self' data: https://*.tiles.example.org" in r.headers["Content-Security-Policy"]


def test_folium_defaults_are_replaced_not_mutated(client):
    client.get("/")
    assert any("cdn.jsdelivr.net" in url for _, url in folium.Map.default_js)  # folium's own list untouched
    html = client.get("/").get_data(as_text=True)
    page = parse(html)
    # the layers the map is drawn from first (preloaded; the project markers come after the map),
    # then one stylesheet, one map script, one deferred script
    assert [u.split("?")[0] for u in page.loaded] == [
        "/api/planungsraeume", "/api/areas", "/api/bezirke",
        "/static/bundle/site.css", "/static/bundle/map.js", "/static/bundle/site.js", "/static/favicon.svg"]
    assert '<link rel="preload" href="/api/planungsraeume" as="fetch" crossorigin>' in html
    assert '<script src="/static/bundle/site.js?v=' in html and "defer" in html.split("bundle/site.js")[1][:30]


def test_bundles_are_their_files_joined(client):
    """Leaflet (unchanged, with its licence header) and our script in one file; stylesheets likewise."""
    from app.web.pages import BUNDLES, STATIC_DIR
    for name, parts in BUNDLES.items():
        body = client.get(f"/static/{name}").get_data()
        separator = b"\n;\n" if name.endswith(".js") else b"\n"
        assert body == separator.join((STATIC_DIR / p).read_bytes() for p in parts), name
    js = client.get("/static/bundle/map.js").get_data(as_text=True)
    assert js.startswith("/* @preserve\n * Leaflet 1.9.4") and "window.kiezkarte" in js
    assert client.get("/static/bundle/site.css").mimetype == "text/css"
    assert client.get("/static/bundle/nothing.js").status_code == 404


def test_vendored_leaflet_is_the_pinned_npm_release():
    import hashlib
    folder = REPO_ROOT / "static" / "vendor" / "leaflet-1.9.4"
    pinned = {"leaflet.js": "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a",
              "leaflet.css": "a7837102824184820dfa198d1ebcd109ff6d0ff9a2672a074b9a1b4d147d04c6"}
    for name, digest in pinned.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert "BSD 2-Clause" in (folder / "LICENSE").read_text()


def test_static_files_are_compressed_and_cached(client):
    html = client.get("/").get_data(as_text=True)
    url = re.search(r'src="(/static/bundle/map.js\?v=[0-9a-f]+)"', html).group(1)
    r = client.get(url, headers=GZIP)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert r.mimetype == "text/javascript"
    assert "immutable" in r.headers["Cache-Control"] and "max-age=31536000" in r.headers["Cache-Control"]
    again = client.get(url, headers={**GZIP, "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/static/../app/config.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


# ------------------------------------------------------------------ find my Kiez without JavaScript

def test_search_redirects_to_the_kiez_of_an_address(client):
    r = client.get("/suche?address=Ackerstra%C3%9Fe+1")
    assert r.status_code == 303 and re.search(r"/kiez/01100309\?address=[^&]+$", r.headers["Location"])
    r = client.get("/suche?address=Ackerstra%C3%9Fe+1&lang=en")
    assert re.search(r"/kiez/01100309\?address=[^&]+&lang=en$", r.headers["Location"])


def test_search_without_a_match_shows_suggestions(client):
    r = client.get("/suche?address=Ackerstra%C3%9Fe+99999&lang=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "No exact match" in html and "Ackerstraße" in html and "/suche?address=Ackerstra" in html
    street = client.get("/suche?address=Ackerstr&lang=en").get_data(as_text=True)
    assert "Please add the house number." in street and "prefill=" in street


def test_search_form_and_bad_input(client):
    assert client.get("/suche").status_code == 200
    r = client.get("/suche?address=" + "x" * 300)
    assert r.status_code == 400 and r.mimetype == "text/html"


# ------------------------------------------------------------------ escaping

@pytest.fixture()
def hostile_client(hostile_store_url):
    return create_app({"STORE": hostile_store_url, "TESTING": True}).test_client()


def test_html_in_data_is_shown_as_text(hostile_client):
    html = hostile_client.get(f"/gebiete/{HOSTILE_AREA}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert HOSTILE not in html
    assert "&lt;b&gt;Ort&lt;/b&gt;" in html and "<b>Ort</b>" not in html
    assert 'href="javascript:' not in html  # a non-http source URL stays text
    projects = hostile_client.get(f"/api/projects?area={HOSTILE_AREA}").get_json()
    assert HOSTILE in [f["properties"]["title"] for f in projects["features"]]


def test_map_config_cannot_break_out_of_its_script(hostile_client):
    html = hostile_client.get(f"/gebiete/{HOSTILE_AREA}").get_data(as_text=True)
    script = parse(html).map_script
    assert "</" not in script and "<img" not in script


def test_escape_and_script_json():
    assert maps.escape('<a href="x">&') == "&lt;a href=&#34;x&#34;&gt;&amp;"
    assert maps.escape(None) == ""
    text = maps.script_json({"a": "</script><!-- & '"})
    assert "<" not in text and ">" not in text and "&" not in text and "'" not in text
    assert json.loads(text) == {"a": "</script><!-- & '"}


# ------------------------------------------------------------------ page weight

def _transfer_size(client, html_path: str) -> dict:
    """gzip bytes of the page, every file it loads and every layer its map fetches (cold cache)."""
    r = client.get(html_path, headers=GZIP)
    sizes = {html_path: len(r.data)}
    html = gzip.decompress(r.data).decode() if r.headers.get("Content-Encoding") == "gzip" else r.get_data(as_text=True)
    page = parse(html)
    for url in page.loaded:
        sizes[url] = len(client.get(url, headers=GZIP).data)
    config = json.loads(re.search(r"kiezkarte\.init\(map_main, (\{.*\})\);", page.map_script).group(1))
    layers = config["layers"]
    urls = [layers["planungsraeume"]["url"], layers["areas"]["url"]] + [p["url"] for p in layers["projects"]]
    if "bezirke" in layers:
        urls.append(layers["bezirke"]["url"])
    for url in urls:
        sizes[url] = len(client.get(url, headers=GZIP).data)
    return sizes


def test_page_weight_within_budget(client):
    overview = _transfer_size(client, "/")
    area = _transfer_size(client, "/gebiete/beusselstrasse")
    assert sum(overview.values()) <= 300_000, overview
    assert sum(area.values()) <= 200_000, area


# ------------------------------------------------------------------ project filters in the URL

def project_rows(html: str) -> list[str]:
    """Ids of the projects listed in a page's project list (overview table or area list)."""
    return re.findall(r'data-project-id="([^"]+)"', html) or re.findall(r'<li class="project" id="project-([^"]+)"', html)


def map_config(html: str) -> dict:
    return json.loads(re.search(r"kiezkarte\.init\(map_main, (\{.*\})\);", parse(html).map_script).group(1))


def test_filters_in_the_url_change_the_listed_projects_and_keep_the_language(client, store):
    everything = project_rows(client.get("/").get_data(as_text=True))
    assert len(everything) == store.scalar("SELECT count(*) FROM projects") == 61
    html = client.get("/?fund=baufonds&lang=en").get_data(as_text=True)
    baufonds = {r["id"] for r in store.rows("projects", "fund = 'Baufonds'")}
    assert set(project_rows(html)) == baufonds and 0 < len(baufonds) < len(everything)
    assert f"{len(baufonds)} of 61 projects match the filter." in html
    assert '<html lang="en"' in html
    assert 'name="fund" value="baufonds" checked' in html  # the form shows the filter
    config = map_config(html)
    assert config["filter"] == {"fund": "baufonds"}
    assert config["layers"]["projects"][0]["url"] == "/api/projects?fund=baufonds"  # the map's layer follows it
    assert config["layers"]["projects"][0]["base"] == "/api/projects"
    page = parse(html)
    assert "/?fund=baufonds" in page.links  # the language switch keeps the filter
    assert "/statistik?fund=baufonds&lang=en" in page.links
    assert "/api/export/projects.csv?fund=baufonds" in page.links
    # several filters at once: the intersection
    html = client.get("/?fund=baufonds&year_from=2020&status=completed").get_data(as_text=True)
    expected = {r["id"] for r in store.rows("projects", "fund = 'Baufonds' AND status = 'completed' "
                                                       "AND coalesce(end_year, start_year) >= 2020")}
    assert set(project_rows(html)) == expected


def test_a_plain_get_form_is_redirected_to_the_canonical_url(client):
    r = client.get("/?fund=baufonds&fund=projektfonds&year_from=&year_to=2020&climate=&q=&lang=en&indicator=ug_noise")
    assert r.status_code == 303
    assert r.headers["Location"] == "/?fund=baufonds,projektfonds&year_to=2020&lang=en&indicator=ug_noise"
    assert client.get(r.headers["Location"]).status_code == 200
    # the area page is about its own area: an area filter there is dropped
    r = client.get("/gebiete/beusselstrasse?area=rixdorf&fund=baufonds")
    assert r.status_code == 303 and r.headers["Location"] == "/gebiete/beusselstrasse?fund=baufonds"


def test_unknown_filter_values_are_a_400_page(client):
    r = client.get("/?fund=goldfonds")
    assert r.status_code == 400 and r.mimetype == "text/html" and "goldfonds" in r.get_data(as_text=True)
    assert client.get("/statistik?year_from=1700").status_code == 400


def test_area_page_lists_the_filtered_projects_of_its_area(client, store):
    all_ids = {r["id"] for r in store.rows("projects", "area_slug = 'beusselstrasse'")}
    html = client.get("/gebiete/beusselstrasse").get_data(as_text=True)
    assert set(project_rows(html)) == all_ids
    html = client.get("/gebiete/beusselstrasse?year_from=2018&lang=en").get_data(as_text=True)
    recent = {r["id"] for r in store.rows("projects", "area_slug = 'beusselstrasse' AND end_year >= 2018")}
    assert set(project_rows(html)) == recent and recent < all_ids
    assert f"{len(recent)} of {len(all_ids)} projects match the filter." in html
    config = map_config(html)
    assert config["layers"]["projects"][0]["url"] == "/api/projects?area=beusselstrasse&year_from=2018"
    assert 'name="area"' not in html.split('data-filter-form')[1].split("</form>")[0]  # no area choice here
    none = client.get("/gebiete/beusselstrasse?fund=aktionsfonds&lang=en").get_data(as_text=True)
    assert project_rows(none) == [] and "No project of this area matches the filter." in none


def test_the_indicator_lives_in_the_url_too(client):
    html = client.get("/?indicator=ug_noise").get_data(as_text=True)
    assert '<option value="ug_noise" selected>' in html and map_config(html)["indicator"] == "ug_noise"
    kiez = client.get("/kiez/01200517?indicator=ug_noise").get_data(as_text=True)
    assert map_config(kiez)["indicator"] == "ug_noise"
    unknown = client.get("/?indicator=nonsense").get_data(as_text=True)  # unknown: the default, no error
    assert map_config(unknown)["indicator"] == maps.DEFAULT_INDICATOR
    # the filter form carries the indicator, so filtering keeps it
    assert '<input type="hidden" name="indicator" value="ug_noise">' in html


def test_only_projects_in_a_map_view(client, store):
    located = [r for r in store.rows("projects", "location_precision = 'facility'")][0]
    (row, point), = store.features("projects", "id = ?", (located["id"],))
    from app import crs
    lon, lat = crs.store_to_web_transformer().transform(point.x, point.y)
    bbox = f"{lon - 0.001:.5f},{lat - 0.001:.5f},{lon + 0.001:.5f},{lat + 0.001:.5f}"
    html = client.get(f"/?bbox={bbox}").get_data(as_text=True)
    assert located["id"] in project_rows(html) and len(project_rows(html)) < 61
    assert 'data-bbox-filter checked' in html
    assert "fitBounds" in parse(html).map_script and f"{lat - 0.001:.5f}".rstrip("0") in parse(html).map_script


# ------------------------------------------------------------------ area names

def test_area_title_is_the_short_name_with_the_researched_name_as_a_note(client):
    html = client.get("/gebiete/beusselstrasse").get_data(as_text=True)
    assert "<title>Beusselstraße – Kiezkarte</title>" in html
    assert "<h1>QM-Gebiet Beusselstraße</h1>" in html
    assert "Bis 2020 hieß das Gebiet Moabit West." in html
    assert "(Moabit West until 2020)" not in html.split("<h1>")[1].split("</h1>")[0]
    en = client.get("/gebiete/beusselstrasse?lang=en").get_data(as_text=True)
    assert "Called Moabit West until 2020." in en
    assert "Also known as Reuterkiez." in client.get("/gebiete/reuterplatz?lang=en").get_data(as_text=True)
    assert 'class="name-note"' not in client.get("/gebiete/badstrasse").get_data(as_text=True)


# ------------------------------------------------------------------ statistics and comparison

def test_statistics_render_in_german_number_format(client, store):
    r = client.get("/statistik")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    with_cost = store.rows("projects", "cost_eur IS NOT NULL")
    total = sum(p["cost_eur"] for p in with_cost)
    assert f"bekanntes Geld: {i18n_number_de(total)}\u00a0€" in html  # never broken before the €
    assert f"hier {len(with_cost)} von 61 Projekten" in html  # money only from projects with a stated cost
    assert html.count('<svg class="chart"') == 6  # projects and money by fund, Handlungsfeld, year
    assert "Wie viele Baufonds-Euro flossen in die am stärksten belasteten Planungsräume?" in html
    assert "Gesondert gezählt:" in html and "keinem Planungsraum zugeordnet (gesondert gezählt)" in html
    assert "Baufonds" in html and "Öffentlicher Raum" in html
    page = parse(html)
    for fmt in ("csv", "geojson", "gpkg"):
        assert f"/api/export/projects.{fmt}" in page.links
    assert "Set-Cookie" not in r.headers


def i18n_number_de(value) -> str:
    return f"{value:,.0f}".replace(",", ".")


def test_statistics_of_one_area_and_a_filter(client, store):
    html = client.get("/statistik?area=beusselstrasse&fund=baufonds&lang=en").get_data(as_text=True)
    n = store.scalar("SELECT count(*) FROM projects WHERE area_slug = 'beusselstrasse' AND fund = 'Baufonds'")
    assert "Projects in the QM area Beusselstraße in figures" in html
    assert f"{n} projects" in html or f"{n} project<" in html
    page = parse(html)
    assert "/api/export/projects.geojson?fund=baufonds&area=beusselstrasse" in page.links
    assert "/statistik?fund=baufonds&lang=en" in page.links  # all of Berlin, same filter
    assert client.get("/statistik?area=no-such-area").status_code == 404


def compare_order(html: str) -> list[str]:
    return re.findall(r'<tr class="compare-row[^"]*" data-slug="([^"]+)"', html)


def test_comparison_sorts_by_every_column_on_the_server(client, store):
    from app import stats
    html = client.get("/vergleich").get_data(as_text=True)
    assert compare_order(html) == [r["slug"] for r in stats.compare_areas(store)]
    assert len(compare_order(html)) == 51
    assert 'aria-sort="ascending"' in html and html.count("aria-sort=") == 1
    for key, *_ in stats.COMPARE_COLUMNS:
        for order in ("asc", "desc"):
            r = client.get(f"/vergleich?sort={key}&order={order}")
            assert r.status_code == 200, key
            body = r.get_data(as_text=True)
            assert compare_order(body) == [x["slug"] for x in stats.compare_areas(store, key, order == "desc")], key
            header = re.search(r'<th scope="col"[^>]*aria-sort="([a-z]+)"[^>]*>\s*<a href="([^"]+)"', body)
            assert header.group(1) == ("ascending" if order == "asc" else "descending")
            other = "desc" if order == "asc" else "asc"
            assert header.group(2).replace("&amp;", "&") in (f"/vergleich?sort={key}&order={other}", "/vergleich")
            assert f'href="/api/compare.csv?sort={key}&amp;order={order}"' in body or (key, order) == ("name", "asc")


def test_comparison_numbers_flags_and_csv(client, store):
    html = client.get("/vergleich?sort=residents&order=desc").get_data(as_text=True)
    top = client.get("/api/compare?sort=residents&order=desc").get_json()["areas"][0]
    assert i18n_number_de(top["residents"]) in html  # German thousands separator
    assert "≈" in html and "is-approximate" in html  # approximate boundaries are flagged
    assert html.count('class="compare-row"') + html.count('class="compare-row is-approximate"') == 51
    csv_url = re.search(r'href="(/api/compare\.csv[^"]*)"', html).group(1).replace("&amp;", "&")
    assert csv_url == "/api/compare.csv?sort=residents&order=desc"
    lines = client.get(csv_url).get_data(as_text=True).splitlines()
    assert lines[1].startswith(top["slug"] + ",")
    assert client.get("/vergleich?sort=nonsense").status_code == 400
    assert client.get("/vergleich?order=sideways").status_code == 400


def test_navigation_offers_statistics_comparison_and_planning_to_everybody(client):
    for path in ("/", "/gebiete/beusselstrasse", "/statistik", "/vergleich?lang=en"):
        page = parse(client.get(path).get_data(as_text=True))
        suffix = "?lang=en" if "lang=en" in path else ""
        for target in ("/statistik", "/vergleich", "/planung/"):
            assert target + suffix in page.links, (path, target)
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Reading this site sets no cookies" in html and "Only the planners’ sign-in form sets one" in html
    assert "This site sets no cookies" not in html


# ------------------------------------------------------------------ escaping in the new places

def test_hostile_titles_are_text_in_lists_statistics_and_charts(hostile_client):
    for path in ("/", f"/gebiete/{HOSTILE_AREA}", "/statistik", f"/statistik?area={HOSTILE_AREA}",
                 "/?q=%3Cimg", "/vergleich"):
        html = hostile_client.get(path).get_data(as_text=True)
        assert "<img" not in html and "<b>Ort</b>" not in html, path
    overview = hostile_client.get("/?q=%3Cimg").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in overview  # the project is listed, as text
    assert 'value="&lt;img"' in overview  # and the search text in the form is escaped too
    from app import charts
    svg = charts.bar_chart([(HOSTILE, 3), ("</svg><script>alert(2)</script>", 1)], title=HOSTILE)
    assert "<img" not in svg and "<script" not in svg and "&lt;img" in svg


def test_the_reader_page_cache_keeps_no_response_that_sets_a_cookie_and_at_most_its_bound(store_url):
    """A response meant for one reader (it sets a cookie) is rendered anew for the next one;
    the cache drops the least recently used page beyond its bound."""
    from app.web import page_cache

    app = create_app({"STORE": store_url, "TESTING": True})
    renders = []

    @app.get("/_test/cookie")
    @page_cache.for_readers
    def sets_a_cookie():
        renders.append(1)
        response = app.make_response(f"render {len(renders)}")
        response.set_cookie("just-for-you", str(len(renders)))
        return response

    client = app.test_client()
    first, second = client.get("/_test/cookie"), client.get("/_test/cookie")
    assert (first.get_data(as_text=True), second.get_data(as_text=True)) == ("render 1", "render 2")
    assert second.headers["Set-Cookie"].startswith("just-for-you=2")

    with app.app_context():
        for key in ("a", "b", "c"):
            page_cache.remember("bounded", key, key.upper(), entries=2)
        page_cache.remembered("bounded", "b")  # used again: now the most recent
        page_cache.remember("bounded", "d", "D", entries=2)
        assert [page_cache.remembered("bounded", k) for k in "abcd"] == [None, "B", None, "D"]


# ------------------------------------------------------------------ the page's language everywhere; unknown money

def page_text(html: str) -> str:
    """The visible text of a page's main part, tags dropped, entities read, spaces collapsed."""
    from html import unescape
    main = re.search(r"<main.*?</main>", html, re.S).group(0)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


@pytest.mark.parametrize("path, de, en", [
    ("/gebiete/nope", "Es gibt kein QM-Gebiet „nope“.", "no QM area 'nope'"),
    ("/kiez/99999999", "Es gibt keinen Planungsraum „99999999“.", "no Planungsraum '99999999'"),
    ("/vergleich?sort=foo", "sort muss eine dieser Spalten sein: name, bezirk", "sort must be one of name, bezirk"),
    ("/statistik?year_from=abc", "year_from muss eine Jahreszahl sein, nicht 'abc'", "year_from must be a year, got 'abc'"),
    ("/statistik?year_from=2030&year_to=2020", "Das Jahr „von“ (2030) liegt nach dem Jahr „bis“ (2020): die Jahre sind vertauscht",
     "year_from 2030 is after year_to 2020: the years are swapped"),
    ("/?fund=gold", "fund: unbekannte(r) Wert(e) gold", "fund: unknown value(s) gold"),
])
def test_error_pages_speak_the_page_language_and_the_api_stays_english(client, path, de, en):
    german = client.get(path)
    assert german.status_code in (400, 404)
    assert de in page_text(german.get_data(as_text=True)) and en not in page_text(german.get_data(as_text=True))
    english = client.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert english.status_code == german.status_code and en in page_text(english.get_data(as_text=True))


def test_api_errors_keep_their_english_text_for_scripts(client):
    assert client.get("/api/areas/nope").get_json() == {"error": "no QM area 'nope'"}
    assert client.get("/api/stats?year_from=abc&lang=de").get_json() == {"error": "year_from must be a year, got 'abc'"}
    assert client.get("/api/compare?sort=foo").get_json()["error"].startswith("sort must be one of name, bezirk")


def chart_labels(svg: str) -> list[str]:
    """The bar labels of one chart, a wrapped label joined again."""
    return [" ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text))
            for text in re.findall(r'<text [^>]*text-anchor="end"[^>]*>(.*?)</text>', svg)]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_statistics_charts_use_the_table_labels(client, lang):
    from html import unescape
    html = client.get(f"/statistik?lang={lang}").get_data(as_text=True)
    for key in ("fund", "handlungsfeld", "year"):
        block = re.search(rf'<section class="stat-block" aria-labelledby="stat-{key}">.*?</section>', html, re.S).group(0)
        table = [unescape(label) for label in re.findall(r'<th scope="row">([^<]*)</th>', block)]
        svgs = re.findall(r"<svg.*?</svg>", block, re.S)
        assert len(svgs) == 2 and table
        for svg in svgs:
            assert [unescape(label) for label in chart_labels(svg)] == table, (lang, key)
    fund_labels = chart_labels(re.findall(r"<svg.*?</svg>", html, re.S)[0])
    assert ("Quartiersfonds (früher)" if lang == "de" else "Neighbourhood fund (Quartiersfonds, historical)") in fund_labels
    assert "Quartiersfonds (historical)" not in fund_labels


def test_climate_filter_label_in_both_languages(client):
    for path in ("/", "/statistik"):
        assert ">Soziale Klimaprojekte</label>" in client.get(path).get_data(as_text=True)
        english = client.get(path + "?lang=en").get_data(as_text=True)
        assert ">Social climate projects (Soziale Klimaprojekte)</label>" in english


def test_unknown_money_says_not_stated_never_0_euro(client, store):
    from tests.test_stats import areas_without_a_stated_cost
    slug = areas_without_a_stated_cost(store)[0]
    n = store.scalar("SELECT count(*) FROM projects WHERE area_slug = ?", (slug,))
    for lang, known, without in (("de", "bekanntes Geld: nicht angegeben", "ohne angegebene Kosten"),
                                 ("en", "known money: not stated", "without a stated cost")):
        html = client.get(f"/statistik?area={slug}&lang={lang}").get_data(as_text=True)
        text = page_text(html)
        assert known in text and f"{n} {'Projekt' if lang == 'de' else 'project'}" in text and without in text
        assert " 0 €" not in text, lang  # not in the summary, the tables or the charts
        money_charts = re.findall(r"<svg.*?</svg>", html, re.S)[1::2]
        assert all(("nicht angegeben" if lang == "de" else "not stated") in svg for svg in money_charts)
    compare = client.get("/vergleich?sort=money_eur&order=desc").get_data(as_text=True)
    row = re.search(rf'<tr class="compare-row[^"]*" data-slug="{slug}">.*?</tr>', compare, re.S).group(0)
    cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
    assert "nicht angegeben" in cells[-1] and "€" not in cells[-1]
    money_cells = [page_text(f"<main>{cell}</main>").strip() for cell in
                   re.findall(r'<td class="num">([^<]*(?:<span[^>]*>[^<]*</span>)?[^<]*)</td>\s*</tr>', compare)]
    assert len(money_cells) == 51 and "0 €" not in money_cells


def test_known_money_counts_the_projects_without_an_amount(client, store):
    html = client.get("/statistik").get_data(as_text=True)
    missing = store.scalar("SELECT count(*) FROM projects WHERE cost_eur IS NULL")
    assert missing > 0 and f"{missing} Projekte ohne angegebene Kosten" in page_text(html)
    english = client.get("/statistik?lang=en").get_data(as_text=True)
    assert f"{missing} projects without a stated cost" in page_text(english)


def test_burden_rows_read_right_in_singular_and_plural(client):
    german = page_text(client.get("/statistik").get_data(as_text=True))
    assert "1 hohen Belastung " in german and "2 hohen Belastungen" in german and "hohe Belastung " not in german
    english = page_text(client.get("/statistik?lang=en").get_data(as_text=True))
    assert "1 high burden " in english and "2 high burdens" in english


def test_favicon_ico_answers_with_the_sites_icon(client):
    """Browsers ask /favicon.ico where a page declares no icon (raw JSON): no 404 in their console."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data == (REPO_ROOT / "static" / "favicon.svg").read_bytes()


def test_a_bad_paging_number_is_explained_in_the_pages_language(store_url, planner_url):
    """As the planners' audit page is paged: the refusal reads German on a German page, English in the API."""
    from app.accounts import add_user
    from app.store import open_planner
    planner = open_planner(store_url, planner_url)
    add_user(planner, "anna", "correct horse battery staple")
    client = create_app({"STORE": store_url, "PLANNER_STORE": planner.path, "TESTING": True}).test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/planung/anmelden").get_data(as_text=True))[1]
    client.post("/planung/anmelden", data={"username": "anna", "password": "correct horse battery staple",
                                           "csrf_token": token})
    page = client.get("/planung/protokoll?limit=0")
    assert page.status_code == 400 and "limit muss mindestens 1 sein" in page.get_data(as_text=True)
    assert client.get("/api/audit?limit=0").get_json()["error"] == "limit must be >= 1"
    stale = client.post("/planung/abmelden", data={"csrf_token": "stale"})
    assert stale.status_code == 403 and "Das Formular ist abgelaufen" in stale.get_data(as_text=True)
