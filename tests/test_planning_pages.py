"""The planners' pages through Flask's test client: edit controls only for signed-in planners,
the project form (create -> edit -> delete) with field errors and CSRF, the filtered list,
and every change in the audit log. Readers never get a cookie or an edit link."""
from __future__ import annotations

import json
import re

import pytest

from app import create_app
from app.accounts import add_user
from app.store import open_planner
from tests.test_pages import map_config, parse, project_rows

PASSWORD = "correct horse battery staple"
AREA = "beusselstrasse"
INSIDE = ("52.5331", "13.3283")  # a point in the Beusselstraße area (lat, lon)


@pytest.fixture()
def app(store_url, planner_url):
    planner = open_planner(store_url, planner_url)
    add_user(planner, "anna", PASSWORD)
    return create_app({"STORE": store_url, "PLANNER_STORE": planner.path, "TESTING": True})


@pytest.fixture()
def store(app):
    """The app's own store, with this test's planner store attached."""
    from app.web import get_store
    with app.app_context():
        return get_store()


@pytest.fixture()
def reader(app):
    return app.test_client()


@pytest.fixture()
def planner(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # the session cookie is Secure
    token = token_of(client.get("/planung/anmelden").get_data(as_text=True))
    r = client.post("/planung/anmelden", data={"username": "anna", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303
    return client


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_token(client, path="/planung/projekte/neu") -> str:
    return token_of(client.get(path).get_data(as_text=True))


def audit(client, project_id) -> list[dict]:
    return [e for e in client.get("/api/audit").get_json()["entries"] if e["project_id"] == project_id]


NEW = {"title": "Spielstraße Rostocker Straße", "qm_area": AREA, "fund": "Baufonds",
       "handlungsfeld": ["Öffentlicher Raum", "Gesundheit und Bewegung"], "start_year": "2025", "end_year": "2026",
       "cost_eur": "48.500", "status": "", "place": "Rostocker Straße", "address": "", "source_url": "https://example.org/p",
       "lat": INSIDE[0], "lon": INSIDE[1], "climate": "1"}


# ------------------------------------------------------------------ who sees what

@pytest.mark.parametrize("path", ["/", f"/gebiete/{AREA}", "/?fund=baufonds", "/statistik", "/vergleich", "/kiez/01200517"])
def test_readers_see_no_edit_controls_and_get_no_cookie(reader, path):
    r = reader.get(path)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    assert "/planung/projekte/" not in html and "csrf_token" not in html and "planner-bar" not in html
    if 'class="map"' in html:
        assert "edit" not in map_config(html)["links"]
    assert "Cookie" in r.headers["Vary"]


def test_planners_see_edit_links_in_lists_popups_and_the_planners_nav(planner):
    r = planner.get(f"/gebiete/{AREA}")
    html = r.get_data(as_text=True)
    ids = project_rows(html)
    assert ids and all(f'href="/planung/projekte/{pid}"' in html for pid in ids)
    assert f'href="/planung/projekte/neu?area={AREA}"' in html
    assert map_config(html)["links"]["edit"] == "/planung/projekte/__ID__"  # popups offer "Edit"
    assert 'class="planner-bar"' in html and "Angemeldet als anna" in html
    assert "no-store" in r.headers["Cache-Control"] and "private" in r.headers["Cache-Control"]
    overview = planner.get("/").get_data(as_text=True)
    assert overview.count('href="/planung/projekte/') >= 61


def test_the_planners_list_follows_the_filter(planner, store):
    html = planner.get("/planung/?fund=baufonds").get_data(as_text=True)
    baufonds = {r["id"] for r in store.rows("projects", "fund = 'Baufonds'")}
    assert set(project_rows(html)) == baufonds
    assert 'name="fund" value="baufonds" checked' in html
    assert "/api/export/projects.csv?fund=baufonds" in parse(html).links
    r = planner.get("/planung/?fund=baufonds&fund=aktionsfonds&year_to=")
    assert r.status_code == 303 and r.headers["Location"] == "/planung/?fund=baufonds,aktionsfonds"


# ------------------------------------------------------------------ CSRF

def test_a_form_post_without_csrf_is_refused(planner, reader, store):
    before = store.scalar("SELECT count(*) FROM projects")
    fields = {k: v for k, v in NEW.items() if k != "handlungsfeld"}
    assert planner.post("/planung/projekte/neu", data=fields).status_code == 403
    assert planner.post("/planung/projekte/neu", data={**fields, "csrf_token": "guessed"}).status_code == 403
    some = store.rows("projects", order="id")[0]["id"]
    assert planner.post(f"/planung/projekte/{some}/loeschen").status_code == 403
    assert reader.post("/planung/projekte/neu", data=fields).status_code == 403  # no session at all
    assert reader.get("/planung/projekte/neu").status_code == 303  # readers are sent to the sign-in
    assert store.scalar("SELECT count(*) FROM projects") == before


# ------------------------------------------------------------------ the form, round trip

def test_the_project_form_round_trips_create_edit_delete_with_an_audit_entry_each(planner, store):
    token = form_token(planner)
    r = planner.post("/planung/projekte/neu", data={**NEW, "csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)
    location = r.headers["Location"]
    assert location.startswith(f"/gebiete/{AREA}#project-")
    pid = location.split("#project-")[1]
    row = store.rows("projects", "id = ?", (pid,))[0]
    assert row["title"] == NEW["title"] and row["fund"] == "Baufonds" and row["cost_eur"] == 48500
    assert row["handlungsfelder"] == "Öffentlicher Raum;Gesundheit und Bewegung" and row["climate"] == 1
    assert row["location_precision"] == "exact" and row["area_slug"] == AREA and row["status"] == "ongoing"
    area = planner.get(location.split("#")[0]).get_data(as_text=True)
    assert pid in project_rows(area) and "Projekt „Spielstraße Rostocker Straße“ angelegt." in area

    # the edit form shows what was saved, the point as lat/lon
    form = planner.get(f"/planung/projekte/{pid}").get_data(as_text=True)
    assert 'value="Spielstraße Rostocker Straße"' in form and 'value="48500"' in form
    assert 'value="52.533100"' in form and 'value="13.328300"' in form
    assert '<option value="Baufonds" selected>' in form and f'<option value="{AREA}" selected>' in form
    assert 'value="Gesundheit und Bewegung" checked' in form and 'name="climate" value="1" checked' in form
    assert 'class="map"' in form and map_config(form)["editor"]["point"] == [52.5331, 13.3283]

    # edit: a new cost and a new point
    edited = {**NEW, "cost_eur": "52000", "lat": "52.5340", "lon": "13.3300", "csrf_token": token_of(form)}
    r = planner.post(f"/planung/projekte/{pid}", data=edited)
    assert r.status_code == 303 and r.headers["Location"] == location
    assert store.rows("projects", "id = ?", (pid,))[0]["cost_eur"] == 52000

    # delete: a confirmation page first, then the POST
    confirm = planner.get(f"/planung/projekte/{pid}/loeschen").get_data(as_text=True)
    assert "Spielstraße Rostocker Straße" in confirm and 'method="post"' in confirm
    r = planner.post(f"/planung/projekte/{pid}/loeschen", data={"csrf_token": token_of(confirm)})
    assert r.status_code == 303 and r.headers["Location"] == f"/gebiete/{AREA}#project-list"
    assert store.rows("projects", "id = ?", (pid,)) == []
    assert planner.get(f"/planung/projekte/{pid}").status_code == 404

    entries = audit(planner, pid)
    assert [e["action"] for e in entries] == ["delete", "update", "create"]
    assert all(e["username"] == "anna" for e in entries)
    update = entries[1]
    assert json.loads(update["before"])["cost_eur"] == 48500 and json.loads(update["after"])["cost_eur"] == 52000
    log = planner.get("/planung/protokoll").get_data(as_text=True)
    assert log.count(pid) >= 3


def test_saving_an_untouched_form_changes_nothing(planner, store):
    research = store.rows("projects", "origin = 'research' AND location_precision = 'facility'", order="id")[0]
    form = planner.get(f"/planung/projekte/{research['id']}").get_data(as_text=True)
    assert 'name="lat" type="text" inputmode="decimal" maxlength="20" placeholder="52.5331" value=""' in form
    values = dict(re.findall(r'<input id="field-(\w+)" name="\w+" type="(?:text|number|url)"[^>]*value="([^"]*)"', form))
    values = {k: v.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'") for k, v in values.items()}
    data = {**values, "csrf_token": token_of(form), "qm_area": research["area_slug"] or "",
            "fund": "" if research["fund"] == "not stated" else research["fund"],
            "handlungsfeld": [h for h in (research["handlungsfelder"] or "").split(";") if h],
            "status": re.search(r'<select id="field-status".*?<option value="([^"]*)" selected', form, re.S).group(1)
            if 'selected>' in form.split('id="field-status"')[1].split("</select>")[0] else ""}
    if research["climate"]:
        data["climate"] = "1"
    r = planner.post(f"/planung/projekte/{research['id']}", data=data)
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    assert audit(planner, research["id"]) == []  # nothing changed, nothing logged
    after = store.rows("projects", "id = ?", (research["id"],))[0]
    assert after == research


def test_field_errors_are_shown_next_to_the_fields_and_nothing_is_saved(planner, store):
    before = store.scalar("SELECT count(*) FROM projects")
    bad = {**NEW, "title": "", "start_year": "2024", "end_year": "2019", "cost_eur": "lots",
           "lat": "13.3283", "lon": "52.5331", "csrf_token": form_token(planner)}
    r = planner.post("/planung/projekte/neu", data=bad)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html and "Es wurde nichts gespeichert." in html
    for field, message in (("title", "Geben Sie dem Projekt einen Titel."),
                           ("end_year", "Das Endjahr liegt vor dem Startjahr."),
                           ("cost_eur", "Geben Sie die Kosten als Betrag in Euro an"),
                           ("location", "Breiten- und Längengrad scheinen vertauscht")):
        assert re.search(rf'<p class="field-error" id="error-{field}">{re.escape(message)}', html), field
    assert 'id="field-cost_eur" name="cost_eur" type="text" inputmode="decimal" maxlength="30" value="lots" aria-invalid="true"' in html
    assert 'value="Gesundheit und Bewegung" checked' in html  # what was typed stays
    assert store.scalar("SELECT count(*) FROM projects") == before
    outside = planner.post("/planung/projekte/neu", data={**NEW, "lat": "48.1", "lon": "11.5",
                                                           "csrf_token": form_token(planner)})
    assert outside.status_code == 400 and "Der Punkt liegt außerhalb Berlins." in outside.get_data(as_text=True)


def test_two_projects_of_the_same_title_stay_two(planner, store):
    ids = []
    for _ in range(2):
        r = planner.post("/planung/projekte/neu", data={**NEW, "csrf_token": form_token(planner)})
        assert r.status_code == 303
        ids.append(r.headers["Location"].split("#project-")[1])
    assert ids[0] != ids[1] and len(store.rows("projects", f"id IN ('{ids[0]}', '{ids[1]}')")) == 2


def test_hostile_titles_are_escaped_in_the_planners_pages(planner):
    hostile = "<img src=x onerror=alert(1)>"
    r = planner.post("/planung/projekte/neu", data={**NEW, "title": hostile, "csrf_token": form_token(planner)})
    pid = r.headers["Location"].split("#project-")[1]
    for path in ("/planung/", f"/planung/projekte/{pid}", f"/planung/projekte/{pid}/loeschen", f"/gebiete/{AREA}",
                 "/planung/protokoll"):
        html = planner.get(path).get_data(as_text=True)
        assert "<img" not in html and "&lt;img" in html, path
