"""`kiezkarte serve --workers 2`: gunicorn with two worker processes, as a real subprocess on a free port."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from app.serve import RequestLog
from tests.postgres import free_port

pytestmark = pytest.mark.slow


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture()
def server(store_url, planner_url, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "KIEZKARTE_STORE": store_url, "KIEZKARTE_PLANNER_STORE": planner_url,
           "FLASK_DEBUG": "1", "KIEZKARTE_DEBUG": "1"}  # neither may switch debug on under serve
    with open(log, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--host", "127.0.0.1",
                                    "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(f"serve stopped: {log.read_text()}")
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"serve did not answer: {log.read_text()}")
        yield base, log, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_gunicorn_workers_answer_and_log_one_json_line_per_request(server, backend):
    base, log, process = server
    status, body = get(f"{base}/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "store": "reachable",
                                "backend": backend}
    status, page = get(f"{base}/gebiete/beusselstrasse")
    assert status == 200 and b"<html" in page
    for _ in range(6):  # the same answer from whichever worker takes the request
        assert get(f"{base}/api/areas/beusselstrasse")[0] == 200
    status, body = get(f"{base}/api/areas/nowhere")
    assert status == 404 and "Traceback" not in body.decode() and json.loads(body)["error"]
    time.sleep(0.3)
    text = log.read_text()
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", text))) == 2
    lines = json_lines(text)
    requests = [line for line in lines if line.get("event") == "request"]
    page_line = next(line for line in requests if line["path"] == "/gebiete/beusselstrasse")
    assert page_line["method"] == "GET" and page_line["status"] == 200 and page_line["bytes"] == len(page)
    assert isinstance(page_line["duration_ms"], float) and page_line["duration_ms"] >= 0
    missing = next(line for line in requests if line["path"] == "/api/areas/nowhere")
    assert missing["status"] == 404
    assert sum(line["path"] == "/api/areas/beusselstrasse" for line in requests) == 6
    assert {line["pid"] for line in requests} <= {int(p) for p in re.findall(r"Booting worker with pid: (\d+)", text)}
    assert process.poll() is None


def test_the_request_log_counts_bytes_and_time():
    written = []

    def app(environ, start_response):
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"abc", b"de"]

    r, w = os.pipe()
    try:
        logged = RequestLog(app, fd=w)
        body = logged({"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "QUERY_STRING": "a=1"},
                      lambda status, headers, exc_info=None: written.append(status))
        assert b"".join(body) == b"abcde"
        body.close()
        line = json.loads(os.read(r, 4096).decode())
    finally:
        os.close(r)
        os.close(w)
    assert written == ["201 Created"]
    assert {k: line[k] for k in ("method", "path", "query", "status", "bytes")} == \
        {"method": "POST", "path": "/x", "query": "a=1", "status": 201, "bytes": 5}
