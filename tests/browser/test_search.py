"""Find my Kiez in headless Chromium, for an address that lies in more than one Planungsraum
(taken from the shipped address table): the suggestion chosen, or the choice listed after
Enter, opens that Kiez, and the Kiez page names the address."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot, wait_for_map
from tests.browser.test_maps import assert_clean
from tests.test_lookup import ambiguous_addresses, read_table, several_places

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def address():
    """('Rostocker Straße 30', [(postcode, Planungsraum), ...]) for an address without suffix."""
    table = read_table()
    text, places = next((t, p) for t, p in ambiguous_addresses(table, several_places(table), 20, seed=3)
                        if not re.search(r"\d[A-Z]$", t))
    return text, sorted(places)


def test_choosing_a_suggestion_of_an_address_in_two_districts_opens_that_kiez(new_page, base_url, address):
    text, places = address
    plz, plr_id = places[-1]
    page, rec = new_page(PHONE)
    page.goto(base_url + "/suche")
    page.locator("#address").press_sequentially(text, delay=30)
    option = page.locator("#address-suggestions [role=option]").filter(
        has_text=re.compile("^" + re.escape(f"{text}, {plz} ")))
    option.first.wait_for()
    label = option.first.inner_text()
    option.first.click()
    page.wait_for_url(re.compile(rf"/kiez/{plr_id}\?address="))
    wait_for_map(page)
    assert page.get_by_text(f"{label} liegt im Kiez").count() == 1
    assert plr_id in page.locator(".status-line").inner_text()
    assert_clean(rec)


def test_enter_without_a_choice_lists_each_kiez_to_choose_from(new_page, base_url, address):
    text, places = address
    page, rec = new_page(PHONE)
    page.goto(base_url + "/suche?lang=en")
    page.locator("#address").fill(text)
    page.locator("#address-suggestions [role=option]").first.wait_for()  # the suggestions came, then are dismissed
    page.locator("#address").press("Escape")
    page.locator("#address").press("Enter")
    page.wait_for_url(re.compile(r"/suche\?address="))
    links = page.locator(".search-result a")
    assert links.count() == len(places)
    screenshot(page, "search-choice-phone-en")
    plz, plr_id = places[0]
    choice = links.filter(has_text=re.compile(rf", {plz} "))
    label = choice.inner_text()
    choice.click()
    page.wait_for_url(re.compile(rf"/kiez/{plr_id}\?address=.*&lang=en$"))
    assert page.get_by_text(f"{label} is in the Kiez").count() == 1
    assert_clean(rec)
