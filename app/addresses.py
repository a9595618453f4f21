"""The address table (look-ups by street and number) and the street table (suggestions).

``write_tables`` turns the 401,032 rows of ``adressen.csv.gz`` into both tables, with
their indexes, in the store being written. The address table is the view ``addresses``
over ``address_numbers`` and ``address_streets`` (``app.store.gpkg.VIEWS``). It needs
nothing from the geometry, so the build runs it in a forked child process beside the
geometry work (``app.forked``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .names import name_key
from .sources import ADDRESSES, clean_addresses
from .store.gpkg import add_to_geopackage


def write_tables(store_tmp, rows: pd.DataFrame, raw: Path, plr_ids: set[str], asked: list[tuple[str, str, str]],
                 first: dict[str, pd.DataFrame], tell) -> tuple[int, list[str]]:
    """Clean ``rows`` (read from ``raw``), key each street, write the address tables and
    ``streets`` into ``store_tmp`` after the tables ``first`` (GDAL creates the store
    with them); returns the number of addresses and the notes.

    Before writing, ``tell`` gets the Planungsraum (or None) of each ``asked`` address
    (street, number, suffix): the build places its projects with them meanwhile.
    Rows whose Planungsraum is not among ``plr_ids`` are left out with a note.
    Works on the street names' codes (``pd.factorize``): ``name_key`` runs once per
    street (11,000), not once per address (400,000).
    """
    notes: list[str] = []
    addresses = clean_addresses(rows, raw / ADDRESSES, notes, plr_ids)
    codes, names = pd.factorize(addresses["street"].to_numpy(dtype=object))
    keys = np.array([name_key(s) for s in names], dtype=object)
    tell(_planungsraeume_of(asked, addresses, codes, keys))
    plz_codes, plz = pd.factorize(addresses["plz"].to_numpy(dtype=object))
    add_to_geopackage(store_tmp, {}, {**first, **_address_tables(addresses, codes, names, keys, plz_codes, plz),
                                      "streets": _streets(addresses, codes, names, keys, plz_codes, plz)})
    return len(addresses), notes


def _address_tables(addresses: pd.DataFrame, codes, names, keys, plz_codes, plz) -> dict[str, pd.DataFrame]:
    """``address_streets``: each street, postcode and Ortsteil once, in the order they first
    occur; ``address_numbers``: each address, in file order, with the fid of its row there
    (fids count from 1 in row order)."""
    ortsteil_codes, ortsteile = pd.factorize(addresses["ortsteil"].to_numpy(dtype=object))
    combined = (codes.astype(np.int64) * len(plz) + plz_codes) * len(ortsteile) + ortsteil_codes
    street_ids, combinations = pd.factorize(combined)
    street, rest = np.divmod(combinations, len(plz) * len(ortsteile))
    postcode, ortsteil = np.divmod(rest, len(ortsteile))
    streets = pd.DataFrame({"street_key": keys[street], "street": names[street], "plz": plz[postcode],
                            "ortsteil": ortsteile[ortsteil]}, dtype=str)
    numbers = pd.DataFrame({"street_id": street_ids.astype(np.int64) + 1, "hnr": addresses["hnr"],
                            "hnr_suffix": addresses["hnr_suffix"], "plr_id": addresses["plr_id"]})
    return {"address_numbers": numbers, "address_streets": streets}


def _planungsraeume_of(asked, addresses: pd.DataFrame, codes: np.ndarray, keys: np.ndarray) -> list:
    """The plr_id of each (street, number, suffix), or None: the street matched by its name
    key, number and suffix exactly; where the table holds an address twice, its last row
    answers (as a look-up in the written table ordered by fid would)."""
    wanted = {name_key(street) for street, _, _ in asked}
    rows = np.flatnonzero(np.isin(codes, [code for code, key in enumerate(keys) if key in wanted]))
    hnr, suffix, plr = (addresses[c].to_numpy(dtype=object)[rows] for c in ("hnr", "hnr_suffix", "plr_id"))
    last = {(keys[codes[i]], hnr[j], suffix[j]): plr[j] for j, i in enumerate(rows)}
    return [last.get((name_key(street), str(number), (sfx or "").upper())) for street, number, sfx in asked]


def _streets(addresses: pd.DataFrame, codes: np.ndarray, names: np.ndarray, keys: np.ndarray,
             plz_codes: np.ndarray, plz: np.ndarray) -> pd.DataFrame:
    """One row per street and postcode, for suggestions as you type: its number of
    addresses and the Ortsteil of its first address (``clean_addresses`` leaves no
    missing values), ordered by street key, postcode and street."""
    pairs, first, counts = np.unique(codes.astype(np.int64) * len(plz) + plz_codes, return_index=True,
                                     return_counts=True)
    street, postcode = np.divmod(pairs, len(plz))
    streets = pd.DataFrame({"street_key": keys[street], "street": names[street], "plz": plz[postcode],
                            "addresses": counts.astype(np.int64),
                            "ortsteil": addresses["ortsteil"].to_numpy(dtype=object)[first]})
    return streets.sort_values(["street_key", "plz", "street"], ignore_index=True)
