#!/usr/bin/env python3
"""Generate the SYNTHETIC street-tree layer (made-up test data) and load it as a big layer.

    .venv/bin/python scripts/generate_synthetic_trees.py [--count 1000000] [--seed N]
                                                         [--store STORE] [-o trees.gpkg|trees.csv]

The same as ``kiezkarte synthetic-trees``: points inside the real Planungsräume of the built
store, shaped like a street-tree cadastre (id, species, planting year, height, Planungsraum),
loaded into the store's big-layer table (GeoPackage or PostGIS, by the STORE setting)
without rebuilding the store, then served as vector tiles under /tiles/synthetic_trees/.
With ``-o`` the points are written to a file instead (never commit such a file).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["synthetic-trees", *sys.argv[1:]]))
