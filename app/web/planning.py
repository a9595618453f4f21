"""Planners' side: sign in, create/edit/delete projects, import files, read the audit log.

Every change goes through ``PlannerStore`` in one transaction with an audit entry.
JSON endpoints under /api/projects and /api/audit; HTML pages under /planung:

/planung/                         the project list, filtered like the map pages, with edit links
/planung/projekte/neu             project form (create): a click on its map places the point
/planung/projekte/<id>            project form (edit)
/planung/projekte/<id>/loeschen   confirm, then delete
/planung/import, /planung/protokoll, /planung/anmelden

The forms post as plain HTML forms (CSRF token in a hidden field) and the JSON API takes the
same fields (token in the X-CSRF-Token header): both go through ``save_project``.
"""
from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, current_app, flash, jsonify, redirect, request, session
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from .. import crs, geojson, i18n, maps, queries
from ..errors import BadRequest, NotFound, SignInRequired, SourceError, TooManyAttempts
from ..importer import import_projects, prepare_one
from ..params import whole_number
from ..project_filter import STATUSES, YEAR_RANGE
from ..projects import FUNDS, HANDLUNGSFELDER
from ..projects import status as derive_status
from . import audit_log, auth, filters, get_planner, get_store
from .errors import render as render_error
from .pages import export_links, map_env, render_page

bp = Blueprint("planning", __name__)
UPLOAD_DIR_KEY = "kiezkarte_upload_dir"
FORM_OVERHEAD_BYTES = 64_000
UPLOAD_KEPT_SECONDS = 24 * 3600  # longer than a session: an upload nobody confirmed is dropped after that
EDITABLE = ("title", "qm_area", "fund", "handlungsfeld", "climate", "start_year", "end_year", "cost_eur", "status",
            "place", "address", "source_url", "lat", "lon")
AUDIT_COLUMNS = "at, username, action, project_id, before, after, note"  # of /api/audit's entries


# ------------------------------------------------------------------ sign-in

@bp.get("/planung/anmelden")
def sign_in_page():
    """The form; after signing out (``?abgemeldet=1``) it says so above the form."""
    return _render("planning/sign_in.html", next=_safe_next(request.args.get("next")), error=None,
                   signed_out=request.args.get("abgemeldet") == "1" and not auth.current_user())


@bp.post("/planung/anmelden")
def sign_in():
    try:
        auth.sign_in(request.form.get("username", ""), request.form.get("password", ""))
    except (SignInRequired, TooManyAttempts) as exc:
        response = _render("planning/sign_in.html", status=exc.status, next=_safe_next(request.form.get("next")),
                           signed_out=False,
                           error=gettext("Too many failed attempts. Try again in %(n)s seconds.", n=exc.wait)
                           if isinstance(exc, TooManyAttempts) else gettext("Wrong user name or password."))
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.wait)
        return response
    return redirect(_safe_next(request.form.get("next")) or i18n.url("planning.dashboard"), code=303)


@bp.post("/planung/abmelden")
def sign_out():
    auth.sign_out()
    return redirect(i18n.url("planning.sign_in_page", abgemeldet="1"), code=303)


# ------------------------------------------------------------------ planner pages

@bp.get("/planung/")
@auth.login_required
def dashboard():
    store = get_store()
    flt = filters.page_filter()
    areas = queries.areas(store)
    projects = [p for p, _ in queries.projects(store, flt)]
    return _render("planning/dashboard.html", projects=projects, flt=flt, total=store.scalar("SELECT count(*) FROM projects"),
                   area_names={a["slug"]: a["short_name"] for a in areas}, exports=export_links(flt),
                   form=filters.filter_form(flt, areas=areas, keep=()))


# ------------------------------------------------------------------ the project form

@bp.route("/planung/projekte/neu", methods=["GET", "POST"])
@auth.login_required
def new_project():
    if request.method == "GET":
        area = request.args.get("area", "")
        return _project_form({"qm_area": area if area in _area_slugs() else ""}, project=None)
    data = _form_data(request.form)
    result = save_project(data, creating=True)
    if result.errors:
        return _project_form(data, project=None, errors=result.errors, status=400)
    flash(gettext("Project “%(title)s” created.", title=result.row["title"]))
    return redirect(_after_save(result.row), code=303)


@bp.route("/planung/projekte/<project_id>", methods=["GET", "POST"])
@auth.login_required
def edit_project(project_id):
    row, point = _project(project_id)
    if request.method == "GET":
        return _project_form(_form_values(row, point), project=(row, point))
    data = _form_data(request.form)
    result = save_project({**data, "id": project_id}, creating=False)
    if result.errors:
        return _project_form(data, project=(row, point), errors=result.errors, status=400)
    if result.action == "unchanged":
        flash(gettext("Nothing changed in “%(title)s”.", title=result.row["title"]))
    else:
        flash(gettext("Project “%(title)s” saved.", title=result.row["title"]))
    return redirect(_after_save(result.row), code=303)


@bp.route("/planung/projekte/<project_id>/loeschen", methods=["GET", "POST"])
@auth.login_required
def delete_project_page(project_id):
    """GET: ask; POST: delete (with an audit entry) and go back to the area or the list."""
    row, _ = _project(project_id)
    if request.method == "GET":
        return _render("planning/delete.html", project=row)
    planner = get_planner()
    with planner.transaction() as con:
        planner.delete(con, auth.current_user(), project_id)
    flash(gettext("Project “%(title)s” deleted.", title=row["title"]))
    if row.get("area_slug"):
        return redirect(i18n.url("pages.area", slug=row["area_slug"], _anchor="project-list"), code=303)
    return redirect(i18n.url("planning.dashboard"), code=303)


@bp.get("/planung/protokoll")
@auth.login_required
def audit_page():
    """The newest entries (of one user or project, if chosen), readable; older ones page by page."""
    args = request.args
    limit = min(whole_number(args.get("limit"), "limit", audit_log.PAGE_SIZE, minimum=1), audit_log.MAX_PAGE_SIZE)
    flt = {"user": args.get("user", "").strip()[:100], "project": args.get("project", "").strip()[:200]}
    page = audit_log.read_page(get_store(), user=flt["user"] or None, project=flt["project"] or None, limit=limit,
                               before=whole_number(args.get("before"), "before", None, minimum=1),
                               after=whole_number(args.get("after"), "after", None, minimum=0))
    keep = {k: v for k, v in flt.items() if v} | ({"limit": limit} if "limit" in args else {})
    return _render("planning/audit.html", page=page, flt=flt, keep=keep)


@bp.route("/planung/import", methods=["GET", "POST"])
@auth.login_required
def import_page():
    """Upload -> dry run report -> confirm: the same file is then imported for real."""
    if request.method == "GET":
        return _import_page()
    upload_id = request.form.get("upload_id")
    given_crs = request.form.get("crs", "").strip() or None  # for x/y columns of a CSV; else detected
    try:
        if upload_id:  # the confirmation of an earlier dry run
            path, name = _stored_upload(upload_id)
            report = _import(path, name, dry_run=False, crs=given_crs)
            if report.committed:
                _drop_upload(upload_id)
            return _import_page(report=report, given_crs=given_crs)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise BadRequest(gettext("Choose a file to upload."))
        upload_id, path = _store_upload(upload)
        report = _import(path, upload.filename, dry_run=True, crs=given_crs)
    except SourceError as exc:  # a file that cannot be read at all: say why, with the form to try another
        _drop_upload(upload_id)
        return _import_page(exc.status, given_crs=given_crs, problem=gettext(
            "%(file)s cannot be imported: %(reason)s", file=exc.path, reason=i18n.reason(exc.reason)))
    except BadRequest as exc:  # no file, or a CRS nobody knows
        _drop_upload(upload_id)
        return _import_page(exc.status, given_crs=given_crs, problem=i18n.reason(exc.message))
    if report.errors or not (report.counts["create"] or report.counts["update"]):  # nothing to confirm
        _drop_upload(upload_id)
        upload_id = None
    return _import_page(report=report, upload_id=upload_id, given_crs=given_crs)


