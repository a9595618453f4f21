"""The web layer: thin views over the store."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify

from ..store import Store, backend, open_planner, open_store, planner

ops = Blueprint("ops", __name__)


def get_store() -> Store:
    """The app's store (GeoPackage or PostGIS, by the STORE setting), opened once per process
    on first use, with the planner store readable beside it (created and seeded if new)."""
    store = current_app.extensions.get("kiezkarte_store")
    if store is None:
        store = open_store(current_app.config["STORE"], get_planner().path)
        current_app.extensions["kiezkarte_store"] = store
    return store


def get_planner() -> planner.PlannerStore:
    """The writable planner store (projects, accounts, audit log)."""
    writer = current_app.extensions.get("kiezkarte_planner")
    if writer is None:
        config = current_app.config
        writer = open_planner(config["STORE"], config["PLANNER_STORE"] or None)
        current_app.extensions["kiezkarte_planner"] = writer
    return writer


@ops.get("/healthz")
def healthz():
    """Cheap liveness and store check (also the baseline of the request benchmarks); 503 when
    the store cannot be read."""
    try:
        reachable = get_store().scalar("SELECT 1") == 1
    except Exception:  # noqa: BLE001 - any failure to read is "unreachable", reported, not raised
        current_app.logger.exception("healthz: the store cannot be read")
        reachable = False
    body = {"status": "ok" if reachable else "error", "store": "reachable" if reachable else "unreachable",
            "backend": backend(current_app.config["STORE"])}
    return jsonify(body), 200 if reachable else 503


def init_app(app: Flask) -> None:
    from . import api, errors, http, ogc, request_input
    errors.init_app(app)
    http.init_app(app)
    request_input.init_app(app)
    app.register_blueprint(ops)
    app.register_blueprint(api.bp)
    app.register_blueprint(ogc.bp)
    from . import tiles  # big point layers: vector tiles, TileJSON, a map page per layer
    app.register_blueprint(tiles.bp)
    from . import pages  # HTML pages, languages, static files; registers the HTML error renderer
    pages.init_app(app)
    from . import auth, planning  # planners: sign-in, CSRF, editing, imports, audit log
    auth.init_app(app)
    app.register_blueprint(planning.bp)
    from . import embed  # maps for other websites, oEmbed; no sessions there
    embed.init_app(app)
    # a body over the upload limit (plus room for the form's other fields) is refused before it is read
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_UPLOAD_BYTES"]) + planning.FORM_OVERHEAD_BYTES
    if app.config.get("UPLOAD_DIR"):  # shared by the worker processes of `kiezkarte serve --workers`
        app.extensions[planning.UPLOAD_DIR_KEY] = Path(app.config["UPLOAD_DIR"])
