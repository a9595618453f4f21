"""The spatial functions on tiny geometries whose answers can be checked by hand."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from app import spatial

CRS = "EPSG:25833"


def units():
    # Three 100 m x 100 m Planungsräume in a row: A [0,100], B [100,200], C [200,300]
    return gpd.GeoDataFrame({"plr_id": ["A", "B", "C"]},
                            geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)], crs=CRS)


def test_locate_points_finds_the_polygon_or_minus_one():
    found = spatial.locate_points(units().geometry, [50, 150, 250, 400], [50, 50, 50, 50])
    assert found.tolist() == [0, 1, 2, -1]


def test_count_points_ignores_points_outside():
    counts = spatial.count_points(units().geometry, [10, 20, 150, 999], [10, 20, 50, 999])
    assert counts.tolist() == [2, 1, 0]


def test_area_shares_of_a_unit_split_between_two_zones():
    # zone X covers A and the left 30 % of B; zone Y the right 70 % of B
    zones = gpd.GeoDataFrame({"slug": ["x", "y"]}, geometry=[box(0, 0, 130, 100), box(130, 0, 200, 100)], crs=CRS)
    shares = spatial.area_shares(zones, "slug", units(), "plr_id")
    got = {(z, u): round(s, 6) for z, u, s in shares.itertuples(index=False)}
    assert got == {("x", "A"): 1.0, ("x", "B"): 0.3, ("y", "B"): 0.7}


def test_population_weights_sum_to_one_and_follow_area_share():
    zones = gpd.GeoDataFrame({"slug": ["x", "y"]}, geometry=[box(0, 0, 130, 100), box(130, 0, 200, 100)], crs=CRS)
    shares = spatial.area_shares(zones, "slug", units(), "plr_id")
    weights = spatial.population_weights(shares, pd.Series({"A": 700, "B": 1000, "C": 5}))
    sums = weights.groupby("zone_id")["weight"].sum()
    assert sums.to_dict() == pytest.approx({"x": 1.0, "y": 1.0})
    x = weights[weights.zone_id == "x"].set_index("unit_id")["weight"]
    # x holds all 700 people of A and 30 % of B's 1000: 700 / 1000 and 300 / 1000
    assert x.to_dict() == pytest.approx({"A": 0.7, "B": 0.3})


def test_weighted_share_leaves_out_units_without_data():
    shares = pd.DataFrame({"zone_id": ["z", "z", "z"], "unit_id": ["A", "B", "C"], "share": [1.0, 1.0, 1.0]})
    weights = spatial.population_weights(shares, pd.Series({"A": 100, "B": 300, "C": 600}))
    high = pd.Series({"A": True, "B": False, "C": False})
    known = pd.Series({"A": True, "B": True, "C": False})
    assert spatial.weighted_share(weights, high, known)["z"] == pytest.approx(100 / 400)


def test_zone_without_people_gets_zero_weights_not_nan():
    shares = pd.DataFrame({"zone_id": ["z"], "unit_id": ["A"], "share": [1.0]})
    weights = spatial.population_weights(shares, pd.Series({"A": np.nan}))
    assert weights["weight"].tolist() == [0.0]


def test_points_in_overlapping_zones_count_for_each():
    zones = [box(0, 0, 100, 100), box(50, 0, 150, 100), None]
    zi, pi = spatial.points_in_zones(zones, [75, 10], [50, 50])
    assert sorted(zip(zi.tolist(), pi.tolist())) == [(0, 0), (0, 1), (1, 0)]


def test_area_shares_refuse_mixed_crs():
    zones = gpd.GeoDataFrame({"slug": ["x"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    with pytest.raises(ValueError):
        spatial.area_shares(zones, "slug", units(), "plr_id")
