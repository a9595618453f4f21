"""Statistics for planners: projects and money by fund, Handlungsfeld and year; areas compared;
projects laid over the burdens of the Planungsräume they stand in.

Money sums only what is known: every figure comes with how many projects state a cost.
"""
from __future__ import annotations

from collections import defaultdict

from . import queries
from .errors import BadRequest
from .indicators import MULTIPLY_BURDENED_MIN, UG_INDICATORS
from .project_filter import ProjectFilter
from .projects import FUNDS, HANDLUNGSFELDER

COMPARE_COLUMNS = (  # key, label_de, label_en
    ("name", "QM-Gebiet", "QM area"), ("bezirk", "Bezirk", "District"), ("status_group", "Status", "Status"),
    ("boundary_basis", "Grenze", "Boundary"), ("residents", "Einwohner/innen", "Residents"),
    ("share_high_air", "Luft hoch", "Air high"), ("share_high_noise", "Lärm hoch", "Noise high"),
    ("share_high_thermal", "Hitze hoch", "Heat high"), ("share_high_green", "Grün schlecht", "Green poor"),
    ("share_high_social", "Sozial hoch", "Social high"), ("plr_multiply_burdened", "mehrfach belastete PLR", "multiply burdened PLR"),
    ("green_m2_per_resident", "Grün m²/EW", "Green m²/resident"), ("projects", "Projekte", "Projects"),
    ("money_eur", "Summe EUR (bekannt)", "Sum EUR (known)"),
)
SORTABLE = tuple(key for key, *_ in COMPARE_COLUMNS)


def _tally(projects: list[dict], key_of) -> list[dict]:
    groups: dict = defaultdict(lambda: {"projects": 0, "money_eur": 0.0, "with_cost": 0})
    for p in projects:
        for key in key_of(p):
            g = groups[key]
            g["projects"] += 1
            if p.get("cost_eur") is not None:
                g["money_eur"] += p["cost_eur"]
                g["with_cost"] += 1
    return [{"key": k, **v} for k, v in groups.items()]


def project_stats(store, flt: ProjectFilter | None = None) -> dict:
    """Projects and money by fund, Handlungsfeld and start year, for the filtered selection."""
    projects = [r for r, _ in queries.projects(store, flt)]
    by_fund = sorted(_tally(projects, lambda p: [p["fund"]]), key=lambda g: FUNDS.index(g["key"]))
    by_field = _tally(projects, lambda p: (p.get("handlungsfelder") or "").split(";") if p.get("handlungsfelder") else ["(nicht angegeben)"])
    order = list(HANDLUNGSFELDER) + ["(nicht angegeben)"]
    by_field.sort(key=lambda g: order.index(g["key"]) if g["key"] in order else len(order))
    by_year = sorted(_tally(projects, lambda p: [p["start_year"] if p.get("start_year") else "unknown"]),
                     key=lambda g: (g["key"] == "unknown", g["key"] if g["key"] != "unknown" else 0))
    total = _tally(projects, lambda p: ["all"])
    return {"filter": (flt or ProjectFilter()).args(), "total": total[0] if total else
            {"key": "all", "projects": 0, "money_eur": 0.0, "with_cost": 0},
            "by_fund": by_fund, "by_handlungsfeld": by_field, "by_year": by_year}


def burden_overlay(store, flt: ProjectFilter | None = None) -> dict:
    """Projects and money by the Mehrfachbelastung of the Planungsraum they stand in.

    Only projects located at least to their Planungsraum count; the rest are reported
    as not locatable, never spread over a guess.
    """
    projects = [r for r, _ in queries.projects(store, flt)]
    burden = {r["plr_id"]: r["ug_burden_count"] for r in store.query("SELECT plr_id, ug_burden_count FROM planungsraeume")}
    located = [p for p in projects if p.get("plr_id") in burden]
    rows = _tally(located, lambda p: [burden[p["plr_id"]]])
    by_count = {g["key"]: g for g in rows}
    levels = [{"burdens": n, **{k: v for k, v in by_count.get(n, {"projects": 0, "money_eur": 0.0, "with_cost": 0}).items()
                                if k != "key"}} for n in range(6)]
    multiple = [p for p in located if burden[p["plr_id"]] >= MULTIPLY_BURDENED_MIN]
    money = sum(p["cost_eur"] for p in located if p.get("cost_eur") is not None)
    money_multiple = sum(p["cost_eur"] for p in multiple if p.get("cost_eur") is not None)
    unlocated = [p for p in projects if p.get("plr_id") not in burden]
    return {"filter": (flt or ProjectFilter()).args(), "by_burden_count": levels,
            "multiply_burdened_min": MULTIPLY_BURDENED_MIN,
            "located": {"projects": len(located), "money_eur": money},
            "in_multiply_burdened": {"projects": len(multiple), "money_eur": money_multiple,
                                     "share_of_money": money_multiple / money if money else None},
            "not_located_to_a_planungsraum": {"projects": len(unlocated),
                                              "money_eur": sum(p["cost_eur"] for p in unlocated if p.get("cost_eur") is not None)}}


def compare_areas(store, sort: str = "name", descending: bool = False) -> list[dict]:
    """One row per QM area: residents, burdens, green, projects and known money."""
    if sort not in SORTABLE:
        raise BadRequest(f"sort must be one of {', '.join(SORTABLE)}")
    figures = {r["zone"]: r for r in store.rows("area_indicators")}
    money = {r["area_slug"]: r for r in store.query(
        "SELECT area_slug, count(*) AS projects, sum(cost_eur) AS money_eur FROM projects GROUP BY area_slug")}
    rows = []
    for area in queries.areas(store):
        f = figures.get(area["slug"], {})
        m = money.get(area["slug"], {})
        row = {"slug": area["slug"], "name": area["short_name"], "bezirk": area["bezirk"],
               "status_group": area["status_group"], "boundary_basis": area["boundary_basis"],
               "residents": f.get("residents"), "plr_multiply_burdened": f.get("plr_multiply_burdened"),
               "green_m2_per_resident": f.get("green_m2_per_resident"),
               "projects": m.get("projects", 0), "money_eur": m.get("money_eur") or 0.0}
        for ind in UG_INDICATORS:
            row[f"share_high_{ind[3:]}"] = f.get(f"share_high_{ind[3:]}")
        rows.append(row)
    present = [r for r in rows if r[sort] is not None]
    missing = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: (r[sort].lower() if isinstance(r[sort], str) else r[sort]), reverse=descending)
    return present + missing  # areas without the figure always last
