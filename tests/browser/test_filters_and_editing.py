"""End to end in headless Chromium: project filters in the URL, and planners placing projects.

Changing a filter on the overview redraws the project markers and the list and writes the
filter into the address bar; a reload restores it. The chosen indicator and "only projects in
the current map view" live in the URL too. A signed-in planner places a project by clicking the
small map of the project form, saves it, and finds it on the area page (with edit links that
readers never see). Nothing is requested from any host but 127.0.0.1; no console errors.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, PLANNER, screenshot, wait_for_map
from tests.browser.test_maps import assert_clean
from tests.test_pages import HOSTILE_AREA

pytestmark = pytest.mark.browser

AREA = HOSTILE_AREA


def marker_points(features) -> int:
    """How many markers the map draws for these features: one per distinct point."""
    return len({tuple(f["geometry"]["coordinates"]) for f in features if f["geometry"]})


def wait_for_projects(page, query: str):
    page.locator(f"html[data-projects='{query}']").wait_for(state="attached")


def test_a_filter_changes_markers_list_and_url_and_a_reload_restores_it(new_page, base_url):
    page, rec = new_page()
    page.goto(base_url + "/?lang=en")
    wait_for_map(page)
    everything = page.request.get(base_url + "/api/projects").json()["features"]
    expect(page.locator(".project-marker")).to_have_count(marker_points(everything))
    expect(page.locator(".project-row")).to_have_count(len(everything))

    page.locator(".filters summary").click()
    page.get_by_label("Project fund (Projektfonds)").check()
    wait_for_projects(page, "fund=projektfonds")
    chosen = page.request.get(base_url + "/api/projects?fund=projektfonds").json()["features"]
    assert 0 < len(chosen) < len(everything)
    expect(page.locator(".project-marker")).to_have_count(marker_points(chosen))
    expect(page.locator(".project-row")).to_have_count(len(chosen))  # the list follows the filter
    assert page.url == base_url + "/?fund=projektfonds&lang=en"
    assert "fund=projektfonds" in page.locator("a[hreflang=de]").get_attribute("href")  # so does the language switch
    expect(page.locator("[data-filter-status]")).to_contain_text(f"{len(chosen)} of {len(everything)} projects")

    page.locator("input[name=year_from]").fill("2010")
    wait_for_projects(page, "fund=projektfonds&year_from=2010")
    later = page.request.get(base_url + "/api/projects?fund=projektfonds&year_from=2010").json()["features"]
    expect(page.locator(".project-row")).to_have_count(len(later))
    assert page.url == base_url + "/?fund=projektfonds&year_from=2010&lang=en"
    screenshot(page, "overview-filtered-1280x800")

    page.reload()
    wait_for_map(page)
    wait_for_projects(page, "fund=projektfonds&year_from=2010")
    expect(page.locator(".project-marker")).to_have_count(marker_points(later))
    expect(page.locator(".project-row")).to_have_count(len(later))
    assert page.locator("input[name=fund][value=projektfonds]").is_checked()
    assert page.locator("input[name=year_from]").input_value() == "2010"

    page.locator("[data-filter-reset]").click()
    wait_for_projects(page, "")
    expect(page.locator(".project-marker")).to_have_count(marker_points(everything))
    assert page.url == base_url + "/?lang=en"
    assert_clean(rec)


def test_the_indicator_and_the_map_view_live_in_the_url(new_page, base_url):
    page, rec = new_page()
    page.goto(f"{base_url}/gebiete/{AREA}")
    wait_for_map(page)
    page.select_option("#indicator-select", "ug_noise")
    assert page.url == f"{base_url}/gebiete/{AREA}?indicator=ug_noise"
    all_here = page.locator(".project-marker").count()
    # only the projects in the map view: zoom in far, away from the area's centre
    page.locator(".filters summary").click()
    page.get_by_label("Nur Projekte im aktuellen Kartenausschnitt").check()
    page.locator("html[data-projects^='bbox=']").wait_for(state="attached")
    assert re.search(r"\?bbox=[\d.]+,[\d.]+,[\d.]+,[\d.]+&indicator=ug_noise$", page.url), page.url
    page.evaluate("() => window.kiezkarte.map.setView([52.5445, 13.3190], 17, {animate: false})")
    page.wait_for_function("() => !document.documentElement.dataset.projects.includes('13.2')"
                           " && document.documentElement.dataset.projects.includes('13.31')")
    expect(page.locator(".project-marker")).to_have_count(0)
    expect(page.locator("li.project")).to_have_count(0)  # the list follows the map view
    assert all_here > 0
    url = page.url
    page.reload()
    wait_for_map(page)
    assert page.url == url
    assert page.locator("#indicator-select").input_value() == "ug_noise"
    assert page.locator("#legend").get_attribute("data-indicator") == "ug_noise"
    center = page.evaluate("() => { const c = window.kiezkarte.map.getCenter(); return [c.lat, c.lng]; }")
    assert abs(center[0] - 52.5445) < 0.002 and abs(center[1] - 13.3190) < 0.003  # the view is restored
    expect(page.locator(".project-marker")).to_have_count(0)
    assert_clean(rec)


def sign_in(page, base):
    page.goto(base + "/planung/")
    page.wait_for_url(re.compile(r"/planung/anmelden"))
    page.fill("#username", PLANNER[0])
    page.fill("#password", PLANNER[1])
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(r"/planung/$"))


def test_a_planner_places_a_project_by_clicking_the_map(new_page, planner_base_url):
    page, rec = new_page()
    sign_in(page, planner_base_url)
    page.goto(f"{planner_base_url}/planung/projekte/neu?area={AREA}")
    wait_for_map(page)
    page.fill("#field-title", "Kiezgarten Rostocker Straße")
    page.select_option("#field-fund", "Baufonds")
    page.get_by_label("Öffentlicher Raum").check()
    page.fill("#field-start_year", "2025")
    page.fill("#field-cost_eur", "35.000")
    the_map = page.locator(".map")
    the_map.scroll_into_view_if_needed()
    box = the_map.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(page.locator(".editor-marker")).to_have_count(1)
    lat, lon = float(page.input_value("#field-lat")), float(page.input_value("#field-lon"))
    assert 52.52 < lat < 52.55 and 13.30 < lon < 13.35  # the area, in lat/lon
    expect(page.locator("#map-status")).to_contain_text("Verortet bei")
    screenshot(page, "project-form-1280x800")
    page.get_by_role("button", name="Projekt speichern").click()

    page.wait_for_url(re.compile(rf"/gebiete/{AREA}#project-"))
    wait_for_map(page)
    item = page.locator("li.project").filter(has=page.get_by_role("heading", name="Kiezgarten Rostocker Straße"))
    expect(item).to_have_count(1)
    assert "genauer Standort" in item.inner_text() and "35.000 €" in item.inner_text()
    expect(page.locator(".flash")).to_contain_text("angelegt")
    marker = page.locator(".project-marker[title='Kiezgarten Rostocker Straße']")
    expect(marker).to_have_count(1)  # placed where it was clicked, a marker of its own
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    edit = popup.get_by_role("link", name=re.compile("^Bearbeiten"))
    assert "/planung/projekte/" in edit.get_attribute("href")
    screenshot(page, "area-planner-popup-1280x800")
    assert_clean(rec)

    # a reader sees the project, but no edit link anywhere
    reader, reader_rec = new_page(PHONE)
    reader.goto(f"{planner_base_url}/gebiete/{AREA}")
    wait_for_map(reader)
    expect(reader.get_by_role("heading", name="Kiezgarten Rostocker Straße")).to_have_count(1)
    assert reader.locator("a[href*='/planung/projekte/']").count() == 0
    reader.evaluate("() => window.kiezkarte.map.closePopup()")
    reader.locator(".project-marker[title='Kiezgarten Rostocker Straße']").click()
    reader.locator(".leaflet-popup-content").wait_for()
    assert reader.locator(".leaflet-popup-content a.popup-edit").count() == 0
    assert reader.context.cookies() == []
    assert_clean(reader_rec)


def test_a_filter_the_server_refuses_says_why_instead_of_failing_silently(new_page, base_url):
    """Years swapped in the live filter: the status line gives the server's reason, in the page's language."""
    page, _ = new_page()
    page.goto(base_url + "/statistik")
    page.locator(".filters summary").click()
    page.locator("input[name=year_to]").fill("2015")
    page.locator("html[data-filter-state='ready']").wait_for(state="attached")
    page.locator("input[name=year_from]").fill("2020")
    page.locator("html[data-filter-state='error']").wait_for(state="attached")
    expected = page.request.get(base_url + "/statistik?year_from=2020&year_to=2015")
    assert expected.status == 400
    reason = re.search(r"<p data-error-message>(.*?)</p>", expected.text()).group(1)
    assert "vertauscht" in reason
    expect(page.locator("[data-filter-status]")).to_have_text(reason)
