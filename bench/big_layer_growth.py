"""Big layers: how load time and tile time grow from 10k to 100k to 1M points (GeoPackage and PostGIS).

Data: **synthetic** — ``app.synthetic.synthetic_trees`` (made-up street trees inside the real
Planungsräume, fixed seed), 10,000, 100,000 and 1,000,000 points (quick: 10,000, 30,000,
100,000), each loaded as the big layer ``synthetic_trees`` with ``app.big_layers.load_big_layer``
(what ``kiezkarte synthetic-trees`` / ``kiezkarte load-layer`` run: validation, spatial order,
the cell pyramid, and the store's bulk write) into a GeoPackage big-layer store, and into a
throw-away PostGIS (``bench._postgis``; left out, with a note, where PostgreSQL is missing).

Timed per size and store (generation is timed apart and not part of the load):

- load: ``load_big_layer`` (best of 1; the 1M load is the expensive one);
- city-wide tiles: every zoom-10 tile over Berlin (6 tiles: the first view of the map page),
  produced by the store (``tile()``: read + encode, no HTTP, no cache), time per tile;
- street-level tiles: the 3 x 3 zoom-17 tiles around Alexanderplatz, time per tile;
  both median of 5 rounds (quick 3), stores interleaved.

Also: the largest city-wide tile's bytes (raw and gzip; stays bounded by the 64 x 64 grid
whatever the size), the number of points in the street-level tiles.

Growth exponent b of time ~ N^b: least-squares slope of log(time) over log(N) across the
three sizes; b = 1 is linear, b < 1 better. Ratio = the largest exponent over loads and tile
times of both stores; target <= 1.1 ("linear or better", with room for noise).
"""
from __future__ import annotations

import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from . import _postgis
from ._common import result
from ._live import shared_store

SIZES, SIZES_QUICK = (10_000, 100_000, 1_000_000), (10_000, 30_000, 100_000)
ROUNDS, ROUNDS_QUICK = 5, 3
TARGET = 1.1
BERLIN = (13.088, 52.338, 13.761, 52.675)
ALEX = (13.4132, 52.5219)


def exponent(sizes, times) -> float:
    return float(np.polyfit(np.log(np.asarray(sizes, dtype=float)), np.log(np.asarray(times, dtype=float)), 1)[0])


def run(quick: bool = False) -> dict:
    from app import tiles
    from app.big_layers import load_big_layer
    from app.store import open_store
    from app.store.big import open_big_layers
    from app.synthetic import LAYER_ID, synthetic_trees

    sizes = SIZES_QUICK if quick else SIZES
    rounds = ROUNDS_QUICK if quick else ROUNDS
    plr = open_store(str(shared_store())).read_layer("planungsraeume")[["plr_id", "residents", "geometry"]]
    folder = Path(tempfile.mkdtemp(prefix="kiezkarte-bench-big-"))
    stores = {"geopackage": str(folder / "growth.gpkg")}  # the big layers go beside it (growth-layers/)
    notes = []
    cluster = _postgis.shared_postgis()
    if cluster is not None:
        stores["postgis"] = f"{cluster.url}?schema=bench_growth"
    else:
        notes.append("PostGIS left out: " + _postgis.MISSING)
    city = tiles.tiles_covering(BERLIN, 10)
    x17, y17 = tiles.lonlat_to_tile(*ALEX, 17)
    street = [(x17 + dx, y17 + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    rows = []
    try:
        for n in sizes:
            started = time.perf_counter()
            trees = synthetic_trees(plr, n)
            generate = time.perf_counter() - started
            row = {"points": n, "generate_s": round(generate, 3)}
            for name, url in stores.items():
                started = time.perf_counter()
                load_big_layer(url, LAYER_ID, trees, description=f"SYNTHETIC TEST DATA: benchmark, {n:,} points")
                row[f"{name}_load_s"] = round(time.perf_counter() - started, 3)
            del trees
            readers = {name: open_big_layers(url) for name, url in stores.items()}
            for reader in readers.values():  # warm: connections, first pages
                reader.tile(LAYER_ID, 10, *city[0])
                reader.tile(LAYER_ID, 17, *street[0])
            times = {f"{name}_{kind}": [] for name in readers for kind in ("city", "street")}
            names = list(readers)
            for r in range(rounds):
                for name in names[r % len(names):] + names[:r % len(names)]:
                    reader = readers[name]
                    started = time.perf_counter()
                    for x, y in city:
                        reader.tile(LAYER_ID, 10, x, y)
                    times[f"{name}_city"].append((time.perf_counter() - started) / len(city))
                    started = time.perf_counter()
                    for x, y in street:
                        reader.tile(LAYER_ID, 17, x, y)
                    times[f"{name}_street"].append((time.perf_counter() - started) / len(street))
            for key, values in times.items():
                row[f"{key}_ms"] = round(1000 * statistics.median(values), 3)
            reader = readers["geopackage"]
            city_tiles = [reader.tile(LAYER_ID, 10, x, y) for x, y in city]
            row["city_max_bytes"] = max(len(t) for t in city_tiles)
            row["city_max_gzip_bytes"] = max(len(gzip.compress(t, 6)) for t in city_tiles)
            row["street_points"] = sum(len(tiles.decode(reader.tile(LAYER_ID, 17, x, y)).get(LAYER_ID, {"features": []})
                                           ["features"]) for x, y in street)
            rows.append(row)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    exponents = {}
    for name in stores:
        for kind, key in (("load", f"{name}_load_s"), ("city tile", f"{name}_city_ms"),
                          ("street tile", f"{name}_street_ms")):
            exponents[f"{name} {kind}"] = round(exponent(sizes, [r[key] for r in rows]), 3)
    worst = max(exponents.values())
    figures = {}
    for r in rows:
        parts = [f"generate {r['generate_s']:.2f} s"]
        for name in stores:
            parts.append(f"{name}: load {r[f'{name}_load_s']:.2f} s, city tile {r[f'{name}_city_ms']:.1f} ms, "
                         f"street tile {r[f'{name}_street_ms']:.1f} ms")
        figures[f"{r['points']:,} points"] = "; ".join(parts)
    figures["largest city-wide tile"] = ", ".join(
        f"{r['points']:,}: {r['city_max_bytes'] / 1000:.0f} KB ({r['city_max_gzip_bytes'] / 1000:.0f} KB gzip)"
        for r in rows)
    figures["exponent b (time ~ N^b)"] = ", ".join(f"{k} {v:.2f}" for k, v in exponents.items())
    for note in notes:
        figures["note"] = note
    return result(ratio=worst, target_max=TARGET, ratio_of="largest growth exponent",
                  data=f"synthetic: {', '.join(f'{n:,}' for n in sizes)} made-up trees in the real Planungsräume",
                  figures=figures, rows=rows, exponents=exponents, stores=list(stores), rounds=rounds,
                  postgis=_postgis.info())
