"""The ``kiezkarte`` command: build, lookup, imports, export, serve, big layers. Thin wrappers."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from .config import load_settings
from .errors import KiezkarteError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kiezkarte", description="Maps of Berlin's Quartiersmanagement areas.")
    parser.add_argument("--store", help="store: a GeoPackage path or a postgresql:// URL "
                                          "(default: setting STORE, env KIEZKARTE_STORE)")
    parser.add_argument("--raw-dir", help="raw data folder (default: setting RAW_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build the store from the raw files")
    p.add_argument("--store", dest="build_store", metavar="STORE",
                   help="write this store: a GeoPackage path or postgresql://user@host/db?schema=kiezkarte")
    p.add_argument("--if-missing", action="store_true", help="do nothing when the store exists")
    p.add_argument("--quiet", action="store_true", help="print only the summary counts")

    p = sub.add_parser("lookup", help='find the Kiez of an address ("Ackerstraße 1") or a point')
    p.add_argument("address", nargs="?")
    p.add_argument("--lat", type=float)
    p.add_argument("--lon", type=float)
    p.add_argument("--x", type=float, help="EPSG:25833 easting")
    p.add_argument("--y", type=float, help="EPSG:25833 northing")

    p = sub.add_parser("import-areas", help="replace approximate QM boundaries by official ones (GeoJSON, GPKG, zipped SHP)")
    p.add_argument("file", type=Path)

    p = sub.add_parser("import-projects", help="import projects from CSV, GeoJSON, GeoPackage or zipped Shapefile")
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true", help="report row by row what would happen; write nothing")
    p.add_argument("--crs", help="CRS of x/y or WKT columns in a CSV (default: detected from the coordinates)")
    p.add_argument("--user", default=os.environ.get("USER", "cli"), help="name written to the audit log")

    p = sub.add_parser("export", help="export a layer (or filtered projects) as GeoJSON, CSV or GeoPackage")
    p.add_argument("layer")
    p.add_argument("--format", choices=("geojson", "csv", "gpkg"), default="geojson")
    p.add_argument("--filter", default="", help="project filter as a query string, e.g. 'fund=baufonds&year_from=2020'")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: the suggested name)")

    p = sub.add_parser("add-user", help="create a planner account (password from stdin or a prompt)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    p = sub.add_parser("load-layer", help="load a big point layer (e.g. a tree cadastre: GeoJSON, GPKG, SHP, CSV "
                                          "with lon/lat) for vector tiles, without rebuilding the store")
    p.add_argument("layer", help="the layer's id; it needs an entry in app/catalog.py")
    p.add_argument("file", type=Path)
    p.add_argument("--crs", help="CRS of x/y columns in a CSV (default EPSG:25833; lon/lat columns are EPSG:4326)")
    p.add_argument("--fields", help="comma-separated attribute columns to keep (default: all)")
    p.add_argument("--store", dest="build_store", metavar="STORE", help="the store whose big layers to write")

    p = sub.add_parser("synthetic-trees", help="generate the SYNTHETIC tree layer (test data) inside the "
                                               "Planungsräume and load it as big layer 'synthetic_trees'")
    p.add_argument("--count", type=int, default=1_000_000, help="number of points (default 1,000,000)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fixed, so runs repeat)")
    p.add_argument("-o", "--output", type=Path, help="write the points to this file (.gpkg, .geojson or .csv "
                                                     "with lon/lat) instead of loading them")
    p.add_argument("--store", dest="build_store", metavar="STORE", help="the store to read Planungsräume from "
                                                                        "and to load into")

    p = sub.add_parser("serve", help="serve the site")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workers", type=int, default=0,
                   help="run gunicorn with this many worker processes (0: one process, for development)")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (with --workers)")

    args = parser.parse_args(argv)
    store = getattr(args, "build_store", None) or args.store
    overrides = {k: v for k, v in (("STORE", store), ("RAW_DIR", args.raw_dir)) if v}
    settings = load_settings(overrides)
    try:
        return COMMANDS[args.command](args, settings)
    except KiezkarteError as exc:
        print(f"kiezkarte {args.command}: {exc}", file=sys.stderr)
        return 1


def cmd_build(args, settings) -> int:
    from .build import build
    from .store import describe, store_exists
    if args.if_missing and store_exists(settings["STORE"]):
        return 0
    report = build(settings["RAW_DIR"], settings["STORE"], planner_url=settings["PLANNER_STORE"] or None)
    print(report.as_text() if not args.quiet else json.dumps(report.counts, ensure_ascii=False))
    print(f"built {describe(settings['STORE'])} in {report.seconds:.1f} s")
    return 0


def cmd_lookup(args, settings) -> int:
    from . import lookup
    from .store import open_store
    store = open_store(settings["STORE"], settings["PLANNER_STORE"] or None)
    if args.address:
        result = lookup.lookup_address(store, args.address)
    else:
        result = lookup.lookup_point(store, lon=args.lon, lat=args.lat, x=args.x, y=args.y)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result.get("found") else 3


def cmd_import_areas(args, settings) -> int:
    """Validate the official file by building with it; only then keep a copy among the raw files."""
    from .build import OFFICIAL_AREAS_DIR, build
    from .errors import SourceError
    from .store import describe
    if not args.file.exists():
        raise SourceError(args.file, "file not found")
    report = build(settings["RAW_DIR"], settings["STORE"], official_areas=args.file,
                   planner_url=settings["PLANNER_STORE"] or None)
    target_dir = Path(settings["RAW_DIR"]) / OFFICIAL_AREAS_DIR
    if target_dir.exists():
        shutil.rmtree(target_dir)
    target_dir.mkdir(parents=True)
    shutil.copy2(args.file, target_dir / args.file.name)
    (target_dir / "PROVENANCE.md").write_text(
        f"# qm_official\n- Official QM-area boundaries imported with `kiezkarte import-areas {args.file.name}`.\n"
        "- Source: Geoportal Berlin (programme Sozialer Zusammenhalt); fill in edition and licence.\n", encoding="utf-8")
    print(report.as_text())
    print(f"official boundaries kept in {target_dir}; store rebuilt at {describe(settings['STORE'])}")
    return 0


def cmd_import_projects(args, settings) -> int:
    from .importer import import_projects
    from .store import open_planner, open_store
    planner = open_planner(settings["STORE"], settings["PLANNER_STORE"] or None)
    store = open_store(settings["STORE"], planner.path)
    report = import_projects(args.file, store, planner, username=f"cli:{args.user}", dry_run=args.dry_run,
                             crs=args.crs, max_bytes=int(settings["MAX_UPLOAD_BYTES"]))
    print(report.as_text())
    return 0 if not report.errors else 1


def cmd_export(args, settings) -> int:
    from urllib.parse import parse_qsl

    from .export import export
    from .project_filter import ProjectFilter
    from .store import open_planner, open_store
    planner = open_planner(settings["STORE"], settings["PLANNER_STORE"] or None)
    flt = ProjectFilter.from_args(dict(parse_qsl(args.filter)))
    body, _, filename = export(open_store(settings["STORE"], planner.path), args.layer, args.format, flt)
    target = args.output or Path(filename)
    target.write_bytes(body)
    print(f"wrote {target} ({len(body):,} bytes)")
    return 0


def cmd_add_user(args, settings) -> int:
    import getpass

    from .accounts import add_user
    from .store import open_planner
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            print("kiezkarte add-user: the passwords differ", file=sys.stderr)
            return 1
    add_user(open_planner(settings["STORE"], settings["PLANNER_STORE"] or None), args.username, password)
    print(f"planner account '{args.username}' created")
    return 0


def cmd_load_layer(args, settings) -> int:
    from .big_layers import load_big_layer
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    report = load_big_layer(settings["STORE"], args.layer, args.file, crs_of_xy=args.crs, fields=fields)
    print(report.as_text())
    return 0


def cmd_synthetic_trees(args, settings) -> int:
    import time

    from . import synthetic
    from .big_layers import load_big_layer
    from .store import open_store
    if args.count < 1:
        print("kiezkarte synthetic-trees: --count must be at least 1", file=sys.stderr)
        return 2
    seed = synthetic.DEFAULT_SEED if args.seed is None else args.seed
    started = time.perf_counter()
    plr = open_store(settings["STORE"]).read_layer("planungsraeume")
    trees = synthetic.synthetic_trees(plr[["plr_id", "residents", "geometry"]], args.count, seed)
    generated = time.perf_counter() - started
    if args.output:
        suffix = args.output.suffix.lower()
        if suffix == ".csv":
            from .crs import to_web
            web = to_web(trees)
            table = web.drop(columns="geometry")
            table["lon"], table["lat"] = web.geometry.x.round(7), web.geometry.y.round(7)
            table.to_csv(args.output, index=False)
        else:
            trees.to_file(args.output, driver="GPKG" if suffix == ".gpkg" else "GeoJSON", engine="pyogrio")
        print(f"SYNTHETIC TEST DATA: wrote {args.count:,} made-up trees to {args.output} in {generated:.1f} s")
        return 0
    report = load_big_layer(settings["STORE"], synthetic.LAYER_ID, trees,
                            description=f"SYNTHETIC TEST DATA: {args.count:,} made-up trees, seed {seed}")
    report.seconds = {"generate": generated, **report.seconds}
    print("SYNTHETIC TEST DATA: " + report.as_text())
    return 0


def cmd_serve(args, settings) -> int:
    """One process with Flask's server (development), or gunicorn with ``--workers N``."""
    if args.workers < 0 or args.threads < 1:
        print("kiezkarte serve: --workers must be >= 0 and --threads >= 1", file=sys.stderr)
        return 2
    if args.workers:
        from .serve import serve
        serve(args.host, args.port, args.workers, args.threads, settings)
        return 0
    from . import create_app
    app = create_app({**settings, "DEBUG": False})
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False, threaded=True)
    return 0


COMMANDS = {"build": cmd_build, "lookup": cmd_lookup, "import-areas": cmd_import_areas,
            "import-projects": cmd_import_projects, "export": cmd_export, "add-user": cmd_add_user, "serve": cmd_serve,
            "load-layer": cmd_load_layer, "synthetic-trees": cmd_synthetic_trees}

if __name__ == "__main__":
    raise SystemExit(main())
