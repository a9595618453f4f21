"""The build's parallel parts: forked children, layers written beside them and moved in,
project addresses looked up ahead, and a bad address row stopping the build cleanly."""
import csv
import gzip
import io
import re
import sqlite3
import time

import pandas as pd
import pyogrio
import pytest

from app.build import build
from app.errors import SourceError
from app.forked import Forked
from app.names import name_key
from app.store.gpkg import add_to_geopackage, move_layers
from scripts.compare_stores import differences
from tests.conftest import RAW_DIR


def _fail(path, row):
    raise SourceError(path, "broken", row=row, field="x")


def _tell_then_return(x, tell):
    tell(x * 2)
    return x * 3


def _fail_before_telling(tell):
    raise ValueError("nothing to tell")


def _write_later(path, seconds):
    time.sleep(seconds)
    path.write_text("written")


def test_a_child_s_error_arrives_with_its_file_row_and_field():
    with pytest.raises(SourceError, match=r"^a\.csv, row 7, field 'x': broken") as error:
        Forked(_fail, "a.csv", 7).result()
    assert (error.value.path, error.value.row, error.value.field) == ("a.csv", 7, "x")


def test_a_told_value_arrives_before_the_result():
    with Forked(_tell_then_return, 5, tells=True) as job:
        assert job.told() == 10
        assert job.result() == 15
    with pytest.raises(ValueError, match="nothing to tell"):
        Forked(_fail_before_telling, tells=True).told()


def test_leaving_the_block_stops_a_child_nobody_waits_for(tmp_path):
    flag = tmp_path / "flag"
    with Forked(_write_later, flag, 1.0):
        pass
    time.sleep(1.5)
    assert not flag.exists()


@pytest.mark.geopackage_only("the GeoPackage writer: layers moved between files")
def test_moved_layers_are_the_layers_gdal_writes(built, tmp_path):
    layers = {name: pyogrio.read_dataframe(built[0], layer=name) for name in ("planungsraeume", "places", "milieuschutz")}
    first = {"catalog": pd.DataFrame({"id": ["a", "b"], "title": ["A", "B"]})}
    direct, moved, beside = tmp_path / "direct.gpkg", tmp_path / "moved.gpkg", tmp_path / "beside.gpkg"
    add_to_geopackage(direct, {}, first)
    add_to_geopackage(direct, layers, {})
    add_to_geopackage(moved, {}, first)
    add_to_geopackage(beside, layers, {})
    move_layers(beside, moved)
    assert differences(direct, moved) == []
    assert not beside.exists()
    con = sqlite3.connect(moved)
    assert [con.execute("SELECT rtreecheck(?)", (f"rtree_{name}_geom",)).fetchone()[0] for name in layers] == ["ok"] * 3
    assert pyogrio.read_info(moved, layer="places")["features"] == len(layers["places"])


def test_projects_placed_by_address_have_the_planungsraum_the_address_table_gives(store):
    projects = store.read_layer("research_projects")
    checked = 0
    for address, precision, plr_id in zip(projects["address"], projects["location_precision"], projects["plr_id"]):
        m = re.match(r"^\s*(.+?)\s+(\d+)\s*([a-zA-Z]?)\s*$", address or "")
        if not m or precision == "facility":
            continue
        in_table = store.scalar("SELECT plr_id FROM addresses WHERE street_key = ? AND hnr = ? AND hnr_suffix = ? "
                                "ORDER BY fid DESC LIMIT 1", (name_key(m.group(1)), m.group(2), m.group(3).upper()))
        assert (precision == "planungsraum") == (in_table is not None), address
        if in_table is not None:
            assert plr_id == in_table
            checked += 1
    assert checked >= 1  # two of the 61 real projects are placed by their address


def test_the_address_table_holds_every_row_of_the_address_file_in_file_order(store):
    with gzip.open(RAW_DIR / "adressen_plr" / "adressen.csv.gz", "rt", encoding="utf-8-sig", newline="") as f:
        expected = [(r["str_name"].strip(), r["hnr"].strip(), r["hnr_zusatz"].strip().upper(), r["plz"].strip(),
                     r["ort_name"].strip(), r["PLR_ID"].strip()) for r in csv.DictReader(f)]
    rows = store.query("SELECT street, street_key, hnr, hnr_suffix, plz, ortsteil, plr_id FROM addresses ORDER BY fid")
    assert [(r["street"], r["hnr"], r["hnr_suffix"], r["plz"], r["ortsteil"], r["plr_id"]) for r in rows] == expected
    assert all(r["street_key"] == name_key(r["street"]) for r in rows)


def test_a_bad_address_row_stops_the_build_and_leaves_the_old_store(raw_copy, tmp_path):
    target = tmp_path / "store.gpkg"
    build(raw_copy, target)
    before = target.read_bytes()
    path = raw_copy / "adressen_plr" / "adressen.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    rows[1000][rows[0].index("PLR_ID")] = "12AB"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        f.write(text.getvalue())
    with pytest.raises(SourceError, match=r"adressen\.csv\.gz, row 1001, field 'PLR_ID': '12AB' is not an 8-digit"):
        build(raw_copy, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []
