"""A small, bounded HTTP/1.1 load generator for loopback benchmarks (no dependencies).

``hammer`` runs ``concurrency`` threads, each with one keep-alive connection to
127.0.0.1, sending pre-encoded GET requests (cycling through a list of paths) back to
back until ``seconds`` have passed or ``max_requests`` were answered. Responses are read
with just enough parsing to find their end (status line, Content-Length), so the client
costs little next to the server; its own CPU time is reported so a reader can check it
was not the bottleneck. Only 127.0.0.1 is allowed.

``alternate`` measures several contestants in alternating phases (order rotating each
round) against the same server and reports requests/s per phase, the latency of every
request (p50/p90/p99/max, from sending it to having read its whole response), the
server's CPU time per request (from /proc; every process of a gunicorn server) and the
client's.
"""
from __future__ import annotations

import socket
import statistics
import threading
import time

MAX_REQUESTS_PER_PHASE = 200_000  # a hard bound, whatever the duration
HOST = "127.0.0.1"


def request_bytes(port: int, path: str, headers: dict[str, str]) -> bytes:
    """A GET request as bytes; the Host header names the port, as a browser's would."""
    headers = {"Connection": "keep-alive", **headers}
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Conn:
    def __init__(self, port: int):
        self.port = port
        self.sock = None
        self.buf = b""

    def open(self):
        self.close()
        self.sock = socket.create_connection((HOST, self.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def exchange(self, raw: bytes) -> tuple[int, dict[str, str], int]:
        """Send one request; return (status, headers (lower-case names), body length)."""
        if self.sock is None:
            self.open()
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ConnectionError("chunked responses are not supported by this client")
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            chunk = self.sock.recv(max(65536, length - len(self.buf)))
            if not chunk:
                raise ConnectionError("server closed the connection mid-body")
            self.buf += chunk
        self.buf = self.buf[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, length


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One request with its body (for checks before a load phase)."""
    conn = _Conn(port)
    conn.open()
    try:
        conn.sock.sendall(request_bytes(port, path, {**headers, "Connection": "close"}))
        data = b""
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        conn.close()
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ", 2)[1]), hdrs, body


def hammer(port: int, requests: list[bytes], *, seconds: float, concurrency: int,
           expect_status: int = 200, max_requests: int = MAX_REQUESTS_PER_PHASE) -> dict:
    """Requests/s of back-to-back keep-alive requests from ``concurrency`` threads."""
    lock = threading.Lock()
    counts = {"ok": 0, "unexpected": 0, "bytes": 0}
    statuses: dict[int, int] = {}
    errors: list[str] = []
    stop = threading.Event()
    start_barrier = threading.Barrier(concurrency + 1)

    latencies: list[float] = []

    def worker(offset: int):
        conn = _Conn(port)
        i = offset
        ok = unexpected = nbytes = 0
        seen: dict[int, int] = {}
        mine: list[float] = []
        clock = time.perf_counter
        try:
            start_barrier.wait(timeout=30)
            conn.open()
            while not stop.is_set():
                sent = clock()
                status, _, length = conn.exchange(requests[i % len(requests)])
                mine.append(clock() - sent)
                i += concurrency
                seen[status] = seen.get(status, 0) + 1
                nbytes += length
                if status == expect_status:
                    ok += 1
                else:
                    unexpected += 1
                if ok + unexpected >= max_requests // concurrency:
                    break
        except Exception as exc:  # noqa: BLE001 (reported, not hidden)
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                counts["ok"] += ok
                counts["unexpected"] += unexpected
                counts["bytes"] += nbytes
                for s, n in seen.items():
                    statuses[s] = statuses.get(s, 0) + n

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(concurrency)]
    for t in threads:
        t.start()
    start_barrier.wait(timeout=30)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    total = counts["ok"] + counts["unexpected"]
    return {"requests": total, "ok": counts["ok"], "unexpected": counts["unexpected"], "statuses": statuses,
            "seconds": elapsed, "rps": counts["ok"] / elapsed, "bytes": counts["bytes"],
            "client_cpu_seconds": cpu, "errors": errors[:5], **percentiles(latencies)}


def percentiles(latencies: list[float]) -> dict:
    """p50/p90/p99/max of request latencies (send -> whole response read), in ms."""
    if not latencies:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)
    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(1000 * ordered[-1], 3)}


def alternate(server, contestants: dict[str, dict], *, rounds: int, seconds: float, concurrency: int,
              warmup_seconds: float = 0.5) -> dict[str, list[dict]]:
    """Each contestant: {"requests": [bytes...], "expect_status": 200}. Phases alternate, order rotating.

    ``server`` is a ``bench._live.LiveServer`` (for its CPU time). Returns every phase's result,
    with ``server_cpu_ms_per_request`` and ``client_cpu_ms_per_request`` added.
    """
    names = list(contestants)
    for name in names:  # warm-up: caches filled, threads spawned, nothing recorded
        hammer(server.port, contestants[name]["requests"], seconds=warmup_seconds, concurrency=concurrency,
               expect_status=contestants[name].get("expect_status", 200))
    phases: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            c = contestants[name]
            cpu0 = server.cpu_seconds()
            res = hammer(server.port, c["requests"], seconds=seconds, concurrency=concurrency,
                         expect_status=c.get("expect_status", 200))
            res["server_cpu_seconds"] = server.cpu_seconds() - cpu0
            n = max(res["requests"], 1)
            res["server_cpu_ms_per_request"] = 1000 * res["server_cpu_seconds"] / n
            res["client_cpu_ms_per_request"] = 1000 * res["client_cpu_seconds"] / n
            if res["errors"] or res["unexpected"]:
                raise RuntimeError(f"load phase '{name}': {res['unexpected']} unexpected statuses "
                                   f"{res['statuses']}, errors {res['errors']}\n{server.stderr()[-2000:]}")
            phases[name].append(res)
    return phases


def median_rps(phases: list[dict]) -> float:
    return statistics.median(p["rps"] for p in phases)


def median_of(phases: list[dict], key: str) -> float:
    return statistics.median(p[key] for p in phases)


def summary(phases: dict[str, list[dict]]) -> dict:
    """What goes into the JSON: every phase's rps and CPU per request, rounded."""
    return {name: [{"rps": round(p["rps"], 1), "requests": p["requests"], "seconds": round(p["seconds"], 3),
                    "p50_ms": p.get("p50_ms"), "p99_ms": p.get("p99_ms"),
                    "server_cpu_ms_per_request": round(p["server_cpu_ms_per_request"], 4),
                    "client_cpu_ms_per_request": round(p["client_cpu_ms_per_request"], 4),
                    "mb_received": round(p["bytes"] / 1e6, 2)} for p in ps]
            for name, ps in phases.items()}


def profile_requests(app, paths: list[str], headers: dict[str, str], *, n: int, top: int = 12) -> dict:
    """Where a request's time goes in the app's own code (Flask's test client, no socket).

    ``ms_per_request``: wall time of ``n`` requests without a profiler, divided by ``n``;
    ``top``: functions with the most own time under cProfile (another ``n`` requests);
    ``app``: Kiezkarte's functions (``app/``) with the most cumulative time.
    """
    import cProfile

    client = app.test_client()
    for p in paths[:3]:  # warm caches first, as the load phases do
        client.get(p, headers=headers)
    started = time.perf_counter()
    for i in range(n):
        client.get(paths[i % len(paths)], headers=headers)
    wall = (time.perf_counter() - started) / n
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        client.get(paths[i % len(paths)], headers=headers)
    prof.disable()
    return {"ms_per_request": round(wall * 1000, 4), "requests": n, "top": top_functions(prof, n, top),
            "app": top_cumulative(prof, n, top)}


def top_functions(prof, calls_divisor: int, top: int) -> list[dict]:
    """Functions with the most own time, per call of the profiled unit (a request, an import)."""
    import pstats

    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # own time of everything
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        rows.append({"function": f"{_short(file)}:{line}({func})", "own_ms_per_call": 1000 * tt / calls_divisor,
                     "cum_ms_per_call": 1000 * ct / calls_divisor, "own_share": tt / total if total else 0.0,
                     "calls": nc})
    rows.sort(key=lambda r: r["own_ms_per_call"], reverse=True)
    return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows[:top]]


def top_cumulative(prof, calls_divisor: int, top: int, prefix: str = "app/") -> list[dict]:
    """The app's own functions with the most cumulative time (where a request spends it)."""
    import pstats

    stats = pstats.Stats(prof)
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        short = _short(file)
        if short.startswith(prefix):
            rows.append({"function": f"{short}:{line}({func})", "cum_ms_per_call": round(1000 * ct / calls_divisor, 4),
                         "calls": nc})
    rows.sort(key=lambda r: r["cum_ms_per_call"], reverse=True)
    return rows[:top]


def _short(file: str) -> str:
    import re

    if "/site-packages/" in file:
        return file.split("/site-packages/", 1)[1]
    m = re.search(r"/lib/python3\.\d+/(.*)$", file)  # the standard library
    if m:
        return m.group(1)
    from ._common import REPO_ROOT
    root = str(REPO_ROOT) + "/"
    return file[len(root):] if file.startswith(root) else file


def short_function(name: str) -> str:
    """'werkzeug/datastructures/headers.py:94(_get_key)' -> 'werkzeug/…/headers.py:94(_get_key)';
    "~:0(<method 'execute' of 'sqlite3.Connection' objects>)" -> 'sqlite3.Connection.execute'."""
    import re

    if name.startswith("~:0("):
        inner = name[4:-1]
        m = re.fullmatch(r"<method '(.+)' of '(.+)' objects>", inner)
        if m:
            return f"{m.group(2)}.{m.group(1)}"
        m = re.fullmatch(r"<built-in method (.+)>", inner)
        return m.group(1) if m else inner
    path, _, rest = name.partition(":")
    parts = path.split("/")
    if len(parts) > 2 and parts[0] != "app":
        path = f"{parts[0]}/…/{parts[-1]}"
    return f"{path}:{rest}" if rest else path


def top_text(rows: list[dict], n: int, key: str = "own_ms_per_call", digits: int = 2) -> str:
    """The first ``n`` profile rows as 'function ms; …' for the table."""
    return "; ".join(f"{short_function(r['function'])} {r[key]:.{digits}f}" for r in rows[:n])
