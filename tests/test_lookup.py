"""Finding a Kiez by address or by point, as functions, through the search page and the
API, and through the CLI. The addresses come from the shipped address table."""
import json
import re
import subprocess
import sys
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from app import crs, lookup
from app.errors import BadRequest
from app.importer import import_projects
from app.names import name_key
from tests.conftest import RAW_DIR, unbuilt_store_url


def read_table() -> pd.DataFrame:
    """The address table, only entries with a house number (the others are no addresses one types)."""
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    table = table[table["hnr"] != ""].copy()
    table["key"] = table["str_name"].map(name_key)
    return table


def several_places(table: pd.DataFrame) -> dict:
    """{(street key, number, suffix): {(postcode, Planungsraum), ...}} for the entries the table
    has in more than one postcode or Planungsraum."""
    places = table.drop_duplicates(["key", "hnr", "hnr_zusatz", "plz", "PLR_ID"])
    places = places[places.duplicated(["key", "hnr", "hnr_zusatz"], keep=False)]
    found: dict = {}
    for r in places.itertuples():
        found.setdefault((r.key, r.hnr, r.hnr_zusatz), set()).add((r.plz, r.PLR_ID))
    return found


def ambiguous_addresses(table: pd.DataFrame, places_of: dict, n: int, seed: int) -> list[tuple[str, set]]:
    """``n`` addresses as typed ('Rostocker Straße 30') that lie in more than one Planungsraum,
    with their {(postcode, Planungsraum)}."""
    many = [k for k, places in places_of.items() if len({plr for _, plr in places}) > 1]
    keys = pd.Series(many).sample(n, random_state=seed).tolist()
    first = table.drop_duplicates(["key", "hnr", "hnr_zusatz"]).set_index(["key", "hnr", "hnr_zusatz"])
    return [(f"{first.loc[k, 'str_name']} {k[1]}{k[2]}", places_of[k]) for k in keys]


@pytest.fixture(scope="module")
def table():
    return read_table()


@pytest.fixture(scope="module")
def address_sample(table):
    return table.sample(10, random_state=20261124)


@pytest.fixture(scope="module")
def places_of(table):
    return several_places(table)


@pytest.fixture(scope="module")
def ambiguous(table, places_of):
    return ambiguous_addresses(table, places_of, 6, seed=11)


def test_ten_addresses_from_the_table_resolve_to_their_planungsraum(store, address_sample):
    for row in address_sample.itertuples():
        text = f"{row.str_name} {row.hnr}{row.hnr_zusatz}, {row.plz} Berlin"
        result = lookup.lookup_address(store, text)
        assert result["found"], text
        assert result["planungsraum"]["plr_id"] == row.PLR_ID, text


@pytest.mark.parametrize("text", ["Ackerstraße 1", "ackerstr. 1", "ACKERSTRASSE 1", "  Acker Str 1 ", "Ackerstraße 1, 10115"])
def test_address_spelling_is_forgiven(store, text):
    result = lookup.lookup_address(store, text)
    assert result["found"] and result["planungsraum"]["plr_id"] == "01100309"


def test_house_number_suffix_picks_its_own_planungsraum(store):
    assert lookup.lookup_address(store, "Ackerstraße 1B")["planungsraum"]["plr_id"] == "01100415"


def test_address_in_a_qm_area_names_the_area(store):
    result = lookup.lookup_address(store, "Titiseestraße 7")
    assert [a["slug"] for a in result["qm_areas"]] == ["titiseestrasse"]
    assert result["qm_areas"][0]["boundary_basis"] == "name-match"


def test_unknown_house_number_suggests_numbers_on_that_street(store):
    result = lookup.lookup_address(store, "Ackerstraße 99999")
    assert result["found"] is False
    assert result["suggestions"] and all(s["street"] == "Ackerstraße" for s in result["suggestions"])


def test_misspelt_street_with_unknown_number_suggests_close_spellings_first(store):
    result = lookup.lookup_address(store, "Ackerstrase 99999")
    assert result["found"] is False and result["suggestions"][0]["street"] == "Ackerstraße"


def test_misspelt_street_suggests_the_right_one(store):
    result = lookup.lookup_address(store, "Akerstraße 1")
    assert not result["found"]
    assert any(s["street"] == "Ackerstraße" for s in result["suggestions"])


def test_street_prefix_suggestions(store):
    labels = [s["street"] for s in lookup.suggest_streets(store, "Beussel")]
    assert "Beusselstraße" in labels


def test_empty_address_is_a_bad_request(store):
    with pytest.raises(BadRequest):
        lookup.lookup_address(store, "   ")


