"""Pure spatial functions: point-in-polygon, area shares, population weights.

They take and return numpy arrays and (Geo)DataFrames in EPSG:25833 (metres), know
nothing of files, Flask or the store, and are what the build and the tests call.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# An intersection smaller than this share of a unit's area is a sliver from boundaries
# drawn slightly differently, not a real overlap.
MIN_SHARE = 1e-4


def locate_points(polygons, x, y) -> np.ndarray:
    """Index of the polygon each point (x, y) falls in, -1 where none.

    A point on a boundary counts as inside (intersects). Where polygons overlap, the
    lowest index wins so the answer does not depend on the tree's order.

    The STRtree only finds bounding-box candidates; the exact test runs on the prepared
    polygons with ``intersects_xy``. (A tree query with ``predicate="intersects"``
    evaluates the predicate with the *points* prepared, not the polygons, and was 7x
    slower on 1M points in Berlin's Planungsräume: see ``bench/aggregation.py``.)
    """
    polys = np.asarray(polygons, dtype=object)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    shapely.prepare(polys)
    tree = shapely.STRtree(polys)
    point_idx, poly_idx = tree.query(shapely.points(x, y))
    hit = shapely.intersects_xy(polys[poly_idx], x[point_idx], y[point_idx])
    point_idx, poly_idx = point_idx[hit], poly_idx[hit]
    found = np.full(len(x), -1, dtype=np.int64)
    found[point_idx] = poly_idx
    several = np.bincount(point_idx, minlength=len(x))[point_idx] > 1  # points in overlaps: rare
    if several.any():
        found[point_idx[several]] = np.iinfo(np.int64).max
        np.minimum.at(found, point_idx[several], poly_idx[several])
    return found


def count_points(polygons, x, y) -> np.ndarray:
    """How many of the points fall in each polygon (points outside all are ignored)."""
    found = locate_points(polygons, x, y)
    return np.bincount(found[found >= 0], minlength=len(polygons))


def area_shares(zones: gpd.GeoDataFrame, zone_id: str, units: gpd.GeoDataFrame, unit_id: str) -> pd.DataFrame:
    """For every zone and every unit it overlaps: the share of the unit's area inside the zone.

    Returns columns ``zone_id, unit_id, share`` (0 < share <= 1), sorted by both ids.
    A unit split between two zones appears twice with shares that add up to its covered part.
    """
    if zones.crs is not None and units.crs is not None and not zones.crs.equals(units.crs):
        raise ValueError("zones and units must share one CRS")
    zone_geoms = zones.geometry.to_numpy()
    unit_geoms = units.geometry.to_numpy()
    tree = shapely.STRtree(unit_geoms)
    zi, ui = tree.query(zone_geoms, predicate="intersects")
    common = ~shapely.touches(zone_geoms[zi], unit_geoms[ui])  # neighbours that only share a boundary: no area
    zi, ui = zi[common], ui[common]  # (most pairs; touches costs a third of an intersection)
    overlap = shapely.area(shapely.intersection(zone_geoms[zi], unit_geoms[ui]))
    unit_area = shapely.area(unit_geoms[ui])
    share = np.divide(overlap, unit_area, out=np.zeros_like(overlap), where=unit_area > 0)
    keep = share >= MIN_SHARE
    out = pd.DataFrame({"zone_id": zones[zone_id].to_numpy()[zi[keep]],
                        "unit_id": units[unit_id].to_numpy()[ui[keep]],
                        "share": np.minimum(share[keep], 1.0)})
    return out.sort_values(["zone_id", "unit_id"], ignore_index=True)


def population_weights(shares: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    """Add ``people`` (share × unit population) and ``weight`` (people / zone total).

    ``population`` is indexed by unit id; unknown populations count as 0. Within each
    zone with people the weights sum to 1; a zone without people gets weight 0 everywhere.
    """
    people = shares["share"].to_numpy() * shares["unit_id"].map(population).fillna(0).to_numpy()
    out = shares.assign(people=people)
    totals = out.groupby("zone_id")["people"].transform("sum").to_numpy()
    out["weight"] = np.divide(people, totals, out=np.zeros_like(people), where=totals > 0)
    return out


def weighted_share(weights: pd.DataFrame, condition: pd.Series, known: pd.Series | None = None) -> pd.Series:
    """Per zone: the share of people living in units where ``condition`` holds.

    ``condition`` and ``known`` are boolean Series indexed by unit id. Units where
    ``known`` is False (no data) are left out of both numerator and denominator.
    """
    cond = weights["unit_id"].map(condition).fillna(False).astype(bool).to_numpy()
    ok = np.ones(len(weights), bool) if known is None else weights["unit_id"].map(known).fillna(False).astype(bool).to_numpy()
    people = weights["people"].to_numpy()
    frame = pd.DataFrame({"zone_id": weights["zone_id"], "num": people * (cond & ok), "den": people * ok})
    sums = frame.groupby("zone_id")[["num", "den"]].sum()
    return (sums["num"] / sums["den"].where(sums["den"] > 0)).rename(None)


def weighted_sum(shares: pd.DataFrame, values: pd.Series) -> pd.Series:
    """Per zone: Σ share × value, for quantities that split with area (m², people)."""
    v = shares["unit_id"].map(values).fillna(0).to_numpy() * shares["share"].to_numpy()
    return pd.Series(v, index=shares.index).groupby(shares["zone_id"]).sum()


def points_in_zones(zones, x, y) -> tuple[np.ndarray, np.ndarray]:
    """All (zone index, point index) pairs where a zone covers a point; zones may overlap."""
    points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    tree = shapely.STRtree(points)
    zone_geoms = np.asarray(zones, dtype=object)
    present = ~shapely.is_missing(zone_geoms)
    zi, pi = tree.query(zone_geoms[present], predicate="covers")
    return np.flatnonzero(present)[zi], pi
