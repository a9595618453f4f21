"""The web layer: thin views over the store."""
from __future__ import annotations

from flask import Flask, current_app, g

from ..store import Store, open_store


def get_store() -> Store:
    """The app's store, opened once per process on first use."""
    store = current_app.extensions.get("kiezkarte_store")
    if store is None:
        store = open_store(current_app.config["STORE"])
        current_app.extensions["kiezkarte_store"] = store
    return store


def init_app(app: Flask) -> None:
    from . import api
    app.register_blueprint(api.bp)