@bp.app_errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    """The upload page says so next to its form; anything else gets the usual error."""
    if request.endpoint == "planning.import_page" and auth.current_user():
        limit = i18n.number(int(current_app.config["MAX_UPLOAD_BYTES"]) / 1_000_000, digits=1)
        return _import_page(413, problem=gettext("The file is larger than the limit of %(limit)s MB.", limit=limit))
    return render_error(413, exc.description)


def _import_page(status: int = 200, *, report=None, upload_id=None, given_crs=None, problem=None):
    return _render("planning/import.html", status=status, report=report, upload_id=upload_id, given_crs=given_crs,
                   problem=problem, crs_candidates=", ".join(f"EPSG:{e}" for e in crs.CANDIDATE_EPSG if e != 4326))


# ------------------------------------------------------------------ JSON API for editing

@bp.post("/api/projects")
@auth.login_required
def create_project():
    return _save_json(request.get_json(silent=True) or request.form.to_dict(), creating=True)


@bp.put("/api/projects/<project_id>")
@auth.login_required
def update_project(project_id):
    data = request.get_json(silent=True) or request.form.to_dict()
    return _save_json({**data, "id": project_id}, creating=False)


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
    response = jsonify({"entries": _audit_entries(whole_number(request.args.get("limit"), "limit", 200, minimum=1))})
    response.cache_control.no_store = True
    return response


@bp.get("/api/audit/<int:fid>")
@auth.login_required
def audit_entry(fid):
    """One entry as /api/audit gives it (before and after as stored JSON): the audit page links here."""
    rows = get_store().query(f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE fid = ?", (fid,))
    if not rows:
        raise NotFound(f"no audit log entry {fid}")
    response = jsonify(rows[0])
    response.cache_control.no_store = True
    return response


# ------------------------------------------------------------------ helpers

@dataclass
class SaveResult:
    action: str | None = None  # created | updated | unchanged
    row: dict | None = None
    point: object = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)


def save_project(data: dict, *, creating: bool) -> SaveResult:
    """One project from a form or JSON, validated by the importer's rules, saved with an audit entry.

    A new project gets a fresh id (never overwriting another one of the same title); an
    edit keeps what the research stated (fund, cost, area as written) where the value
    itself did not change, so saving an untouched form changes nothing.
    """
    unknown = set(data) - set(EDITABLE) - {"id", "csrf_token"}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    store = get_store()
    existing = None
    if not creating:
        existing = _project(data["id"])[0]
    if creating and data.get("id") and store.scalar("SELECT count(*) FROM projects WHERE id = ?", (data["id"],)):
        raise BadRequest(f"a project with id '{data['id']}' exists already")
    report, values, geom = prepare_one(store, data)
    if report.errors:
        return SaveResult(errors=list(report.errors))
    if creating and not data.get("id"):
        values["id"] = _free_id(values["id"])
    if existing is not None:
        _keep_stated(values, existing)
    planner = get_planner()
    values["origin"] = "edit"
    with planner.transaction() as con:
        action = planner.save(con, auth.current_user(), values, geom, action_note="edited on the web")
        row, point = planner.project(con, values["id"])
    return SaveResult(action=action, row=row, point=point)


def _save_json(data: dict, *, creating: bool):
    result = save_project(data, creating=creating)
    if result.errors:
        return jsonify({"error": "; ".join(f"{f}: {r}" for f, r in result.errors),
                        "errors": [{"field": f, "reason": r} for f, r in result.errors]}), 400
    status = 201 if result.action == "created" else 200
    return jsonify({"action": result.action,
                    "project": geojson.feature(result.row, result.point, feature_id=result.row["id"])}), status


def _free_id(project_id: str) -> str:
    store = get_store()
    candidate, n = project_id, 1
    while store.scalar("SELECT count(*) FROM projects WHERE id = ?", (candidate,)):
        n += 1
        candidate = f"{project_id}-{n}"
    return candidate


