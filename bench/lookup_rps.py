"""Look-up throughput: ``/api/lookup?address=…`` requests/s against the same server's ``/healthz``.

Data: the real store, built from the shipped raw files; the addresses are real, sampled
from ``geodata/raw/adressen_plr/adressen.csv.gz`` (fixed seed; entries with a house
number), one different address per request, written as people type them
("Ackerstraße 1A, 10115").

Server: ``bench._live`` (the app under werkzeug's multi-threaded server, in its own
process on 127.0.0.1). Note that werkzeug's server closes the
connection after every response ("Connection: close"), so each request pays a TCP connect
and a new server thread, for both contestants alike.

Load: ``bench._load`` (Python threads, raw sockets, keep-alive offered, ``Accept-Encoding:
gzip``), a fixed number of concurrent connections for a fixed time per phase; phases
alternate between the contestants (order rotating), median requests/s of N phases each.
Bounded: at most 200,000 requests per phase, loopback only. The server's CPU time per
request (from /proc) is reported next to it, and the client's, to show the client was
not the bottleneck.

Ratio = median rps(lookup) / median rps(healthz); target >= 0.8 (issue 3). Also checked
and reported: every sampled address is found, and the headers of a look-up response
(Content-Encoding, ETag, Cache-Control). Where the time goes: cProfile of look-ups
through Flask's test client (the app's own code, without the server).
"""
from __future__ import annotations

import gzip
import json
from urllib.parse import quote

import pandas as pd

from . import _load
from ._common import RAW_DIR, result
from ._live import LiveServer, shared_store

TARGET = 0.8
SEED = 20_241_125
ADDRESSES = 2_000
CONCURRENCY = 4
ROUNDS, ROUNDS_QUICK = 3, 2
SECONDS, SECONDS_QUICK = 3.0, 1.0
HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip"}


def sample_addresses(n: int = ADDRESSES, seed: int = SEED) -> list[str]:
    """``n`` real addresses from the official table, as a person would type them."""
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False)
    table = table[table["hnr"] != ""]  # the 296 entries without a house number are not addresses one types
    rows = table.sample(n, random_state=seed)
    return [f"{r.str_name} {r.hnr}{r.hnr_zusatz}, {r.plz}" for r in rows.itertuples()]


def run(quick: bool = False) -> dict:
    rounds = ROUNDS_QUICK if quick else ROUNDS
    seconds = SECONDS_QUICK if quick else SECONDS
    store = shared_store()
    addresses = sample_addresses()
    paths = [f"/api/lookup?address={quote(a)}" for a in addresses]
    with LiveServer(store) as server:
        # Checks before the load: every sampled address is found; what a response carries.
        found = 0
        headers_seen = None
        for p in paths[:200]:
            status, hdrs, body = _load.fetch(server.port, p, HEADERS)
            if status != 200:
                raise AssertionError(f"{p}: HTTP {status}")
            if hdrs.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            found += bool(json.loads(body)["found"])
            headers_seen = headers_seen or hdrs
        if found != 200:
            raise AssertionError(f"only {found} of 200 sampled real addresses were found")
        encodings = {}
        for p in paths[:200]:
            _, hdrs, _ = _load.fetch(server.port, p, HEADERS)
            enc = hdrs.get("content-encoding", "identity")
            encodings[enc] = encodings.get(enc, 0) + 1
        status, health_headers, _ = _load.fetch(server.port, "/healthz", HEADERS)
        contestants = {
            "healthz": {"requests": [_load.request_bytes(server.port, "/healthz", HEADERS)]},
            "lookup": {"requests": [_load.request_bytes(server.port, p, HEADERS) for p in paths]},
        }
        phases = _load.alternate(server, contestants, rounds=rounds, seconds=seconds, concurrency=CONCURRENCY)
    from app import create_app

    app = create_app({"STORE": str(store)})
    profile = _load.profile_requests(app, paths, HEADERS, n=300 if quick else 1000)
    health_profile = _load.profile_requests(app, ["/healthz"], HEADERS, n=300 if quick else 1000)

    rps = {name: _load.median_rps(ps) for name, ps in phases.items()}
    cpu = {name: _load.median_of(ps, "server_cpu_ms_per_request") for name, ps in phases.items()}
    client = {name: _load.median_of(ps, "client_cpu_ms_per_request") for name, ps in phases.items()}
    ratio = rps["lookup"] / rps["healthz"]
    app_ms = {"lookup": profile["ms_per_request"], "healthz": health_profile["ms_per_request"]}
    figures = {
        "lookup": f"{rps['lookup']:.0f} req/s (server CPU {cpu['lookup']:.2f} ms/req)",
        "healthz": f"{rps['healthz']:.0f} req/s (server CPU {cpu['healthz']:.2f} ms/req)",
        "client CPU": f"{client['lookup']:.2f} / {client['healthz']:.2f} ms/req (lookup / healthz)",
        "load": f"{CONCURRENCY} connections, {seconds:g} s phases, median of {rounds}; {len(addresses):,} real addresses",
        "addresses found": "200 of 200 checked",
        "lookup headers": (f"gzip: {_encodings(encodings)}; ETag {'yes' if 'etag' in headers_seen else 'NO'}; "
                           f"Cache-Control '{headers_seen.get('cache-control', 'NONE')}'"),
        "app time (test client)": f"lookup {app_ms['lookup']:.2f} ms, healthz {app_ms['healthz']:.2f} ms per request",
        "lookup top own time (ms/req)": _load.top_text(profile["top"], 3, digits=3),
    }
    return result(ratio=ratio, target_min=TARGET, ratio_of="lookup / healthz req/s",
                  data=f"real: {len(addresses):,} addresses sampled from adressen.csv.gz (seed {SEED})",
                  figures=figures, phases=_load.summary(phases), rps={k: round(v, 1) for k, v in rps.items()},
                  server_cpu_ms_per_request={k: round(v, 3) for k, v in cpu.items()},
                  lookup_headers=headers_seen, lookup_content_encodings=encodings, healthz_headers=health_headers,
                  profile_lookup=profile, profile_healthz=health_profile, concurrency=CONCURRENCY, seconds_per_phase=seconds,
                  rounds=rounds)


def _encodings(counts: dict) -> str:
    """How many of the 200 checked look-up responses came gzip-compressed."""
    gz = counts.get("gzip", 0)
    if gz == sum(counts.values()):
        return "all"
    return f"{gz} of {sum(counts.values())} (the app leaves bodies under 500 B uncompressed)"
