"""/ebenen/: the big layers loaded beside the store, linked from every page's footer.

The layer here is five hand-placed test points (a catalogue entry made by the test, marked
synthetic); the footer is checked on the real store.
"""
import geopandas as gpd
import numpy as np
import pytest

from app import catalog, create_app
from app.big_layers import prepare
from app.store.big import write_big_layer


@pytest.fixture()
def layer_store(tmp_path, monkeypatch):
    monkeypatch.setitem(catalog._BY_ID, "test_small", catalog.Layer(
        "test_small", "Testbäume", "Test trees", "test", "test", "test licence", "Kiezkarte tests", "tests",
        synthetic=True))
    store = tmp_path / "kiezkarte.gpkg"
    frame = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=gpd.points_from_xy(np.array([13.413, 13.414]),
                             np.array([52.522, 52.5215])), crs="EPSG:4326").to_crs(25833)
    write_big_layer(str(store), prepare("test_small", frame, "<frame>", fields=None))
    return store


@pytest.mark.parametrize("lang, title, label", [("de", "Testbäume", "SYNTHETISCHE TESTDATEN"),
                                                 ("en", "Test trees", "SYNTHETIC TEST DATA")])
def test_the_index_links_each_loaded_layer_with_its_label(layer_store, lang, title, label):
    client = create_app({"STORE": str(layer_store), "TESTING": True}).test_client()
    html = client.get(f"/ebenen/?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    assert f'href="/ebenen/test_small?lang=en">{title}</a>' in html if lang == "en" else \
        f'href="/ebenen/test_small">{title}</a>' in html
    assert label in html and 'href="/tiles/test_small.json"' in html
    assert "2 " + ("Punkte" if lang == "de" else "points") in html


def test_the_index_says_how_to_load_a_layer_when_none_is_loaded(tmp_path):
    client = create_app({"STORE": str(tmp_path / "kiezkarte.gpkg"), "TESTING": True}).test_client()
    response = client.get("/ebenen/?lang=en")
    assert response.status_code == 200
    assert "No large layer is loaded" in response.get_data(as_text=True)
    assert "kiezkarte load-layer" in response.get_data(as_text=True)


def test_the_layer_page_speaks_the_chosen_language(layer_store):
    client = create_app({"STORE": str(layer_store), "TESTING": True}).test_client()
    german = client.get("/ebenen/test_small").get_data(as_text=True)
    english = client.get("/ebenen/test_small?lang=en").get_data(as_text=True)
    assert "Rasterzelle" in german and "Karte lädt" in german and "grid cell" not in german
    assert "grid cell" in english and "Map loading" in english and "Rasterzelle" not in english
    assert '"count": "Punkte in dieser Zelle"' in german and '"count": "points in this cell"' in english


def test_every_page_links_the_machine_readable_layers_in_its_footer(client):
    html = client.get("/").get_data(as_text=True)
    footer = html[html.index('<footer'):]
    assert 'href="/ebenen/"' in footer and 'href="/ogc/"' in footer and 'href="/api/"' in footer
