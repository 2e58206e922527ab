"""The server's Streamlit settings that keep a visitor safe and the app offline."""

from __future__ import annotations

import tomllib

from opportunities.settings import PROJECT_ROOT


def test_visitors_never_see_error_details() -> None:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False


def test_no_full_garbage_collection_after_every_run() -> None:
    """Streamlit's gc.collect() after each run took two thirds of a filter change's CPU, holding
    the interpreter lock every other visitor waits on (benchmarks/load.py measures it)."""
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False
