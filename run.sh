#!/usr/bin/env bash
# Kiezkarte's two entry points, from a fresh Debian machine with Python 3.11:
#   ./run.sh serve [--host H] [--port P] [--workers N]   set up, build the store if missing, serve the site
#   ./run.sh test [pytest args]            set up (incl. Chromium, GDAL, PostgreSQL + PostGIS), run the whole test suite
#   ./run.sh bench                         set up, run the benchmarks (prints ratios, writes JSON)
# Everything the project needs is installed here, nothing by hand.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    # Install the Debian packages that are missing; one apt-get update per call.
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "run.sh: installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

python_env() {
    # A venv with the project installed (editable); redone when pyproject.toml changes.
    local extras="$1"
    if [ ! -x "$PY" ]; then
        python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
    fi
    local stamp
    stamp="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
    if [ "$(cat "$VENV/.setup-stamp" 2>/dev/null)" != "$stamp" ]; then
        "$PY" -m pip install -q --upgrade pip
        "$PY" -m pip install -q -e ".$extras"
        echo "$stamp" > "$VENV/.setup-stamp"
    fi
}

ensure_store() {
    "$VENV/bin/kiezkarte" build --if-missing
}

cmd="${1:-}"; shift || true
case "$cmd" in
    serve)
        python_env ""
        ensure_store
        exec "$VENV/bin/kiezkarte" serve "$@"
        ;;
    test)
        # postgresql + postgis: the tests start a throw-away cluster of their own (tests/postgres.py) and run
        # every store test against it too; installed here, so a missing one fails instead of skipping
        apt_install chromium gdal-bin postgresql postgis
        python_env "[test]"
        KIEZKARTE_REQUIRE_POSTGIS=1 exec "$PY" -m pytest "$@"
        ;;
    bench)
        apt_install chromium postgresql postgis  # postgresql + postgis: store_backends, big_layer_growth
        python_env "[test]"
        ensure_store
        exec "$PY" -m bench "$@"
        ;;
    *)
        echo "usage: ./run.sh serve [--host H --port P --workers N] | ./run.sh test [pytest args] | ./run.sh bench" >&2
        exit 2
        ;;
esac
