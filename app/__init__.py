"""Kiezkarte: maps of Berlin's Quartiersmanagement areas.

``create_app(config)`` builds the Flask app: settings, store, blueprints, error
handlers. Nothing is configured at import time; tests build their own app.
"""
from __future__ import annotations

import secrets

from flask import Flask

from .config import load_settings


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    settings = load_settings(config)
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or secrets.token_hex(32)
    app.config["JSON_SORT_KEYS"] = False

    from . import web
    web.init_app(app)
    return app
