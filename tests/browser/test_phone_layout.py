"""End to end in headless Chromium on a phone (390 x 844, touch): what a reader sees there.

A popup opened near the map's top edge is panned clear of the zoom buttons; the sources in the
attribution control say there is more, and once tapped every line of them can be read, also in
a 300 px high embed; charts keep their text size and every value stays reachable; figures in
stacked table rows start where the other fields start. Pages of the OGC API declare the site's
icon (no request for /favicon.ico, no console error). Reading sets no cookie; the sign-in form
sets one, as the footer says, and signing in with it works.
"""
from __future__ import annotations

import html as html_lib
import re

import pytest

from tests.browser.conftest import PLANNER, screenshot, wait_for_map
from tests.test_pages import HOSTILE_AREA, map_config

pytestmark = pytest.mark.browser

PHONE_390 = {"width": 390, "height": 844}
TOUCH = {"is_mobile": True, "has_touch": True}


def _settled_box(page, selector: str) -> dict:
    """The element's box once it stopped moving (the map pans a popup into view with an animation)."""
    last = None
    for _ in range(40):
        box = page.locator(selector).bounding_box()
        if box is not None and box == last:
            return box
        last = box
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} kept moving: {last}")


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("path", [f"/gebiete/{HOSTILE_AREA}", f"/embed/gebiete/{HOSTILE_AREA}"])
def test_a_popup_opened_near_the_top_is_not_under_the_zoom_buttons(new_page, base_url, path):
    page, rec = new_page(PHONE_390, **TOUCH)
    page.goto(base_url + path)
    wait_for_map(page)
    page.evaluate("document.querySelector('.map').scrollIntoView({block: 'start'})")
    if page.locator('[data-layer-toggle="projects"]').count():
        page.uncheck('[data-layer-toggle="projects"]')  # a Planungsraum, not a marker, under the click
    map_box = page.locator(".map").bounding_box()
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + 12)  # just below the top edge
    page.locator(".leaflet-popup-content-wrapper").wait_for()
    popup = _settled_box(page, ".leaflet-popup-content-wrapper")
    zoom = page.locator(".leaflet-control-zoom").bounding_box()
    screenshot(page, "phone-popup-near-top" + ("-embed" if "embed" in path else ""))
    assert popup["y"] >= zoom["y"] + zoom["height"], (popup, zoom)
    assert not _overlap(popup, zoom)
    assert popup["y"] + popup["height"] <= map_box["y"] + map_box["height"]  # and it is still on the map
    assert not rec.console_errors, rec.console_errors


_TEXT_REACH = """(box) => {
  const nodes = [], walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) if (walker.currentNode.textContent.trim()) nodes.push(walker.currentNode);
  const charBox = (node, i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
                                 return r.getBoundingClientRect(); };
  const seen = (r) => { const b = box.getBoundingClientRect(), m = box.closest('.leaflet-container').getBoundingClientRect();
    return r.height > 0 && [b, m, {top: 0, bottom: window.innerHeight}].every(o => r.top >= o.top - 1 && r.bottom <= o.bottom + 1); };
  box.scrollTop = 0;
  const first = seen(charBox(nodes[0], nodes[0].textContent.search(/\\S/)));
  box.scrollTop = box.scrollHeight;
  const last = nodes[nodes.length - 1], end = last.textContent.trimEnd().length - 1;
  return {first: first, last: seen(charBox(last, end)), text: box.textContent};
}"""


@pytest.mark.parametrize("path, viewport", [
    (f"/embed/gebiete/{HOSTILE_AREA}", {"width": 390, "height": 300}),  # a short embed
    (f"/embed/gebiete/{HOSTILE_AREA}", PHONE_390), (f"/gebiete/{HOSTILE_AREA}", PHONE_390)])
def test_the_sources_can_be_read_in_full_on_a_phone(new_page, base_url, path, viewport):
    page, rec = new_page(viewport, **TOUCH)
    page.goto(base_url + path)
    wait_for_map(page)
    config = map_config(page.content())
    sources = page.locator(".leaflet-control-attribution")
    sources.scroll_into_view_if_needed()
    folded = sources.bounding_box()
    label = sources.get_attribute("aria-label")
    hint = sources.evaluate("box => getComputedStyle(box, '::after').content")
    assert label and label in hint and folded["height"] < 50  # two lines, ending in "… <label> ▾"

    sources.tap()
    page.wait_for_timeout(200)
    screenshot(page, f"phone-sources-open-{viewport['height']}" + ("-embed" if "embed" in path else ""))
    reach = sources.evaluate(_TEXT_REACH)
    assert reach["first"] and reach["last"], reach  # the first and the last line can be seen (scrolled)
    layers = config["layers"]
    texts = [layers["planungsraeume"]["attribution"], layers["areas"]["attribution"],
             *(p["attribution"] for p in layers["projects"])]
    for text in texts:
        for part in html_lib.unescape(text).split(" · "):
            assert part in reach["text"], part  # every source with its licence
    assert sources.evaluate("box => getComputedStyle(box, '::after').content") == "none"  # the hint is gone
    assert not rec.console_errors, rec.console_errors


