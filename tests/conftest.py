"""Shared fixtures: one store built from the real shipped data per test session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import create_app
from app.build import build
from app.config import REPO_ROOT
from app.store import open_store

RAW_DIR = REPO_ROOT / "geodata" / "raw"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(store path, build report) of a build of the shipped raw data."""
    path = tmp_path_factory.mktemp("store") / "kiezkarte.gpkg"
    report = build(RAW_DIR, path)
    return path, report


@pytest.fixture(scope="session")
def store(built):
    return open_store(built[0])


@pytest.fixture()
def app(built):
    return create_app({"STORE": str(built[0]), "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def raw_copy(tmp_path) -> Path:
    """A writable copy of the raw data, for tests that break or extend it."""
    target = tmp_path / "raw"
    shutil.copytree(RAW_DIR, target, ignore=shutil.ignore_patterns("qm_official"))
    return target
