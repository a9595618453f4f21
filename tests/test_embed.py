"""Embeds, oEmbed, the embed-code generator and permalinks through Flask's test client, on the real store.

Every area and a sample of Kiez pages have an embed with minimal chrome; embeds may be framed
by the configured sites (default: any) while other pages keep ``'self'``; they set no cookie and
never read a planner's session; they and their data carry ETag and Cache-Control and answer
conditional requests with 304; ``/api/planungsraeume?area=`` sends only the Planungsräume
around an area; oEmbed answers the rich type for this site's pages (404 for others, 501 for
XML, 400 without url), every public page names it in its head; the generator's snippet
escapes its title; the map state in the URL (view, layers, selection) reaches the map.
"""
from __future__ import annotations

import gzip
import html as htmllib
import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from app import create_app, maps
from app.accounts import add_user
from app.store import open_planner
from app.web.embed import iframe_snippet, parse_frame_ancestors
from tests.test_pages import GZIP, inline_script_sources, map_config, parse

AREA = "beusselstrasse"
KIEZ = "01200517"  # a Planungsraum of the Beusselstraße area
PASSWORD = "correct horse battery staple"


def csp(response) -> str:
    return response.headers["Content-Security-Policy"]


# ------------------------------------------------------------------ embed pages render

def test_every_area_has_an_embed(client, store):
    for area in store.rows("qm_areas"):
        r = client.get(f"/embed/gebiete/{area['slug']}")
        assert r.status_code == 200, area["slug"]
        html = r.get_data(as_text=True)
        drawn = area["boundary_basis"] != "none"
        assert ('class="map"' in html) == drawn and ("kiezkarte.init" in html) == drawn, area["slug"]
        assert area["short_name"] in htmllib.unescape(html)
        assert f'href="/gebiete/{area["slug"]}"' in html  # the way to the full page
    assert client.get("/embed/gebiete/no-such-area").status_code == 404


def test_kiez_embeds_and_the_overview(client, store):
    plrs = store.rows("planungsraeume", order="plr_id")
    for plr in plrs[::37]:
        r = client.get(f"/embed/kiez/{plr['plr_id']}")
        assert r.status_code == 200 and "kiezkarte.init" in r.get_data(as_text=True), plr["plr_id"]
        assert map_config(r.get_data(as_text=True))["focus"] == {"plr": plr["plr_id"]}
    assert client.get("/embed/kiez/99999999").status_code == 404
    overview = client.get("/embed/")
    assert overview.status_code == 200 and map_config(overview.get_data(as_text=True))["mode"] == "overview"
    assert client.get("/embed").status_code in (301, 308)  # to /embed/


def test_an_embed_is_the_map_with_minimal_chrome(client):
    r = client.get(f"/embed/gebiete/{AREA}?indicator=ug_noise&lang=en")
    html = r.get_data(as_text=True)
    page = parse(html)
    # title, legend, the sources (Leaflet's attribution control, from the layers' attributions), full-map link
    assert '<h1 class="embed-title">' in html and "QM area Beusselstraße" in html
    assert 'id="legend"' in html and "<summary>Legend</summary>" in html
    config = map_config(html)
    assert config["embed"] is True and config["indicator"] == "ug_noise"
    assert "LOR-Planungsräume" in config["layers"]["planungsraeume"]["attribution"]
    full = [m for m in re.finditer(r'<a ([^>]*)data-full-map>', html)]
    assert len(full) == 2
    for m in full:
        assert 'href="/gebiete/beusselstrasse?indicator=ug_noise&amp;lang=en"' in m.group(1)
        assert 'target="_blank"' in m.group(1) and 'rel="noopener"' in m.group(1)
    assert config["links"]["full"] == "/gebiete/beusselstrasse"  # the script appends the current state
    # nothing else: no site header, navigation, search, filter form, controls or generator; no planner edits
    for absent in ("site-header", "<nav", "<form", "indicator-select", "data-layer-toggle", "data-embed-code",
                   "site-footer", "/planung/"):
        assert absent not in html, absent
    # only what the map needs: the data it is drawn from (preloaded), one stylesheet, one script
    assert [u.split("?")[0] for u in page.loaded] == [
        "data:,", "/api/planungsraeume", "/api/areas", "/api/bezirke",
        "/static/bundle/embed.css", "/static/bundle/map.js"]
    assert any(u.startswith("/api/planungsraeume?bbox=") for u in page.loaded)  # those around the area
    assert page.inline_scripts == [maps.EARLY_DATA_SCRIPT, page.map_script]  # reading its data, making the map
    assert re.search(r"script-src ([^;]*);", csp(r)).group(1).split() == ["'self'", *inline_script_sources(html)]
    assert "<script" not in html.replace("<script src=\"/static/bundle/map.js", "").replace("<script>", "", 2)


def test_links_in_embeds_open_new_tabs_and_keep_the_language(client):
    config = map_config(client.get(f"/embed/kiez/{KIEZ}?lang=en").get_data(as_text=True))
    assert config["links"]["kiez"] == "/kiez/__ID__?lang=en" and config["links"]["area"] == "/gebiete/__ID__?lang=en"
    assert "edit" not in config["links"]


# ------------------------------------------------------------------ framing policy

def test_embeds_may_be_framed_by_any_site_by_default_other_pages_only_by_this_one(client):
    for path in ("/embed/", f"/embed/gebiete/{AREA}", f"/embed/kiez/{KIEZ}", "/embed/gebiete/no-such-area",
                 "/embed/gebiete/alte-hellersdorfer-strasse"):
        policy = csp(client.get(path))
        assert policy.endswith("frame-ancestors *"), path
        assert policy.count("frame-ancestors") == 1
    for path in ("/", f"/gebiete/{AREA}", f"/kiez/{KIEZ}", "/statistik", "/suche", "/planung/anmelden",
                 "/no/such/page", "/embed/no/such/page"):
        assert csp(client.get(path)).endswith("frame-ancestors 'self'"), path
    assert csp(client.get(f"/oembed?url=http://localhost/gebiete/{AREA}")).endswith("frame-ancestors 'none'")


def test_a_configured_list_of_sites(store_url):
    app = create_app({"STORE": store_url, "TESTING": True,
                      "EMBED_FRAME_ANCESTORS": "https://www.berlin.de http://127.0.0.1:8123"})
    client = app.test_client()
    expected = "frame-ancestors 'self' https://www.berlin.de http://127.0.0.1:8123"
    assert csp(client.get(f"/embed/gebiete/{AREA}")).endswith(expected)
    assert csp(client.get("/embed/")).endswith(expected)
    assert csp(client.get(f"/gebiete/{AREA}")).endswith("frame-ancestors 'self'")


@pytest.mark.parametrize("value", ["", "https://ok.example; script-src *", "javascript:alert(1)", "'unsafe-inline'",
                                   "https://a.example/path?x"])
def test_a_setting_that_is_no_list_of_origins_stops_the_app(store_url, value):
    with pytest.raises(ValueError):
        create_app({"STORE": store_url, "EMBED_FRAME_ANCESTORS": value})


def test_origin_lists_are_read_as_csp_sources():
    assert parse_frame_ancestors("*") == ("*",)
    assert parse_frame_ancestors(" https://a.example,https://b.example:8443  http://127.0.0.2:9000 ") == (
        "https://a.example", "https://b.example:8443", "http://127.0.0.2:9000")
    assert parse_frame_ancestors("https://*.berlin.de 'self'") == ("https://*.berlin.de", "'self'")


# ------------------------------------------------------------------ no cookies, no session

@pytest.fixture()
def planner_app(store_url, planner_url):
    planner = open_planner(store_url, planner_url)
    add_user(planner, "anna", PASSWORD)
    return create_app({"STORE": store_url, "PLANNER_STORE": planner.path, "TESTING": True})


