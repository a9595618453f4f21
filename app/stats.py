"""Statistics for planners: projects and money by fund, Handlungsfeld and year; areas compared;
projects laid over the burdens of the Planungsräume they stand in.

Money sums only what is known: every figure comes with how many projects state a cost, and
where none does the sum is ``None`` (null in JSON, empty in CSV), never 0.
"""
from __future__ import annotations

from collections import defaultdict

from . import queries
from .errors import BadRequest
from .indicators import MULTIPLY_BURDENED_MIN, UG_INDICATORS
from .project_filter import ProjectFilter
from .projects import FUNDS, HANDLUNGSFELDER
from .reasons import Reason

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


def known_money(projects: list[dict]) -> dict:
    """How many projects, how many of them state a cost, and the sum of those costs (None when none does)."""
    costs = [p["cost_eur"] for p in projects if p.get("cost_eur") is not None]
    return {"projects": len(projects), "with_cost": len(costs), "money_eur": sum(costs) if costs else None}


def _tally(projects: list[dict], key_of) -> list[dict]:
    groups: dict = defaultdict(list)
    for p in projects:
        for key in key_of(p):
            groups[key].append(p)
    return [{"key": k, **known_money(members)} for k, members in groups.items()]


def project_stats(store, flt: ProjectFilter | None = None) -> dict:
    """Projects and money by fund, Handlungsfeld and start year, for the filtered selection."""
    projects = [r for r, _ in queries.projects(store, flt)]
    by_fund = sorted(_tally(projects, lambda p: [p["fund"]]), key=lambda g: FUNDS.index(g["key"]))
    by_field = _tally(projects, lambda p: (p.get("handlungsfelder") or "").split(";") if p.get("handlungsfelder") else ["(nicht angegeben)"])
    order = list(HANDLUNGSFELDER) + ["(nicht angegeben)"]
    by_field.sort(key=lambda g: order.index(g["key"]) if g["key"] in order else len(order))
    by_year = sorted(_tally(projects, lambda p: [p["start_year"] if p.get("start_year") else "unknown"]),
                     key=lambda g: (g["key"] == "unknown", g["key"] if g["key"] != "unknown" else 0))
    return {"filter": (flt or ProjectFilter()).args(), "total": {"key": "all", **known_money(projects)},
            "by_fund": by_fund, "by_handlungsfeld": by_field, "by_year": by_year}


def burden_overlay(store, flt: ProjectFilter | None = None) -> dict:
    """Projects and money by the Mehrfachbelastung of the Planungsraum they stand in.

    Only projects located at least to their Planungsraum count; the rest are reported
    as not locatable, never spread over a guess.
    """
    projects = [r for r, _ in queries.projects(store, flt)]
    burden = {r["plr_id"]: r["ug_burden_count"] for r in store.query("SELECT plr_id, ug_burden_count FROM planungsraeume")}
    located = [p for p in projects if p.get("plr_id") in burden]
    by_count = {g["key"]: g for g in _tally(located, lambda p: [burden[p["plr_id"]]])}
    levels = [{"burdens": n, **{k: v for k, v in by_count.get(n, known_money([])).items() if k != "key"}}
              for n in range(6)]
    located_money = known_money(located)
    multiple = known_money([p for p in located if burden[p["plr_id"]] >= MULTIPLY_BURDENED_MIN])
    share = None
    if located_money["money_eur"]:
        share = (multiple["money_eur"] or 0) / located_money["money_eur"]
    return {"filter": (flt or ProjectFilter()).args(), "by_burden_count": levels,
            "multiply_burdened_min": MULTIPLY_BURDENED_MIN,
            "located": located_money,
            "in_multiply_burdened": {**multiple, "share_of_money": share},
            "not_located_to_a_planungsraum": known_money([p for p in projects if p.get("plr_id") not in burden])}


def compare_areas(store, sort: str = "name", descending: bool = False) -> list[dict]:
    """One row per QM area: residents, burdens, green, projects and known money (None where no project
    states a cost). Areas without the sorted figure come last in both orders."""
    if sort not in SORTABLE:
        raise BadRequest(Reason("sort must be one of %(columns)s", columns=", ".join(SORTABLE)))
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
               "projects": m.get("projects", 0), "money_eur": m.get("money_eur")}
        for ind in UG_INDICATORS:
            row[f"share_high_{ind[3:]}"] = f.get(f"share_high_{ind[3:]}")
        rows.append(row)
    present = [r for r in rows if r[sort] is not None]
    missing = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: (r[sort].lower() if isinstance(r[sort], str) else r[sort]), reverse=descending)
    return present + missing  # areas without the figure always last
