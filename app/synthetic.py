"""SYNTHETIC TEST DATA: a made-up street-tree cadastre for scale tests and benchmarks.

Nothing here describes real trees. ``synthetic_trees`` places ``count`` points inside the
real Planungsräume (EPSG:25833): each Planungsraum gets a share weighted by its area and
(when known) how densely it is settled (more streets, more street trees), drawn from a
multinomial with a fixed seed; the points are uniform inside its polygon (rejection
sampling in its bounding box, vectorised). The attributes are shaped like Berlin's
street-tree cadastre: ``id`` (text), ``species`` (from a small fixed list with fixed
shares), ``planting_year``, ``height_m`` (growing with age, with noise) and ``plr_id``.
The same seed and count give the same layer. The layer's catalogue entry
(``synthetic_trees`` in ``app/catalog.py``) is marked synthetic, so every map, tile
metadata and page that shows it says SYNTHETIC TEST DATA.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

LAYER_ID = "synthetic_trees"
DEFAULT_COUNT = 1_000_000
DEFAULT_SEED = 20240601
# German genus names as a cadastre lists them, with made-up shares (they add up to 1).
SPECIES = (("Linde", 0.22), ("Ahorn", 0.19), ("Eiche", 0.10), ("Platane", 0.07), ("Kastanie", 0.06),
           ("Robinie", 0.06), ("Birke", 0.05), ("Hainbuche", 0.05), ("Esche", 0.04), ("Pappel", 0.04),
           ("Kiefer", 0.04), ("Ulme", 0.03), ("Sonstige", 0.05))
NEWEST_YEAR = 2024


def synthetic_trees(plr: gpd.GeoDataFrame, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> gpd.GeoDataFrame:
    """``count`` synthetic trees inside the Planungsräume ``plr`` (columns ``plr_id``, geometry
    in EPSG:25833, optional ``residents``)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = np.random.default_rng(seed)
    plr = plr[plr.geometry.notna() & ~plr.geometry.is_empty].reset_index(drop=True)
    area = plr.geometry.area.to_numpy()
    weights = area.copy()
    if "residents" in plr.columns:  # settled areas have more streets: up to 3x the density of empty ones
        density = pd.to_numeric(plr["residents"], errors="coerce").fillna(0).to_numpy() / np.maximum(area, 1.0)
        typical = np.median(density[density > 0]) if (density > 0).any() else 1.0
        weights = area * (1.0 + np.minimum(np.sqrt(density / typical), 2.0))
    per_plr = rng.multinomial(count, weights / weights.sum())

    xs, ys, owner = [], [], []
    for i, (geom, k) in enumerate(zip(plr.geometry.to_numpy(), per_plr)):
        if k:
            x, y = points_inside(geom, int(k), rng)
            xs.append(x)
            ys.append(y)
            owner.append(np.full(int(k), i, dtype=np.int64))
    x = np.concatenate(xs) if xs else np.empty(0)
    y = np.concatenate(ys) if ys else np.empty(0)
    owner = np.concatenate(owner) if owner else np.empty(0, dtype=np.int64)

    names = np.array([s for s, _ in SPECIES], dtype=object)
    shares = np.array([p for _, p in SPECIES])
    age = np.minimum(rng.exponential(30.0, count), 140.0)
    year = (NEWEST_YEAR - np.floor(age)).astype(np.int64)
    height = np.round(np.minimum(2.0 + (NEWEST_YEAR - year) * 0.35 * rng.lognormal(0.0, 0.25, count), 38.0), 1)
    return gpd.GeoDataFrame({
        "id": [f"SYN-{i:07d}" for i in range(1, count + 1)],
        "species": names[rng.choice(len(names), size=count, p=shares / shares.sum())],
        "planting_year": year,
        "height_m": height,
        "plr_id": plr["plr_id"].to_numpy(dtype=object)[owner] if count else np.empty(0, dtype=object),
    }, geometry=gpd.points_from_xy(x, y), crs=plr.crs)


def points_inside(polygon, k: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """k points uniform inside the polygon: draws in its bounding box, keeps those inside."""
    shapely.prepare(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    fill = max(polygon.area / max((maxx - minx) * (maxy - miny), 1e-9), 0.01)
    xs, ys, have = [], [], 0
    while have < k:
        m = int((k - have) / fill * 1.2) + 16
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        hit = shapely.contains_xy(polygon, x, y)
        xs.append(x[hit])
        ys.append(y[hit])
        have += int(hit.sum())
    return np.concatenate(xs)[:k], np.concatenate(ys)[:k]
