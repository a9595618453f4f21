"""Finding a Kiez by address or by point, as functions and through the CLI."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from app import crs, lookup
from app.errors import BadRequest
from tests.conftest import RAW_DIR, unbuilt_store_url



@pytest.fixture(scope="module")
def address_sample():
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    return table.sample(10, random_state=20261124)


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
