"""The server's Streamlit settings that keep a visitor safe and the app offline."""

from __future__ import annotations

import tomllib

from opportunities.settings import PROJECT_ROOT


def test_visitors_never_see_error_details() -> None:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