def _keep_stated(values: dict, old: dict) -> None:
    """Where a normalised value is unchanged, keep how the source stated it."""
    for value_key, stated_key in (("fund", "fund_stated"), ("cost_eur", "cost_stated"), ("area_slug", "qm_area_stated")):
        if values.get(value_key) == old.get(value_key):
            values[stated_key] = old.get(stated_key)
    if (values.get("handlungsfelder") or "") == (old.get("handlungsfelder") or ""):
        values["handlungsfeld_inferred"] = old.get("handlungsfeld_inferred")


def _project(project_id: str) -> tuple[dict, object]:
    found = get_store().features("projects", "id = ?", (project_id,))
    if not found:
        raise NotFound(gettext("There is no project “%(id)s” (any more).", id=project_id))
    return found[0]


def _area_slugs() -> set[str]:
    return {a["slug"] for a in queries.areas(get_store())}


def _form_data(form) -> dict:
    """The form's fields as the texts save_project takes (Handlungsfelder joined, climate as 1/0)."""
    data = {key: (form.get(key) or "").strip() for key in EDITABLE if key not in ("handlungsfeld", "climate")}
    data["handlungsfeld"] = ";".join(h for h in form.getlist("handlungsfeld") if h in HANDLUNGSFELDER)
    data["climate"] = "1" if form.get("climate") else "0"
    return data