def test_a_point_inside_a_planungsraum_finds_it(store):
    plr = store.read_layer("planungsraeume").sample(25, random_state=7)
    web = plr.geometry.representative_point().to_crs(crs.WEB_CRS)
    for plr_id, point, utm in zip(plr["plr_id"], web, plr.geometry.representative_point()):
        assert lookup.lookup_point(store, lon=point.x, lat=point.y)["planungsraum"]["plr_id"] == plr_id
        assert lookup.lookup_point(store, x=utm.x, y=utm.y)["planungsraum"]["plr_id"] == plr_id


def test_a_point_in_beusselstrasse_names_the_area(store):
    plr = store.read_layer("planungsraeume").set_index("plr_id")
    p = plr.loc["01200518"].geometry.representative_point()
    result = lookup.lookup_point(store, x=p.x, y=p.y)
    assert [a["slug"] for a in result["qm_areas"]] == ["beusselstrasse"]


def test_a_point_outside_berlin_is_an_answer_not_an_error(store):
    result = lookup.lookup_point(store, lon=2.35, lat=48.85)
    assert result["found"] is False and result["reason"] == "outside_berlin"


@pytest.mark.parametrize("kwargs", [{"lon": "abc", "lat": "52"}, {"lon": 200, "lat": 52}, {}, {"lon": "nan", "lat": "52"}])
def test_bad_coordinates_are_bad_requests(store, kwargs):
    with pytest.raises(BadRequest):
        lookup.lookup_point(store, **kwargs)