def test_charts_keep_their_text_size_and_every_value_can_be_reached(new_page, base_url):
    page, rec = new_page(PHONE_390, **TOUCH)
    page.goto(base_url + "/statistik")
    charts = page.locator("svg.chart")
    assert charts.count() >= 2
    for i in range(charts.count()):
        chart = charts.nth(i)
        drawn = int(chart.get_attribute("width"))
        size = chart.evaluate("svg => { const b = svg.getBoundingClientRect(), s = getComputedStyle(svg);"
                              " return b.width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); }")
        assert abs(size - drawn) < 1, (i, size, drawn)  # not shrunk to the column: 11 px text stays 11 px
        beyond = chart.evaluate("""svg => { const fig = svg.closest('.chart-figure'), f = fig.getBoundingClientRect();
            return [...svg.querySelectorAll('text')].filter(t => t.getBoundingClientRect().right > f.left + fig.scrollWidth + 1)
                                                   .map(t => t.textContent); }""")
        assert beyond == [], beyond  # no value past what the figure scrolls to
    charts.nth(1).scroll_into_view_if_needed()
    screenshot(page, "phone-statistics-chart")
    assert not rec.console_errors, rec.console_errors


@pytest.mark.parametrize("path", ["/ogc?f=html", "/ogc/collections?f=html", "/ogc/collections/projects/items?f=html&limit=5",
                                  "/ogc/collections/nowhere?f=html", "/ebenen/"])
def test_pages_declare_the_sites_icon_so_no_favicon_ico_is_asked_for(new_page, base_url, path):
    page, rec = new_page(PHONE_390)
    response = page.goto(base_url + path)
    page.wait_for_load_state("networkidle")
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon and icon.split("?")[0] == "/static/favicon.svg"
    assert not [u for u in rec.requests if u.split("?")[0].endswith("/favicon.ico")]
    own_status = 1 if response.status >= 400 else 0  # an error page logs its own status, nothing else
    assert len(rec.console_errors) == own_status, rec.console_errors


def test_reading_sets_no_cookie_the_sign_in_form_does_and_signing_in_works(new_page, planner_base_url):
    page, rec = new_page(PHONE_390, **TOUCH)
    for path in ("/", f"/gebiete/{HOSTILE_AREA}", "/statistik", "/ogc?f=html", f"/embed/gebiete/{HOSTILE_AREA}"):
        page.goto(planner_base_url + path)
        assert page.context.cookies() == [], path
    page.goto(planner_base_url + "/planung/anmelden")
    assert [c["name"] for c in page.context.cookies()] == ["kiezkarte_session"]  # what the footer says
    page.fill("#username", PLANNER[0])
    page.fill("#password", PLANNER[1])
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(r"/planung/$"))

    # the project list stacks each project as "Label: value" lines; the cost, too, reads from the left
    cost = page.locator("tr.project-row td.num").first
    where = cost.evaluate("""td => { const r = document.createRange(), box = td.getBoundingClientRect(); r.selectNodeContents(td);
                                     return [r.getBoundingClientRect().left - box.left, box.width]; }""")
    assert where[0] < where[1] / 2, where  # its figure follows its label instead of sitting at the right edge
    screenshot(page, "phone-planner-list")


@pytest.mark.parametrize("path", ["/ogc/collections/projects/items?f=html&limit=5", "/ogc/collections/qm_areas/items?f=html&limit=3"])
def test_ogc_feature_pages_fit_a_phone(new_page, base_url, path):
    """The list may scroll inside its box; the page itself, and every single feature's page, never sideways."""
    page, _ = new_page(PHONE_390)
    page.goto(base_url + path)
    items = [page.locator("main table a").nth(i).get_attribute("href") for i in range(2)]
    for url in [path] + [href for href in items if href]:
        page.goto(url if url.startswith("http") else base_url + url if url.startswith("/") else base_url + "/ogc/" + url)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"], url
