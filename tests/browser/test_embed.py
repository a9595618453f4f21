"""End to end in headless Chromium: embeds on another site, permalinks, oEmbed, the generator.

The "other site" is a tiny HTTP server on 127.0.0.2 (another origin, and another site, than
the app on 127.0.0.1). A page there embeds the map in an iframe and it draws; an app whose
EMBED_FRAME_ANCESTORS leaves that origin out is refused (the frame never gets a map, Chromium
reports the frame-ancestors violation). A permalink of a full page gives the same map after a
reload (view, indicator, layers, filter, selected feature, language) and Back walks through
the deliberate changes; an embed's URL does the same inside the frame. oEmbed's HTML, pasted
into the other site, embeds. No cookie is set and no request leaves 127.0.0.1/127.0.0.2.
"""
from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

from app import create_app
from tests.browser.conftest import DESKTOP, PHONE, _serve, screenshot, wait_for_map
from tests.test_pages import HOSTILE_AREA

pytestmark = pytest.mark.browser

AREA = HOSTILE_AREA  # Beusselstraße
KIEZ = "01200517"  # Huttenkiez, a Planungsraum of the area
LOCAL = {"127.0.0.1", "127.0.0.2"}
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


class OtherSite:
    """Pages served from http://127.0.0.2:<port>: ``add(path, html)``; /tiles/… answers a tiny PNG."""

    def __init__(self):
        pages = self.pages = {}
        self.tile_requests = []
        tiles = self.tile_requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                if path.startswith("/tiles/"):
                    tiles.append(self.path)
                    body, kind = PNG, "image/png"
                elif path in pages:
                    body, kind = pages[path].encode("utf-8"), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.origin = f"http://127.0.0.2:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def other_site():
    site = OtherSite()
    yield site
    site.close()


def host_page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="de"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{title}</title></head>'
            f'<body><h1>{title}</h1><p>Text of the district website.</p>{body}</body></html>')


def iframe(src: str, height: int = 300, width: str = "600") -> str:
    return f'<iframe src="{src}" title="Kiezkarte" width="{width}" height="{height}" style="border:0"></iframe>'


def assert_local(rec, page):
    hosts = {urlsplit(u).hostname for u in rec.requests if not u.startswith(("data:", "blob:", "about:"))}
    assert hosts <= LOCAL, rec.requests
    assert page.context.cookies() == []
    assert not rec.dialogs, rec.dialogs


def frame_map(page, selector="iframe"):
    """The map document inside the (first) iframe, once its map is complete."""
    frame = page.frame_locator(selector)
    frame.locator("html[data-map-ready='1'][data-map-complete='1']").wait_for(state="attached", timeout=30_000)
    return frame


def wait_until(page, condition, timeout_ms=10_000, message=lambda: ""):
    """Poll a Python condition (the embeds' CSP forbids the eval behind wait_for_function)."""
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    assert condition(), message()


def embed_frame(page):
    return next(f for f in page.frames if "/embed/" in f.url)


# ------------------------------------------------------------------ another site embeds the map

