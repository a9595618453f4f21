"""OpenAPI 3.0 description of the JSON API under /api, built from the same declarations
the views use (filters, layers, indicators), so the description cannot drift far."""
from __future__ import annotations

from . import queries
from .export import FORMATS, LAYERS as EXPORT_LAYERS
from .project_filter import FUND_KEYS, HANDLUNGSFELD_KEYS, STATUSES
from .projects import PRECISIONS
from .stats import SORTABLE

ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
GEOJSON = {"description": "GeoJSON (RFC 7946, EPSG:4326)",
           "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/GeoJSON"}}}}
JSON = {"description": "JSON", "content": {"application/json": {"schema": {"type": "object"}}}}
FILE = {"description": "the file", "content": {
    "application/geo+json": {"schema": {"$ref": "#/components/schemas/GeoJSON"}},
    "text/csv": {"schema": {"type": "string"}},
    "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}}}}


_STRING, _STRINGS = {"type": "string"}, {"type": "array", "items": {"type": "string"}}
ADDRESS = {"type": "object", "required": ["street", "hnr", "hnr_suffix", "plz", "ortsteil"],
           "properties": {k: _STRING for k in ("street", "hnr", "hnr_suffix", "plz", "ortsteil")}}
KIEZ = {  # the Planungsraum and QM areas of an address or a point
    "planungsraum": {"type": "object", "required": ["plr_id", "plr_name", "bezirk", "bezirksregion"],
                     "properties": {k: _STRING for k in ("plr_id", "plr_name", "bezirk", "bezirksregion")}},
    "qm_areas": {"type": "array", "items": {"type": "object", "required": ["slug", "name", "status", "boundary_basis"],
                                            "properties": {k: _STRING for k in ("slug", "name", "status", "boundary_basis")}}}}
SUGGESTIONS = {"type": "array", "items": {  # streets, or addresses once a house number is typed
    "type": "object", "required": ["label", "street", "plz", "ortsteil"],
    "properties": {k: _STRING for k in ("label", "search", "street", "hnr", "hnr_suffix", "plz", "ortsteil", "plr_id")}}}
SUGGEST = {"description": "Streets starting with the text (or spelled alike), or addresses once a house number is typed",
           "content": {"application/json": {"schema": {"type": "object", "required": ["query", "suggestions"],
                                                       "properties": {"query": _STRING, "suggestions": SUGGESTIONS}}}}}
LOOKUP = {"description": "The Kiez found, or why none was (found false, a reason, suggestions)",
          "content": {"application/json": {"schema": {"type": "object", "required": ["found"], "properties": {
              "query": {**_STRING, "description": "the address as typed"},
              "found": {"type": "boolean"},
              "reason": {"type": "string", "enum": ["not_an_address", "no_house_number", "not_found", "outside_berlin"]},
              "message": _STRING,
              "suggestions": {**SUGGESTIONS, "description": "streets or addresses spelled alike; search: the text "
                              "to look up for this choice (it keeps a typed house number)"},
              "address": {**ADDRESS, "description": "the address found; of several, the first by typed suffix, "
                                                    "suffix and postcode"},
              "exact": {"type": "boolean", "description": "the typed house-number suffix exists"},
              **KIEZ,
              "ambiguous": {"type": "boolean", "description": "no postcode was typed and the address exists in more "
                            "than one Planungsraum (see other_matches): ask which one is meant"},
              "other_planungsraeume": {**_STRINGS, "description": "the Planungsräume of other_matches but the one "
                                       "answered"},
              "other_matches": {"type": "array", "description": "the same street and number under other postcodes or "
                                "in other Planungsräume, each with its Kiez", "items": {
                                    "type": "object", "required": ["address", "planungsraum", "qm_areas"],
                                    "properties": {"address": ADDRESS, **KIEZ}}},
              "point": {"type": "object", "required": ["x", "y", "crs"], "properties": {
                  "x": {"type": "number"}, "y": {"type": "number"}, "crs": _STRING}}}}}}}


NO_NUL = "^[^\\u0000]*$"  # every text parameter: NUL characters are refused (app/web/request_input.py)


def _param(name, schema, description="", where="query", required=False):
    if schema.get("type") == "string" and "enum" not in schema and "pattern" not in schema:
        schema = {**schema, "pattern": NO_NUL}
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema}


def _list_of(values):
    one = "(" + "|".join(values) + ")"
    return {"type": "string", "pattern": f"^{one}(,{one})*$", "description": "comma-separated: " + ", ".join(values)}


_NUMBER = r"-?[0-9]{1,3}(\.[0-9]{1,8})?"
BBOX = {"type": "string", "pattern": f"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$",
        "description": "west,south,east,north (lon/lat), west < east and south < north"}


FILTER_PARAMS = [
    _param("fund", _list_of(FUND_KEYS), "funds"),
    _param("handlungsfeld", _list_of(HANDLUNGSFELD_KEYS), "fields of action"),
    _param("status", _list_of(STATUSES), "project status"),
    _param("precision", _list_of(PRECISIONS), "location precision"),
    _param("year_from", {"type": "integer", "minimum": 1990, "maximum": 2100},
           "projects running in or after this year; not after year_to (400)"),
    _param("year_to", {"type": "integer", "minimum": 1990, "maximum": 2100},
           "projects running in or before this year; not before year_from (400)"),
    _param("climate", {"type": "string", "enum": ["true", "false"]}, "Soziales Klimaprojekt"),
    _param("area", {"type": "string"}, "QM area slug"),
    _param("bbox", BBOX, "only projects in this box"),
    _param("q", {"type": "string", "maxLength": 100}, "text in title or place"),
]


COMPARE_PARAMS = [_param("sort", {"type": "string", "enum": list(SORTABLE)}),
                  _param("order", {"type": "string", "enum": ["asc", "desc"]})]


def _get(summary, params=(), ok=JSON, errors=(400,)):
    responses = {"200": ok, **{str(code): ERROR for code in errors}}
    return {"get": {"summary": summary, "parameters": list(params), "responses": responses}}


def spec() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Kiezkarte API", "version": "1",
                 "description": "Berlin's Quartiersmanagement areas, Planungsräume with environmental-justice "
                                "indicators, projects, look-ups. GeoJSON in EPSG:4326 with at most 6 decimals; "
                                "every layer carries its attribution."},
        "paths": {
            "/api/areas": _get("All QM areas (geometry null where no boundary is known)", ok=GEOJSON, errors=()),
            "/api/areas/{slug}": _get("One QM area with its figures next to Berlin's",
                                      [_param("slug", {"type": "string"}, where="path")], GEOJSON, (404,)),
            "/api/planungsraeume": _get("The 542 Planungsräume, simplified, with indicators; or only those near a QM "
                                        "area or meeting a box", [_param("area", {"type": "string"}, "a QM area's slug"),
                                                                  _param("bbox", BBOX, "only Planungsräume meeting this box")],
                                        GEOJSON, (400, 404)),
            "/api/planungsraeume/{plr_id}": _get("One Planungsraum", [_param("plr_id", {"type": "string"}, where="path")],
                                                 GEOJSON, (404,)),
            "/api/bezirke": _get("District outlines", ok=GEOJSON, errors=()),
            "/api/projects": _get("Projects matching the filter", FILTER_PARAMS, GEOJSON, (400, 404)),
            "/api/places": _get("Facilities and refreshment points",
                                [_param("kind", _list_of(queries.PLACE_KINDS), required=True),
                                 _param("bbox", BBOX, "only places in this box")], GEOJSON),
            "/api/lookup": _get("An address or a point -> Planungsraum and QM areas", [
                _param("address", {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"}),
                _param("lat", {"type": "number"}),
                _param("lon", {"type": "number"}), _param("x", {"type": "number"}), _param("y", {"type": "number"})],
                LOOKUP),
            "/api/suggest": _get("Address suggestions as you type", [_param("q", {"type": "string", "maxLength": 200})],
                                 SUGGEST),
            "/api/indicators": _get("Indicator classes, colours and labels", errors=()),
            "/api/layers": _get("The layer catalogue with attribution", errors=()),
            "/api/stats": _get("Projects and money by fund, Handlungsfeld, year and burden", FILTER_PARAMS,
                               {**JSON, "description": "JSON. Each group has projects, with_cost (how many of them "
                                "state a cost) and money_eur, the sum of the stated costs: a number, or null "
                                "where no project of the group states a cost (unknown, not 0)."}, (400, 404)),
            "/api/compare": _get("All QM areas compared", COMPARE_PARAMS,
                                 {**JSON, "description": "JSON. money_eur is the sum of the stated costs of the "
                                  "area's projects: a number, or null where none states a cost. Areas without "
                                  "the sorted figure (null) come last in both orders."}),
            "/api/compare.csv": _get("All QM areas compared, as CSV", COMPARE_PARAMS,
                {"description": "CSV; an unknown figure (e.g. money_eur where no project states a cost) is an "
                                "empty cell", "content": {"text/csv": {"schema": {"type": "string"}}}}),
            "/api/export/projects.{fmt}": _get("Projects matching the filter, as a file", [
                _param("fmt", {"type": "string", "enum": list(FORMATS)}, where="path"), *FILTER_PARAMS],
                FILE, (400, 404)),
            "/api/export/{layer_id}.{fmt}": _get("A whole layer as a file", [
                _param("layer_id", {"type": "string", "enum": sorted(set(EXPORT_LAYERS) - {"projects"})}, where="path"),
                _param("fmt", {"type": "string", "enum": list(FORMATS)}, where="path")], FILE, (404,)),
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "GeoJSON": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string", "enum": ["Feature", "FeatureCollection"]}}},
        }},
    }
