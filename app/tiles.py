"""Vector tiles for big point layers: tile maths (EPSG:3857), the thinning rule, MVT encoding.

No Flask and no store: the store backends (``app/store/big.py``, ``app/store/big_postgis.py``)
read rows and call these functions (the GeoPackage path), or run the same rule in SQL
(PostGIS: ``ST_AsMVT``); the loader (``app/big_layers.py``) builds the cell pyramid here.

Tiles are the usual XYZ scheme (Web Mercator, EPSG:3857, y counted from the north) with
an extent of 4096 units. **The thinning rule**, the same for every point layer (a
synthetic one or a real tree cadastre):

- the grid: every tile is cut into 64 x 64 cells of 64 units (4 screen pixels on a
  256-pixel tile); a cell of zoom z is exactly four cells of zoom z+1, so the grid nests;
- at zooms up to ``CLUSTER_MAX_ZOOM`` (13: a whole district and more on the screen) a tile
  holds one feature per non-empty cell, placed at the mean position of its points, with
  the attribute ``count`` (the position rounded down, so it lies in its own cell). These cells are computed once when the layer is loaded (the
  "pyramid"), so a city-wide tile reads at most 64 x 64 stored rows, however many points
  the layer has: its size is bounded (about 65 KB before gzip) by the grid, not the data;
- above it, a tile holds the individual points with their attributes (feature id = the
  store's ``fid``) — unless more than ``POINT_LIMIT`` points fall into that one tile,
  then it gets cells too, aggregated from its points on the fly. No tile ever carries
  more than 64 x 64 cells or ``POINT_LIMIT`` points (plus its buffer).

Each tile also carries what lies within ``BUFFER`` units around it (cells: those of the
neighbouring tiles whose position falls there), so symbols at tile edges are drawn whole.
A feature belongs to a tile (for counting) when its position lies inside it: coordinates
0 <= px < 4096 before rounding.
"""
from __future__ import annotations

import math

import numpy as np

EXTENT = 4096            # tile units per tile side
CELL = 64                # cell side in tile units (64 x 64 cells per tile)
BUFFER = 64              # tile units carried around each tile
CLUSTER_MAX_ZOOM = 13    # cells up to this zoom, points above it
POINT_LIMIT = 2000       # more points than this in one tile above CLUSTER_MAX_ZOOM: cells instead
MIN_ZOOM, MAX_ZOOM = 0, 20
ORIGIN = 20037508.342789244  # half the EPSG:3857 world width in metres (pi * 6378137)
_R = 6378137.0
MAX_LAT = 85.0511287798066


