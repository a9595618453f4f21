"""JSON API: thin views that parse the request, call one function and answer."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .. import lookup
from . import get_store

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/lookup")
def lookup_view():
    args = request.args
    store = get_store()
    if "address" in args:
        return jsonify(lookup.lookup_address(store, args["address"]))
    return jsonify(lookup.lookup_point(store, lon=args.get("lon"), lat=args.get("lat"), x=args.get("x"), y=args.get("y")))
