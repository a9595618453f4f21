"""Shared fixtures: one store built from the real shipped data per test session, per backend.

``built``/``store``/``app``/``client`` are the GeoPackage store as always. A module marked
``pytestmark = pytest.mark.both_stores`` runs each of its tests that reach ``backend``
(through ``store_url``, ``store``, ``app``, ``client`` or ``planner_url``) twice: against the
GeoPackage store and against a PostGIS store built from the same raw data into a throw-away
PostgreSQL cluster (``tests/postgres.py``), started once per session on first use.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from app import create_app
from app.build import build
from app.config import REPO_ROOT
from app.store import open_store

RAW_DIR = REPO_ROOT / "geodata" / "raw"
BACKENDS = ("gpkg", "postgis")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        only = metafunc.definition.get_closest_marker("gpkg_only")
        metafunc.parametrize("backend", ("gpkg",) if only else BACKENDS, indirect=True, scope="session")


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(store path, build report) of a build of the shipped raw data."""
    path = tmp_path_factory.mktemp("store") / "kiezkarte.gpkg"
    report = build(RAW_DIR, path)
    return path, report


@pytest.fixture(scope="session")
def postgres():
    """A running throw-away PostgreSQL cluster with PostGIS (stopped and deleted at the end)."""
    from tests.postgres import Cluster, binaries
    if binaries() is None:
        message = "PostgreSQL with PostGIS is not installed (./run.sh test installs Debian's postgresql and postgis)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    cluster = Cluster().start()
    yield cluster
    from app.store.postgis import close_pools
    close_pools()
    cluster.stop()


@pytest.fixture(scope="session")
def postgis_built(postgres):
    """(store URL, build report) of a build of the shipped raw data into PostGIS."""
    url = f"{postgres.url}?schema=kiezkarte"
    return url, build(RAW_DIR, url)


@pytest.fixture(scope="session")
def backend(request) -> str:
    """'gpkg' or 'postgis' (modules marked both_stores get both)."""
    return getattr(request, "param", "gpkg")


@pytest.fixture(scope="session")
def store_url(request, backend) -> str:
    """The built store of this backend: a GeoPackage path or a postgresql:// URL."""
    if backend == "postgis":
        return request.getfixturevalue("postgis_built")[0]
    return str(request.getfixturevalue("built")[0])


@pytest.fixture(scope="session")
def store(store_url):
    return open_store(store_url)


@pytest.fixture()
def planner_url(store_url, tmp_path) -> str:
    """A new, empty place for a planner store of this test's backend (created on first open)."""
    if store_url.startswith("postgresql:"):
        base = store_url.split("?", 1)[0]
        return f"{base}?schema=t_{uuid.uuid4().hex[:16]}"
    return str(tmp_path / "planner.gpkg")


@pytest.fixture()
def app(store_url):
    return create_app({"STORE": store_url, "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def raw_copy(tmp_path) -> Path:
    """A writable copy of the raw data, for tests that break or extend it."""
    target = tmp_path / "raw"
    shutil.copytree(RAW_DIR, target, ignore=shutil.ignore_patterns("qm_official"))
    return target