class BadTile(ValueError):
    """A tile address outside the scheme (zoom out of range, x/y outside 0..2^z-1)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def check_tile(z: int, x: int, y: int, min_zoom: int = MIN_ZOOM, max_zoom: int = MAX_ZOOM) -> None:
    if not min_zoom <= z <= max_zoom:
        raise BadTile(f"zoom {z} is out of range {min_zoom}..{max_zoom}", 404)
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise BadTile(f"tile {z}/{x}/{y} does not exist: x and y must lie in 0..{n - 1} at zoom {z}", 400)


# ---------------------------------------------------------------- EPSG:3857 and tiles

def lonlat_to_mercator(lon, lat):
    """lon/lat degrees (EPSG:4326) -> EPSG:3857 metres (arrays or scalars)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_LAT, MAX_LAT)
    return _R * np.radians(lon), _R * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def mercator_to_lonlat(mx, my):
    mx, my = np.asarray(mx, dtype=float), np.asarray(my, dtype=float)
    return np.degrees(mx / _R), np.degrees(2 * np.arctan(np.exp(my / _R)) - np.pi / 2)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a tile in EPSG:3857 metres (as PostGIS ST_TileEnvelope)."""
    size = 2 * ORIGIN / (1 << z)
    minx = -ORIGIN + x * size
    maxy = ORIGIN - y * size
    return minx, maxy - size, minx + size, maxy


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile in degrees."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    (west, east), (south, north) = mercator_to_lonlat([minx, maxx], [miny, maxy])
    return float(west), float(south), float(east), float(north)


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The tile at zoom z that holds the point (lon, lat)."""
    gx, gy = world_units(*lonlat_to_mercator(lon, lat), z)
    n = 1 << z
    return min(int(gx // EXTENT), n - 1), min(int(gy // EXTENT), n - 1)


def world_units(mx, my, z: int):
    """EPSG:3857 metres -> tile units counted from the world's north-west corner at zoom z
    (tile x = units // 4096), as floats."""
    scale = (1 << z) * EXTENT / (2 * ORIGIN)
    return (np.asarray(mx, dtype=float) + ORIGIN) * scale, (ORIGIN - np.asarray(my, dtype=float)) * scale


def tile_units(mx, my, z: int, x: int, y: int):
    """EPSG:3857 metres -> tile units of tile z/x/y (y down; 0..4096 inside the tile)."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    scale = EXTENT / (maxx - minx)
    return (np.asarray(mx, dtype=float) - minx) * scale, (maxy - np.asarray(my, dtype=float)) * scale


def expanded_tile_lonlat(z: int, x: int, y: int, units: float):
    """The tile grown by ``units`` tile units on each side, as a lon/lat box."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * units / EXTENT
    (west, east), (south, north) = mercator_to_lonlat([minx - pad, maxx + pad], [miny - pad, maxy + pad])
    return float(west), float(south), float(east), float(north)


def tiles_covering(lonlat_bounds, z: int) -> list[tuple[int, int]]:
    """Every (x, y) of zoom z that meets a lon/lat box."""
    west, south, east, north = lonlat_bounds
    x0, y0 = lonlat_to_tile(west, north, z)
    x1, y1 = lonlat_to_tile(east, south, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


# ---------------------------------------------------------------- the thinning rule

def cell_pyramid(mx, my, max_zoom: int = CLUSTER_MAX_ZOOM) -> dict[str, np.ndarray]:
    """The stored cells of a layer: for every zoom 0..max_zoom and every non-empty cell,
    its tile (tx, ty), its position (px, py: the mean of its points, in that tile's units,
    y down, rounded down, so the position lies in its own cell) and ``n`` (how many points). Arrays of equal length, ordered by
    (z, tx, ty). Computed at the finest zoom, then merged four cells into one per zoom."""
    out = {k: [] for k in ("z", "tx", "ty", "px", "py", "n")}
    gx, gy = world_units(mx, my, max_zoom)
    cx = np.floor(gx / CELL).astype(np.int64)
    cy = np.floor(gy / CELL).astype(np.int64)
    sx, sy, n = gx, gy, np.ones(len(gx), dtype=np.int64)
    for z in range(max_zoom, -1, -1):
        if z < max_zoom:  # a parent cell is four children; positions halve with the zoom
            cx, cy, sx, sy = cx >> 1, cy >> 1, sx / 2, sy / 2
        key = (cx << 32) | cy
        uniq, inverse = np.unique(key, return_inverse=True)
        n = np.bincount(inverse, weights=n, minlength=len(uniq)).astype(np.int64)
        sx = np.bincount(inverse, weights=sx, minlength=len(uniq))  # sums of positions
        sy = np.bincount(inverse, weights=sy, minlength=len(uniq))
        cx, cy = uniq >> 32, uniq & 0xFFFFFFFF
        mean_x, mean_y = sx / n, sy / n
        tx, ty = cx // (EXTENT // CELL), cy // (EXTENT // CELL)
        out["z"].append(np.full(len(uniq), z, dtype=np.int64))
        out["tx"].append(tx)
        out["ty"].append(ty)
        out["px"].append(np.clip(np.floor(mean_x - tx * EXTENT), 0, EXTENT - 1).astype(np.int64))
        out["py"].append(np.clip(np.floor(mean_y - ty * EXTENT), 0, EXTENT - 1).astype(np.int64))
        out["n"].append(n)
    arrays = {k: np.concatenate(v[::-1]) for k, v in out.items()}
    order = np.lexsort((arrays["ty"], arrays["tx"], arrays["z"]))
    return {k: v[order] for k, v in arrays.items()}


def cells_around(x: int, y: int, tx, ty, px, py, n):
    """Stored cells of the 3 x 3 tiles around tile (x, y) -> those within its buffer, in its units:
    (px, py, n) arrays."""
    lx = np.asarray(px, dtype=np.int64) + (np.asarray(tx, dtype=np.int64) - x) * EXTENT
    ly = np.asarray(py, dtype=np.int64) + (np.asarray(ty, dtype=np.int64) - y) * EXTENT
    keep = in_buffer(lx, ly)
    return lx[keep], ly[keep], np.asarray(n, dtype=np.int64)[keep]


def aggregate(px, py):
    """Points in tile units (reaching at least one cell beyond the tile) -> cells on the
    tile's grid: the tile's own 64 x 64 and the ring of cells around it, whose positions
    fall in its buffer. Returns (px, py, n), positions rounded down (as ``cell_pyramid``)."""
    px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
    cx, cy = np.floor(px / CELL).astype(np.int64), np.floor(py / CELL).astype(np.int64)
    side = EXTENT // CELL
    keep = (cx >= -1) & (cx <= side) & (cy >= -1) & (cy <= side)
    cx, cy, px, py = cx[keep], cy[keep], px[keep], py[keep]
    key = (cx + 1) * (side + 2) + (cy + 1)
    uniq, inverse = np.unique(key, return_inverse=True)
    n = np.bincount(inverse, minlength=len(uniq)).astype(np.int64)
    mx = np.floor(np.bincount(inverse, weights=px, minlength=len(uniq)) / n).astype(np.int64)
    my = np.floor(np.bincount(inverse, weights=py, minlength=len(uniq)) / n).astype(np.int64)
    inside = in_buffer(mx, my)
    return mx[inside], my[inside], n[inside]


def in_tile(px, py):
    """Which positions (tile units, before rounding) belong to the tile itself."""
    px, py = np.asarray(px), np.asarray(py)
    return (px >= 0) & (px < EXTENT) & (py >= 0) & (py < EXTENT)


def in_buffer(px, py):
    """Which positions lie in the tile or its buffer: -64 <= p < 4096 + 64 (the ring of cells around it)."""
    px, py = np.asarray(px), np.asarray(py)
    return (px >= -BUFFER) & (px < EXTENT + BUFFER) & (py >= -BUFFER) & (py < EXTENT + BUFFER)


# ---------------------------------------------------------------- MVT encoding

def _options() -> dict:
    return {"extents": EXTENT, "y_coord_down": True, "quantize_bounds": None, "check_winding_order": False}


def encode_cells(layer: str, px, py, n) -> bytes:
    """Cells as an MVT layer: points with the attribute ``count``. Empty: b''."""
    if len(px) == 0:
        return b""
    import mapbox_vector_tile
    import shapely
    geoms = shapely.points(np.column_stack([px, py]).astype(float))
    features = [{"geometry": g, "properties": {"count": int(c)}} for g, c in zip(geoms, n)]
    return mapbox_vector_tile.encode([{"name": layer, "features": features}], default_options=_options())


def encode_points(layer: str, px, py, fids, properties: dict[str, list]) -> bytes:
    """Individual points as an MVT layer: feature id = ``fids``, attributes from ``properties``
    (column -> values; missing values are left out, as MVT has no null). Empty: b''."""
    if len(px) == 0:
        return b""
    import mapbox_vector_tile
    import shapely
    geoms = shapely.points(np.column_stack([np.rint(px), np.rint(py)]))
    names = list(properties)
    columns = [_plain(properties[k]) for k in names]
    features = []
    for i, (g, fid) in enumerate(zip(geoms, fids)):
        props = {k: col[i] for k, col in zip(names, columns) if col[i] is not None}
        features.append({"geometry": g, "properties": props, "id": int(fid)})
    return mapbox_vector_tile.encode([{"name": layer, "features": features}], default_options=_options())


def _plain(values) -> list:
    """Python values MVT can hold: str, int, float, bool; None for missing (NaN, None)."""
    out = []
    for v in (values.tolist() if hasattr(values, "tolist") else values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            out.append(v)
    return out


def decode(data: bytes) -> dict:
    """An MVT tile -> {layer: {"extent", "features": [{"id", "x", "y", "properties"}]}} (points only;
    tile units, y down). For tests and benchmarks."""
    import mapbox_vector_tile
    if not data:
        return {}
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    out = {}
    for name, layer in decoded.items():
        features = []
        for f in layer["features"]:
            x, y = f["geometry"]["coordinates"]
            features.append({"id": f.get("id"), "x": x, "y": y, "properties": f["properties"]})
        out[name] = {"extent": layer["extent"], "features": features}
    return out


def tile_from_points(layer: str, z: int, x: int, y: int, mx, my, fids, properties: dict[str, list]) -> bytes:
    """A tile above ``CLUSTER_MAX_ZOOM`` from the candidate points around it (EPSG:3857 metres,
    reaching at least one cell beyond the tile): its points, or its cells when more than
    ``POINT_LIMIT`` points fall into the tile (see the module doc)."""
    px, py = tile_units(mx, my, z, x, y)
    if int(in_tile(px, py).sum()) > POINT_LIMIT:
        return encode_cells(layer, *aggregate(px, py))
    keep = np.flatnonzero(in_buffer(px, py))
    fids = np.asarray(fids)[keep]
    props = {k: [v[i] for i in keep] for k, v in properties.items()}
    return encode_points(layer, px[keep], py[keep], fids, props)
