"""The Review page's External feeds tab (AppTest): each feed's health for its city's leads, the
refused items and why, registering and removing a feed; nothing of it for another city's lead."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select, update

from opportunities.db import schema
from opportunities.db.connection import writing
from opportunities.errors import N_, FieldError, because
from opportunities.feeds import harvesting
from tests.conftest import NOW, World, page

LICENSE = "https://creativecommons.org/licenses/by/4.0/"


def feed_in_gothenburg(w: World) -> int:
    """A feed of the library in Göteborg that was harvested an hour ago, with one item refused
    and its last run ended by a 503."""
    with writing(w.engine) as conn:
        feed = harvesting.register_feed(conn, None, url="https://feeds.example.org/rpde", organisation_id=w.library,
                                        city_id=w.gbg, license=LICENSE, attribution="Göteborgs Stad", now=NOW)  # fmt: skip
        error = because(N_("the feed asks to come back later (HTTP {status})"), status=503)
        conn.execute(
            update(schema.harvest_feeds).values(
                last_success_at=datetime.now(UTC) - timedelta(hours=1), items_stored=12, items_rejected=1, lag_s=0.0,
                last_error=json.dumps(harvesting.reason_json(error)), errors=1,
            )
        )  # fmt: skip
        problem = FieldError(
            "url", because(N_("{value} is not a web address starting with http:// or https://"), value="'javascript:x'")
        )
        conn.execute(schema.harvested_items.insert().values(
            feed_id=feed.id, item_id="42", kind="Event", modified=7, upstream_id="https://feeds.example.org/events/42",
            opportunity_id=None, state="updated", problem=json.dumps({"field": problem.field, "reason": harvesting.reason_json(problem.reason)}),
            harvested_at=NOW))  # fmt: skip
    return feed.id


def frames(at: Any, column: str) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_a_lead_sees_the_health_of_the_citys_feeds_and_why_items_were_refused(signed_in: World) -> None:
    w = signed_in
    feed_in_gothenburg(w)
    at = page("review", w.lead_gbg, w)
    assert not at.exception
    [health] = frames(at, "Feed no.")
    row = health.iloc[0]
    assert (row["Organisation"], row["City"], row["Stored"], row["Refused"], row["Behind the feed"]) == (
        "Stadsbiblioteket Göteborg", "Göteborg", 12, 1, "up to date")  # fmt: skip
    assert row["State"] == "error: the feed asks to come back later (HTTP 503)"
    [refused] = frames(at, "Why")
    assert refused.iloc[0]["Item"] == "42"
    assert "is not a web address" in refused.iloc[0]["Why"]


def test_the_tab_speaks_the_leads_language(signed_in: World) -> None:
    w = signed_in
    feed_in_gothenburg(w)
    at = page("review", w.lead_gbg, w, "sv")
    assert not at.exception
    [health] = frames(at, "Flöde nr")
    assert "503" in health.iloc[0]["Tillstånd"]


def test_another_citys_lead_sees_no_feed_of_it(signed_in: World) -> None:
    w = signed_in
    feed_in_gothenburg(w)
    at = page("review", w.lead_kranj, w)
    assert not at.exception
    assert not frames(at, "Feed no.")


def test_a_lead_registers_and_removes_a_feed(signed_in: World) -> None:
    w = signed_in
    at = page("review", w.lead_gbg, w)
    url, attribution = (at.text_input(key=k) for k in ("feed_url", "feed_attribution"))
    url.input("javascript:alert(1)")
    attribution.input("Göteborgs Stad")
    at.button(key="FormSubmitter:register_feed-Register").click().run()
    assert not at.exception
    assert any("is not a web address" in e.value for e in at.error)
    at.text_input(key="feed_url").input("https://feeds.example.org/rpde")
    at.button(key="FormSubmitter:register_feed-Register").click().run()
    assert not at.exception
    with w.engine.connect() as conn:
        stored = conn.execute(
            select(schema.harvest_feeds.c.url, schema.harvest_feeds.c.city_id, schema.harvest_feeds.c.created_by)
        ).all()
    assert stored == [("https://feeds.example.org/rpde", w.gbg, w.lead_gbg.id)]
    assert frames(at, "Feed no.")
    at.button(key="remove_feed").click().run()
    assert not at.exception
    with w.engine.connect() as conn:
        assert conn.execute(select(schema.harvest_feeds.c.id)).all() == []
