from __future__ import annotations

from pathlib import Path

import pytest

from opportunities.errors import SettingsError
from opportunities.settings import PROJECT_ROOT, SETTINGS, load_settings


def test_defaults_run_the_embedded_setup() -> None:
    settings = load_settings({})
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'data' / 'opportunities.db'}"
    assert settings.cache_dir == PROJECT_ROOT / "data" / "cache"
    assert settings.geocoder_online_url == ""


def test_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path), "DEMO_SEED": " 7 "})
    assert settings.database_url == f"sqlite:///{tmp_path / 'opportunities.db'}"
    assert settings.demo_seed == 7
    assert load_settings({}).database_busy_timeout_s == 30
    assert load_settings({"DATABASE_BUSY_TIMEOUT_S": "0.5"}).database_busy_timeout_s == 0.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "just-a-path.db"),
        ("GEOCODER_ONLINE_URL", "nominatim.local"),
        ("TILE_URL", "https://tiles.example.org/tile.png"),
        ("DEMO_SEED", "seven"),
        ("DATABASE_BUSY_TIMEOUT_S", "soon"),
        ("DATABASE_BUSY_TIMEOUT_S", "-1"),
        ("DATABASE_BUSY_TIMEOUT_S", "nan"),
        ("DATABASE_BUSY_TIMEOUT_S", "1e9"),
        ("INDEX_REFRESH_S", "often"),
        ("INDEX_LISTEN", "sometimes"),
        ("INDEX_OVERLAP_S", "-5"),
        ("INDEX_REBUILD_S", "inf"),
        ("FEED_LICENSE", "CC BY 4.0"),
        ("FEED_CONTACT", "the city office"),
        ("BADGE_ISSUER_DID", "jwk"),
        ("HARVEST_INTERVAL_S", "hourly"),
        ("HARVEST_MAX_PAGES", "0"),
        ("HARVEST_MAX_PAGE_BYTES", "ten"),
        ("HARVEST_TIMEOUT_S", "-1"),
        ("HARVEST_ALLOW_PRIVATE", "maybe"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_every_setting_is_documented() -> None:
    """Each setting has a row in the settings table of the documentation (docs/operating/settings.md)."""
    page = (PROJECT_ROOT / "docs" / "operating" / "settings.md").read_text(encoding="utf-8")
    first_cells = [line.split("|")[1] for line in page.splitlines() if line.startswith("| `")]
    missing = [s.name for s in SETTINGS if not any(f"`{s.name}`" in cell for cell in first_cells)]
    assert missing == []


def test_the_documented_defaults_are_the_real_ones() -> None:
    """The default column of the settings table says what SETTINGS holds: the value itself in
    code, "empty" (or the value it stands for) for an empty default, the folder for a path."""
    page = (PROJECT_ROOT / "docs" / "operating" / "settings.md").read_text(encoding="utf-8")
    rows = {}
    for line in page.splitlines():
        if line.startswith("| `"):
            cells = line.split("|")
            for name in cells[1].split(","):  # one row may document two: `SMTP_USERNAME`, `SMTP_PASSWORD`
                rows[name.strip().strip("`")] = cells[2].strip()
    wrong = []
    for setting in SETTINGS:
        shown = rows[setting.name]
        if not setting.default:
            ok = shown.startswith(("empty", "`"))  # or the value derived when empty
        elif setting.name == "DATA_DIR":
            ok = f"`{Path(setting.default).name}/`" in shown
        elif setting.name == "TILE_ATTRIBUTION":
            ok = "OpenStreetMap contributors" in shown
        else:
            ok = f"`{setting.default}`" in shown
        if not ok:
            wrong.append(f"{setting.name}: SETTINGS has {setting.default!r}, the docs say {shown!r}")
    assert not wrong, wrong


def test_the_feeds_contact_is_an_address_or_a_page_and_else_the_app() -> None:
    assert load_settings({}).feed_contact == "http://localhost:8501"
    assert load_settings({"FEED_CONTACT": "data@city.example"}).feed_contact == "data@city.example"
    assert load_settings({"FEED_CONTACT": "https://city.example/open-data"}).feed_contact == "https://city.example/open-data"
    assert load_settings({}).feed_license == "https://creativecommons.org/licenses/by/4.0/"


def test_the_badge_key_file_is_outside_the_project_by_default() -> None:
    settings = load_settings({})
    assert settings.badge_key_file == Path.home() / ".local/share/cities-of-learning/badge-issuer.key"
    assert PROJECT_ROOT not in settings.badge_key_file.parents
    assert load_settings({"BADGE_KEY_FILE": "~/keys/k.pem", "BADGE_ISSUER_DID": "WEB"}).badge_issuer_did == "web"
