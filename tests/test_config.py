"""Settings: declared once, documented in the README, overridable, never read at import."""
import re

from app import create_app
from app.config import REPO_ROOT, SETTINGS, load_settings


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.M))
    assert documented == {s.name for s in SETTINGS}


def test_environment_then_explicit_overrides():
    settings = load_settings({"TILE_URL": "x"}, environ={"KIEZKARTE_TILE_URL": "env", "KIEZKARTE_STORE": "s.gpkg"})
    assert settings["TILE_URL"] == "x" and settings["STORE"] == "s.gpkg"


def test_apps_do_not_share_settings(tmp_path):
    a = create_app({"STORE": str(tmp_path / "a.gpkg")})
    b = create_app({"STORE": str(tmp_path / "b.gpkg")})
    assert a.config["STORE"] != b.config["STORE"]
