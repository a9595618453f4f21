"""Every setting Kiezkarte reads, declared once: name, default, help.

Settings come from (later wins): the defaults below, environment variables
``KIEZKARTE_<NAME>``, and the mapping passed to ``create_app(config)``. Nothing is
read at import time; ``load_settings`` is called by the app factory and the CLI.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("STORE", str(REPO_ROOT / "geodata" / "kiezkarte.gpkg"),
            "Where the built store lives: a GeoPackage path (the default), or a PostGIS database as "
            "'postgresql://user:password@host:5432/dbname?schema=kiezkarte' (schema optional, default kiezkarte)."),
    Setting("PLANNER_STORE", "",
            "The planners' data (projects, accounts, audit log), kept apart so rebuilds never touch it. "
            "Empty: '<store>-planner.gpkg' beside a GeoPackage store; with PostGIS the schema "
            "'<schema>_planner' of the same database (a postgresql:// URL of that database with "
            "?schema=NAME picks another)."),
    Setting("RAW_DIR", str(REPO_ROOT / "geodata" / "raw"),
            "Folder of the official raw files (one sub-folder per dataset, each with a PROVENANCE.md)."),
    Setting("TILE_URL", "",
            "Basemap tile URL template ({z}/{x}/{y}). Empty: maps draw on a neutral background "
            "and no tile server is contacted."),
    Setting("TILE_ATTRIBUTION", "",
            "Attribution shown for the basemap tiles (required when TILE_URL is set)."),
    Setting("TILE_CLICK_TO_LOAD", "true",
            "Embeds ask before loading the first basemap tile when TILE_URL names another host "
            "(true/false). Full pages load tiles without asking."),
    Setting("EMBED_FRAME_ANCESTORS", "*",
            "Which sites may show the embeds (/embed/…) in a frame: '*' (any, the default) or a "
            "space-separated list of origins, e.g. 'https://www.berlin.de https://qm-beusselstrasse.de'. "
            "Other pages may only be framed by this site."),
    Setting("DEFAULT_LOCALE", "de", "Language of pages when the visitor chose none (de or en)."),
    Setting("MAX_UPLOAD_BYTES", 20_000_000, "Largest file accepted by imports and uploads, in bytes."),
    Setting("UPLOAD_DIR", "",
            "Folder for uploads waiting between a planner's check and import. Empty: a temporary folder per "
            "process; `kiezkarte serve --workers N` makes one that all its workers share."),
    Setting("SECRET_KEY", "",
            "Signs session cookies. Set it in the environment for any deployment; "
            "empty means a random key per process."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def load_settings(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Defaults, then KIEZKARTE_* environment variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    settings = {s.name: s.default for s in SETTINGS}
    for s in SETTINGS:
        value = environ.get(f"KIEZKARTE_{s.name}")
        if value is not None:
            settings[s.name] = value
    for key, value in (overrides or {}).items():
        settings[key] = value
    return settings


def describe(name: str) -> str:
    return _BY_NAME[name].help
