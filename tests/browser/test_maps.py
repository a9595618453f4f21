"""End to end in headless Chromium: what only a browser shows.

The maps draw (542 Planungsräume, the QM areas), switching the indicator recolours them
and swaps the legend, a project marker opens its popup, an address typed from the address
table leads to its Kiez, the page asks nothing of any host but 127.0.0.1, logs no console
error, and data named like an attack shows as text. Screenshots go to artifacts/screenshots/.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot, wait_for_map
from tests.conftest import RAW_DIR
from tests.test_pages import HOSTILE, HOSTILE_AREA

pytestmark = pytest.mark.browser

AREA = HOSTILE_AREA  # Beusselstraße: boundary from a source, 9 researched projects (+1 hostile)


def assert_clean(rec):
    """Only 127.0.0.1 was asked, nothing failed, no console error, no dialog."""
    hosts = {urlsplit(url).hostname for url in rec.requests if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, rec.requests
    assert not rec.failed, rec.failed
    assert not rec.console_errors, rec.console_errors
    assert not rec.dialogs, rec.dialogs


def fills(page):
    return page.eval_on_selector_all("path.plr-shape", "els => els.map(e => e.getAttribute('fill'))")


def test_overview_draws_every_planungsraum_and_the_qm_areas(new_page, base_url, store):
    areas = store.rows("qm_areas")
    drawn = [a for a in areas if a["boundary_basis"] != "none"]
    for viewport, name in ((DESKTOP, "overview-1280x800"), (PHONE, "overview-360x740")):
        page, rec = new_page(viewport)
        page.goto(base_url + "/")
        wait_for_map(page)
        assert page.locator("path.plr-shape").count() == 542
        assert page.locator("path.qm-area").count() == len(drawn) == 34
        assert page.locator("path.qm-area--ended").count() == sum(a["status_group"] == "ended" for a in drawn)
        assert page.locator("path.bezirk-outline").count() == 12
        # approximate boundaries are dashed, in the map and in the popup
        approx = page.locator("path.qm-basis--name-match").first
        assert approx.get_attribute("stroke-dasharray")
        assert page.evaluate("window.kiezkarte.layers.planungsraeume.getLayers().length") == 542
        attribution = page.locator(".leaflet-control-attribution").inner_text()
        assert "LOR-Planungsräume" in attribution and "Quartiersmanagement-Gebiete" in attribution
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # no sideways scrolling
        screenshot(page, name)
        screenshot(page, name + "-full", full_page=True)
        assert_clean(rec)


def test_switching_the_indicator_recolours_the_map_and_swaps_the_legend(new_page, base_url):
    page, rec = new_page()
    page.goto(base_url + "/?lang=en")
    wait_for_map(page)
    legend = page.locator("#legend .legend-title")
    assert legend.inner_text() == "Multiple burden (number of high burdens)"
    before = fills(page)
    page.select_option("#indicator-select", "ug_noise")
    assert legend.inner_text() == "Noise"
    after = fills(page)
    assert before != after and len(set(after)) >= 3
    assert "#7f2704" in after  # class 3 (high noise burden) has the darkest colour of the scale
    # a click on a Planungsraum: its popup names it and its value of the shown indicator
    page.uncheck('[data-layer-toggle="projects"]')  # (project markers sit on top; switch them off)
    expect(page.locator(".project-marker")).to_have_count(0)
    box = page.locator(".map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert re.search(r"Noise: [123] – (low|medium|high)", popup.inner_text()), popup.inner_text()
    assert popup.get_by_role("link", name="Open the page of this Kiez").get_attribute("href").endswith("?lang=en")
    page.select_option("#indicator-select", "green_m2_per_resident")
    assert legend.inner_text() == "Public green space per resident"
    assert page.locator("#legend li").filter(has_text="20 m² or more").count() == 1
    assert fills(page) != after
    assert_clean(rec)


def test_a_click_on_a_planungsraum_and_on_a_project_opens_its_popup(new_page, base_url):
    page, rec = new_page()
    page.goto(f"{base_url}/gebiete/{AREA}?lang=en")
    wait_for_map(page)
    markers = page.locator(".project-marker")
    assert markers.count() >= 2
    markers.first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Projects at this point" in popup.inner_text() or "Project" in popup.inner_text()
    assert "Ankerort Beusselstraße" in popup.inner_text()
    assert "placed at the area's centre" in popup.inner_text()  # how it was placed, said honestly
    page.evaluate("() => window.kiezkarte.map.closePopup()")  # (the close button moves while the popup pans the map)
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    # keyboard: markers are focusable buttons, Enter opens the popup
    marker = markers.nth(1)
    assert marker.get_attribute("role") == "button" and marker.get_attribute("tabindex") == "0"
    marker.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    assert page.locator(".leaflet-popup-content h3").count() >= 1
    screenshot(page, "area-popup-1280x800")
    assert_clean(rec)


def test_area_page_screenshots_and_place_layers(new_page, base_url):
    for viewport, name in ((DESKTOP, "area-1280x800"), (PHONE, "area-360x740")):
        page, rec = new_page(viewport)
        page.goto(f"{base_url}/gebiete/{AREA}")
        wait_for_map(page)
        screenshot(page, name)
        screenshot(page, name + "-full", full_page=True)
        assert page.locator("path.qm-area--current").count() == 1
        page.check('[data-layer-toggle="school"]')
        page.locator("path.place--school").first.wait_for()
        assert "Schulen" in page.locator(".leaflet-control-attribution").inner_text()
        page.uncheck('[data-layer-toggle="school"]')
        page.locator("path.place--school").first.wait_for(state="detached")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert_clean(rec)


def test_a_layer_that_cannot_be_loaded_is_reported_and_the_facts_stay(new_page, base_url):
    """The page's <head> reads the layers before the map exists (app/maps.py, EARLY_DATA_SCRIPT): a
    failed one still reaches the map script, which says so instead of failing silently."""
    page, rec = new_page()
    page.route("**/api/bezirke", lambda route: route.fulfill(status=503, content_type="application/json",
                                                            body='{"error": "down for the test"}'))
    page.goto(f"{base_url}/gebiete/{AREA}?lang=en")
    page.locator("html[data-map-ready='error']").wait_for(state="attached", timeout=30_000)
    expect(page.locator("#map-status")).to_have_text(
        "Some map layers could not be loaded. The facts below the map are complete.")
    assert page.locator("ol.projects > li").count() >= 9  # the facts are all there
    assert not rec.errors, rec.errors  # no uncaught exception or unhandled rejection


def test_names_that_look_like_html_show_as_text(new_page, base_url):
    page, rec = new_page()
    page.goto(f"{base_url}/gebiete/{AREA}?lang=en")
    wait_for_map(page)
    # in the list below the map
    assert page.get_by_role("heading", name=HOSTILE).count() == 1
    # in the project popup (the hostile project sits with the others at the area's centre)
    page.locator(".project-marker").filter(has_text=re.compile(r"\d")).first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert HOSTILE in popup.inner_text()
    assert popup.locator("img").count() == 0
    # in a place popup: the kita named like the attack, its javascript: website not a link
    page.check('[data-layer-toggle="kita"]')
    page.locator("path.place--kita").first.wait_for()
    opened = page.evaluate("""() => {
        let found = false;
        window.kiezkarte.places.kita.eachLayer(l => {
            if (l.feature.properties.name.startsWith('<img')) { l.openPopup(); found = true; }
        });
        return found;
    }""")
    assert opened
    expect(page.locator(".leaflet-popup")).to_have_count(1)  # the project popup fades out in 200 ms
    assert HOSTILE in popup.inner_text()
    assert popup.locator("img").count() == 0 and popup.locator("a[href^='javascript']").count() == 0
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert page.locator("img[src='x']").count() == 0
    assert_clean(rec)


def test_typing_an_address_from_the_table_leads_to_its_kiez(new_page, base_url):
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    row = table[table["hnr_zusatz"] == ""].sample(1, random_state=3).iloc[0]
    page, rec = new_page(PHONE)
    page.goto(base_url + "/")
    wait_for_map(page)
    page.locator("#address").press_sequentially(f"{row.str_name} {row.hnr}", delay=30)
    option = page.locator("#address-suggestions [role=option]").filter(
        has_text=re.compile("^" + re.escape(f"{row.str_name} {row.hnr}, {row.plz} ")))
    option.first.wait_for()
    assert page.locator("#address").get_attribute("aria-expanded") == "true"
    option.first.click()
    page.wait_for_url(re.compile(rf"/kiez/{row.PLR_ID}\?address="))
    wait_for_map(page)
    assert row.PLR_ID in page.locator(".status-line").inner_text()
    assert page.locator("path.plr-shape--current").count() == 1
    assert_clean(rec)


def test_keyboard_choice_of_a_suggestion(new_page, base_url):
    page, rec = new_page()
    page.goto(base_url + "/suche?lang=en")
    page.locator("#address").press_sequentially("Ackerstraße 1", delay=30)
    page.locator("#address-suggestions [role=option]").filter(has_text="Ackerstraße 1, 10115").first.wait_for()
    page.keyboard.press("ArrowDown")
    assert page.locator("#address").get_attribute("aria-activedescendant") == "address-suggestions-0"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/kiez/01100309\?lang=en&address="))
    assert page.locator("html").get_attribute("lang") == "en"
    assert_clean(rec)


def test_use_my_location(browser, base_url):
    context = browser.new_context(viewport=DESKTOP, geolocation={"latitude": 52.5308, "longitude": 13.3223},
                                  permissions=["geolocation"])
    try:
        page = context.new_page()
        page.goto(base_url + "/")
        page.get_by_role("button", name="Meinen Standort verwenden").click()
        page.wait_for_url(re.compile(r"/kiez/\d{8}$"))
        assert "Beusselstraße" in page.locator(".callout").inner_text()  # inside a QM area: offered
    finally:
        context.close()


def test_page_weight_cold_cache(new_page, base_url):
    """Everything a first visit transfers, as the browser counts it (gzip, headers included)."""
    budgets = {"/": 300_000, f"/gebiete/{AREA}": 200_000}
    for path, budget in budgets.items():
        page, rec = new_page()
        page.goto(base_url + path)
        wait_for_map(page)
        sizes = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const res = performance.getEntriesByType('resource');
            return {transfer: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
                    body: nav.encodedBodySize + res.reduce((s, r) => s + r.encodedBodySize, 0),
                    count: res.length + 1};
        }""")
        print(f"page weight {path}: {sizes}")
        assert sizes["transfer"] <= budget, (path, sizes)
        assert_clean(rec)
