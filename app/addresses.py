"""The address table (look-ups by street and number) and the street table (suggestions).

``write_tables`` turns the 401,032 rows of ``adressen.csv.gz`` into both tables, with
their indexes, in the store being written. It needs nothing from the geometry, so the
build runs it in a forked child process beside the geometry work (``app.forked``).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from .names import name_key
from .sources import ADDRESSES, clean_addresses, planungsraum_ids
from .store.gpkg import add_to_geopackage


def write_tables(store_tmp, rows: pd.DataFrame, raw: Path) -> tuple[int, list[str]]:
    """Clean ``rows`` (read from ``raw``), key each street, write ``addresses`` and
    ``streets`` into ``store_tmp``; returns the number of addresses and the notes.

    The Planungsraum ids the rows must match are read here from the shapefile's table
    (no geometry, milliseconds), so this can start before the build has the Planungsräume.
    Works on the street names' codes (``pd.factorize``): ``name_key`` runs once per
    street (11,000), not once per address (400,000).
    """
    notes: list[str] = []
    addresses = clean_addresses(rows, raw / ADDRESSES, notes, planungsraum_ids(raw))
    codes, names = pd.factorize(addresses["street"].to_numpy(dtype=object))
    keys = np.array([name_key(s) for s in names], dtype=object)
    addresses.insert(1, "street_key", pd.Series(keys[codes], index=addresses.index, dtype=str))
    add_to_geopackage(store_tmp, {}, {"addresses": addresses, "streets": _streets(addresses, codes, names, keys)})
    return len(addresses), notes


def _streets(addresses: pd.DataFrame, codes: np.ndarray, names: np.ndarray, keys: np.ndarray) -> pd.DataFrame:
    """One row per street and postcode, for suggestions as you type: its number of
    addresses and the Ortsteil of its first address (``clean_addresses`` leaves no
    missing values), ordered by street key, postcode and street."""
    plz_codes, plz = pd.factorize(addresses["plz"].to_numpy(dtype=object))
    pairs, first, counts = np.unique(codes.astype(np.int64) * len(plz) + plz_codes, return_index=True,
                                     return_counts=True)
    street, postcode = np.divmod(pairs, len(plz))
    streets = pd.DataFrame({"street_key": keys[street], "street": names[street], "plz": plz[postcode],
                            "addresses": counts.astype(np.int64),
                            "ortsteil": addresses["ortsteil"].to_numpy(dtype=object)[first]})
    return streets.sort_values(["street_key", "plz", "street"], ignore_index=True)


class AddressFinder:
    """``finder(street, number, suffix)`` -> the plr_id of that address, or None.

    Reads the address table ``write_tables`` wrote (through its index): the street by
    its name key, number and suffix exactly; where the table holds an address twice,
    its last row answers. Close it before the store is written further.
    """

    def __init__(self, store_tmp):
        self._con = sqlite3.connect(f"file:{store_tmp}?mode=ro", uri=True)

    def __call__(self, street: str, number, suffix: str = ""):
        row = self._con.execute(
            "SELECT plr_id FROM addresses WHERE street_key = ? AND hnr = ? AND hnr_suffix = ? ORDER BY fid DESC LIMIT 1",
            (name_key(street), str(number), (suffix or "").upper())).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._con.close()
