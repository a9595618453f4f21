"""Properties that must hold for any input: checked with hypothesis and over all 542 Planungsräume."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from shapely.geometry import box

from app import lookup, spatial

CRS = "EPSG:25833"


@st.composite
def grids_and_strips(draw):
    """Units: an n x m grid of 100 m cells with random populations. Zones: vertical strips
    cut at random x positions, covering the grid exactly."""
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    people = draw(st.lists(st.integers(0, 20_000), min_size=n * m, max_size=n * m))
    cuts = sorted(set(draw(st.lists(st.floats(1, n * 100 - 1, allow_nan=False), max_size=5))))
    edges = [0.0, *cuts, n * 100.0]
    units = gpd.GeoDataFrame({"plr_id": [f"u{i}" for i in range(n * m)]},
                             geometry=[box(i * 100, j * 100, (i + 1) * 100, (j + 1) * 100)
                                       for i in range(n) for j in range(m)], crs=CRS)
    zones = gpd.GeoDataFrame({"slug": [f"z{k}" for k in range(len(edges) - 1)]},
                             geometry=[box(a, 0, b, m * 100) for a, b in zip(edges, edges[1:])], crs=CRS)
    return units, zones, pd.Series(people, index=units["plr_id"], dtype=float)


@given(grids_and_strips())
@settings(max_examples=150, deadline=None)
def test_aggregation_conserves_totals(case):
    units, zones, people = case
    shares = spatial.area_shares(zones, "slug", units, "plr_id")
    per_zone = spatial.weighted_sum(shares, people)
    assert per_zone.sum() == pytest.approx(people.sum(), rel=1e-9, abs=1e-6)
    weights = spatial.population_weights(shares, people)
    for zone, total in weights.groupby("zone_id")["weight"].sum().items():
        assert total == pytest.approx(1.0) or per_zone[zone] == 0, (zones.geometry.bounds.to_dict("records"),
                                                                    people.to_dict(), weights.to_dict("records"))


@given(st.lists(st.tuples(st.floats(-50, 650, allow_nan=False), st.floats(-50, 650, allow_nan=False)), max_size=200))
@settings(max_examples=150, deadline=None)
def test_every_point_is_counted_at_most_once_and_inside_points_exactly_once(points):
    cells = [box(i * 100, j * 100, (i + 1) * 100, (j + 1) * 100) for i in range(6) for j in range(6)]
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    counts = spatial.count_points(cells, xs, ys)
    inside = int(((xs >= 0) & (xs <= 600) & (ys >= 0) & (ys <= 600)).sum())
    assert counts.sum() == inside


@pytest.mark.slow
def test_the_representative_point_of_every_planungsraum_finds_it(store):
    plr = store.read_layer("planungsraeume")
    points = plr.geometry.representative_point()
    wrong = [pid for pid, p in zip(plr["plr_id"], points)
             if lookup.lookup_point(store, x=p.x, y=p.y).get("planungsraum", {}).get("plr_id") != pid]
    assert wrong == [] and len(plr) == 542
