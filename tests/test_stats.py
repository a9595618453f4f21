"""Statistics: sums that add up, overlays on burdens, the area comparison and its CSV."""
import csv
import io

import geopandas as gpd
import pandas as pd
import pytest

from app import stats
from app.charts import bar_chart
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
    assert after["by_burden_count"][3]["money_eur"] - before["by_burden_count"][3]["money_eur"] == 500000
    assert after["in_multiply_burdened"]["money_eur"] - before["in_multiply_burdened"]["money_eur"] == 500000
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
