"""GeoPackage geometry blobs: encode, decode (also PostGIS's EWKB), and the SQL functions GeoPackage triggers need.

GDAL creates R-tree triggers that call ST_IsEmpty and ST_MinX/MaxX/MinY/MaxY; a plain
``sqlite3`` connection gets them from ``register_functions`` so it can write features.
"""
from __future__ import annotations

import struct

import shapely

SRS_ID = 25833
_ENVELOPE_BYTES = (0, 32, 48, 48, 64)


def encode(geometry, srs_id: int = SRS_ID) -> bytes | None:
    """shapely geometry -> GeoPackage binary (little endian, with an XY envelope)."""
    if geometry is None:
        return None
    if geometry.is_empty:
        return b"GP" + bytes([0, 0b00010001]) + struct.pack("<i", srs_id) + shapely.to_wkb(geometry, byte_order=1)
    minx, miny, maxx, maxy = geometry.bounds
    header = b"GP" + bytes([0, 0b00000011]) + struct.pack("<i", srs_id) + struct.pack("<4d", minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geometry, byte_order=1)


def decode(blob: bytes | None):
    """GeoPackage binary, or the (E)WKB PostGIS gives -> shapely geometry (None for NULL or empty)."""
    if blob is None:
        return None
    if blob[:2] != b"GP":  # WKB starts with its byte order, 0 or 1
        geom = shapely.from_wkb(bytes(blob))
        return None if geom.is_empty else geom
    flags = blob[3]
    if flags & 0b10000:
        return None
    return shapely.from_wkb(blob[8 + _ENVELOPE_BYTES[(flags >> 1) & 0b111]:])


def _envelope(blob):
    if blob is None:
        return None
    flags = blob[3]
    if (flags >> 1) & 0b111:
        fmt = "<4d" if flags & 1 else ">4d"
        minx, maxx, miny, maxy = struct.unpack(fmt, blob[8:40])
        return minx, maxx, miny, maxy
    geom = decode(blob)
    if geom is None:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return minx, maxx, miny, maxy


def _is_empty(blob):
    return 1 if blob is None or blob[3] & 0b10000 or decode(blob) is None else 0


def register_functions(con) -> None:
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, lambda b, i=i: (e := _envelope(b)) and e[i], deterministic=True)