def _plain_number(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _form_values(row: dict, point) -> dict:
    """A stored project as the form's texts. Only an exact location fills lat/lon; others are
    placed again by place, address or area when saved, as they were."""
    lat = lon = ""
    if row.get("location_precision") == "exact" and point is not None:
        lon_f, lat_f = crs.store_to_web_transformer().transform(point.x, point.y)
        lat, lon = f"{lat_f:.6f}", f"{lon_f:.6f}"
    derived = derive_status(row.get("start_year"), row.get("end_year"))
    return {"title": row.get("title") or "", "qm_area": row.get("area_slug") or "",
            "fund": "" if row.get("fund") in (None, "not stated") else row["fund"],
            "handlungsfeld": row.get("handlungsfelder") or "", "climate": "1" if row.get("climate") else "0",
            "start_year": _plain_number(row.get("start_year")), "end_year": _plain_number(row.get("end_year")),
            "cost_eur": _plain_number(row.get("cost_eur")),
            "status": "" if row.get("status") == derived else (row.get("status") or ""),
            "place": row.get("place") or "", "address": row.get("address") or "",
            "source_url": row.get("source_url") or "", "lat": lat, "lon": lon}


LOCATION_FIELDS = ("lat", "lon", "geometry", "wkt", "x", "y")
FORM_FIELDS = ("title", "qm_area", "fund", "handlungsfeld", "start_year", "end_year", "cost_eur", "status", "climate",
               "place", "address", "source_url", "location")


def field_errors(errors: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The importer's (field, reason) as translated messages by form field ('location' for lat/lon)."""
    out: dict[str, list[str]] = {}
    for name, reason in errors:
        key = "location" if name in LOCATION_FIELDS else (name if name in FORM_FIELDS else "form")
        message = _field_message(key, reason)
        if message not in out.setdefault(key, []):
            out[key].append(message)
    return out


def _field_message(key: str, reason: str) -> str:
    if "longer than" in reason:
        return gettext("This text is too long.")
    if key == "title":
        return gettext("Give the project a title.")
    if key in ("start_year", "end_year"):
        if "before start_year" in reason:
            return gettext("The end year lies before the start year.")
        return gettext("Give a year between %(first)s and %(last)s.", first=YEAR_RANGE[0], last=YEAR_RANGE[1])
    if key == "cost_eur":
        return gettext("Give the cost as an amount in euros, e.g. 120000 or 120.000,50.")
    if key == "qm_area":
        return gettext("Choose a QM area from the list.")
    if key == "location":
        if "swapped" in reason:
            return gettext("Latitude and longitude look swapped: in Berlin the latitude is about 52.5 and the "
                           "longitude about 13.4.")
        if "outside" in reason:
            return gettext("The point lies outside Berlin. Click the map, or correct latitude and longitude.")
        return gettext("Latitude and longitude must be numbers, e.g. 52.5331 and 13.3283.")
    if key == "fund":
        return gettext("Choose a fund from the list.")
    if key == "handlungsfeld":
        return gettext("Choose fields of action from the list.")
    if key == "status":
        return gettext("Choose a status from the list.")
    return i18n.reason(reason)


def _project_form(values: dict, *, project, errors=(), status: int = 200):
    """The create/edit form with its map; ``project`` is (row, point) when editing."""
    store = get_store()
    areas = sorted(queries.areas(store), key=lambda a: a["short_name"])
    point = current = None
    if values.get("lat") and values.get("lon"):
        try:
            point = (float(values["lat"].replace(",", ".")), float(values["lon"].replace(",", ".")))
        except ValueError:
            point = None
        (south, west), (north, east) = maps.BERLIN_BOUNDS
        if point is not None and not (south <= point[0] <= north and west <= point[1] <= east):
            point = None  # a point outside Berlin (the form says so) is not drawn: the map shows Berlin
    if project is not None and project[1] is not None:
        lon, lat = crs.store_to_web_transformer().transform(project[1].x, project[1].y)
        current = (round(lat, 6), round(lon, 6))
    slug = values.get("qm_area") or (project[0].get("area_slug") if project else None)
    area_geom = queries.area(store, slug)[1] if slug in {a["slug"] for a in areas} else None
    map_page = maps.editor_map(map_env(), point=point, current=current, area_slug=slug, area_geom=area_geom)
    fields = set((values.get("handlungsfeld") or "").split(";"))
    return _render("planning/project_form.html", status=status, map_page=map_page, values=values,
                   project=project[0] if project else None, areas=areas, errors=field_errors(list(errors)),
                   funds=[(f, i18n.label(i18n.FUND, f)) for f in FUNDS if f != "not stated"],
                   handlungsfelder=[(h, i18n.label(i18n.HANDLUNGSFELD, h), h in fields) for h in HANDLUNGSFELDER],
                   statuses=[(s_, i18n.label(i18n.PROJECT_STATUS, s_)) for s_ in STATUSES],
                   precision=i18n.label(i18n.LOCATION_PRECISION, project[0]["location_precision"]) if project else None)


def _after_save(row: dict) -> str:
    if row.get("area_slug"):
        return i18n.url("pages.area", slug=row["area_slug"], _anchor=f"project-{row['id']}")
    return i18n.url("planning.dashboard")


def _audit_entries(limit: int) -> list[dict]:
    limit = max(1, min(limit, 2000))
    return get_store().query(f"SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY fid DESC LIMIT ?", (limit,))


def _import(path: Path, name: str, *, dry_run: bool, crs: str | None):
    return import_projects(path, get_store(), get_planner(), username=auth.current_user(), dry_run=dry_run, crs=crs,
                           max_bytes=int(current_app.config["MAX_UPLOAD_BYTES"]), display_name=name)


def _upload_dir() -> Path:
    folder = current_app.extensions.get(UPLOAD_DIR_KEY)
    if folder is None:
        folder = current_app.extensions[UPLOAD_DIR_KEY] = Path(tempfile.mkdtemp(prefix="kiezkarte-uploads-"))
    return folder


def _store_upload(upload) -> tuple[str, Path]:
    _drop_old_uploads()
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


def _drop_upload(upload_id: str | None) -> None:
    if not upload_id:
        return
    for path in _upload_dir().glob(f"{upload_id}*"):
        path.unlink(missing_ok=True)
    session.get("uploads", {}).pop(upload_id, None)
    session.modified = True


def _drop_old_uploads() -> None:
    too_old = time.time() - UPLOAD_KEPT_SECONDS
    for path in _upload_dir().iterdir():
        try:
            if path.stat().st_mtime < too_old:
                path.unlink()
        except FileNotFoundError:  # another worker dropped it first
            pass


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no '//'): no open redirects."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _render(template: str, status: int = 200, **context):
    response = render_page(template, status=status, **context)
    response.cache_control.no_store = True
    response.cache_control.private = True
    return response
