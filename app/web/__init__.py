"""The web layer: thin views over the store."""
from __future__ import annotations

import os

from flask import Blueprint, Flask, current_app, jsonify

from ..store import Store, open_store, planner

ops = Blueprint("ops", __name__)


def get_store() -> Store:
    """The app's store, opened once per process on first use (seeding the planner store if new)."""
    store = current_app.extensions.get("kiezkarte_store")
    if store is None:
        config = current_app.config
        planner_path = config["PLANNER_STORE"] or planner.default_path(config["STORE"])
        store = open_store(config["STORE"], planner_path)
        if not os.path.exists(planner_path):
            planner.ensure(planner_path, store.read_layer("research_projects"))
        current_app.extensions["kiezkarte_store"] = store
    return store


def get_planner() -> planner.PlannerStore:
    """The writable planner store (projects, accounts, audit log)."""
    writer = current_app.extensions.get("kiezkarte_planner")
    if writer is None:
        writer = planner.PlannerStore(get_store().planner_path)
        current_app.extensions["kiezkarte_planner"] = writer
    return writer


@ops.get("/healthz")
def healthz():
    """Cheap liveness and store check (also the baseline of the request benchmarks)."""
    store = get_store()
    return jsonify({"status": "ok", "store": "reachable" if store.scalar("SELECT 1") == 1 else "unreachable"})


def init_app(app: Flask) -> None:
    from . import api, errors, http, ogc
    errors.init_app(app)
    http.init_app(app)
    app.register_blueprint(ops)
    app.register_blueprint(api.bp)
    app.register_blueprint(ogc.bp)
    from . import pages  # HTML pages, languages, static files; registers the HTML error renderer
    pages.init_app(app)
    from . import auth, planning  # planners: sign-in, CSRF, editing, imports, audit log
    auth.init_app(app)
    app.register_blueprint(planning.bp)
