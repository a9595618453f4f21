"""Read and validate the raw files in ``geodata/raw/``: one function per dataset.

Each reader returns a clean frame (ids as strings, geometry in EPSG:25833, repaired
where invalid) and appends what it noticed to ``notes``. Bad input raises
``SourceError`` naming file, row and field. Row numbers are file lines (header = 1).
No Flask, no store: the build and the tests call these directly.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import crs
from .errors import SourceError

MISSING = {"", "-", "–", "—", "nan", "NaN"}


# ---------------------------------------------------------------- generic helpers

def read_vector(path: Path, notes: list[str], *, strict_crs: bool = False, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile, zipped Shapefile), check its
    CRS against its coordinates, reproject, repair."""
    if not Path(path).exists():
        raise SourceError(path, "file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on odd encodings
            gdf = gpd.read_file(path, engine="pyogrio", layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise SourceError(path, f"cannot be read as a vector file: {exc}") from exc
    gdf = crs.checked_crs(gdf, path, strict=strict_crs, notes=notes)
    gdf = crs.to_store(gdf)
    return repair_geometries(gdf, path, notes)


def repair_geometries(gdf: gpd.GeoDataFrame, path, notes: list[str]) -> gpd.GeoDataFrame:
    """make_valid every invalid geometry and say how many there were."""
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna()
    if invalid.any():
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(gdf.geometry[invalid].values)
        notes.append(f"{path}: repaired {int(invalid.sum())} invalid geometries with make_valid")
    return gdf


def read_csv(path: Path, *, sep: str = ",", encoding: str = "utf-8-sig") -> pd.DataFrame:
    """Every column as a string, nothing guessed: ids keep their leading zeros."""
    if not Path(path).exists():
        raise SourceError(path, "file not found")
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SourceError(path, f"cannot be read as CSV: {exc}") from exc


def require_columns(frame: pd.DataFrame, path, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceError(path, f"missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}",
                          field=missing[0])


def numbers(frame: pd.DataFrame, column: str, path, *, decimal_comma: bool = False,
            allow_missing: bool = True) -> pd.Series:
    """Parse a text column as numbers; the missing markers become NaN, anything else is an error."""
    text = frame[column].astype(str).str.strip()
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    is_missing = text.isin(MISSING)
    values = pd.to_numeric(text.where(~is_missing), errors="coerce")
    bad = values.isna() & ~is_missing
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceError(path, f"'{frame[column].iloc[i]}' is not a number", row=i + 2, field=column)
    if not allow_missing and is_missing.any():
        i = int(np.flatnonzero(is_missing.to_numpy())[0])
        raise SourceError(path, "value missing", row=i + 2, field=column)
    return values.astype(float)


def plr_ids(frame: pd.DataFrame, column: str, path) -> pd.Series:
    """LOR Planungsraum ids: 8 digits, kept as strings."""
    ids = stripped(frame[column])
    if any(len(v) != 8 or not v.isdecimal() for v in set(ids)):  # each distinct id once (542 of 400,000)
        for i, value in enumerate(ids):
            if len(value) != 8 or not value.isdecimal():
                raise SourceError(path, f"'{value}' is not an 8-digit Planungsraum id", row=i + 2, field=column)
    return pd.Series(ids, index=frame.index, dtype=str)


def stripped(column: pd.Series) -> list[str]:
    """The values as text without surrounding white space (a missing value reads 'nan').

    Plain Python over the values: pandas' ``.str`` methods on its Python-backed string
    dtype cost several times more on the 400,000 addresses.
    """
    values = column.to_numpy(dtype=object)
    try:
        return list(map(str.strip, values))
    except TypeError:  # not all text: missing values, or numbers from a vector file's attribute table
        return [str(v).strip() for v in column.to_numpy(dtype=object, na_value="nan")]


def check_keys(frame: pd.DataFrame, key: str, valid, path, notes: list[str], *, what: str = "Planungsraum") -> pd.Series:
    """Report every row whose key has no partner; return the mask of matched rows."""
    matched = frame[key].isin(set(valid))
    for i in np.flatnonzero(~matched.to_numpy()):  # the index is the data row number (0-based) of the file
        notes.append(f"{path}: row {frame.index[i] + 2}: {key} '{frame[key].iloc[i]}' matches no {what}")
    return matched


def _unique(frame: pd.DataFrame, column: str, path) -> None:
    dup = frame[column].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise SourceError(path, f"duplicate id '{frame[column].iloc[i]}'", row=i + 2, field=column)


# ---------------------------------------------------------------- LOR and administrative units

PLANUNGSRAEUME = Path("lor2021_planungsraeume") / "lor_planungsraeume_2021.shp"


def planungsraeume(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    path = raw / PLANUNGSRAEUME
    gdf = read_vector(path, notes)
    require_columns(gdf, path, ["PLR_ID", "PLR_NAME", "BEZ"])
    out = gpd.GeoDataFrame({"plr_id": plr_ids(gdf, "PLR_ID", path), "plr_name": gdf["PLR_NAME"].astype(str),
                            "bez_id": gdf["BEZ"].astype(str).str.zfill(2)}, geometry=gdf.geometry, crs=gdf.crs)
    _unique(out, "plr_id", path)
    return out.sort_values("plr_id", ignore_index=True)


def lor_hierarchy(raw: Path, notes: list[str]) -> pd.DataFrame:
    path = raw / "lor2021_planungsraeume" / "LOR_2021_hierarchy.csv"
    df = read_csv(path)
    cols = ["Planungsraum (Nummer)", "Bezirksregion (Nummer)", "Bezirksregion (Name)",
            "Prognoseraum (Nummer)", "Prognoseraum (Name)", "Bezirk"]
    require_columns(df, path, cols)
    out = pd.DataFrame({"plr_id": plr_ids(df, cols[0], path), "bzr_id": df[cols[1]].str.strip(),
                        "bzr_name": df[cols[2]].str.strip(), "pgr_id": df[cols[3]].str.strip(),
                        "pgr_name": df[cols[4]].str.strip(), "bezirk": df[cols[5]].str.strip()})
    wrong = (out["bzr_id"] != out["plr_id"].str[:6]) | (out["pgr_id"] != out["plr_id"].str[:4])
    if wrong.any():
        i = int(np.flatnonzero(wrong.to_numpy())[0])
        raise SourceError(path, "Bezirksregion/Prognoseraum number does not prefix the Planungsraum id",
                          row=i + 2, field=cols[1])
    _unique(out, "plr_id", path)
    return out


def _lor_level(raw: Path, notes, folder: str, stem: str, id_col: str, name_col: str, prefix: str):
    path = raw / folder / f"{stem}.shp"
    gdf = read_vector(path, notes)
    require_columns(gdf, path, [id_col, name_col])
    return gpd.GeoDataFrame({f"{prefix}_id": gdf[id_col].astype(str), f"{prefix}_name": gdf[name_col].astype(str)},
                            geometry=gdf.geometry, crs=gdf.crs).sort_values(f"{prefix}_id", ignore_index=True)


def bezirksregionen(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    return _lor_level(raw, notes, "lor2021_bezirksregionen", "lor_bezirksregionen_2021", "BZR_ID", "BZR_NAME", "bzr")


def prognoseraeume(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    return _lor_level(raw, notes, "lor2021_prognoseraeume", "lor_prognoseraeume_2021", "PGR_ID", "PGR_NAME", "pgr")


def bezirke(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    path = raw / "bezirke" / "bezirksgrenzen.shp"
    gdf = read_vector(path, notes)
    require_columns(gdf, path, ["Gemeinde_n", "Gemeinde_s"])
    return gpd.GeoDataFrame({"bez_id": gdf["Gemeinde_s"].astype(str).str[-2:], "bezirk": gdf["Gemeinde_n"].astype(str)},
                            geometry=gdf.geometry, crs=gdf.crs).sort_values("bez_id", ignore_index=True)


def ortsteile(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    path = raw / "ortsteile" / "lor_ortsteile.shp"
    gdf = read_vector(path, notes)
    require_columns(gdf, path, ["spatial_na", "OTEIL", "BEZIRK"])
    return gpd.GeoDataFrame({"ortsteil_id": gdf["spatial_na"].astype(str), "ortsteil": gdf["OTEIL"].astype(str),
                             "bezirk": gdf["BEZIRK"].astype(str)},
                            geometry=gdf.geometry, crs=gdf.crs).sort_values("ortsteil_id", ignore_index=True)


# ---------------------------------------------------------------- tables keyed by Planungsraum

UG_COLUMNS = {  # our name: column in the Umweltatlas table
    "ug_burden_count": "Anzahl der Mehrfachbelastungen",
    "ug_air": "Luftbelastungs-Kategorie",
    "ug_noise": "Lärmbelastungs-Kategorie",
    "ug_thermal": "Thermische Belastungs-Kategorie",
    "ug_green": "Grünflächenversorgungs-Kategorie",
    "ug_social": "Soziale Benachteiligungs-Kategorie",
    "ug_density": "Einwohnerdichte-Kategorie",
}


def umweltgerechtigkeit(raw: Path, notes: list[str]) -> pd.DataFrame:
    path = raw / "umweltgerechtigkeit_2021_2022" / "raw_umweltgerechtigkeit_2021_2022.csv"
    df = read_csv(path)
    require_columns(df, path, ["Planungsraum-ID", *UG_COLUMNS.values()])
    out = pd.DataFrame({"plr_id": plr_ids(df, "Planungsraum-ID", path)})
    for ours, theirs in UG_COLUMNS.items():
        values = numbers(df, theirs, path, allow_missing=False)
        limit = 5 if ours == "ug_burden_count" else 3
        bad = (values < 0) | (values > limit) | (values % 1 != 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise SourceError(path, f"'{df[theirs].iloc[i]}' is not a category 0–{limit}", row=i + 2, field=theirs)
        out[ours] = values.astype(int)
    _unique(out, "plr_id", path)
    return out


MSS_STATUS = {"1": "hoch", "2": "mittel", "3": "niedrig", "4": "sehr niedrig"}
MSS_DYNAMIC = {"3": "positiv", "4": "stabil", "5": "negativ"}


def mss(raw: Path, notes: list[str]) -> pd.DataFrame:
    path = raw / "mss_2021_plr" / "tesch-ch" / "raw" / "mss_2021_indizes.csv"
    df = read_csv(path)
    require_columns(df, path, ["PLR_ID", "EW", "SI_N", "SI_V", "DI_N", "DI_V", "KOM"])
    out = pd.DataFrame({"plr_id": plr_ids(df, "PLR_ID", path),
                        "mss_residents_2020": numbers(df, "EW", path),
                        "mss_status": _mss_class(df["SI_V"]),
                        "mss_dynamic": _mss_class(df["DI_V"]),
                        "mss_validity": df["KOM"].str.strip()})
    known = set(MSS_STATUS.values())
    odd = out["mss_status"].notna() & ~out["mss_status"].isin(known)
    if odd.any():
        i = int(np.flatnonzero(odd.to_numpy())[0])
        raise SourceError(path, f"unknown status class '{out['mss_status'].iloc[i]}'", row=i + 2, field="SI_V")
    without = int(out["mss_status"].isna().sum())
    if without:
        notes.append(f"{path}: {without} Planungsräume have no MSS index (fewer than 300 residents or invalid)")
    _unique(out, "plr_id", path)
    return out


MSS_NO_INDEX = {"", "Planungsraum ohne Zuordnung"}


def _mss_class(column: pd.Series) -> pd.Series:
    """The class name, or None where MSS gives the Planungsraum no index."""
    text = column.str.strip()
    return text.where(~text.isin(MSS_NO_INDEX), None)


AGE_COLUMNS = {"unter6": "age_under_6", "6-15": "age_6_15", "15-18": "age_15_18", "18-27": "age_18_27",
               "27-45": "age_27_45", "45-55": "age_45_55", "55-65": "age_55_65", "65undmehr": "age_65_plus"}


def residents(raw: Path, notes: list[str]) -> pd.DataFrame:
    """Residents 30.06.2022. '–' (suppressed small numbers) becomes missing, reported per row."""
    path = raw / "einwohner_plr" / "einwohnerbestand_06-2022_plr.csv"
    df = read_csv(path, sep=";")
    require_columns(df, path, ["Gesamt", "PLR-ID", *AGE_COLUMNS, "ausländer"])
    out = pd.DataFrame({"plr_id": plr_ids(df, "PLR-ID", path), "residents": numbers(df, "Gesamt", path)})
    for theirs, ours in AGE_COLUMNS.items():
        out[ours] = numbers(df, theirs, path)
    out["foreigners"] = numbers(df, "ausländer", path)
    for i in np.flatnonzero(out["residents"].isna().to_numpy()):
        notes.append(f"{path}: row {i + 2}: Planungsraum {out['plr_id'].iloc[i]} has '–' as resident total "
                     "(suppressed); its residents are unknown and count as 0 in sums")
    _unique(out, "plr_id", path)
    return out


def green_per_plr(raw: Path, notes: list[str], valid_plr) -> pd.DataFrame:
    """Public green m² and playground net m² summed per Planungsraum number."""
    folder = raw / "gruenanlagen_spielplaetze_tables"
    parks_path, play_path = folder / "public_parks.csv", folder / "playground.csv"
    parks = read_csv(parks_path, sep=";")
    play = read_csv(play_path, sep=",")
    key = "Nummer des Planungsraumes"
    require_columns(parks, parks_path, [key, "Größe in m² (Kataster)"])
    require_columns(play, play_path, [key, "Nettospielfläche in m²"])
    parks = parks.assign(plr_id=parks[key].str.strip(),
                         m2=numbers(parks, "Größe in m² (Kataster)", parks_path, decimal_comma=True))
    # playground.csv writes decimal points ("5031.90"), unlike public_parks.csv
    play = play.assign(plr_id=play[key].str.strip(), m2=numbers(play, "Nettospielfläche in m²", play_path))
    frames = []
    for frame, path, column in ((parks, parks_path, "green_public_m2"), (play, play_path, "playground_net_m2")):
        no_key = frame["plr_id"].isin(MISSING)
        if no_key.any():
            notes.append(f"{path}: {int(no_key.sum())} row(s) name no Planungsraum and are left out")
        frame = frame[~no_key]
        matched = check_keys(frame, "plr_id", valid_plr, path, notes)
        frames.append(frame[matched].groupby("plr_id")["m2"].sum(min_count=1).rename(column))
    return pd.concat(frames, axis=1).rename_axis("plr_id").reset_index()


# ---------------------------------------------------------------- points and polygons

def _points(path: Path, notes, *, kind: str, name_col: str, id_col: str | None, id_prefix: str,
            extra: dict | None = None) -> gpd.GeoDataFrame:
    gdf = read_vector(path, notes)
    require_columns(gdf, path, [name_col] + ([id_col] if id_col else []))
    geoms = gdf.geometry
    if (geoms.geom_type == "MultiPoint").any():  # pharmacies come as one-point MultiPoints
        geoms = geoms.apply(lambda g: g.geoms[0] if g is not None and g.geom_type == "MultiPoint" and len(g.geoms) == 1 else g)
    if id_col:
        ids = id_prefix + gdf[id_col].astype(str)
    else:
        ids = pd.Series([f"{id_prefix}{i + 1}" for i in range(len(gdf))])
    data = {"id": ids.to_numpy(), "kind": kind, "name": gdf[name_col].fillna("").astype(str).to_numpy()}
    for ours, theirs in (extra or {}).items():
        data[ours] = gdf[theirs].fillna("").astype(str).to_numpy() if theirs in gdf else ""
    out = gpd.GeoDataFrame(data, geometry=geoms.to_numpy(), crs=gdf.crs)
    empty = out.geometry.isna() | out.geometry.is_empty
    if empty.any():
        notes.append(f"{path}: {int(empty.sum())} features without geometry left out")
        out = out[~empty]
    if out["id"].duplicated().any():
        dup = out["id"][out["id"].duplicated()].iloc[0]
        raise SourceError(path, f"duplicate id '{dup}'", field=id_col or "id")
    return out.reset_index(drop=True)


def facilities(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    """Kitas, schools, youth centres, care homes, pharmacies: one point layer with a kind."""
    folder = raw / "social_infrastructure_points"
    specs = [
        ("kita", "kindertagesstaetten.geojson", "e_name", "e_nr", {"street": "e_strasse", "number": "e_hnr", "plz": "e_plz", "website": "e_web"}),
        ("school", "schulen.geojson", "name", "bsn", {"street": "strasse", "number": "hausnr", "plz": "plz", "website": "internet"}),
        ("youth_centre", "jugendfreizeiteinrichtungen.geojson", "e_name", "e_nr", {"street": "e_strasse", "number": "e_hnr", "plz": "e_plz", "website": "e_web"}),
        ("care_home", "pflegeeinrichtungen.geojson", "einrichtung_name", "ik_nummer", {"street": "gc_strasse", "number": "gc_haus", "plz": "gc_plz"}),
        ("pharmacy", "apothekenstandorte.geojson", "aponame", "gc_id", {"street": "gc_strasse", "number": "gc_haus", "plz": "gc_plz"}),
    ]
    layers = [_points(folder / f, notes, kind=k, name_col=n, id_col=i, id_prefix=f"{k}:", extra=x)
              for k, f, n, i, x in specs]
    return _concat(layers)


def refreshment_points(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    """Green-space centre points, drinking fountains, water playgrounds, cool rooms."""
    folder = raw / "erfrischungskarte_pois_2021"
    layers = [
        _points(folder / "gruenflaechen.geojson", notes, kind="green_space", name_col="name", id_col=None,
                id_prefix="green_space:", extra={"info": "info"}),
        _points(folder / "trinkbrunnen_osm.geojson", notes, kind="drinking_fountain", name_col="name", id_col=None,
                id_prefix="drinking_fountain:"),
        _points(folder / "wasserspielplätze_osm.geojson", notes, kind="water_playground", name_col="name", id_col=None,
                id_prefix="water_playground:"),
        _points(folder / "kuehle_orte.geojson", notes, kind="cool_room", name_col="name", id_col=None,
                id_prefix="cool_room:", extra={"info": "info"}),
    ]
    return _concat(layers)


def milieuschutz(raw: Path, notes: list[str]) -> gpd.GeoDataFrame:
    folder = raw / "milieuschutz"
    parts = []
    for kind, name in (("EM", "milieuschutz_residential_protection_zones_em_clean.geojson"),
                       ("ES", "milieuschutz_urban_character_preservation_zones_es_clean.geojson")):
        path = folder / name
        gdf = read_vector(path, notes)
        require_columns(gdf, path, ["protection_zone_key", "protection_zone_name", "district", "date_effective"])
        parts.append(gpd.GeoDataFrame({
            "id": gdf["protection_zone_key"].astype(str), "kind": kind,
            "name": gdf["protection_zone_name"].astype(str), "bezirk": gdf["district"].astype(str),
            "date_effective": gdf["date_effective"].astype(str).str[:10]}, geometry=gdf.geometry, crs=gdf.crs))
    return _concat(parts)


def _concat(frames) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)


# ---------------------------------------------------------------- addresses and QM tables

ADDRESSES = Path("adressen_plr") / "adressen.csv.gz"


def read_addresses(raw: Path) -> pd.DataFrame:
    """The address file as read (401,032 rows), its columns checked; ``clean_addresses`` does the rest."""
    path = raw / ADDRESSES
    df = read_csv(path)
    require_columns(df, path, ["hnr", "hnr_zusatz", "str_name", "plz", "ort_name", "PLR_ID"])
    return df


def clean_addresses(df: pd.DataFrame, path, notes: list[str], valid_plr) -> pd.DataFrame:
    out = pd.DataFrame({"street": stripped(df["str_name"]), "hnr": stripped(df["hnr"]),
                        "hnr_suffix": list(map(str.upper, stripped(df["hnr_zusatz"]))), "plz": stripped(df["plz"]),
                        "ortsteil": stripped(df["ort_name"]), "plr_id": plr_ids(df, "PLR_ID", path)}, dtype=str)
    matched = check_keys(out, "plr_id", valid_plr, path, notes)
    return out if matched.all() else out[matched].reset_index(drop=True)


def qm_areas(raw: Path, notes: list[str]) -> pd.DataFrame:
    path = raw / "qm" / "qm_areas.csv"
    df = read_csv(path)
    require_columns(df, path, ["name", "bezirk", "start_year", "end_year", "status", "plr_ids", "plr_basis",
                               "residents_stated", "residents_stated_as_of", "website", "sources"])
    for col in ("start_year", "end_year"):
        numbers(df, col, path)  # validates: a year or empty
    bad = ~df["plr_basis"].isin({"source", "name-match", "unknown"})
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceError(path, f"unknown plr_basis '{df['plr_basis'].iloc[i]}'", row=i + 2, field="plr_basis")
    _unique(df, "name", path)
    return df


def qm_projects(raw: Path, notes: list[str]) -> pd.DataFrame:
    path = raw / "qm" / "qm_projects.csv"
    df = read_csv(path)
    require_columns(df, path, ["title", "qm_area", "fund", "handlungsfeld", "start_year", "end_year", "cost_eur",
                               "place", "address", "source_url"])
    for col in ("start_year", "end_year"):
        numbers(df, col, path)
    return df