def test_a_page_on_another_site_embeds_the_map_and_it_draws(new_page, base_url, other_site):
    src = f"{base_url}/embed/gebiete/{AREA}?lang=en&indicator=ug_noise"
    url = other_site.add("/district.html", host_page("Bezirksamt Mitte", iframe(src, height=300, width="100%")))
    for viewport, name in ((DESKTOP, "embed-on-other-site-1280x800"), (PHONE, "embed-on-other-site-360x740")):
        page, rec = new_page(viewport)
        page.goto(url)
        frame = frame_map(page)
        assert frame.locator("path.plr-shape").count() > 20
        assert frame.locator("path.qm-area--current").count() == 1
        expect(frame.locator(".project-marker").first).to_be_visible()
        # usable at 300 px: most of the frame is map, zoom buttons and the sources are there
        box = frame.locator(".leaflet-container").bounding_box()
        assert box["height"] >= 230 and box["width"] >= 280, box
        expect(frame.locator(".leaflet-control-zoom-in")).to_be_visible()
        assert "LOR-Planungsräume" in frame.locator(".leaflet-control-attribution").inner_text()
        assert frame.locator(".embed-title").inner_text() == "QM area Beusselstraße"
        frame.locator(".embed-legend summary").click()
        expect(frame.locator("#legend .legend-title")).to_have_text("Noise")
        frame.locator(".embed-legend summary").click()  # folded again
        full = frame.locator("a.embed-open")
        assert full.get_attribute("target") == "_blank" and full.get_attribute("rel") == "noopener"
        assert full.get_attribute("href") == f"/gebiete/{AREA}?lang=en&indicator=ug_noise"
        screenshot(page, name)
        # the wheel scrolls the host page until the map is clicked; the host's history stays its own
        inner = embed_frame(page)
        assert inner.evaluate("window.kiezkarte.map.scrollWheelZoom.enabled()") is False
        history = page.evaluate("history.length")
        frame.locator(".leaflet-control-zoom-in").click()
        assert inner.evaluate("window.kiezkarte.map.scrollWheelZoom.enabled()") is True
        box = frame.locator(".leaflet-container").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)  # a Planungsraum
        frame.locator(".leaflet-popup-content h3").wait_for()
        wait_until(page, lambda: "map=" in inner.url and "sel=" in inner.url, message=lambda: inner.url)
        assert page.evaluate("history.length") == history
        selected = re.search(r"sel=(plr|project):[\w.-]+", inner.url).group(0)
        assert selected in full.get_attribute("href")  # "open the full map" follows the state
        assert not rec.console_errors, rec.console_errors
        assert_local(rec, page)


def test_a_site_left_out_of_the_allowlist_cannot_frame_the_embed(new_page, hostile_store_url, other_site):
    allowed = create_app({"STORE": hostile_store_url, "TESTING": True,
                          "EMBED_FRAME_ANCESTORS": f"https://www.berlin.de {other_site.origin}"})
    refused = create_app({"STORE": hostile_store_url, "TESTING": True,
                          "EMBED_FRAME_ANCESTORS": "https://www.berlin.de http://127.0.0.1:8123"})
    for app, name in ((allowed, "allowed"), (refused, "refused")):
        for base in _serve(app):
            url = other_site.add(f"/{name}.html", host_page(name, iframe(f"{base}/embed/gebiete/{AREA}")))
            page, rec = new_page()
            page.goto(url)
            if name == "allowed":
                frame = frame_map(page)
                assert frame.locator("path.plr-shape").count() > 20
                assert not rec.console_errors
            else:
                page.wait_for_timeout(2500)
                assert not any("/embed/" in f.url for f in page.frames)  # Chromium shows its error page instead
                assert all(f.url == "about:blank" or f.url.startswith(("chrome-error:", other_site.origin))
                           for f in page.frames), [f.url for f in page.frames]
                assert not [u for u in rec.requests if "/api/" in u]  # the map never started
                assert any("frame-ancestors" in text for _, text in rec.console), rec.console
                # its own site may still show it (the generator's preview)
                own, own_rec = new_page()
                own.goto(f"{base}/gebiete/{AREA}")
                wait_for_map(own)
                own.locator(".embed-code summary").click()
                frame_map(own, "[data-embed-preview]")
                assert not own_rec.console_errors
            assert_local(rec, page)


def test_the_oembed_answer_embeds_on_another_site(new_page, base_url, other_site):
    page, rec = new_page()
    page.goto(base_url + "/?lang=en")
    discovery = page.locator('link[rel="alternate"][type="application/json+oembed"]').get_attribute("href")
    assert discovery.startswith(base_url + "/oembed?url=")
    answer = page.request.get(f"{base_url}/oembed?url={quote(base_url + f'/kiez/{KIEZ}?lang=en', safe='')}"
                              "&maxwidth=480&maxheight=360&format=json")
    assert answer.ok and answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["type"] == "rich" and body["version"] == "1.0" and body["width"] <= 480 and body["height"] <= 360
    url = other_site.add("/oembed.html", host_page("Kiezzeitung", f'<div class="embed">{body["html"]}</div>'))
    host, host_rec = new_page()
    host.goto(url)
    frame = frame_map(host)
    assert frame.locator("path.plr-shape--current").count() == 1
    assert frame.locator(".embed-title").inner_text() == "Kiez Huttenkiez"
    assert host.locator("iframe").get_attribute("title") == body["title"]
    assert host.locator("iframe").get_attribute("sandbox")  # it still works sandboxed
    frame.locator(".leaflet-control-zoom-out").click()
    assert not host_rec.console_errors, host_rec.console_errors
    assert_local(host_rec, host)
    assert_local(rec, page)


# ------------------------------------------------------------------ permalinks

def state(page) -> dict:
    return page.evaluate("""() => {
        const km = window.kiezkarte.instance, c = km.map.getCenter();
        const popup = document.querySelector('.leaflet-popup-content');
        return {lat: c.lat, lng: c.lng, zoom: km.map.getZoom(), indicator: km.indicator.id,
                legend: document.querySelector('#legend').dataset.indicator,
                kita: !!(km.places.kita && km.map.hasLayer(km.places.kita)),
                projects: document.documentElement.dataset.projects,
                popup: popup ? popup.querySelector('h3').textContent : null,
                lang: document.documentElement.lang};
    }""")


def test_a_permalink_gives_the_same_map_after_a_reload_and_back_walks_through_the_changes(new_page, base_url):
    page, rec = new_page()
    page.goto(f"{base_url}/gebiete/{AREA}?lang=en")
    wait_for_map(page)
    start = page.url
    initial = state(page)
    length = page.evaluate("history.length")
    urls = [page.url]

    page.select_option("#indicator-select", "ug_noise")  # deliberate: a new history entry each
    urls.append(page.url)
    page.check('[data-layer-toggle="kita"]')
    page.locator("path.place--kita").first.wait_for()
    urls.append(page.url)
    page.locator(".filters summary").click()
    page.get_by_label("Project fund (Projektfonds)").check()
    page.locator("html[data-projects='fund=projektfonds']").wait_for(state="attached")
    page.locator("html[data-filter-state='ready']").wait_for(state="attached")
    urls.append(page.url)
    page.uncheck('[data-layer-toggle="projects"]')  # (markers sit on top of the Planungsräume)
    urls.append(page.url)
    assert page.evaluate("history.length") == length + 4
    # select a feature: click the middle of the map (a Planungsraum)
    the_map = page.locator(".map")
    the_map.scroll_into_view_if_needed()
    box = the_map.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.locator(".leaflet-popup-content h3").wait_for()
    assert re.search(r"[?&]sel=(plr:\d{8}|place:kita:\d+)", page.url), page.url
    urls.append(page.url)
    # moving the map replaces the entry (no new one)
    page.locator(".leaflet-control-zoom-in").click()
    page.wait_for_function("() => /[?&]map=/.test(location.search)")
    page.wait_for_timeout(400)  # the zoom animation ends, the URL has the final view
    assert page.evaluate("history.length") == length + 5
    before = state(page)
    url = page.url
    assert before["indicator"] == "ug_noise" and before["kita"] and before["projects"] == "fund=projektfonds"
    assert before["popup"] and before["zoom"] > initial["zoom"]
    for key in ("indicator=ug_noise", "layers=areas-active,areas-ended,bezirke,kita", "fund=projektfonds",
                "lang=en", "sel=", "map="):
        assert key in url, (key, url)
    assert "indicator=ug_noise" in page.locator("a[hreflang=de]").get_attribute("href")  # the language switch too
    assert "sel=" in page.locator("a[hreflang=de]").get_attribute("href")

    # the same URL in a new tab, and after a reload: the same map
    for again in (new_page()[0], page):
        if again is page:
            page.reload()
        else:
            again.goto(url)
        wait_for_map(again)
        after = state(again)
        assert abs(after["lat"] - before["lat"]) < 1e-4 and abs(after["lng"] - before["lng"]) < 1e-4, (before, after)
        assert after["zoom"] == before["zoom"]
        for key in ("indicator", "legend", "kita", "projects", "popup", "lang"):
            assert after[key] == before[key], key
        assert again.locator("#indicator-select").input_value() == "ug_noise"
        assert again.locator('[data-layer-toggle="kita"]').is_checked()
        assert not again.locator('[data-layer-toggle="projects"]').is_checked()
        assert again.locator("input[name=fund][value=projektfonds]").is_checked()
        assert again.url == url
    screenshot(page, "permalink-area-1280x800")

    # Back walks through the deliberate changes (the reload is one more document: its entries remain)
    expected = [
        lambda s: s["popup"] is None and s["projects"] == "fund=projektfonds",
        lambda s: s["popup"] is None and page.locator('[data-layer-toggle="projects"]').is_checked(),
        lambda s: s["projects"] == "" and not page.locator("input[name=fund][value=projektfonds]").is_checked(),
        lambda s: not s["kita"] and s["indicator"] == "ug_noise",
        lambda s: s["indicator"] == initial["indicator"] and s["legend"] == initial["legend"],
    ]
    for i, check in enumerate(expected):
        page.go_back()
        page.wait_for_url(urls[-2 - i])
        page.locator("html[data-map-ready='1']").wait_for(state="attached")
        page.wait_for_timeout(300)
        current = state(page)
        assert check(current), (i, current, page.url)
    assert page.url == start
    assert abs(state(page)["zoom"] - initial["zoom"]) < 1e-6
    page.go_forward()
    page.wait_for_url(urls[1])
    assert page.locator("#indicator-select").input_value() == "ug_noise"
    assert not rec.console_errors, rec.console_errors
    assert_local(rec, page)


