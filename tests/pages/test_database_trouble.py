"""A database that cannot be reached gives every visitor a calm message in their language, never a
traceback nor the server's address (issue 15 item 4); the details go to the server's log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
# Nothing listens on port 9 (discard): connecting fails at once, as with a stopped server.
UNREACHABLE = "postgresql+psycopg://col:secret@127.0.0.1:9/col_unreachable"


@pytest.fixture
def down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize(
    ("page", "language", "message"),
    [
        ("pages/explore.py", "en", "The map is briefly unavailable; try again in a minute."),
        ("pages/sign_in.py", "pl", "Mapa jest chwilowo niedostępna; spróbuj ponownie za minutę."),
        ("pages/coverage.py", "sv", "Kartan är inte tillgänglig just nu; försök igen om en minut."),
    ],
)
def test_an_unreachable_database_gives_a_calm_message(
    down: None, page: str, language: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = language
    at.run()
    if page != "pages/explore.py":
        at.switch_page(page).run()
    assert not at.exception
    shown = [w.value for w in at.warning]
    assert shown == [message]
    page_text = " ".join(str(e.value) for e in (*at.markdown, *at.warning, *at.error, *at.info))
    assert "127.0.0.1" not in page_text and "col_unreachable" not in page_text and "psycopg" not in page_text
    assert any("database unavailable" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
