"""Statistics: sums that add up, overlays on burdens, the area comparison and its CSV."""
import csv
import io
import re

import geopandas as gpd
import pandas as pd
import pytest

from app import stats
from app.charts import bar_chart
from app.errors import BadRequest
from app.importer import import_projects
from app.project_filter import ProjectFilter
from tests.conftest import RAW_DIR



def test_groups_add_up_to_the_total_and_money_counts_only_known_costs(stores):
    store, _ = stores
    result = stats.project_stats(store)
    rows = store.rows("projects")
    assert result["total"]["projects"] == len(rows) == sum(g["projects"] for g in result["by_fund"])
    known = [r["cost_eur"] for r in rows if r["cost_eur"] is not None]
    assert result["total"]["money_eur"] == pytest.approx(sum(known))
    assert result["total"]["with_cost"] == len(known)
    assert sum(g["projects"] for g in result["by_year"]) == len(rows)


def test_a_filter_narrows_the_statistics(stores):
    store, _ = stores
    result = stats.project_stats(store, ProjectFilter.from_args({"fund": "baufonds"}))
    assert [g["key"] for g in result["by_fund"]] == ["Baufonds"]


def test_burden_overlay_puts_money_where_the_project_stands(stores, tmp_path):
    store, planner = stores
    plr = gpd.read_file(RAW_DIR / "lor2021_planungsraeume" / "lor_planungsraeume_2021.shp").set_index("PLR_ID")
    ug = pd.read_csv(RAW_DIR / "umweltgerechtigkeit_2021_2022" / "raw_umweltgerechtigkeit_2021_2022.csv", dtype=str)
    plr_id = ug.loc[ug["Anzahl der Mehrfachbelastungen"] == "3", "Planungsraum-ID"].iloc[0]
    point = plr.loc[plr_id].geometry.representative_point()
    path = tmp_path / "one.csv"
    pd.DataFrame([{"id": "overlay-1", "title": "Testbau", "fund": "Baufonds", "cost_eur": 500000,
                   "x": point.x, "y": point.y}]).to_csv(path, index=False)
    before = stats.burden_overlay(store, ProjectFilter.from_args({"fund": "baufonds"}))
    assert import_projects(path, store, planner, username="t").committed
    after = stats.burden_overlay(store, ProjectFilter.from_args({"fund": "baufonds"}))
    assert after["by_burden_count"][3]["money_eur"] - (before["by_burden_count"][3]["money_eur"] or 0) == 500000
    assert after["in_multiply_burdened"]["money_eur"] - (before["in_multiply_burdened"]["money_eur"] or 0) == 500000
    total = after["located"]["projects"] + after["not_located_to_a_planungsraum"]["projects"]
    assert total == len(store.rows("projects", "fund = 'Baufonds'"))
    assert sum(level["projects"] for level in after["by_burden_count"]) == after["located"]["projects"]


def test_compare_sorts_and_keeps_missing_figures_last(stores):
    store, _ = stores
    rows = stats.compare_areas(store, "residents", descending=True)
    assert len(rows) == 51
    known = [r["residents"] for r in rows if r["residents"] is not None]
    assert known == sorted(known, reverse=True) and len(known) == 34
    assert all(r["residents"] is None for r in rows[len(known):])


def test_compare_refuses_unknown_columns(stores):
    from app.errors import BadRequest
    with pytest.raises(BadRequest):
        stats.compare_areas(stores[0], "password")


def test_compare_csv_download(client):
    r = client.get("/api/compare.csv?sort=share_high_noise&order=desc")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(r.data.decode())))
    assert len(table) == 51 and table[0]["name"]


