"""Shared fixtures: the store built from the real shipped data once per session, on both backends.

Every test that reaches ``backend`` (through ``store_url``, ``store``, ``app``, ``client``,
``planner_url``, ``hostile_store_url`` …) runs twice, its id saying where: ``[geopackage]``
against the built GeoPackage and ``[postgis]`` against the same GeoPackage loaded into a
throw-away PostgreSQL + PostGIS cluster (``tests/postgres.py``, started once per session on
first use). ``--backend geopackage`` (or ``KIEZKARTE_TEST_BACKEND=geopackage``) runs one only.

A test that reads the built GeoPackage itself (``built``, ``hostile_built``) instead of going
through ``backend`` is about the file's own mechanics and must say so with
``@pytest.mark.geopackage_only("why")``; collection stops otherwise.
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
from app.store import open_planner, open_store

RAW_DIR = REPO_ROOT / "geodata" / "raw"
BACKENDS = ("geopackage", "postgis")
GEOPACKAGE_FIXTURES = {"built", "hostile_built"}  # the GeoPackage files themselves, not a backend's store


def pytest_addoption(parser):
    parser.addoption("--backend", choices=BACKENDS, action="append", default=None,
                     help="run the store-using tests against this backend only (repeatable; default: both, "
                          "or the comma-separated list in KIEZKARTE_TEST_BACKEND)")


def selected_backends(config) -> tuple[str, ...]:
    chosen = config.getoption("backend") or [b for b in os.environ.get("KIEZKARTE_TEST_BACKEND", "").split(",") if b]
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown backend {sorted(unknown)}; choose from {BACKENDS}")
    return tuple(b for b in BACKENDS if b in chosen) or BACKENDS


def pytest_configure(config):
    selected_backends(config)  # an unknown backend stops the run here, with one message


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", selected_backends(metafunc.config), indirect=True, scope="session")


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & GEOPACKAGE_FIXTURES and not names & {"backend", "postgres"}:  # postgres: compares both itself
            marker = item.get_closest_marker("geopackage_only")
            if marker is None or not marker.args:
                raise pytest.UsageError(f"{item.nodeid} reads the GeoPackage itself ({', '.join(names & GEOPACKAGE_FIXTURES)}) "
                                        "and not through `backend`: give it @pytest.mark.geopackage_only(\"why\") "
                                        "or use store_url/store/app/client to run it on both backends")


def postgis_required() -> bool:
    """Under ./run.sh test (which installs PostgreSQL + PostGIS) and in CI a missing PostGIS fails the
    [postgis] tests; on a developer's machine they are skipped with the reason."""
    return os.environ.get("KIEZKARTE_REQUIRE_POSTGIS") == "1" or os.environ.get("CI", "").lower() in ("1", "true", "yes")


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
        if postgis_required():
            pytest.fail(message)
        pytest.skip(message)
    cluster = Cluster().start()
    yield cluster
    from app.store.postgis import close_pools
    close_pools()
    cluster.stop()


@pytest.fixture(scope="session")
def postgis_built(postgres, built):
    """(store URL, build report): the built GeoPackage loaded into PostGIS, as ``kiezkarte build`` does."""
    return postgres.load(built[0], "kiezkarte"), built[1]


@pytest.fixture(scope="session")
def backend(request) -> str:
    """'geopackage' or 'postgis': every test that uses it runs once per backend."""
    return request.param


def store_of(request, backend: str, gpkg: Path, schema: str) -> str:
    """A built GeoPackage as a store of ``backend``: the path itself, or a copy in PostGIS (once per schema)."""
    if backend == "postgis":
        return request.getfixturevalue("postgres").load(gpkg, schema)
    return str(gpkg)


@pytest.fixture(scope="session")
def store_url(request, backend, built) -> str:
    """The built store of this backend: a GeoPackage path or a postgresql:// URL."""
    return store_of(request, backend, built[0], "kiezkarte")


@pytest.fixture(scope="session")
def store(store_url):
    """The built store with its default planner store, created and seeded if missing, as the app
    opens it (loading a GeoPackage into PostGIS brings no planner schema)."""
    return open_store(store_url, open_planner(store_url).path)


def unbuilt_store_url(request, backend: str, folder: Path) -> str:
    """A store URL of this backend where nothing is built yet (a new file name, or a new schema)."""
    if backend == "postgis":
        return f"{request.getfixturevalue('postgres').url}?schema=s_{uuid.uuid4().hex[:12]}"
    return str(folder / "kiezkarte.gpkg")


def fresh_planner_url(store_url: str, folder: Path) -> str:
    """A new, empty place for a planner store beside ``store_url`` (created on first open)."""
    if store_url.startswith("postgresql:"):
        base = store_url.split("?", 1)[0]
        return f"{base}?schema=t_{uuid.uuid4().hex[:16]}"
    return str(folder / f"planner-{uuid.uuid4().hex[:8]}.gpkg")


@pytest.fixture()
def planner_url(store_url, tmp_path) -> str:
    """A new, empty place for a planner store of this test's backend."""
    return fresh_planner_url(store_url, tmp_path)


@pytest.fixture()
def stores(store_url, planner_url):
    """(store, planner store) of this test's backend, the planner store fresh for the test."""
    planner = open_planner(store_url, planner_url)
    return open_store(store_url, planner.path), planner


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


@pytest.fixture(scope="session")
def hostile_built(tmp_path_factory) -> Path:
    """The shipped data plus a project and a kita named like an XSS attack (tests/test_pages.py), as a GeoPackage."""
    from tests.test_pages import build_hostile_store
    tmp = tmp_path_factory.mktemp("hostile-store")
    raw = tmp / "raw"
    shutil.copytree(RAW_DIR, raw, ignore=shutil.ignore_patterns("qm_official"))
    return build_hostile_store(raw, tmp / "kiezkarte.gpkg")


@pytest.fixture(scope="session")
def hostile_store_url(request, backend, hostile_built) -> str:
    """The hostile store on this test's backend."""
    return store_of(request, backend, hostile_built, "hostile")
