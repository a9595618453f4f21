"""QM areas: their boundaries (approximated from Planungsräume, or official) and basis.

The researched table ``qm/qm_areas.csv`` names, per area, the Planungsräume a source
describes (``source``) or whose name matches (``name-match``). Their union is drawn,
always with its ``boundary_basis``, until official boundaries are imported
(``official``). Areas without any basis stay listed, not drawn (``none``).
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from .errors import SourceError
from .names import aliases, name_key, short_name, slugify

BASIS = {"source": "source", "name-match": "name-match", "unknown": "none"}
BASIS_LABELS = {
    "official": ("amtliche Gebietsgrenze", "official boundary"),
    "source": ("Planungsräume laut Quelle (angenähert)", "planning areas named by a source (approximate)"),
    "name-match": ("namensgleicher Planungsraum (grobe Annäherung)", "planning area of the same name (rough approximation)"),
    "none": ("keine Grenze bekannt", "no boundary known"),
}
NAME_COLUMNS = ("name", "NAME", "Name", "gebiet", "GEBIET", "gebietsname", "GEBIETSNAME", "qm_name", "QM_NAME",
                "bezeichnung", "BEZEICHNUNG", "qm_gebiet", "QM_GEBIET")


def status_group(status: str) -> str:
    """'active' for areas with a QM team now, 'ended' for verstetigt or merged ones."""
    s = (status or "").lower()
    return "active" if s.startswith("active") or s.startswith("ending") else "ended"


def build_areas(table: pd.DataFrame, plr: gpd.GeoDataFrame, notes: list[str], path="qm_areas.csv") -> gpd.GeoDataFrame:
    """One row per area; geometry = union of its Planungsräume (None when it has none)."""
    plr_geom = dict(zip(plr["plr_id"], plr.geometry))
    rows, geoms = [], []
    for i, r in enumerate(table.itertuples(index=False)):
        ids = [p.strip() for p in (r.plr_ids or "").split(";") if p.strip()]
        unknown = [p for p in ids if p not in plr_geom]
        for p in unknown:
            notes.append(f"{path}: row {i + 2}: plr_ids '{p}' matches no Planungsraum")
        ids = [p for p in ids if p in plr_geom]
        basis = BASIS[r.plr_basis] if ids else "none"
        geoms.append(shapely.union_all([plr_geom[p] for p in ids]) if ids else None)
        rows.append({
            "slug": slugify(short_name(r.name)), "name": r.name, "short_name": short_name(r.name),
            "bezirk": r.bezirk, "start_year": _int(r.start_year), "end_year": _int(r.end_year),
            "status": r.status, "status_group": status_group(r.status), "plr_ids": ";".join(ids),
            "boundary_basis": basis, "residents_stated": _int(r.residents_stated),
            "residents_stated_as_of": r.residents_stated_as_of, "website": r.website, "sources": r.sources,
        })
    areas = gpd.GeoDataFrame(rows, geometry=geoms, crs=plr.crs)
    dup = areas["slug"].duplicated()
    if dup.any():
        raise SourceError(path, f"two areas share the short name '{areas['slug'][dup].iloc[0]}'", field="name")
    return areas


def apply_official(areas: gpd.GeoDataFrame, official: gpd.GeoDataFrame, path, notes: list[str]) -> gpd.GeoDataFrame:
    """Replace boundaries by official ones, matched by area name; the basis becomes 'official'.

    Every official feature must match exactly one area (by its name, short name or an
    alias in parentheses); a feature that matches none or several stops the import.
    """
    column = next((c for c in NAME_COLUMNS if c in official.columns), None)
    if column is None:
        raise SourceError(path, f"no name column (looked for {', '.join(NAME_COLUMNS[:6])}, …)", field="name")
    index: dict[str, set[int]] = {}
    for i, name in enumerate(areas["name"]):
        for alias in aliases(name):
            index.setdefault(name_key(alias), set()).add(i)
    areas = areas.copy()
    matched: dict[int, list] = {}
    for row, (name, geom) in enumerate(zip(official[column], official.geometry)):
        keys = {name_key(a) for a in aliases(str(name))}
        hits = set().union(*(index.get(k, set()) for k in keys))
        if len(hits) != 1:
            what = "matches no QM area" if not hits else f"matches several QM areas ({', '.join(areas['name'].iloc[sorted(hits)])})"
            raise SourceError(path, f"'{name}' {what}", row=row + 1, field=column)
        if geom is None or geom.is_empty:
            raise SourceError(path, f"'{name}' has no geometry", row=row + 1, field="geometry")
        matched.setdefault(hits.pop(), []).append(geom)
    for i, parts in matched.items():
        areas.loc[areas.index[i], "geometry"] = shapely.union_all(parts)
        areas.loc[areas.index[i], "boundary_basis"] = "official"
    notes.append(f"{path}: official boundaries for {len(matched)} of {len(areas)} QM areas")
    return areas


def _int(text):
    text = (text or "").strip()
    return int(float(text)) if text and text not in {"-", "–"} else None
