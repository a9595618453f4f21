"""The store: the only thing the web layer reads. Picked by one setting (a URL or path).

``open_store(url)`` returns a read-only ``Store``; ``write_store(url, layers, tables)``
replaces a store atomically. Today one backend: a GeoPackage file.
"""
from __future__ import annotations

from .gpkg import GeoPackageStore, write_geopackage

Store = GeoPackageStore


def open_store(url: str) -> Store:
    return GeoPackageStore(_path(url))


def write_store(url: str, layers: dict, tables: dict) -> None:
    write_geopackage(_path(url), layers, tables)


def _path(url: str) -> str:
    url = str(url)
    if url.startswith("postgresql:") or url.startswith("postgres:"):
        raise NotImplementedError("the PostGIS store is not built yet (issue 6); use a GeoPackage path")
    return url.removeprefix("gpkg:").removeprefix("file:")
