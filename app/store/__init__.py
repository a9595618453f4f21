"""The store: the only thing the web layer reads. Picked by one setting (a URL or path).

``open_store(url)`` returns a read-only ``Store``; ``write_store(url, layers, tables)``
replaces a store atomically. Today one backend: a GeoPackage file.
"""
from __future__ import annotations

import os

from . import planner
from .gpkg import GeoPackageStore, write_geopackage

Store = GeoPackageStore


def open_store(url: str, planner_url: str | None = None) -> Store:
    """The read store; the planner store beside it is attached (default: ``<store>-planner.gpkg``)."""
    path = _path(url)
    return GeoPackageStore(path, _path(planner_url) if planner_url else planner.default_path(path))


def open_planner(store_url: str, planner_url: str | None = None) -> planner.PlannerStore:
    """The writable planner store, created and seeded from the built store when missing."""
    path = _path(planner_url) if planner_url else planner.default_path(_path(store_url))
    if not os.path.exists(path):
        planner.ensure(path, open_store(store_url, path).read_layer("research_projects"))
    return planner.PlannerStore(path)


def write_store(url: str, layers: dict, tables: dict) -> None:
    write_geopackage(_path(url), layers, tables)


def _path(url: str) -> str:
    url = str(url)
    if url.startswith("postgresql:") or url.startswith("postgres:"):
        raise NotImplementedError("the PostGIS store is not built yet (issue 6); use a GeoPackage path")
    return url.removeprefix("gpkg:").removeprefix("file:")