def test_chart_labels_are_escaped():
    svg = str(bar_chart([("<script>alert(1)</script>", 3.0), ("Baufonds", 1.0)], title="Fonds & <Geld>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Fonds &amp; &lt;Geld&gt;" in svg


# ------------------------------------------------------------------ unknown money is unknown, not 0

def areas_without_a_stated_cost(store) -> list[str]:
    return [r["area_slug"] for r in store.query(
        "SELECT area_slug FROM projects GROUP BY area_slug HAVING count(cost_eur) = 0 ORDER BY area_slug")]


def test_money_is_none_where_no_project_states_a_cost(stores):
    store, _ = stores
    slug = areas_without_a_stated_cost(store)[0]
    result = stats.project_stats(store, ProjectFilter(area=slug))
    assert result["total"]["projects"] > 0
    assert result["total"]["with_cost"] == 0 and result["total"]["money_eur"] is None
    overlay = stats.burden_overlay(store, ProjectFilter(area=slug))
    for group in (overlay["located"], overlay["not_located_to_a_planungsraum"], *overlay["by_burden_count"]):
        assert group["money_eur"] is None and group["with_cost"] == 0
    assert overlay["in_multiply_burdened"]["share_of_money"] is None


def test_every_group_sums_only_the_costs_it_knows(stores):
    store, _ = stores
    result = stats.project_stats(store)
    rows = store.rows("projects")
    for group in result["by_fund"]:
        costs = [r["cost_eur"] for r in rows if r["fund"] == group["key"] and r["cost_eur"] is not None]
        assert group["with_cost"] == len(costs)
        assert group["money_eur"] == (pytest.approx(sum(costs)) if costs else None), group["key"]
    assert any(g["money_eur"] is None for g in result["by_handlungsfeld"])  # the real data has such groups
    for group in result["by_handlungsfeld"] + result["by_year"]:
        assert (group["money_eur"] is None) == (group["with_cost"] == 0), group


def test_compare_shows_unknown_money_as_none_and_sorts_it_last_both_ways(stores):
    store, _ = stores
    unknown = set(areas_without_a_stated_cost(store))
    for descending in (False, True):
        rows = stats.compare_areas(store, "money_eur", descending=descending)
        known = [r["money_eur"] for r in rows if r["money_eur"] is not None]
        assert known == sorted(known, reverse=descending) and 0 < len(known) < len(rows)
        assert all(r["money_eur"] is None for r in rows[len(known):])
        assert unknown <= {r["slug"] for r in rows[len(known):]}


def test_api_compare_and_stats_give_null_and_an_empty_cell_for_unknown_money(client, store):
    slug = areas_without_a_stated_cost(store)[0]
    areas = {a["slug"]: a for a in client.get("/api/compare").get_json()["areas"]}
    assert areas[slug]["money_eur"] is None and areas[slug]["projects"] > 0
    table = {r["slug"]: r for r in csv.DictReader(io.StringIO(client.get("/api/compare.csv").get_data(as_text=True)))}
    assert table[slug]["money_eur"] == "" and table[slug]["projects"] != ""
    total = client.get(f"/api/stats?area={slug}").get_json()["projects"]["total"]
    assert total["money_eur"] is None and total["with_cost"] == 0 and total["projects"] > 0
    spec = client.get("/api/openapi.json").get_json()["paths"]
    assert "null" in spec["/api/stats"]["get"]["responses"]["200"]["description"]
    assert "null" in spec["/api/compare"]["get"]["responses"]["200"]["description"]
    assert "empty" in spec["/api/compare.csv"]["get"]["responses"]["200"]["description"]


def test_chart_shows_an_unknown_value_as_text_without_a_bar():
    svg = str(bar_chart([("Bildung", 1000.0), ("Gesundheit", None)], title="Geld",
                        value_format=lambda v: "nicht angegeben" if v is None else f"{v:.0f} €"))
    bars = re.findall(r'<rect [^>]*width="([0-9.]+)"', svg)
    assert float(bars[0]) > 0 and float(bars[1]) == 0
    assert "nicht angegeben" in svg and "1000 €" in svg and "0 €" not in svg.replace("1000 €", "")


def test_long_chart_labels_wrap_instead_of_being_cut():
    label = "Participation, cooperation and networking"
    svg = str(bar_chart([(label, 3.0), ("Bildung", 1.0)], title="t", label_width=180))
    lines = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert " ".join(lines[:2]) == label and "…" not in svg


# ------------------------------------------------------------------ years the wrong way round

def test_swapped_years_are_refused_with_a_reason(client):
    with pytest.raises(BadRequest, match="swapped"):
        ProjectFilter.from_args({"year_from": "2030", "year_to": "2020"})
    assert ProjectFilter.from_args({"year_from": "2020", "year_to": "2020"}).year_to == 2020
    r = client.get("/api/stats?year_from=2030&year_to=2020")
    assert r.status_code == 400 and r.get_json()["error"] == "year_from 2030 is after year_to 2020: the years are swapped"