def test_an_embed_url_carries_the_state_and_the_full_map_link_opens_it(new_page, base_url):
    query = f"indicator=ug_air&layers=areas-active,projects,school&map=15/52.53000/13.32800&sel=plr:{KIEZ}&lang=en"
    page, rec = new_page()
    page.goto(f"{base_url}/embed/gebiete/{AREA}?{query}")
    wait_for_map(page)
    got = state(page)
    assert (round(got["lat"], 4), round(got["lng"], 4), got["zoom"]) == (52.53, 13.328, 15)
    assert got["indicator"] == "ug_air" and got["lang"] == "en" and got["popup"] == "Huttenkiez"
    page.locator("path.place--school").first.wait_for()
    assert page.locator("path.qm-area--ended").count() == 0 and page.locator("path.bezirk-outline").count() == 0
    link = page.locator("a.embed-open")
    assert link.get_attribute("href") == f"/gebiete/{AREA}?{query}"
    with page.context.expect_page() as opened:
        link.click()
    full = opened.value
    wait_for_map(full)
    assert full.url == f"{base_url}/gebiete/{AREA}?{query}"
    other = state(full)
    assert (round(other["lat"], 4), round(other["lng"], 4), other["zoom"]) == (52.53, 13.328, 15)
    assert other["popup"] == "Huttenkiez" and other["indicator"] == "ug_air"
    assert full.locator('[data-layer-toggle="school"]').is_checked()
    assert not rec.console_errors, rec.console_errors
    assert_local(rec, page)


# ------------------------------------------------------------------ the generator

