"""Writes the bad-input corpus next to this file. Run: python tests/data/bad/_generate.py

Every file is a test input made for this corpus (project titles invented for the
test); coordinates are real places in Berlin or deliberately wrong ones.
"""
import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "id,title,fund,handlungsfeld,start_year,end_year,cost_eur,lat,lon\n"
GOOD = "ok-1,Hofbegrünung,Baufonds,Öffentlicher Raum,2021,2023,120000,52.5416,13.3413\n"


def write(name, data):
    (HERE / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def feature(geometry, **props):
    return {"type": "Feature", "properties": {"title": "Test", **props}, "geometry": geometry}


def collection(features, crs=None):
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc)


def main():
    write("empty.csv", b"")
    write("header_only.csv", HEADER)
    write("truncated.csv", HEADER + GOOD + 'ok-2,"Spielplatz am Wei')
    write("swapped_lonlat.csv", HEADER + "s-1,Vertauscht,Baufonds,,2021,,,13.3413,52.5416\n")
    write("outside_berlin.csv", HEADER + "o-1,Paris,Baufonds,,2021,,,48.8566,2.3522\n")
    write("xy_no_crs_fits.csv", "title,x,y\nNirgendwo,123.4,567.8\n")
    write("duplicate_ids.csv", HEADER + GOOD + GOOD.replace("Hofbegrünung", "Zweimal"))
    write("unknown_fund.csv", HEADER + "f-1,Goldrausch,Goldfonds,,2021,,,52.5416,13.3413\n")
    write("unknown_handlungsfeld.csv", HEADER + "h-1,Mondbasis,Baufonds,Raumfahrt,2021,,,52.5416,13.3413\n")
    write("absurd_numbers.csv", HEADER + "a-1,Zu viel,Baufonds,,3020,,1e15,1e308,13.3413\n")
    write("bad_wkt.csv", "title,wkt\nKaputt,POINT (13.34 52.54\n")
    write("huge_field.csv", "title,lat,lon\n" + "x" * 10_000 + ",52.5416,13.3413\n")
    write("nul_bytes.csv", b"title,lat,lon\nA\x00B,52.5,13.4\n")
    write("windows1252.csv", "Titel;Fonds;Kosten;lat;lon\nSpielstraße für Groß und Klein;Baufonds;1.500,50;52,5416;13,3413\n"
          .encode("cp1252"))
    write("semicolon_decimal_comma.csv", "titel;fonds;kosten;breite;länge\nBänke am Ufer;Aktionsfonds;1.234,5;52,5320;13,3450\n")
    write("xss.csv", "id,title,place,address,source_url,lat,lon\n"
          'xss-1,<img src=x onerror=alert(1)>,<script>alert(2)</script>,"<b>bold</b> 1",javascript:alert(3),52.5331,13.3283\n')
    write("sqli.csv", "id,title,place,lat,lon\n"
          "sql-1,\"'); DROP TABLE projects; --\",\"' OR '1'='1\",52.5416,13.3413\n")
    point = {"type": "Point", "coordinates": [13.3413, 52.5416]}
    write("truncated.geojson", collection([feature(point)])[:-20])
    write("not_geojson.geojson", "this is not json at all")
    write("lying_crs.geojson", collection([feature(point)], crs="urn:ogc:def:crs:EPSG::25833"))
    write("utm_without_crs.geojson", collection([feature({"type": "Point", "coordinates": [389000.0, 5823000.0]})]))
    bowtie = {"type": "Polygon", "coordinates": [[[13.40, 52.50], [13.41, 52.51], [13.41, 52.50], [13.40, 52.51], [13.40, 52.50]]]}
    write("self_intersecting.geojson", collection([feature(bowtie)]))
    write("empty_geometry.geojson", collection([feature(point, id="g-1"),
                                                feature({"type": "Point", "coordinates": []}, id="g-2", title="Leer")]))
    zips = {
        "traversal.zip": [("../../evil.shp", b"x"), ("evil.dbf", b"x"), ("evil.shx", b"x")],
        "missing_parts.zip": [("only.shp", b"\x00" * 100)],
    }
    for name, members in zips.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for member, data in members:
                z.writestr(member, data)
        write(name, buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("bomb.shp", b"\x00" * 50_000_000)
    write("zip_bomb.zip", buf.getvalue())
    write("not_a_zip.zip", "PK but not really a zip")


if __name__ == "__main__":
    main()
