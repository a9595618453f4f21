"""Planners: accounts, sign-in slowed after failures, CSRF, secure cookies, edits with an audit log."""
import io
import json
import os
import re
import time

import pytest

from app import create_app
from app.accounts import add_user
from app.store import open_planner

PASSWORD = "correct horse battery staple"


@pytest.fixture()
def app(store_url, planner_url):
    planner = open_planner(store_url, planner_url)
    add_user(planner, "anna", PASSWORD)
    return create_app({"STORE": store_url, "PLANNER_STORE": planner.path, "TESTING": True})


@pytest.fixture()
def client(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # the session cookie is Secure
    return client


def csrf_from(client, path="/planung/anmelden"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, password=PASSWORD, user="anna"):
    token = csrf_from(client)
    return client.post("/planung/anmelden", data={"username": user, "password": password, "csrf_token": token})


@pytest.fixture()
def signed_in(client):
    assert sign_in(client).status_code == 303
    return client, csrf_from(client, "/planung/import")


def test_sign_in_sets_a_secure_httponly_samesite_cookie(client):
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/planung/")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_is_refused(client):
    response = sign_in(client, password="wrong password!")
    assert response.status_code == 401 and 'role="alert"' in response.get_data(as_text=True)
    assert client.get("/planung/").status_code == 303  # still not signed in


def test_repeated_wrong_passwords_are_slowed_down(client):
    statuses = [sign_in(client, password=f"wrong {i}").status_code for i in range(3)]
    assert statuses == [401, 401, 401]
    blocked = sign_in(client)  # even the right password must wait now
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0


def test_anonymous_and_csrf_less_posts_are_refused(client):
    assert client.post("/api/projects", json={"title": "x"}).status_code == 403  # no session, no token
    sign_in(client)
    assert client.post("/api/projects", json={"title": "x"}).status_code == 403  # signed in, but no token
    assert client.post("/api/projects", json={"title": "x"}, headers={"X-CSRF-Token": "guess"}).status_code == 403


def test_anonymous_post_with_a_token_still_needs_sign_in(client):
    token = csrf_from(client)
    assert client.post("/api/projects", json={"title": "x"}, headers={"X-CSRF-Token": token}).status_code == 401


def test_planner_pages_redirect_readers_to_sign_in(client):
    response = client.get("/planung/protokoll")
    assert response.status_code == 303 and "/planung/anmelden?next=/planung/protokoll" in response.headers["Location"]
    assert client.get("/api/audit").status_code == 401


def test_open_redirects_are_ignored(client):
    token = csrf_from(client)
    response = client.post("/planung/anmelden", data={"username": "anna", "password": PASSWORD,
                                                      "csrf_token": token, "next": "//evil.example/"})
    assert response.headers["Location"].endswith("/planung/")


def test_create_edit_delete_each_appear_in_the_audit_log(signed_in):
    client, token = signed_in
    h = {"X-CSRF-Token": token}
    created = client.post("/api/projects", headers=h, json={
        "title": "Neuer Spielplatz", "qm_area": "beusselstrasse", "fund": "Baufonds", "handlungsfeld": "Öffentlicher Raum",
        "lat": "52.5331", "lon": "13.3283", "start_year": "2025", "cost_eur": "120000"})
    assert created.status_code == 201, created.get_json()
    project = created.get_json()["project"]
    assert project["properties"]["location_precision"] == "exact" and project["properties"]["area_slug"] == "beusselstrasse"
    pid = project["id"]
    edited = client.put(f"/api/projects/{pid}", headers=h, json={"title": "Neuer Spielplatz", "cost_eur": "150000"})
    assert edited.status_code == 200 and edited.get_json()["action"] == "updated"
    assert client.delete(f"/api/projects/{pid}", headers=h).status_code == 200
    entries = [e for e in client.get("/api/audit").get_json()["entries"] if e["project_id"] == pid]
    assert [e["action"] for e in entries] == ["delete", "update", "create"]
    assert all(e["username"] == "anna" for e in entries)
    update = entries[1]
    assert json.loads(update["before"])["cost_eur"] == 120000 and json.loads(update["after"])["cost_eur"] == 150000
    assert pid in client.get("/planung/protokoll").get_data(as_text=True)


def test_bad_edits_name_the_field(signed_in):
    client, token = signed_in
    r = client.post("/api/projects", headers={"X-CSRF-Token": token}, json={"title": "x", "fund": "Goldfonds"})
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "fund"
    r = client.post("/api/projects", headers={"X-CSRF-Token": token}, json={"title": "x", "colour": "red"})
    assert r.status_code == 400 and "colour" in r.get_json()["error"]


def test_upload_page_checks_first_then_imports(signed_in, tmp_path):
    client, token = signed_in
    csv = "id,title,fund,lat,lon\nup-1,Hofbegrünung,Baufonds,52.5416,13.3413\n"
    r = client.post("/planung/import", data={"csrf_token": token, "file": (__import__("io").BytesIO(csv.encode()), "p.csv")},
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', html).group(1)
    assert client.get("/api/projects?q=Hofbegr").get_json()["features"] == []
    r = client.post("/planung/import", data={"csrf_token": token, "upload_id": upload_id})
    assert r.status_code == 200
    assert [f["id"] for f in client.get("/api/projects?q=Hofbegr").get_json()["features"]] == ["up-1"]


def upload(client, token, csv: str, query: str = "") -> str:
    """The upload page's dry-run report of ``csv``, as text without tags."""
    r = client.post(f"/planung/import{query}", data={"csrf_token": token, "file": (io.BytesIO(csv.encode()), "p.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def report_rows(html: str) -> dict[str, list[str]]:
    """The report's tables as {table caption or 'all': [row texts]}."""
    tables = {}
    for table in re.findall(r"<table.*?</table>", html, re.S):
        caption = re.search(r"<caption>(.*?)</caption>", table)
        rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", tr)).strip()
                for tr in re.findall(r"<tr[^>]*>.*?</tr>", table.split("</thead>")[-1], re.S)]
        tables[caption.group(1) if caption else "all"] = rows
    return tables


def test_upload_report_counts_each_action_in_the_page_language(signed_in):
    client, token = signed_in
    first = "id,title,fund,lat,lon\nc-1,Hofbegrünung,Baufonds,52.5416,13.3413\nc-2,Lesecafé,Projektfonds,52.54,13.34\n"
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', upload(client, token, first)).group(1)
    client.post("/planung/import", data={"csrf_token": token, "upload_id": upload_id})
    second = first.replace("Lesecafé", "Lesecafé im Hof") + "c-3,Kiezfest,Aktionsfonds,52.55,13.35\n"
    html = upload(client, token, second)
    assert "1 würden neu angelegt, 1 geändert, 1 bleiben unverändert" in html
    assert report_rows(html)["all"] == ["2 Hofbegrünung unverändert genauer Standort",
                                        "3 Lesecafé im Hof geändert genauer Standort",
                                        "4 Kiezfest neu genauer Standort"]
    assert "1 would be created, 1 updated, 1 unchanged" in upload(client, token, second, "?lang=en")


def test_upload_report_lists_errors_first_and_notes_unknown_addresses(signed_in):
    client, token = signed_in
    csv = ("id,title,fund,address\n"
           "e-1,Hofbegrünung,Baufonds,Ackerstraße 1 10115\n"
           "e-2,Lesecafé,Goldfonds,Ackerstraße 2 10115\n"
           "e-3,Kiezfest,Aktionsfonds,Nirgendwostraße 5\n")
    html = upload(client, token, csv)
    tables = report_rows(html)
    assert "Fehler: 1, in 1 von 3 Zeilen. Es wurde nichts gespeichert" in html and 'name="upload_id"' not in html
    assert tables["Fehler"] == ["3 Lesecafé fund unbekannter Fonds „Goldfonds“; möglich sind: "
                                "Projektfonds, Baufonds, Aktionsfonds, Netzwerkfonds, Quartiersfonds (historical), "
                                "other (sonstige), not stated (nicht angegeben)"]
    assert tables["Hinweise: Bitte prüfen Sie diese Zeilen"] == [
        "4 Kiezfest address nicht im amtlichen Adressverzeichnis (Straße, Hausnummer, Postleitzahl?): "
        "das Projekt hat keinen Standort"]
    assert tables["all"] == ["2 Hofbegrünung ohne Fehler im Planungsraum seiner Adresse", "3 Lesecafé Fehler",
                             "4 Kiezfest ohne Fehler nicht auf der Karte"]
    english = report_rows(upload(client, token, csv, "?lang=en"))
    assert english["Errors"][0].startswith("3 Lesecafé fund unknown fund &#39;Goldfonds&#39;; use one of Projektfonds")
    assert english["all"][2] == "4 Kiezfest no error not on the map"


def test_upload_report_names_the_files_own_columns_and_offers_nothing_when_nothing_changes(signed_in):
    client, token = signed_in
    csv = "Kennung;Titel;Fonds;Breite;Länge\nh-1;Hofbegrünung;Goldfonds;52,5416;13,3413\n"
    assert report_rows(upload(client, token, csv))["Fehler"][0].startswith("2 Hofbegrünung Fonds (fund) unbekannter")
    good = csv.replace("Goldfonds", "Baufonds")
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', upload(client, token, good)).group(1)
    client.post("/planung/import", data={"csrf_token": token, "upload_id": upload_id})
    again = upload(client, token, good)
    assert "Nichts zu importieren" in again and 'name="upload_id"' not in again


def test_a_file_that_cannot_be_read_is_explained_on_the_upload_page(signed_in):
    client, token = signed_in
    for name, body, query, expected in [
            ("liste.xlsx", b"PK\x03\x04", "", "liste.xlsx lässt sich nicht importieren: eine Tabellenkalkulation "
                                              "(„.xlsx“): Speichern Sie sie als CSV"),
            ("leer.csv", b"", "?lang=en", "leer.csv cannot be imported: file is empty"),
            ("karte.zip", b"no zip", "", "karte.zip lässt sich nicht importieren: keine gültige ZIP-Datei")]:
        r = client.post(f"/planung/import{query}", data={"csrf_token": token, "file": (io.BytesIO(body), name)},
                        content_type="multipart/form-data")
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and expected in html, name
        assert 'role="alert"' in html and 'type="file"' in html  # the form is there to try another file


def test_the_upload_page_takes_the_crs_of_x_y_columns(signed_in):
    """Soldner Berlin (EPSG:3068) coordinates fit no CRS tried by itself: the planner names it."""
    client, token = signed_in
    from pyproj import Transformer
    x, y = Transformer.from_crs(4326, 3068, always_xy=True).transform(13.3413, 52.5416)
    csv = f"id,title,fund,x,y\ns-1,Hofbegrünung,Baufonds,{x:.2f},{y:.2f}\n"
    assert "Fehler: 1, in 1 von 1 Zeilen" in upload(client, token, csv)
    r = client.post("/planung/import", data={"csrf_token": token, "crs": "EPSG:3068",
                                             "file": (io.BytesIO(csv.encode()), "s.csv")}, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert '<input type="hidden" name="crs" value="EPSG:3068">' in html
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', html).group(1)
    client.post("/planung/import", data={"csrf_token": token, "upload_id": upload_id, "crs": "EPSG:3068"})
    [project] = client.get("/api/projects?q=Hofbegr").get_json()["features"]
    assert project["geometry"]["coordinates"] == pytest.approx([13.3413, 52.5416], abs=1e-5)
    r = client.post("/planung/import", data={"csrf_token": token, "crs": "EPSG:99999",
                                             "file": (io.BytesIO(csv.encode()), "s.csv")}, content_type="multipart/form-data")
    assert r.status_code == 400 and "unbekanntes Koordinatensystem „EPSG:99999“" in r.get_data(as_text=True)


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(store_url, planner_url, tmp_path):
    planner = open_planner(store_url, planner_url)
    add_user(planner, "anna", PASSWORD)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    app = create_app({"STORE": store_url, "PLANNER_STORE": planner.path, "TESTING": True,
                      "MAX_UPLOAD_BYTES": 100_000, "UPLOAD_DIR": str(uploads)})
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    assert sign_in(client).status_code == 303
    token = csrf_from(client, "/planung/import")
    big = b"id,title\n" + b"x,y\n" * 60_000
    r = client.post("/planung/import?lang=en", data={"csrf_token": token, "file": (io.BytesIO(big), "big.csv")},
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 413 and "The file is larger than the limit of 0.1 MB." in html
    assert 'type="file"' in html and list(uploads.iterdir()) == []


def test_an_upload_with_errors_is_not_kept(signed_in, app):
    client, token = signed_in
    upload(client, token, "id,title,fund\nk-1,Kiezfest,Goldfonds\n")
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', upload(client, token, "id,title\nk-2,Kiezfest\n")).group(1)
    assert [p.stem for p in app.extensions["kiezkarte_upload_dir"].iterdir()] == [upload_id]


def test_readers_get_no_cookie_and_no_edit_controls(app):
    reader = app.test_client()
    for path in ("/", "/gebiete/beusselstrasse", "/kiez/01200517", "/api/projects"):
        response = reader.get(path)
        assert "Set-Cookie" not in response.headers, path
        assert "csrf_token" not in response.get_data(as_text=True), path


def test_readers_see_every_edit_on_their_next_visit(app, signed_in):
    """Reader pages are kept in memory (app/web/page_cache.py): an edit, in this server or in
    another one on the same stores, shows on the next request, and a planner's page with its
    edit links never reaches a reader."""
    planner, token = signed_in
    other_server = create_app(dict(app.config))  # another process or server on the same stores
    reader = app.test_client()
    path = "/gebiete/beusselstrasse"
    assert "Add a project to this area" in planner.get(path + "?lang=en").get_data(as_text=True)
    before = reader.get(path + "?lang=en")
    assert "Add a project to this area" not in before.get_data(as_text=True)
    assert reader.get(path + "?lang=en").get_etag() == before.get_etag()  # kept: the same page

    project = {"title": "Hofgarten für alle", "qm_area": "beusselstrasse", "fund": "Baufonds", "lat": "52.5331", "lon": "13.3283"}
    created = planner.post("/api/projects", headers={"X-CSRF-Token": token}, json=project)
    pid = created.get_json()["project"]["id"]
    for page in ("/", path):
        assert "Hofgarten für alle" in reader.get(page).get_data(as_text=True), page

    with other_server.test_client() as elsewhere:
        elsewhere.environ_base["wsgi.url_scheme"] = "https"
        assert sign_in(elsewhere).status_code == 303
        renamed = elsewhere.put(f"/api/projects/{pid}", headers={"X-CSRF-Token": csrf_from(elsewhere, "/planung/import")},
                                json={**project, "title": "Hofgarten für alle Nachbarn"})
        assert renamed.status_code == 200
    assert "Hofgarten für alle Nachbarn" in reader.get(path).get_data(as_text=True)

    assert planner.delete(f"/api/projects/{pid}", headers={"X-CSRF-Token": token}).status_code == 200
    for page in ("/", path):
        assert "Hofgarten für alle" not in reader.get(page).get_data(as_text=True), page


def test_the_audit_log_limit_must_be_a_whole_number(signed_in):
    client, _ = signed_in
    response = client.get("/api/audit?limit=abc")
    assert response.status_code == 400 and response.get_json()["error"] == "limit must be a whole number >= 1, not 'abc'"
    page = client.get("/planung/protokoll?limit=0&lang=en")
    assert page.status_code == 400 and "limit must be &gt;= 1" in page.get_data(as_text=True)
    assert len(client.get("/api/audit?limit=1").get_json()["entries"]) == 1


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(app, signed_in):
    client, token = signed_in
    copy = app.test_client()
    copy.environ_base["wsgi.url_scheme"] = "https"
    copy.set_cookie("kiezkarte_session", client.get_cookie("kiezkarte_session").value)
    assert copy.get("/planung/").status_code == 200  # the copy works while the session lasts

    response = client.post("/planung/abmelden", data={"csrf_token": token})
    assert response.status_code == 303 and "/planung/anmelden?abgemeldet=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'role="status">Sie sind abgemeldet.' in page
    assert 'role="status">You are signed out.' in client.get("/planung/anmelden?abgemeldet=1&lang=en").get_data(as_text=True)

    refused = copy.get("/planung/")
    assert refused.status_code == 303 and "/planung/anmelden" in refused.headers["Location"]
    assert copy.get("/api/audit").status_code == 401
    assert copy.get("/").get_data(as_text=True).count("Abmelden") == 0  # no planners' bar either


def test_signing_in_again_after_signing_out_works_and_other_sessions_stay(app, signed_in):
    client, token = signed_in
    other = app.test_client()
    other.environ_base["wsgi.url_scheme"] = "https"
    assert sign_in(other).status_code == 303  # the same planner on a second device
    client.post("/planung/abmelden", data={"csrf_token": token})
    assert other.get("/planung/").status_code == 200  # signing out on one device keeps the other
    assert sign_in(client).status_code == 303 and client.get("/planung/").status_code == 200
    assert client.post("/planung/abmelden", data={}).status_code == 403  # signed in: sign-out needs the token


def test_a_session_and_its_end_are_known_to_every_worker(store_url, app, signed_in):
    """Another worker opens the planner store itself: it knows the session, and that it ended."""
    client, token = signed_in
    second = create_app({"STORE": store_url, "PLANNER_STORE": app.config["PLANNER_STORE"], "TESTING": True,
                         "SECRET_KEY": app.config["SECRET_KEY"]}).test_client()
    second.environ_base["wsgi.url_scheme"] = "https"
    second.set_cookie("kiezkarte_session", client.get_cookie("kiezkarte_session").value)
    assert second.get("/planung/").status_code == 200
    client.post("/planung/abmelden", data={"csrf_token": token})
    refused = second.get("/planung/protokoll")
    assert refused.status_code == 303 and "/planung/anmelden" in refused.headers["Location"]


# ------------------------------------------------------------------ the audit log page

def audit_entries(client, query="") -> dict[str, str]:
    """The audit log page's entries as {project id or '': text without tags}, newest first."""
    html = client.get(f"/planung/protokoll{query}").get_data(as_text=True)
    entries = {}
    for part in html.split('<li class="audit-entry')[1:]:
        part = part.split("</ol>")[0]
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part.split(">", 1)[1])).replace("\u202f", " ").strip()
        pid = re.search(r"<code>([^<]+)</code>", part)
        entries.setdefault(pid.group(1) if pid else "", text)  # the newest entry of each project
    return entries


def test_the_audit_log_says_what_changed_with_the_forms_labels(signed_in):
    client, token = signed_in
    h = {"X-CSRF-Token": token}
    created = client.post("/api/projects", headers=h, json={
        "title": "Spielplatz am Kanal", "qm_area": "beusselstrasse", "fund": "Baufonds", "lat": "52.5331",
        "lon": "13.3283", "start_year": "2025", "cost_eur": "120000"}).get_json()["project"]
    pid = created["id"]
    client.put(f"/api/projects/{pid}", headers=h, json={"title": "Spielplatz am Kanal", "fund": "Projektfonds",
                                                         "start_year": "2025", "cost_eur": "150000", "lat": "52.5340", "lon": "13.3300"})
    de = audit_entries(client, f"?project={pid}")[pid]
    assert de.startswith("geändert ") and "anna im Webformular bearbeitet Spielplatz am Kanal" in de
    assert "Kosten in Euro: 120.000 → 150.000" in de and "Fonds: Baufonds → Projektfonds" in de
    assert "Lage: Breite 52,5331 · Länge 13,3283 (genauer Standort) → Breite 52,534 · Länge 13,33 (genauer Standort)" in de
    assert "Titel" not in de and "Startjahr" not in de  # only what changed
    en = audit_entries(client, f"?project={pid}&lang=en")[pid]
    assert en.startswith("changed ") and "edited on the web" in en
    assert "Cost in euros: 120,000 → 150,000" in en and "Fund: Construction fund (Baufonds) → Project fund (Projektfonds)" in en
    assert "Latitude 52.5331 · longitude 13.3283 (exact location) → Latitude 52.534 · longitude 13.33" in en
    for text in (de, en):
        assert "cost_eur" not in text and "POINT" not in text and "{" not in text  # no raw JSON
    html = client.get(f"/planung/protokoll?project={pid}").get_data(as_text=True)
    assert f'href="/planung/projekte/{pid}"' in html  # the project's edit page
    raw = client.get(re.search(r'<a href="(/api/audit/\d+)"', html).group(1)).get_json()  # the newest entry's raw data
    assert json.loads(raw["before"])["cost_eur"] == 120000 and json.loads(raw["after"])["cost_eur"] == 150000
    assert raw == next(e for e in client.get("/api/audit").get_json()["entries"] if e["project_id"] == pid)

    client.delete(f"/api/projects/{pid}", headers=h)
    deleted = audit_entries(client, f"?project={pid}")[pid]
    assert deleted.startswith("gelöscht ") and "(nicht mehr vorhanden)" in deleted
    assert "Fonds: Projektfonds" in deleted and "QM-Gebiet: Beusselstraße" in deleted
    assert f'href="/planung/projekte/{pid}"' not in client.get(f"/planung/protokoll?project={pid}").get_data(as_text=True)


def test_audit_times_are_berlin_time_for_the_pages_locale(signed_in):
    from datetime import datetime
    from zoneinfo import ZoneInfo
    client, token = signed_in
    pid = client.post("/api/projects", headers={"X-CSRF-Token": token},
                      json={"title": "Lesecafé", "lat": "52.5331", "lon": "13.3283"}).get_json()["project"]["id"]
    at = next(e["at"] for e in client.get("/api/audit").get_json()["entries"] if e["project_id"] == pid)
    utc = datetime.fromisoformat(at)
    berlin = utc.astimezone(ZoneInfo("Europe/Berlin"))
    assert berlin.strftime("%H") != utc.strftime("%H")  # the test means something: Berlin is never UTC
    de = audit_entries(client, f"?project={pid}")[pid]
    assert berlin.strftime("%d.%m.%Y, %H:%M:%S") in de and utc.strftime("%H:%M:%S") not in de and at not in de
    en = audit_entries(client, f"?project={pid}&lang=en")[pid]
    hour = berlin.hour % 12 or 12
    assert f"{berlin:%b} {berlin.day}, {berlin.year}, {hour}:{berlin:%M:%S} {berlin:%p}" in en


def test_a_long_audit_log_is_shown_page_by_page_and_filtered(signed_in):
    client, token = signed_in
    csv = "id,title,fund,lat,lon\n" + "".join(f"page-{i},Projekt {i},Baufonds,52.54,13.34\n" for i in range(5))
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', upload(client, token, csv)).group(1)
    client.post("/planung/import", data={"csrf_token": token, "upload_id": upload_id})
    assert audit_entries(client, "?project=page-3")["page-3"].startswith("angelegt ")
    assert "Import von p.csv" in audit_entries(client, "?project=page-3")["page-3"]

    first = client.get("/planung/protokoll?user=anna&limit=2").get_data(as_text=True)
    assert first.count('<li class="audit-entry') == 2 and "5 Einträge" in first
    assert list(audit_entries(client, "?user=anna&limit=2")) == ["page-4", "page-3"]
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "before=" in older and list(audit_entries(client, older.split("/planung/protokoll")[1])) == ["page-2", "page-1"]
    last = client.get(older.replace("limit=2", "limit=3")).get_data(as_text=True)
    assert 'rel="next"' not in last and 'rel="prev"' in last  # the oldest of anna's: no older page
    beyond = client.get("/planung/protokoll?user=anna&before=1").get_data(as_text=True)  # nothing before the first
    assert "Keine Einträge." in beyond and 'href="/planung/protokoll?user=anna">Neueste Einträge</a>' in beyond
    seed = audit_entries(client, "?user=system")
    assert list(seed) == [""] and re.search(r"Forschungsprojekte übernommen .* \d+ Forschungsprojekte aus qm_projects\.csv",
                                            seed[""])


def test_a_planner_store_made_before_sessions_were_recorded_gets_their_table(store_url, planner_url):
    planner = open_planner(store_url, planner_url)
    with planner.transaction() as con:  # as a store made by an earlier version: no sessions table
        con.execute("DROP TABLE sign_in_sessions")
        if planner.backend == "geopackage":
            con.execute("DELETE FROM gpkg_contents WHERE table_name = 'sign_in_sessions'")
    add_user(open_planner(store_url, planner_url), "ben", PASSWORD)  # reopened, as a restarted server does
    client = create_app({"STORE": store_url, "PLANNER_STORE": planner.path, "TESTING": True}).test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    assert sign_in(client, user="ben").status_code == 303 and client.get("/planung/").status_code == 200
    assert client.get("/api/audit/999999999").status_code == 404


def test_upload_report_counts_rows_in_the_pages_number_format(signed_in):
    client, token = signed_in
    csv = "id,title,lat,lon\n" + "".join(f"n-{i},Projekt {i},52.5416,13.3413\n" for i in range(1200))
    assert "Alle 1.200 Zeilen" in upload(client, token, csv)
    assert "All 1,200 rows" in upload(client, token, csv, "?lang=en")


def test_an_upload_nobody_confirmed_is_dropped_after_a_day(signed_in, app):
    client, token = signed_in
    upload(client, token, "id,title\nd-1,Kiezfest\n")
    folder = app.extensions["kiezkarte_upload_dir"]
    [kept] = folder.iterdir()
    stale = folder / "forgotten.csv"
    stale.write_text("id,title\n")
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(stale, (day_ago, day_ago))
    upload(client, token, "id,title\nd-2,Lesecafé\n")  # the next upload clears away what is older than a day
    left = set(folder.iterdir())
    assert stale not in left and kept in left and len(left) == 2


def test_the_upload_report_escapes_what_the_file_says(signed_in):
    client, token = signed_in
    html = upload(client, token, 'id,title,fund,"<b>Spalte</b>"\n'
                                 'x-1,"<script>alert(1)</script>","<img src=x onerror=alert(2)>",1\n')
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html  # in the fund's reason
    assert "<b>Spalte</b>" not in html and "&lt;b&gt;Spalte&lt;/b&gt;" in html  # in the ignored-columns note
