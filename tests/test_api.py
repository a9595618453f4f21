"""The JSON API through Flask's test client on the real store."""
import gzip
import json
import re

import pytest


BERLIN = (13.0, 52.3, 13.85, 52.72)


def coordinates(geometry):
    def walk(c):
        if isinstance(c[0], (int, float)):
            yield c
        else:
            for part in c:
                yield from walk(part)
    return list(walk(geometry["coordinates"]))


def max_decimals(text: str) -> int:
    return max((len(m) for m in re.findall(r"\d+\.(\d+)", text)), default=0)


def test_areas_are_rfc7946_geojson_in_lon_lat(client):
    r = client.get("/api/areas")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    doc = r.get_json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 51
    drawn = [f for f in doc["features"] if f["geometry"]]
    assert len(drawn) == 34
    for f in drawn:
        for lon, lat in coordinates(f["geometry"]):
            assert BERLIN[0] < lon < BERLIN[2] and BERLIN[1] < lat < BERLIN[3]
    assert {f["properties"]["boundary_basis"] for f in doc["features"]} == {"source", "name-match", "none"}
    assert max_decimals(json.dumps([f["geometry"] for f in drawn])) <= 6


def test_area_detail_has_figures_next_to_berlin(client):
    doc = client.get("/api/areas/beusselstrasse").get_json()
    props = doc["properties"]
    assert doc["id"] == "beusselstrasse" and props["boundary_basis"] == "source"
    assert props["figures"]["berlin"]["residents"] == 3_821_881
    assert 0 < props["figures"]["area"]["residents"] < 20_000
    assert props["figures"]["area"]["boundary_approximate"] == 1
    assert [p["plr_id"] for p in props["planungsraeume"]] == ["01200517", "01200518"]
    assert any("Geoportal Berlin" in a for a in props["attribution"])


def test_area_without_boundary_has_null_geometry(client):
    doc = client.get("/api/areas/spandauer-neustadt").get_json()
    assert doc["geometry"] is None and doc["properties"]["boundary_basis"] == "none"


def test_planungsraeume_layer_is_small_and_complete(client):
    r = client.get("/api/planungsraeume", headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(r.data)
    doc = json.loads(body)
    assert len(doc["features"]) == 542
    assert max_decimals(json.dumps([f["geometry"] for f in doc["features"]])) <= 5
    assert len(r.data) < 120_000  # gzip bytes on the wire


def test_planungsraum_detail(client):
    doc = client.get("/api/planungsraeume/01200517").get_json()
    assert doc["properties"]["plr_name"] == "Huttenkiez"
    assert [a["slug"] for a in doc["properties"]["qm_areas"]] == ["beusselstrasse"]


@pytest.mark.parametrize("url", ["/api/areas/nowhere", "/api/planungsraeume/99999999", "/api/projects?area=nowhere",
                                 "/api/no-such-endpoint"])
def test_unknown_things_are_json_404s(client, url):
    r = client.get(url)
    assert r.status_code == 404 and r.mimetype == "application/json" and r.get_json()["error"]


@pytest.mark.parametrize("url", ["/api/lookup", "/api/lookup?lat=abc&lon=13", "/api/lookup?address=",
                                 "/api/places?kind=castles", "/api/places?kind=kita&bbox=1,2,3",
                                 "/api/places?kind=kita&bbox=14,52,13,53", "/api/suggest?q=" + "x" * 201])
def test_bad_parameters_are_json_400s(client, url):
    r = client.get(url)
    assert r.status_code == 400 and r.get_json()["error"]


def test_lookup_by_address_and_by_point(client):
    by_address = client.get("/api/lookup", query_string={"address": "Titiseestraße 7"}).get_json()
    assert by_address["planungsraum"]["plr_id"] == "12601032"
    assert by_address["qm_areas"][0]["slug"] == "titiseestrasse"
    by_point = client.get("/api/lookup?lat=52.53&lon=13.39").get_json()
    assert by_point["found"] and by_point["planungsraum"]["bezirk"] == "Mitte"


def test_suggestions_as_you_type(client):
    streets = client.get("/api/suggest?q=Beusselst").get_json()["suggestions"]
    assert streets and all(s["street"].startswith("Beusselst") for s in streets)
    numbers = client.get("/api/suggest", query_string={"q": "Beusselstraße 4"}).get_json()["suggestions"]
    assert numbers and all(s["street"] == "Beusselstraße" and s["hnr"].startswith("4") for s in numbers)


def test_projects_of_an_area_carry_their_precision(client):
    doc = client.get("/api/projects?area=beusselstrasse").get_json()
    assert len(doc["features"]) == 9
    precisions = {f["properties"]["location_precision"] for f in doc["features"]}
    assert precisions <= {"facility", "planungsraum", "area"}
    assert all(f["geometry"]["type"] == "Point" for f in doc["features"])


def test_places_in_a_bbox_are_inside_it(client):
    bbox = (13.33, 52.52, 13.35, 52.535)
    doc = client.get("/api/places?kind=kita,school&bbox=" + ",".join(map(str, bbox))).get_json()
    assert doc["features"]
    for f in doc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]
        assert f["properties"]["kind"] in ("kita", "school")


def test_conditional_request_gets_304(client):
    first = client.get("/api/areas", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    again = client.get("/api/areas", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert "max-age" in first.headers["Cache-Control"]
    assert "Accept-Encoding" in first.headers["Vary"]


def test_lookup_responses_are_cacheable(client):
    r = client.get("/api/lookup?address=Ackerstra%C3%9Fe%201")
    assert r.headers.get("ETag") and "max-age" in r.headers["Cache-Control"]


def test_healthz_reports_the_store(client, backend):
    assert client.get("/healthz").get_json() == {"status": "ok", "store": "reachable", "backend": backend}


def test_indicator_definitions_match_the_map_properties(client):
    ids = [i["id"] for i in client.get("/api/indicators").get_json()["indicators"]]
    props = client.get("/api/planungsraeume").get_json()["features"][0]["properties"]
    assert set(ids) <= set(props)


@pytest.mark.parametrize("url", ["/api/projects?area=%00", "/api/lookup?address=Ackerstra%C3%9Fe%00%201",
                                 "/api/areas/beussel%00strasse", "/gebiete/beusselstrasse?indicator=%00",
                                 "/ogc/collections/projects/items?status=%00"])
def test_a_nul_character_is_refused_alike_on_both_backends(client, url):
    """PostgreSQL text cannot hold NUL, SQLite would: refused before any store sees it."""
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_a_nul_character_in_a_form_or_json_body_is_refused(client):
    assert client.post("/planung/anmelden", data={"username": "a\x00", "password": "x"}).status_code == 400
    response = client.post("/api/projects", json={"title": "Titel\x00"})
    assert response.status_code == 400 and "JSON body" in response.get_json()["error"]