def test_the_generator_writes_the_snippet_and_previews_it(browser, base_url):
    context = browser.new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base_url}/gebiete/{AREA}")
        wait_for_map(page)
        server_snippet = page.locator("#embed-snippet").input_value()
        page.locator(".embed-code summary").click()
        assert page.locator("#embed-snippet").input_value() == server_snippet  # the script writes what the server wrote
        page.select_option("#embed-indicator", "ug_thermal")
        page.locator('input[name="embed-layer"][value="kita"]').check()
        page.locator('input[name="embed-lang"][value="en"]').check()
        page.select_option("#embed-height", "300")
        snippet = page.locator("#embed-snippet").input_value()
        src = f"{base_url}/embed/gebiete/{AREA}?indicator=ug_thermal&layers=areas-active,areas-ended,bezirke,projects,kita&lang=en"
        assert snippet == (f'<iframe src="{src.replace("&", "&amp;")}" title="Kiezkarte: QM area Beusselstraße" width="100%" '
                           'height="300" loading="lazy" style="border:0;max-width:100%" allow="fullscreen" '
                           'referrerpolicy="no-referrer" sandbox="allow-scripts allow-same-origin allow-popups '
                           'allow-popups-to-escape-sandbox"></iframe>')
        preview = page.frame_locator("[data-embed-preview]")
        page.wait_for_function(f"() => document.querySelector('[data-embed-preview]').getAttribute('src') === {json.dumps(src)}")
        preview.locator("html[data-map-complete='1']").wait_for(state="attached")
        preview.locator("path.place--kita").first.wait_for()
        assert preview.locator(".embed-title").inner_text() == "QM area Beusselstraße"
        page.get_by_role("button", name="Code kopieren").click()
        expect(page.locator("[data-embed-status]")).to_have_text("Kopiert.")
        assert page.evaluate("navigator.clipboard.readText()") == snippet
        screenshot(page, "embed-generator-1280x800", full_page=True)
        assert context.cookies() == [] and not errors, errors
    finally:
        context.close()


# ------------------------------------------------------------------ privacy: tiles from another server

def test_a_third_party_basemap_is_loaded_only_after_a_click(new_page, hostile_store_url, other_site):
    app = create_app({"STORE": hostile_store_url, "TESTING": True,
                      "TILE_URL": other_site.origin + "/tiles/{z}/{x}/{y}.png", "TILE_ATTRIBUTION": "Test tiles"})
    for base in _serve(app):
        url = other_site.add("/tiles-host.html", host_page("Tiles", iframe(f"{base}/embed/gebiete/{AREA}?lang=en", 400)))
        page, rec = new_page()
        page.goto(url)
        frame = frame_map(page)
        page.wait_for_timeout(500)
        before = [u for u in rec.requests if "/tiles/" in u]
        assert before == [] and other_site.tile_requests == []
        consent = frame.locator(".tile-consent")
        expect(consent).to_contain_text("127.0.0.2")
        consent.get_by_role("button", name="Show the basemap").click()
        frame.locator("img.leaflet-tile-loaded").first.wait_for()
        assert other_site.tile_requests and all(urlsplit(u).hostname == "127.0.0.2" for u in rec.requests if "/tiles/" in u)
        assert "Test tiles" in frame.locator(".leaflet-control-attribution").inner_text()
        assert not rec.console_errors, rec.console_errors
        assert_local(rec, page)
        # the site's own full pages load the basemap at once
        full, full_rec = new_page()
        full.goto(f"{base}/gebiete/{AREA}")
        wait_for_map(full)
        full.locator("img.leaflet-tile-loaded").first.wait_for()
        assert full.locator(".tile-consent").count() == 0
        assert_local(full_rec, full)


def test_on_a_phone_one_finger_scrolls_the_page_until_the_map_is_tapped(new_page, base_url, other_site):
    ua = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0 Mobile Safari/537.36")
    url = other_site.add("/phone.html", host_page("Kiezblatt", iframe(f"{base_url}/embed/gebiete/{AREA}", 320, "100%")
                                                  + "<p style='height:1500px'>More text.</p>"))
    page, rec = new_page(PHONE, user_agent=ua, is_mobile=True, has_touch=True)
    page.goto(url)
    frame = frame_map(page)
    inner = embed_frame(page)
    assert inner.evaluate("window.kiezkarte.map.dragging.enabled()") is False
    assert "touch-action" not in (frame.locator(".leaflet-container").get_attribute("style") or "")
    assert inner.evaluate("getComputedStyle(document.querySelector('.leaflet-container')).touchAction") != "none"
    expect(frame.locator("#map-status")).to_contain_text("Tippen Sie auf die Karte")
    box = frame.locator(".leaflet-container").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    wait_until(page, lambda: inner.evaluate("window.kiezkarte.map.dragging.enabled()"))
    expect(frame.locator("#map-status")).to_have_text("")
    assert inner.evaluate("getComputedStyle(document.querySelector('.leaflet-container')).touchAction") == "none"
    assert not rec.console_errors, rec.console_errors
    assert_local(rec, page)