def signed_in(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # the session cookie is Secure
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/planung/anmelden").get_data(as_text=True)).group(1)
    r = client.post("/planung/anmelden", data={"username": "anna", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303 and client.get_cookie("kiezkarte_session") is not None
    return client


def test_embeds_and_their_data_neither_read_nor_set_the_planners_session(planner_app):
    client = signed_in(planner_app)
    # the cookie works: a full page knows the planner (edit links, refreshed cookie, private)
    full = client.get(f"/gebiete/{AREA}")
    assert "Set-Cookie" in full.headers and "Cookie" in full.headers["Vary"]
    assert "/planung/projekte/" in full.get_data(as_text=True)
    paths = [f"/embed/gebiete/{AREA}", f"/embed/kiez/{KIEZ}", "/embed/", "/embed/gebiete/no-such-area",
             f"/oembed?url=https://localhost/gebiete/{AREA}", f"/api/planungsraeume?area={AREA}", "/api/areas",
             "/api/bezirke", f"/api/projects?area={AREA}", "/api/places?kind=kita&bbox=13.3,52.5,13.4,52.6",
             "/static/bundle/map.js"]
    for path in paths:
        r = client.get(path, headers=GZIP)
        assert "Set-Cookie" not in r.headers, path
        assert "Cookie" not in r.headers.get("Vary", ""), path
        assert "private" not in r.headers.get("Cache-Control", "") and "no-store" not in r.headers.get("Cache-Control", ""), path
    html = client.get(f"/embed/gebiete/{AREA}").get_data(as_text=True)
    assert "/planung/" not in html and "edit" not in map_config(html)["links"]  # no edit controls in an embed
    assert client.get("/api/audit").status_code == 200  # planners' own API calls still see the session


def test_readers_get_no_cookie_from_embeds(client):
    for path in ("/embed/", f"/embed/gebiete/{AREA}", "/oembed?url=http://localhost/", "/embed/gebiete/x"):
        assert "Set-Cookie" not in client.get(path).headers


# ------------------------------------------------------------------ caching

@pytest.mark.parametrize("path", [f"/embed/gebiete/{AREA}", f"/embed/kiez/{KIEZ}", "/embed/",
                                  f"/embed/gebiete/{AREA}?indicator=ug_noise&layers=projects,kita&lang=en",
                                  f"/api/planungsraeume?area={AREA}", "/api/areas", "/api/bezirke",
                                  f"/api/projects?area={AREA}", f"/oembed?url=http://localhost/gebiete/{AREA}"])
def test_embeds_and_their_data_carry_etag_and_cache_control_and_answer_304(client, path):
    for headers in (GZIP, {}):
        r = client.get(path, headers=headers)
        assert r.status_code == 200
        etag = r.headers["ETag"]
        assert "public" in r.headers["Cache-Control"] and "max-age=" in r.headers["Cache-Control"]
        again = client.get(path, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.headers["ETag"] == etag and not again.get_data()


def test_embed_pages_are_the_same_bytes_for_the_same_url_in_every_process(store_url):
    """ETags are stable: two apps (two workers) render the same embed identically."""
    path = f"/embed/gebiete/{AREA}?indicator=ug_noise&map=14.5/52.53/13.33&sel=plr:{KIEZ}"
    first, second = (create_app({"STORE": store_url}).test_client() for _ in range(2))
    a, b = first.get(path, headers=GZIP), second.get(path, headers=GZIP)
    assert a.headers["ETag"] == b.headers["ETag"] and a.get_data() == b.get_data()
    assert first.get(path, headers=GZIP).headers["ETag"] == a.headers["ETag"]  # and again from the cache
    assert a.headers["Cache-Control"] == "public, max-age=600"


# ------------------------------------------------------------------ Planungsräume near an area

def features(response) -> dict[str, dict]:
    return {f["properties"]["plr_id"]: f for f in response.get_json()["features"]}


def test_planungsraeume_near_an_area(client, store):
    everything = features(client.get("/api/planungsraeume"))
    assert len(everything) == 542
    near = features(client.get(f"/api/planungsraeume?area={AREA}"))
    own = {r["plr_id"] for r in store.query("SELECT plr_id FROM area_plr WHERE area_slug = ?", (AREA,))}
    assert own and own <= set(near) and 20 < len(near) < 150
    assert all(near[k] == everything[k] for k in near)  # the same features, only fewer
    full_gz = len(client.get("/api/planungsraeume", headers=GZIP).get_data())
    near_gz = len(client.get(f"/api/planungsraeume?area={AREA}", headers=GZIP).get_data())
    assert near_gz < full_gz / 4
    # the area's map asks for the same features by their box (answered without a store query)
    config = map_config(client.get(f"/gebiete/{AREA}").get_data(as_text=True))["layers"]["planungsraeume"]
    assert config["url"].startswith("/api/planungsraeume?bbox=") and config["full"] == "/api/planungsraeume"
    assert client.get(config["url"]).get_data() == client.get(f"/api/planungsraeume?area={AREA}").get_data()
    (south, west), (north, east) = config["bounds"]
    box = client.get(f"/api/planungsraeume?bbox={west},{south},{east},{north}")
    assert set(features(box)) == set(near)  # the box the map knows is the box the server used


def test_planungsraeume_by_box_and_errors(client):
    box = features(client.get("/api/planungsraeume?bbox=13.38,52.50,13.42,52.53"))
    assert 0 < len(box) < 60
    assert features(client.get("/api/planungsraeume?bbox=10,50,10.1,50.1")) == {}
    assert features(client.get("/api/planungsraeume?area=alte-hellersdorfer-strasse")) == {}  # no boundary
    assert client.get("/api/planungsraeume?area=no-such-area").status_code == 404
    assert client.get("/api/planungsraeume?bbox=1,2").status_code == 400
    assert client.get(f"/api/planungsraeume?area={AREA}&bbox=13,52,14,53").status_code == 400
    assert client.get(f"/api/planungsraeume?area={AREA}").headers["Content-Type"].startswith("application/geo+json")


def test_kiez_maps_fetch_the_planungsraeume_around_them(client):
    config = map_config(client.get(f"/kiez/{KIEZ}").get_data(as_text=True))["layers"]["planungsraeume"]
    assert config["url"].startswith("/api/planungsraeume?bbox=")
    assert KIEZ in features(client.get(config["url"]))
    assert map_config(client.get("/").get_data(as_text=True))["layers"]["planungsraeume"] == {
        "url": "/api/planungsraeume",
        "attribution": map_config(client.get("/").get_data(as_text=True))["layers"]["planungsraeume"]["attribution"]}


# ------------------------------------------------------------------ oEmbed

def oembed(client, url, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/oembed?url={quote(url, safe='')}" + (f"&{query}" if query else ""))


def iframe_of(html: str) -> dict:
    tag = re.fullmatch(r"<iframe ([^>]*)></iframe>", html)
    assert tag, html
    return {k: htmllib.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', tag.group(1))}


@pytest.mark.parametrize("page,embed", [
    ("/", "/embed/"), (f"/gebiete/{AREA}", f"/embed/gebiete/{AREA}"), (f"/kiez/{KIEZ}", f"/embed/kiez/{KIEZ}"),
    (f"/embed/gebiete/{AREA}", f"/embed/gebiete/{AREA}"), ("/embed/", "/embed/"), ("/embed", "/embed/"),
    ("/statistik", "/embed/"), (f"/statistik?area={AREA}", f"/embed/gebiete/{AREA}"), ("/vergleich", "/embed/")])
def test_oembed_answers_the_rich_type_for_this_sites_pages(client, page, embed):
    r = oembed(client, "http://localhost" + page, format="json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["version"] == "1.0" and body["type"] == "rich"
    assert body["provider_name"] == "Kiezkarte" and body["provider_url"] == "http://localhost/"
    assert body["title"].startswith("Kiezkarte: ")
    assert (body["width"], body["height"]) == (640, 480)
    frame = iframe_of(body["html"])
    assert urlsplit(frame["src"]).path == embed and frame["src"].startswith("http://localhost/")
    assert frame["title"] == body["title"] and frame["loading"] == "lazy"
    assert (frame["width"], frame["height"]) == ("640", "480")


def test_oembed_keeps_the_state_and_the_language_and_obeys_the_maximum_size(client):
    url = f"http://localhost/gebiete/{AREA}?indicator=ug_noise&fund=baufonds&map=15/52.53/13.33&lang=en&junk=1"
    body = oembed(client, url, maxwidth=500, maxheight=350).get_json()
    assert body["width"] <= 500 and body["height"] <= 350
    assert body["title"] == "Kiezkarte: QM area Beusselstraße"
    frame = iframe_of(body["html"])
    assert (frame["width"], frame["height"]) == (str(body["width"]), str(body["height"]))
    query = parse_qs(urlsplit(frame["src"]).query)
    assert query == {"indicator": ["ug_noise"], "fund": ["baufonds"], "map": ["15/52.53/13.33"], "lang": ["en"]}
    assert client.get(frame["src"].replace("http://localhost", "")).status_code == 200
    small = oembed(client, "http://localhost/", maxwidth=200, maxheight=100).get_json()
    assert (small["width"], small["height"]) == (200, 100)
    assert oembed(client, "http://localhost/").get_json()["title"] == "Kiezkarte: Quartiersmanagement in Berlin"
    # the consumer's scheme (https behind a TLS proxy) is kept in the iframe and the provider URL
    secure = oembed(client, f"https://localhost/gebiete/{AREA}").get_json()
    assert iframe_of(secure["html"])["src"] == f"https://localhost/embed/gebiete/{AREA}"
    assert secure["provider_url"] == "https://localhost/"


@pytest.mark.parametrize("url", ["http://elsewhere.example/gebiete/beusselstrasse", "ftp://localhost/",
                                 "http://localhost/gebiete/no-such-area", "http://localhost/kiez/99999999",
                                 "http://localhost/no/such/page", "http://localhost/planung/", "http://localhost/api/areas",
                                 "http://localhost/static/bundle/map.js", "http://localhost/embed/gebiete/x",
                                 "not a url", "http://localhost/oembed"])
def test_oembed_refuses_urls_it_cannot_embed(client, url):
    r = oembed(client, url)
    assert r.status_code == 404 and r.is_json and "error" in r.get_json()


def test_oembed_errors(client):
    url = f"http://localhost/gebiete/{AREA}"
    assert oembed(client, url, format="xml").status_code == 501
    assert oembed(client, url, format="yaml").status_code == 501
    assert client.get("/oembed").status_code == 400
    assert client.get("/oembed?url=&format=json").status_code == 400
    for bad in ({"maxwidth": "wide"}, {"maxheight": "-3"}, {"maxwidth": "0"}):
        assert oembed(client, url, **bad).status_code == 400
    assert oembed(client, url + "?fund=nonsense").status_code == 400


def discovery(html: str) -> str:
    links = parse(html).oembed
    assert len(links) == 1, links
    return htmllib.unescape(links[0])


def test_every_public_page_names_its_oembed_in_its_head(client, store):
    paths = ["/", "/?fund=baufonds&lang=en", "/statistik", "/vergleich", "/suche", "/embed/", f"/embed/kiez/{KIEZ}"]
    paths += [f"/gebiete/{a['slug']}" for a in store.rows("qm_areas")]
    paths += [f"/kiez/{p['plr_id']}" for p in store.rows("planungsraeume", order="plr_id")[::50]]
    for path in paths:
        html = client.get(path).get_data(as_text=True)
        head = html.split("</head>")[0]
        href = discovery(head)
        parts = urlsplit(href)
        assert parts.path == "/oembed" and parse_qs(parts.query)["format"] == ["json"]
        assert parse_qs(parts.query)["url"] == ["http://localhost" + path], path
        answer = client.get(parts.path + "?" + parts.query)
        assert answer.status_code == 200 and answer.get_json()["type"] == "rich", path
    for path in ("/planung/anmelden", "/no/such/page", "/gebiete/no-such-area"):
        assert parse(client.get(path).get_data(as_text=True)).oembed == [], path


# ------------------------------------------------------------------ the embed-code generator

HOSTILE_TITLE = 'Kiez "<script>alert(1)</script>" & \'Co\''


def test_the_snippet_escapes_every_value():
    snippet = iframe_snippet('https://k.example/embed/?a=1&b="x"', HOSTILE_TITLE, "100%", 400)
    frame = iframe_of(snippet)
    assert frame["title"] == HOSTILE_TITLE and frame["src"] == 'https://k.example/embed/?a=1&b="x"'
    assert "<script>" not in snippet and 'title="Kiez &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; &amp; &#39;Co&#39;"' in snippet
    assert 'loading="lazy"' in snippet and 'referrerpolicy="no-referrer"' in snippet
    assert 'sandbox="allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"' in snippet


def generator_snippet(html: str) -> str:
    return htmllib.unescape(re.search(r"<textarea [^>]*data-embed-snippet>(.*?)</textarea>", html, re.S).group(1))


@pytest.mark.parametrize("path,embed,title", [
    (f"/gebiete/{AREA}", f"/embed/gebiete/{AREA}", "Kiezkarte: QM-Gebiet Beusselstraße"),
    (f"/kiez/{KIEZ}?lang=en", f"/embed/kiez/{KIEZ}?lang=en", "Kiezkarte: Kiez Huttenkiez"),
    ("/?fund=baufonds&indicator=ug_noise&layers=projects,bezirke", "/embed/?fund=baufonds&indicator=ug_noise&layers=bezirke,projects",
     "Kiezkarte: Quartiersmanagement in Berlin")])
def test_every_map_page_offers_the_embed_code_of_its_map(client, path, embed, title):
    html = client.get(path).get_data(as_text=True)
    assert "data-embed-code" in html and 'id="embed-snippet"' in html
    snippet = generator_snippet(html)
    frame = iframe_of(snippet)
    assert frame["src"] == "http://localhost" + embed
    assert frame["title"] == title
    assert snippet == iframe_snippet(frame["src"], title, "100%", 400)
    titles = json.loads(htmllib.unescape(re.search(r'data-titles="([^"]*)"', html).group(1)))
    assert set(titles) == {"de", "en"}
    assert client.get(embed).status_code == 200


def test_the_generator_escapes_a_title_from_the_data(client, monkeypatch):
    from app.web import embed as embed_module
    monkeypatch.setattr(embed_module, "embed_title", lambda kind, view_args: HOSTILE_TITLE)
    html = client.get(f"/gebiete/{AREA}").get_data(as_text=True)
    snippet = generator_snippet(html)
    assert iframe_of(snippet)["title"] == "Kiezkarte: " + HOSTILE_TITLE
    assert "<script>alert(1)" not in html  # neither in the textarea nor in the titles for the script
    assert "<script>" not in snippet


def test_pages_without_a_map_offer_no_embed_code(client):
    for path in ("/statistik", "/vergleich", "/suche", "/gebiete/alte-hellersdorfer-strasse"):
        assert "data-embed-code" not in client.get(path).get_data(as_text=True), path


# ------------------------------------------------------------------ privacy: tiles

def test_no_tiles_no_third_party(client):
    config = map_config(client.get(f"/embed/gebiete/{AREA}").get_data(as_text=True))
    assert config["tiles"] is None
    assert "img-src 'self' data:;" in csp(client.get(f"/embed/gebiete/{AREA}"))


def test_a_third_party_tile_server_is_asked_for_only_after_a_click(store_url):
    settings = {"STORE": store_url, "TILE_URL": "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
                "TILE_ATTRIBUTION": "© Example <b>x</b>"}
    client = create_app(settings).test_client()
    r = client.get(f"/embed/gebiete/{AREA}")
    tiles = map_config(r.get_data(as_text=True))["tiles"]
    assert tiles == {"url": "https://{s}.tiles.example.org/{z}/{x}/{y}.png", "attribution": "© Example &lt;b&gt;x&lt;/b&gt;",
                     "ask": True, "host": "tiles.example.org"}
    assert "https://*.tiles.example.org" in csp(r)
    assert map_config(client.get(f"/gebiete/{AREA}").get_data(as_text=True))["tiles"]["ask"] is False  # full pages
    off = create_app({**settings, "TILE_CLICK_TO_LOAD": "false"}).test_client()
    assert map_config(off.get(f"/embed/gebiete/{AREA}").get_data(as_text=True))["tiles"]["ask"] is False
    own = create_app({**settings, "TILE_URL": "/tiles/{z}/{x}/{y}.png"}).test_client()
    assert map_config(own.get(f"/embed/gebiete/{AREA}").get_data(as_text=True))["tiles"]["ask"] is False


# ------------------------------------------------------------------ the map state in the URL

def test_map_state_from_the_url():
    state = maps.MapState.from_args({"indicator": "ug_noise", "layers": "kita,projects,nonsense",
                                     "map": "14.25/52.53012/13.33", "sel": "plr:01200517"})
    assert state.indicator == "ug_noise" and state.layers == ("projects", "kita")
    assert state.view == maps.MapView(14.25, 52.53012, 13.33) and state.selection == "plr:01200517"
    assert state.args() == {"indicator": "ug_noise", "layers": "projects,kita", "map": "14.25/52.53012/13.33000",
                            "sel": "plr:01200517"}
    odd = maps.MapState.from_args({"indicator": "x", "map": "14/48.1/11.5", "sel": "<img src=x>", "layers": ""})
    assert odd == maps.MapState(layers=()) and odd.args() == {"layers": "none"}
    for bad in ("", "14/52.5", "a/b/c", "30/52.5/13.4", "14/52.5/13.4/1", "1e3/52.5/13.4"):
        assert maps.MapView.parse(bad) is None, bad
    assert maps.MapState.from_args({}) == maps.MapState()


def test_the_page_starts_with_the_state_of_its_url(client):
    html = client.get(f"/gebiete/{AREA}?map=15.5/52.53/13.33&layers=projects,kita&sel=plr:{KIEZ}"
                      "&indicator=ug_air").get_data(as_text=True)
    script = parse(html).map_script
    assert "center: [52.53, 13.33]" in script and '"zoom": 15.5' in script and "fitBounds" not in script
    config = map_config(html)
    assert config["visible"] == ["projects", "kita"] and config["selection"] == f"plr:{KIEZ}"
    assert config["indicator"] == "ug_air"
    assert 'data-layer-toggle="kita" checked' in html and 'data-layer-toggle="bezirke">' in html
    assert '<option value="ug_air" selected>' in html
    # without JavaScript the filter form keeps the map state
    for name, value in (("map", "15.5/52.53/13.33"), ("layers", "projects,kita"), ("sel", f"plr:{KIEZ}")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in html
    assert "fitBounds" in parse(client.get(f"/gebiete/{AREA}").get_data(as_text=True)).map_script


def test_embed_weight_is_small(client):
    """The area embed's own bytes (HTML, data, script, style; gzip) stay far below the 120 KB budget."""
    html = client.get(f"/embed/gebiete/{AREA}", headers=GZIP)
    total = len(html.get_data())
    for url in parse(gzip.decompress(html.get_data()).decode()).loaded:
        if url.startswith("/"):
            total += len(client.get(url, headers=GZIP).get_data())
    assert total < 100_000, total
