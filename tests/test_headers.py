"""Security headers on every kind of response; no debug mode; secrets only from settings."""
import pytest

PATHS = ["/", "/gebiete/beusselstrasse", "/kiez/01200517", "/api/areas", "/api/lookup?address=x",
         "/api/nowhere", "/ogc", "/ogc/collections?f=html", "/healthz", "/planung/anmelden", "/static/css/kiezkarte.css"]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in r.headers["Permissions-Policy"]
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0] if "script-src" in csp else True


def test_data_responses_allow_nothing_to_run(client):
    assert client.get("/api/areas").headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_debug_is_off_and_the_secret_key_is_never_a_constant(app):
    from app import create_app
    assert app.debug is False
    other = create_app({"STORE": app.config["STORE"]})
    assert app.config["SECRET_KEY"] != other.config["SECRET_KEY"]  # random per process unless configured
    configured = create_app({"STORE": app.config["STORE"], "SECRET_KEY": "from-the-environment"})
    assert configured.config["SECRET_KEY"] == "from-the-environment"