def run_cli(store_url, *args):
    return subprocess.run([sys.executable, "-m", "app.cli", "--store", store_url, *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_lookup_prints_json_for_an_address(store_url):
    out = run_cli(store_url, "lookup", "Ackerstraße 1")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["planungsraum"]["plr_id"] == "01100309"


def test_cli_lookup_prints_json_for_a_point(store_url):
    out = run_cli(store_url, "lookup", "--lat", "52.53", "--lon", "13.39")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["planungsraum"]["bezirk"] == "Mitte"


def test_cli_reports_a_missing_store_clearly(request, backend, tmp_path):
    out = subprocess.run([sys.executable, "-m", "app.cli", "--store", unbuilt_store_url(request, backend, tmp_path),
                          "lookup", "X 1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "kiezkarte build" in out.stderr


# ------------------------------------------------------------------ one address, several Planungsräume

def kiez_ids(result) -> set:
    return {(m["address"]["plz"], m["planungsraum"]["plr_id"]) for m in [result, *result["other_matches"]]}


def test_an_address_in_several_planungsraeume_answers_all_of_them(store, ambiguous):
    for text, places in ambiguous:
        result = lookup.lookup_address(store, text)
        assert result["found"] and result["ambiguous"], text
        assert kiez_ids(result) == places, text
        assert result["other_planungsraeume"] == sorted({plr for _, plr in places} - {result["planungsraum"]["plr_id"]})
        for m in result["other_matches"]:
            assert lookup.address_label(m["address"]).startswith(text + ", ")


def test_with_its_postcode_an_address_is_one_planungsraum(store, ambiguous):
    for text, places in ambiguous:
        for plz, plr_id in places:
            result = lookup.lookup_address(store, f"{text}, {plz}")
            assert result["planungsraum"]["plr_id"] == plr_id and not result["ambiguous"], (text, plz)


def test_an_address_under_several_postcodes_of_one_planungsraum_is_not_ambiguous(store, places_of, table):
    one = [k for k, places in places_of.items() if len(places) > 1 and len({plr for _, plr in places}) == 1]
    assert one, "the table has such addresses"
    for key in one:
        row = table[(table["key"] == key[0]) & (table["hnr"] == key[1]) & (table["hnr_zusatz"] == key[2])].iloc[0]
        result = lookup.lookup_address(store, f"{row.str_name} {row.hnr}{row.hnr_zusatz}")
        assert not result["ambiguous"] and result["planungsraum"]["plr_id"] == row.PLR_ID
        assert len(kiez_ids(result)) == len(places_of[key])


def test_search_lists_each_planungsraum_of_an_ambiguous_address_and_each_link_names_it(client, ambiguous):
    for text, places in ambiguous[:3]:
        r = client.get("/suche", query_string={"address": text})
        assert r.status_code == 200, text
        html = r.get_data(as_text=True)
        links = [unescape(h) for h in re.findall(r'<a href="(/kiez/\d{8}\?address=[^"]+)">', html)]
        assert {(parse_qs(urlsplit(h).query)["address"][0].split(", ")[1][:5], urlsplit(h).path[-8:])
                for h in links} == places
        for link in links:
            label = parse_qs(urlsplit(link).query)["address"][0]
            assert f">{label}</a>" in html
            page = client.get(link).get_data(as_text=True)
            assert f"{label} liegt im Kiez" in unescape(page), link
            assert urlsplit(link).path[-8:] in page


def test_search_shows_the_choice_in_english_too(client, ambiguous):
    text, places = ambiguous[0]
    html = unescape(client.get("/suche", query_string={"address": text, "lang": "en"}).get_data(as_text=True))
    assert f"“{text}” exists more than once in Berlin" in html and html.count("&lang=en\">") == len(places)
    link = re.search(r'<a href="(/kiez/[^"]+&lang=en)">', html).group(1)
    assert " is in the Kiez " in unescape(client.get(link).get_data(as_text=True))


def test_search_with_a_postcode_goes_straight_to_the_kiez(client, ambiguous):
    text, places = ambiguous[1]
    for plz, plr_id in places:
        r = client.get("/suche", query_string={"address": f"{text}, {plz}"})
        assert r.status_code == 303 and urlsplit(r.headers["Location"]).path == f"/kiez/{plr_id}"


def test_a_kiez_page_names_the_searched_address_only_where_it_lies(client, ambiguous, address_sample):
    text, places = ambiguous[2]
    for plz, plr_id in places:  # typed without postcode: each of its Kiez pages names the one there
        page = unescape(client.get(f"/kiez/{plr_id}", query_string={"address": text}).get_data(as_text=True))
        assert re.search(rf"{re.escape(text)}, {plz} [^<]* liegt im Kiez", page), (text, plr_id)
    elsewhere = next(r.PLR_ID for r in address_sample.itertuples() if r.PLR_ID not in {p for _, p in places})
    page = client.get(f"/kiez/{elsewhere}", query_string={"address": text})
    assert page.status_code == 200 and "liegt im Kiez" not in page.get_data(as_text=True)


# ------------------------------------------------------------------ what suggestions show can be typed back

def test_every_suggestion_typed_back_finds_its_own_address(store, address_sample, ambiguous):
    typed = [f"{r.str_name} {r.hnr}" for r in address_sample.itertuples()] + [text for text, _ in ambiguous]
    for text in typed:
        suggestions = lookup.suggest(store, text)
        assert suggestions, text
        for s in suggestions:
            street = s["street"].replace("straße", "str.")
            for form in (s["label"], s["label"].replace(",", ""), f"{s['street']} {s['hnr']}{s['hnr_suffix']}, {s['plz']}",
                         f"{street} {s['hnr']}{s['hnr_suffix']}, {s['plz']} {s['ortsteil']}", s["label"].lower()):
                result = lookup.lookup_address(store, form)
                assert result["found"] and result["exact"] and not result["ambiguous"], form
                assert result["address"] == {k: s[k] for k in ("street", "hnr", "hnr_suffix", "plz", "ortsteil")}, form
                assert result["planungsraum"]["plr_id"] == s["plr_id"], form
            assert lookup.suggest(store, s["label"])[0]["label"] == s["label"]  # typed back, it suggests itself first


def test_a_suggested_label_submitted_to_the_search_opens_its_kiez(client, ambiguous):
    for text, _ in ambiguous[:2]:
        for s in client.get("/api/suggest", query_string={"q": text}).get_json()["suggestions"]:
            r = client.get("/suche", query_string={"address": s["label"]})
            assert r.status_code == 303 and urlsplit(r.headers["Location"]).path == f"/kiez/{s['plr_id']}", s["label"]


def test_a_street_label_typed_back_suggests_that_street_in_that_postcode(store, table):
    several = table.groupby("str_name")["plz"].nunique()
    street = several[several > 1].sample(1, random_state=5).index[0]
    for s in lookup.suggest_streets(store, street):
        for text in (s["label"], f"{s['plz']} {s['street']}"):
            result = lookup.lookup_address(store, text)
            assert result["reason"] == "no_house_number", text
            assert [x["label"] for x in result["suggestions"]] == [s["label"]], text


# ------------------------------------------------------------------ a misspelt street keeps the typed number

def misspelt(name: str) -> str:
    return name.replace("straße", "strase")


def test_misspelt_street_suggestions_keep_the_number_and_lead_to_each_postcodes_address(store, table, places_of, client):
    """'Ackerstrase 5': the street in each of its postcodes, and each link looks up the typed
    number there (not the first postcode's)."""
    keys = set(store.street_keys)
    wanted = [k for k, places in places_of.items() if not k[2] and len({plr for _, plr in places}) > 1]
    names = table.drop_duplicates("key").set_index("key")["str_name"]
    key = next(k for k in sorted(wanted, key=lambda k: (k[0], int(k[1])))
               if names[k[0]].endswith("straße") and name_key(misspelt(names[k[0]])) not in keys
               and table.loc[table["key"] == k[0], "plz"].nunique() <= 4)
    text = f"{misspelt(names[key[0]])} {key[1]}"
    result = lookup.lookup_address(store, text)
    assert result["reason"] == "not_found"
    mine = [s for s in result["suggestions"] if s["street"] == names[key[0]]]
    assert {s["plz"] for s in mine} == set(table.loc[table["key"] == key[0], "plz"])
    html = unescape(client.get("/suche", query_string={"address": text}).get_data(as_text=True))
    for plz, plr_id in places_of[key]:
        s = next(s for s in mine if s["plz"] == plz)
        assert s["search"] == f"{names[key[0]]} {key[1]}, {plz} {s['ortsteil']}"
        link = re.search(rf'<a href="(/suche\?[^"]+)">{re.escape(s["label"])}</a>', html).group(1)
        r = client.get(link)
        assert r.status_code == 303 and urlsplit(r.headers["Location"]).path == f"/kiez/{plr_id}", link


def test_a_number_missing_in_the_chosen_postcode_suggests_that_postcodes_numbers_first(store, ambiguous):
    text, places = ambiguous[3]
    street = text.rsplit(" ", 1)[0]
    for plz, _ in places:
        result = lookup.lookup_address(store, f"{street} 9999, {plz}")
        assert result["reason"] == "not_found" and result["suggestions"][0]["plz"] == plz


# ------------------------------------------------------------------ what is no address

@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "12345", "!!!", "<b>"])
def test_text_that_is_no_address_says_so(store, client, text):
    assert lookup.lookup_address(store, text)["reason"] == "not_an_address"
    raw = client.get("/suche", query_string={"address": text}).get_data(as_text=True)
    assert "<script>alert" not in raw and "<b>" not in raw  # shown as text
    assert "Keine Adresse erkannt" in raw and "ergänzen Sie die Hausnummer" not in raw


def test_an_empty_search_says_what_to_type(client):
    for lang, words in ((None, "Bitte geben Sie Straße und Hausnummer ein"), ("en", "Please type a street and house number")):
        html = client.get("/suche", query_string={"address": "  ", **({"lang": lang} if lang else {})}).get_data(as_text=True)
        assert words in html
    assert "Bitte geben Sie Straße" not in client.get("/suche").get_data(as_text=True)


# ------------------------------------------------------------------ the JSON API

def test_lookup_api_shows_the_ambiguity(client, ambiguous):
    text, places = ambiguous[4]
    answer = client.get("/api/lookup", query_string={"address": text}).get_json()
    assert answer["ambiguous"] and kiez_ids(answer) == places
    assert all(m["qm_areas"] is not None and m["planungsraum"]["plr_name"] for m in answer["other_matches"])
    plz, plr_id = sorted(places)[-1]
    one = client.get("/api/lookup", query_string={"address": f"{text}, {plz}"}).get_json()
    assert not one["ambiguous"] and one["planungsraum"]["plr_id"] == plr_id


def test_openapi_documents_every_key_of_the_lookup_answers(client, ambiguous):
    schema = client.get("/api/openapi.json").get_json()["paths"]["/api/lookup"]["get"]["responses"]["200"]
    properties = schema["content"]["application/json"]["schema"]["properties"]
    assert {"ambiguous", "other_matches", "other_planungsraeume"} <= set(properties)
    answers = [client.get("/api/lookup", query_string={"address": a}).get_json()
               for a in (ambiguous[0][0], "Ackerstraße 1", "Ackerstrase 1", "Ackerstraße", "<b>")]
    answers.append(client.get("/api/lookup?lat=52.53&lon=13.39").get_json())
    for answer in answers:
        assert set(answer) <= set(properties), set(answer) - set(properties)
    match_keys = properties["other_matches"]["items"]["properties"]
    assert set(answers[0]["other_matches"][0]) == set(match_keys)


# ------------------------------------------------------------------ the import places addresses alike

def test_the_import_places_suggestion_labels_and_ambiguous_addresses_where_the_search_does(stores, tmp_path, ambiguous):
    store, planner = stores
    texts = [text for text, _ in ambiguous]
    texts += [s["label"] for text in texts for s in lookup.suggest(store, text)]
    path = tmp_path / "labels.csv"
    pd.DataFrame({"id": [f"label-{i}" for i in range(len(texts))], "title": [f"Adresstest {i}" for i in range(len(texts))],
                  "address": texts}).to_csv(path, index=False)
    report = import_projects(path, store, planner, username="t")
    assert report.committed and not report.errors
    placed = {r["id"]: r["plr_id"] for r in store.rows("projects", "id LIKE 'label-%'")}
    for i, text in enumerate(texts):
        assert placed[f"label-{i}"] == lookup.lookup_address(store, text)["planungsraum"]["plr_id"], text


def test_a_house_number_longer_than_any_suggests_the_highest_on_the_street(store, address_sample):
    row = address_sample.iloc[0]
    result = lookup.lookup_address(store, f"{row.str_name} {'9' * 30}")
    assert result["reason"] == "not_found" and result["suggestions"][0]["street"] == row.str_name
