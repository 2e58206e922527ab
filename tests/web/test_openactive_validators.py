"""OpenActive's own validators on our feeds (issue 17), offline, as CI runs them.

``@openactive/rpde-validator`` walks both feeds of a real uvicorn server on 127.0.0.1, and
``@openactive/data-model-validator`` checks items of every kind the feeds emit (a weekly, a
monthly and a counted series; a timed and an all-day one-off; online, hybrid and in person; free
and paid; with and without accessibility support; a full postal address and one without a
postcode). Both must report no failure. They are the npm packages package-lock.json pins, in the
project's ``node_modules``; the documents the data-model validator would fetch come from
``tests/data/openactive`` (see tests/data/README.md). Skipped where ``node`` or the packages are
missing (``npm ci`` installs them); on CI (env ``CI`` set) that fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, update
from starlette.applications import Starlette
from starlette.middleware import Middleware

from opportunities.db import schema
from opportunities.db.connection import writing
from opportunities.feeds import rpde
from opportunities.feeds.openactive import EVENT, SESSION_SERIES
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Status
from tests.conftest import template_row
from tests.web.serving import free_port, serving
from web.headers import SecurityHeaders
from web.openactive import ROUTES
from web.public import ConditionalGet, RateLimit

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "openactive"
LISTS = ROOT / "tests" / "data" / "openactive"
NODE = shutil.which("node")
VALIDATORS = [ROOT / "node_modules" / "@openactive" / name for name in ("rpde-validator", "data-model-validator")]


@pytest.fixture(autouse=True)
def _validators_installed() -> None:
    """Skip when node or the validators are missing; on CI (env CI set) fail instead."""
    missing = "node" if NODE is None else next((str(p) for p in VALIDATORS if not p.is_dir()), None)
    if missing is None:
        return
    reason = f"OpenActive's validators need {missing} (apt-get install nodejs npm; npm ci in the project folder)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


HERE = {"latitude": "57.6969", "longitude": "11.9795"}
NOWHERE = {"address": "", "latitude": "", "longitude": ""}
# Every kind of item the feeds emit: (what it is, the row's fields beside the template's).
KINDS: list[tuple[str, dict[str, str]]] = [
    ("weekly series in person, free", {"title": "Klättring", "topics": "sport-outdoors", **HERE}),
    ("weekly series, paid, accessible", {"title": "Dans för unga", "cost": "50", "currency": "SEK",
                                         "accessibility": "Rullstol, hörslinga och teckenspråk", **HERE}),
    ("online series", {"title": "Yoga online", "mode": "online", **NOWHERE}),
    ("hybrid series", {"title": "Kör", "mode": "hybrid", **HERE}),
    ("monthly series, open end", {"title": "Teater", "schedule": "FREQ=MONTHLY;BYDAY=-1FR", "start": "2026-12-01 18:00",
                                  "end": "", **HERE}),
    ("counted series", {"title": "Fotboll", "topics": "sport-outdoors", "schedule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
                        **HERE}),
    ("one-off with times", {"title": "Trumma", "schedule": "", "start": "2026-12-05 10:00", "end": "2026-12-05 12:00",
                            **HERE}),
    ("one-off all day, paid", {"title": "Cirkusläger", "type": "camp", "schedule": "", "start": "2027-07-01",
                               "end": "2027-07-05", "cost": "1200", "currency": "SEK", **HERE}),
    ("one-off online", {"title": "Meditation", "mode": "online", "schedule": "", "start": "2026-12-06 09:00", "end": "",
                        **NOWHERE}),
    ("address without a postcode, geocoded", {"title": "Trädgårdsodling", "address": "Götaplatsen 3"}),
    ("out of OpenActive's scope", {"title": "Kodklubb"}),
]  # fmt: skip


def stored(engine: Engine, geocoder: Geocoder) -> list[int]:
    rows = [template_row(**fields) for _what, fields in KINDS]
    report = import_records(engine, rows, geocoder, publish=True)
    assert not report.rejected
    return report.stored_ids


def feed_items(engine: Engine, kind: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    with engine.connect() as conn:
        while True:
            found = rpde.page(conn, kind, after, public_url="https://map.example.org", license_url="https://x.org/l",
                              now=datetime.now(UTC) + timedelta(seconds=1))  # fmt: skip
            if found.last:
                return items
            items += found.body["items"]
            after = rpde.parse_position(parse_qs(urlsplit(found.body["next"]).query))


def node(script: str, *args: str, timeout: float = 120, status: int = 0) -> Any:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(SCRIPTS / script), *args],
        cwd=ROOT,
        env={"PATH": str(Path(NODE).parent), "NODE_PATH": str(ROOT / "node_modules"), "OPENACTIVE_LISTS": str(LISTS)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == status, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_every_kind_of_item_passes_the_data_model_validator(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    ids = stored(engine, geocoder)
    series, events = feed_items(engine, SESSION_SERIES), feed_items(engine, EVENT)
    updated = [i["data"] for i in series + events if i["state"] == "updated"]
    # Every kind is there, once, in its feed; the coding club (no OpenActive activity) in neither.
    assert sorted(d["identifier"] for d in updated) == sorted(ids[:-1])
    assert {i["state"] for i in series + events if i["id"] == ids[-1]} == {"deleted"}
    assert {d["@type"] for d in updated} == {"SessionSeries", "Event"}
    assert any("beta:virtualLocation" in d and "location" not in d for d in updated)  # online
    assert any("beta:virtualLocation" in d and "location" in d for d in updated)  # hybrid
    assert any(d.get("accessibilitySupport") for d in updated) and any(d["offers"][0]["price"] > 0 for d in updated)
    assert any(isinstance(d.get("location", {}).get("address"), str) for d in updated)  # no postcode: one line
    (tmp_path / "items.json").write_text(json.dumps(updated), encoding="utf-8")

    report = node("validate-items.js", str(tmp_path / "items.json"))

    assert report["items"] == len(updated)
    failures = [m for m in report["messages"] if m["severity"] == "failure"]
    assert failures == []


# --- the RPDE validator against a real server ------------------------------------------------------


@pytest.fixture
def server(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The OpenActive routes with the app's middleware, served by uvicorn on a free port of 127.0.0.1."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLIC_URL", base)
    monkeypatch.setenv("INDEX_OVERLAP_S", "0")
    middleware = [Middleware(SecurityHeaders), Middleware(RateLimit), Middleware(ConditionalGet)]  # as server.py
    with serving(Starlette(routes=ROUTES, middleware=middleware), port=port):
        yield base


def test_both_feeds_pass_the_rpde_validator(server: str, engine: Engine, geocoder: Geocoder) -> None:
    ids = stored(engine, geocoder)
    with writing(engine) as conn:  # withdrawn and archived ones: deletions in the feeds
        conn.execute(update(schema.opportunities).where(schema.opportunities.c.id.in_(ids[:2]))
                     .values(status=Status.ARCHIVED.value, updated_at=datetime.now(UTC)))  # fmt: skip

    report = node("rpde.js", "--json", f"{server}/openactive/session-series", f"{server}/openactive/events")

    assert [feed["pages"] for feed in report] == [3, 3]  # a page of items, the last page, and it again
    failures = [m for feed in report for m in feed["messages"] if m["severity"] == "failure"]
    assert failures == []


def test_a_feed_that_cannot_be_read_fails_the_walk(tmp_path: Path) -> None:
    """The validator reports an unreachable feed as one page without errors; our script fails it."""
    report = node("rpde.js", "--json", f"http://127.0.0.1:{free_port()}/openactive/events", status=1)
    assert [m["type"] for m in report[0]["messages"]] == ["feed_not_read"]
