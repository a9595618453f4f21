"""Planners' side: sign in, create/edit/delete projects, import files, read the audit log.

Every change goes through ``PlannerStore`` in one transaction with an audit entry.
JSON endpoints under /api/projects and /api/audit; HTML pages under /planung.
"""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, request, session
from flask_babel import gettext

from .. import geojson, i18n, queries
from ..errors import BadRequest, NotFound, SignInRequired, TooManyAttempts
from ..importer import import_projects
from ..project_filter import ProjectFilter
from . import auth, get_planner, get_store

bp = Blueprint("planning", __name__)
UPLOAD_DIR_KEY = "kiezkarte_upload_dir"
EDITABLE = ("title", "qm_area", "fund", "handlungsfeld", "climate", "start_year", "end_year", "cost_eur", "status",
            "place", "address", "source_url", "lat", "lon")


# ------------------------------------------------------------------ sign-in

@bp.get("/planung/anmelden")
def sign_in_page():
    return _render("planning/sign_in.html", next=_safe_next(request.args.get("next")), error=None)


@bp.post("/planung/anmelden")
def sign_in():
    try:
        auth.sign_in(request.form.get("username", ""), request.form.get("password", ""))
    except (SignInRequired, TooManyAttempts) as exc:
        response = _render("planning/sign_in.html", status=exc.status, next=_safe_next(request.form.get("next")),
                           error=gettext("Too many failed attempts. Try again in %(n)s seconds.", n=exc.wait)
                           if isinstance(exc, TooManyAttempts) else gettext("Wrong user name or password."))
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.wait)
        return response
    return redirect(_safe_next(request.form.get("next")) or i18n.url("planning.dashboard"), code=303)


@bp.post("/planung/abmelden")
def sign_out():
    auth.sign_out()
    return redirect(i18n.url("pages.index"), code=303)


# ------------------------------------------------------------------ planner pages

@bp.get("/planung/")
@auth.login_required
def dashboard():
    store = get_store()
    flt = ProjectFilter.from_args(request.args)
    projects = [p for p, _ in queries.projects(store, flt)]
    return _render("planning/dashboard.html", projects=projects, flt=flt, areas=queries.areas(store))


@bp.get("/planung/protokoll")
@auth.login_required
def audit_page():
    return _render("planning/audit.html", entries=_audit_entries(int(request.args.get("limit", 200))))


@bp.route("/planung/import", methods=["GET", "POST"])
@auth.login_required
def import_page():
    """Upload -> dry run report -> confirm: the same file is then imported for real."""
    if request.method == "GET":
        return _render("planning/import.html", report=None, upload_id=None)
    upload_id = request.form.get("upload_id")
    if upload_id:  # the confirmation of an earlier dry run
        path, name = _stored_upload(upload_id)
        report = _import(path, name, dry_run=False)
        if report.committed:
            _drop_upload(upload_id)
        return _render("planning/import.html", report=report, upload_id=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest(gettext("Choose a file to upload."))
    upload_id, path = _store_upload(upload)
    report = _import(path, upload.filename, dry_run=True)
    return _render("planning/import.html", report=report, upload_id=upload_id if not report.errors else None)


# ------------------------------------------------------------------ JSON API for editing

@bp.post("/api/projects")
@auth.login_required
def create_project():
    return _save(request.get_json(silent=True) or request.form.to_dict(), creating=True)


@bp.put("/api/projects/<project_id>")
@auth.login_required
def update_project(project_id):
    data = request.get_json(silent=True) or request.form.to_dict()
    return _save({**data, "id": project_id}, creating=False)


@bp.delete("/api/projects/<project_id>")
@auth.login_required
def delete_project(project_id):
    planner = get_planner()
    with planner.transaction() as con:
        planner.delete(con, auth.current_user(), project_id)
    return jsonify({"deleted": project_id})


@bp.get("/api/audit")
@auth.login_required
def audit():
    response = jsonify({"entries": _audit_entries(int(request.args.get("limit", 200)))})
    response.cache_control.no_store = True
    return response


# ------------------------------------------------------------------ helpers

def _save(data: dict, *, creating: bool):
    """One project from a form or JSON, validated by the importer's rules, saved with an audit entry."""
    unknown = set(data) - set(EDITABLE) - {"id", "csrf_token"}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    if not creating and get_store().scalar("SELECT count(*) FROM projects WHERE id = ?", (data["id"],)) == 0:
        raise NotFound(f"no project '{data['id']}'")
    if creating and data.get("id") and get_store().scalar("SELECT count(*) FROM projects WHERE id = ?", (data["id"],)):
        raise BadRequest(f"a project with id '{data['id']}' exists already")
    from ..importer import prepare_one
    report, values, geom = prepare_one(get_store(), data)
    if report.errors:
        return jsonify({"error": "; ".join(f"{f}: {r}" for f, r in report.errors),
                        "errors": [{"field": f, "reason": r} for f, r in report.errors]}), 400
    planner = get_planner()
    values["origin"] = "edit"
    with planner.transaction() as con:
        action = planner.save(con, auth.current_user(), values, geom, action_note="edited on the web")
        row, point = planner.project(con, values["id"])
    status = 201 if action == "created" else 200
    return jsonify({"action": action, "project": geojson.feature(row, point, feature_id=row["id"])}), status


def _audit_entries(limit: int) -> list[dict]:
    limit = max(1, min(limit, 2000))
    return get_store().query("SELECT at, username, action, project_id, before, after, note FROM audit_log "
                             "ORDER BY fid DESC LIMIT ?", (limit,))


def _import(path: Path, name: str, *, dry_run: bool):
    return import_projects(path, get_store(), get_planner(), username=auth.current_user(), dry_run=dry_run,
                           max_bytes=int(current_app.config["MAX_UPLOAD_BYTES"]), display_name=name)


def _upload_dir() -> Path:
    folder = current_app.extensions.get(UPLOAD_DIR_KEY)
    if folder is None:
        folder = current_app.extensions[UPLOAD_DIR_KEY] = Path(tempfile.mkdtemp(prefix="kiezkarte-uploads-"))
    return folder


def _store_upload(upload) -> tuple[str, Path]:
    upload_id = secrets.token_urlsafe(16)
    suffix = Path(upload.filename).suffix.lower()[:10]
    path = _upload_dir() / f"{upload_id}{suffix}"
    upload.save(path)
    session.setdefault("uploads", {})[upload_id] = upload.filename[:200]
    session.modified = True
    return upload_id, path


def _stored_upload(upload_id: str) -> tuple[Path, str]:
    name = session.get("uploads", {}).get(upload_id)
    matches = list(_upload_dir().glob(f"{upload_id}.*")) + list(_upload_dir().glob(upload_id))
    if name is None or not matches:
        raise NotFound(gettext("That upload is gone; upload the file again."))
    return matches[0], name


def _drop_upload(upload_id: str) -> None:
    for path in _upload_dir().glob(f"{upload_id}*"):
        os.unlink(path)
    session.get("uploads", {}).pop(upload_id, None)
    session.modified = True


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no '//'): no open redirects."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _render(template: str, status: int = 200, **context):
    from .pages import _page
    response = _page(template, status=status, **context)
    response.cache_control.no_store = True
    response.cache_control.private = True
    return response
