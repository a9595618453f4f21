"""The store: the only thing the web layer reads. Picked by one setting, ``STORE``.

``STORE`` is a GeoPackage path (the default; nothing to start) or a ``postgresql://`` URL
(PostGIS, for deployments with many app servers; see ``postgis``). Everything here
dispatches on it once; the rest of the app sees one interface:

- ``open_store(url, planner_url)`` -> a read-only store (``GeoPackageStore`` or
  ``PostGISStore``: ``query``/``scalar`` with ``?`` placeholders, ``rows``, ``features``,
  ``ids_at``, ``fids_in_bbox``, ``envelopes``, ``geometry``, ``read_layer``, ``geojson``,
  ``meta``, ``columns``, ``version``, ``street_keys``), the planner tables readable beside it;
- ``open_planner(url, planner_url)`` -> the writable planner store (``transaction``,
  ``project``, ``save``, ``delete``, ``add_user``, ``record_failure``), created and seeded
  from the built store when missing;
- ``write_store(url, layers, tables)`` replaces a built store atomically;
- ``ensure_planner(url, planner_url, research)`` creates or seeds the planner store.
"""
from __future__ import annotations

import os

from ..errors import NotFound
from . import planner
from .gpkg import GeoPackageStore, write_geopackage

Store = GeoPackageStore  # the interface; postgis.PostGISStore has the same methods


def backend(url) -> str:
    """'postgis' for a postgresql:// URL, else 'geopackage'."""
    from .postgis import is_url
    return "postgis" if is_url(url) else "geopackage"


def open_store(url: str, planner_url: str | None = None) -> Store:
    """The read store; the planner store beside it is readable too (default: ``<store>-planner.gpkg``,
    or the schema ``<schema>_planner`` of the same database)."""
    if backend(url) == "postgis":
        from .postgis import PostGISStore
        return PostGISStore(url, planner_url)
    path = _path(url)
    return GeoPackageStore(path, _path(planner_url) if planner_url else planner.default_path(path))


def open_planner(store_url: str, planner_url: str | None = None) -> planner.PlannerStore:
    """The writable planner store, created and seeded from the built store when missing."""
    if backend(store_url) == "postgis":
        from . import postgis, postgis_planner
        where = postgis.planner_location(store_url, planner_url)
        try:
            return postgis_planner.PostGISPlanner(where.url)
        except NotFound:
            ensure_planner(store_url, where.url, open_store(store_url, where.url).read_layer("research_projects"))
            return postgis_planner.PostGISPlanner(where.url)
    path = _path(planner_url) if planner_url else planner.default_path(_path(store_url))
    if not os.path.exists(path):
        planner.ensure(path, open_store(store_url, path).read_layer("research_projects"))
    return planner.PlannerStore(path)


def ensure_planner(store_url: str, planner_url: str | None, research) -> int:
    """Create the planner store if missing and bring in the research projects; returns how many changed."""
    if backend(store_url) == "postgis":
        from . import postgis, postgis_planner
        return postgis_planner.ensure_planner(postgis.planner_location(store_url, planner_url).url, research)
    return planner.ensure(_path(planner_url) if planner_url else planner.default_path(_path(store_url)), research)


def write_store(url: str, layers: dict, tables: dict) -> None:
    if backend(url) == "postgis":
        from .postgis import write_postgis
        write_postgis(url, layers, tables)
    else:
        write_geopackage(_path(url), layers, tables)


def store_exists(url: str) -> bool:
    if backend(url) == "postgis":
        from .postgis import exists
        return exists(url)
    return os.path.exists(_path(url))


def describe(url: str) -> str:
    """The store's location for messages (no password)."""
    if backend(url) == "postgis":
        from .postgis import parse_url
        return parse_url(url).safe
    return _path(url)


def _path(url: str) -> str:
    if backend(url) == "postgis":
        raise ValueError("a GeoPackage path was expected, not a postgresql:// URL")
    return str(url).removeprefix("gpkg:").removeprefix("file:")
