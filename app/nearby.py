"""Parts of a precomputed layer near a place: the Planungsräume an area's or a Kiez's map shows.

A map of one QM area needs the Planungsräume around it, not all 542 of Berlin (67 KB gzip).
``LayerIndex`` reads a stored FeatureCollection (EPSG:4326 GeoJSON text, as the build wrote
it) once, notes each feature's bounding box, and answers "the features whose box meets this
lon/lat box" as GeoJSON text in the same compact form. ``around`` is the box a map of an
area or Kiez asks for: the geometry's box (EPSG:25833, metres) padded, in lon/lat, rounded
so the same place always gives the same box (and the same bytes and ETag).

Pure functions over text and shapely geometries: no Flask, no store.
"""
from __future__ import annotations

import json
import math

from . import crs

AROUND_PAD_M = 2000  # enough around an area for a wide, low map (an iframe 300 px high)
BOX_DECIMALS = 4  # ~10 m: boxes from the URL are rounded to this, so they make few cache keys

Box = tuple[float, float, float, float]  # west, south, east, north (lon/lat)


def around(geom, pad_m: float = AROUND_PAD_M) -> Box:
    """The lon/lat box of a store geometry (EPSG:25833) padded by ``pad_m`` metres on every side."""
    minx, miny, maxx, maxy = geom.bounds
    xs = [minx - pad_m, maxx + pad_m, minx - pad_m, maxx + pad_m]
    ys = [miny - pad_m, miny - pad_m, maxy + pad_m, maxy + pad_m]
    lons, lats = crs.store_to_web_transformer().transform(xs, ys)
    return rounded((min(lons), min(lats), max(lons), max(lats)))


def rounded(box: Box) -> Box:
    """A box rounded outwards to ``BOX_DECIMALS`` (it never shrinks)."""
    scale = 10 ** BOX_DECIMALS
    west, south, east, north = box
    down = lambda v: math.floor(round(v * scale, 6)) / scale  # noqa: E731 (round: 13.3456 stays 13.3456)
    up = lambda v: math.ceil(round(v * scale, 6)) / scale  # noqa: E731
    return (down(west), down(south), up(east), up(north))


class LayerIndex:
    """A stored FeatureCollection with the bounding box of each feature, for subsets by box."""

    def __init__(self, text: str):
        collection = json.loads(text)
        self._head = {k: v for k, v in collection.items() if k != "features"}
        self._features = collection["features"]
        self._boxes = [_bounds(f.get("geometry")) for f in self._features]

    def __len__(self) -> int:
        return len(self._features)

    def within(self, box: Box) -> str:
        """GeoJSON text of the features whose bounding box meets ``box`` (in their stored order)."""
        west, south, east, north = box
        chosen = [f for f, b in zip(self._features, self._boxes)
                  if b is not None and not (b[2] < west or b[0] > east or b[3] < south or b[1] > north)]
        return json.dumps({**self._head, "features": chosen}, ensure_ascii=False, separators=(",", ":"))


def _bounds(geometry) -> Box | None:
    if not geometry:
        return None
    xs, ys = [], []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    if geometry.get("type") == "GeometryCollection":
        for g in geometry.get("geometries", []):
            b = _bounds(g)
            if b:
                xs += [b[0], b[2]]
                ys += [b[1], b[3]]
    else:
        walk(geometry.get("coordinates") or [])
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None
