"""The scheduled harvest of the running app: a thread of its own, every HARVEST_INTERVAL_S, off at 0,
surviving a failed round; one round harvests the due feeds on the app's engine and geocoder."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select

from opportunities.db import schema
from opportunities.settings import load_settings
from tests.cli.test_cli import GOOD, write_csv
from tests.cli.test_feeds_command import in_kranj
from tests.feeds.rpde_server import FeedServer, serve
from web import readiness


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve()


def test_the_schedule_runs_its_rounds_in_a_thread_until_stopped_and_survives_a_failure() -> None:
    calls: list[str] = []
    two = threading.Event()

    def work() -> None:
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            raise RuntimeError("the first round fails")
        if len(calls) >= 3:
            two.set()

    schedule = readiness.HarvestSchedule(0.01, work)
    schedule.start()
    assert two.wait(5)
    schedule.stop()
    done = len(calls)
    time.sleep(0.05)
    assert len(calls) == done and set(calls) == {"feed-harvest"}


def test_the_schedule_is_off_at_0() -> None:
    schedule = readiness.HarvestSchedule(0, lambda: pytest.fail("ran"))
    schedule.start()
    time.sleep(0.05)
    schedule.stop()
    assert schedule.rounds == 0


def test_a_round_harvests_the_due_feeds(
    server: FeedServer, database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.commands import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["import", str(write_csv(tmp_path / "kranj.csv", [GOOD])), "--publish"]) == 0
    assert main(["feeds", "add", server.url("/feed"), "--organisation", "MC Kranj", "--city", "Kranj",
                 "--license", "https://creativecommons.org/licenses/by/4.0/", "--attribution", "ŠZ Kranj"]) == 0  # fmt: skip
    server.page("/feed", [in_kranj("a", 1, name="Plezanje")], "/feed?end")
    server.last_page("/feed?end")
    ready = readiness.Warmup(lambda: lambda: 0.0)
    ready.start()
    st.cache_resource.clear()
    settings = load_settings({"DATABASE_URL": database_url, "HARVEST_ALLOW_PRIVATE": "true"})
    try:
        readiness.harvest_round(settings, ready)
    finally:  # the app's engine, closed (PostgreSQL drops the test database only then)
        from ui import app_state

        app_state.database(database_url, str(settings.cache_dir), settings.demo_seed, settings.database_busy_timeout_s).dispose()
        st.cache_resource.clear()
    with engine.connect() as conn:
        assert conn.execute(select(schema.opportunities.c.title).where(schema.opportunities.c.title == "Plezanje")).all() == [
            ("Plezanje",)
        ]
        assert conn.execute(select(schema.harvest_feeds.c.lease_owner, schema.harvest_feeds.c.lag_s)).one() == ("", 0.0)


def test_the_lifespan_starts_the_schedule_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_INTERVAL_S", "900")
    assert readiness._harvest_schedule().interval_s == 900
    monkeypatch.setenv("HARVEST_INTERVAL_S", "often")  # unusable: off, and the warm-up reports it
    assert readiness._harvest_schedule().interval_s == 0
