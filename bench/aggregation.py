"""Point-in-area aggregation: Kiezkarte's ``count_points`` against a bare shapely 2 pipeline.

Input: Berlin's real 542 Planungsräume (LOR 2021, read with ``app.sources``) and
SYNTHETIC points, uniformly random inside the union of the Planungsräume (sampled in
the bounding box with a fixed numpy seed, kept when inside the union).

Contestants, each from the same x/y arrays and polygons to one count per polygon:
- ``kiezkarte``: ``app.spatial.count_points(polygons, x, y)`` (through ``locate_points``);
- ``bare``: written here: STRtree over the polygons, prepared polygons, bounding-box
  candidates from the tree, ``shapely.contains_xy``, ``numpy.bincount``;
- ``sjoin``: ``geopandas.sjoin(points, polygons, predicate="within")`` + groupby (informative).

All three must give identical counts. Ratio = kiezkarte / bare (best of N, interleaved).
Every contestant gets its own fresh (unprepared) copy of the polygons, untimed.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from app import sources, spatial
from app.synthetic import points_inside

from ._common import RAW_DIR, interleaved_best_of, result, seconds

TARGET = 1.2
SEED = 20_240_542
POINTS, POINTS_QUICK = 1_000_000, 100_000
ROUNDS, ROUNDS_QUICK = 5, 3


def synthetic_points(polygons, n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """SYNTHETIC: ``n`` points uniformly random inside the union of ``polygons``."""
    return points_inside(shapely.union_all(polygons), n, np.random.default_rng(seed))


def bare_counts(polygons, x, y) -> np.ndarray:
    """The plain shapely 2 pipeline the benchmark compares against."""
    shapely.prepare(polygons)
    tree = shapely.STRtree(polygons)
    point_idx, poly_idx = tree.query(shapely.points(x, y))  # bounding-box candidates
    inside = shapely.contains_xy(polygons[poly_idx], x[point_idx], y[point_idx])
    return np.bincount(poly_idx[inside], minlength=len(polygons))


def sjoin_counts(frame: gpd.GeoDataFrame, x, y) -> np.ndarray:
    """geopandas.sjoin + groupby, as one would write it with GeoPandas alone."""
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=frame.crs)
    joined = gpd.sjoin(points, frame, predicate="within")
    return joined.groupby("index_right").size().reindex(range(len(frame)), fill_value=0).to_numpy()


def run(quick: bool = False) -> dict:
    n = POINTS_QUICK if quick else POINTS
    rounds = ROUNDS_QUICK if quick else ROUNDS
    plr = sources.planungsraeume(RAW_DIR, [])
    polygons = plr.geometry.to_numpy()
    x, y = synthetic_points(polygons, n)

    def fresh():  # an unprepared copy, so no contestant profits from another's preparation
        return shapely.from_wkb(shapely.to_wkb(polygons))

    def fresh_frame():
        return gpd.GeoDataFrame(geometry=fresh(), crs=plr.crs)

    contestants = {
        "kiezkarte": lambda: (lambda p=fresh(): spatial.count_points(p, x, y)),
        "bare": lambda: (lambda p=fresh(): bare_counts(p, x, y)),
        "sjoin": lambda: (lambda f=fresh_frame(): sjoin_counts(f, x, y)),
    }
    # Warm-up, and the check that all three count the same.
    counts = {name: setup()() for name, setup in contestants.items()}
    assert int(counts["bare"].sum()) == n, "a synthetic point fell in no Planungsraum"
    for name in ("kiezkarte", "sjoin"):
        assert np.array_equal(counts[name], counts["bare"]), f"{name} counts differ from the bare pipeline"

    times = interleaved_best_of(contestants, rounds)
    best = {name: min(t) for name, t in times.items()}
    ratio = best["kiezkarte"] / best["bare"]
    return result(
        ratio=ratio, target_max=TARGET, ratio_of="kiezkarte / bare",
        data=f"synthetic: {n:,} points uniformly random inside the {len(polygons)} real Planungsräume "
             f"(numpy seed {SEED})",
        figures={
            "points (synthetic)": f"{n:,}",
            "kiezkarte count_points": seconds(best["kiezkarte"]),
            "bare shapely 2": seconds(best["bare"]),
            "sjoin+groupby (info)": f"{seconds(best['sjoin'])} = {best['sjoin'] / best['bare']:.2f}x bare",
            "counts identical": "yes",
            "best of": str(rounds),
        },
        seconds={name: [round(t, 4) for t in ts] for name, ts in times.items()},
        best_seconds={name: round(t, 4) for name, t in best.items()},
        sjoin_ratio=round(best["sjoin"] / best["bare"], 3),
    )
