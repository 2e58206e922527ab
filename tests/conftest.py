"""Shared fixtures: one gazetteer index per test session, a fresh SQLite database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from opportunities.geocoding import Geocoder, open_geocoder
from opportunities.settings import load_settings
from opportunities.storage import open_database
from tests.browser import chromium

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session: Playwright's sync API allows one at a time."""
    with chromium() as started:
        yield started


@pytest.fixture(scope="session")
def geocoder() -> Geocoder:
    # The index is built once into the configured cache (data/cache by default) and reused.
    return open_geocoder(load_settings().cache_dir)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def template_row(**overrides: str) -> dict[str, str]:
    """A valid import row; override fields to make variants."""
    row = {
        "title": "Kodklubb", "description": "Lär dig Python", "provider": "Stadsbiblioteket Göteborg",
        "city": "Göteborg", "country": "SE", "address": "Götaplatsen 3, 412 56 Göteborg",
        "latitude": "", "longitude": "", "topics": "digital-skills", "age_min": "12", "age_max": "16",
        "mode": "in-person", "type": "club", "start": "2026-12-02 17:00", "end": "2027-05-26",
        "schedule": "FREQ=WEEKLY;BYDAY=WE", "cost": "0", "currency": "", "languages": "sv;en",
        "url": "https://example.org/kod", "contact_email": "info@example.org",
    }  # fmt: skip
    row.update(overrides)
    return row
