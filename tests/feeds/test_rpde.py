"""The RPDE feeds (issue 17): modified-and-id ordering, every published item once, changes at the
end, unpublished ones as deleted, the last page pointing at itself, bad parameters named. On
SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, update

from opportunities.db import queries, schema
from opportunities.db.connection import writing
from opportunities.feeds import rpde
from opportunities.feeds.openactive import EVENT, SESSION_SERIES
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Status
from tests.conftest import template_row

PUBLIC = "https://map.example.org"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
SERIES_TITLES = [f"Dans {n}" for n in range(7)]
EVENT_TITLES = [f"Teater {n}" for n in range(4)]


def rows() -> list[dict[str, str]]:
    located = {"latitude": "57.6969", "longitude": "11.9795"}
    return [template_row(title=t, **located) for t in SERIES_TITLES] + [
        template_row(title=t, schedule="", start="2026-12-05 10:00", end="", **located) for t in EVENT_TITLES
    ]


@pytest.fixture
def ids(engine: Engine, geocoder: Geocoder) -> dict[str, int]:
    report = import_records(engine, rows(), geocoder, publish=True)
    assert not report.rejected
    with engine.connect() as conn:
        return {o.title: o.id for o in queries.get_opportunities(conn, report.stored_ids) if o.id is not None}


def later() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def page(engine: Engine, kind: str, after: rpde.Position | None, limit: int = 3, **kw: Any) -> rpde.Page:
    with engine.connect() as conn:
        return rpde.page(conn, kind, after, public_url=PUBLIC, license_url=LICENSE, now=kw.pop("now", None) or later(),
                         limit=limit, **kw)  # fmt: skip


def position_of(url: str) -> rpde.Position | None:
    return rpde.parse_position(parse_qs(urlsplit(url).query))


def walk(
    engine: Engine, kind: str, after: rpde.Position | None = None, limit: int = 3
) -> tuple[list[dict[str, Any]], rpde.Position | None]:
    """Every item from ``after`` to the end, and the position of the last page."""
    items: list[dict[str, Any]] = []
    for _ in range(100):
        found = page(engine, kind, after, limit)
        assert found.body["license"] == LICENSE and found.body["next"].startswith(f"{PUBLIC}/openactive/")
        if found.last:
            assert found.body["items"] == []
            assert found.body["next"] == rpde.feed_url(PUBLIC, kind, after)  # the last page points at itself
            return items, after
        assert len(found.body["items"]) <= limit
        items += found.body["items"]
        last = found.body["items"][-1]
        assert position_of(found.body["next"]) == rpde.Position(last["modified"], last["id"])
        after = position_of(found.body["next"])
    raise AssertionError("the feed did not end")


@pytest.mark.parametrize(("kind", "titles"), [(SESSION_SERIES, SERIES_TITLES), (EVENT, EVENT_TITLES)])
@pytest.mark.parametrize("limit", [1, 3, 500])
def test_walking_the_feed_reaches_every_published_item_once(
    engine: Engine, ids: dict[str, int], kind: str, titles: list[str], limit: int
) -> None:
    items, _end = walk(engine, kind, limit=limit)
    updated = [i for i in items if i["state"] == "updated"]
    assert sorted(i["id"] for i in updated) == sorted(ids[t] for t in titles)
    assert all(i["kind"] == kind and i["data"]["@type"] == kind for i in updated)
    # the other kind's rows are deletions in this feed: a consumer never had them
    assert {i["id"] for i in items} == set(ids.values())
    assert all("data" not in i for i in items if i["state"] == "deleted")
    order = [(i["modified"], i["id"]) for i in items]
    assert order == sorted(order) and len(set(order)) == len(order)
    assert all(isinstance(i["modified"], int) for i in items)


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ({"title": "Dans 2, ny tid"}, "updated"),
        ({"status": Status.ARCHIVED.value, "archive_reason": "withdrawn"}, "deleted"),
        ({"status": Status.REJECTED.value}, "deleted"),
        ({"status": Status.PENDING.value}, "deleted"),
        ({"schedule": ""}, "deleted"),  # now a one-off: gone from the series feed, into the events feed
        ({"title": "Kodklubb"}, "deleted"),  # no OpenActive activity now: out of OpenActive's scope
    ],
)
def test_a_change_moves_the_item_to_the_end(engine: Engine, ids: dict[str, int], change: dict[str, Any], state: str) -> None:
    _items, end = walk(engine, SESSION_SERIES)
    changed = ids["Dans 2"]
    with writing(engine) as conn:
        conn.execute(update(schema.opportunities).where(schema.opportunities.c.id == changed)
                     .values(updated_at=datetime.now(UTC), **change))  # fmt: skip
    items, _ = walk(engine, SESSION_SERIES, after=end)
    assert [(i["id"], i["state"]) for i in items] == [(changed, state)]
    if state == "updated":
        assert items[0]["data"]["name"] == "Dans 2, ny tid"
    if "schedule" in change:
        events, _ = walk(engine, EVENT)
        assert events[-1]["id"] == changed and events[-1]["state"] == "updated"
    # and from the start, the item is once, at the end
    everything, _ = walk(engine, SESSION_SERIES)
    assert [i["id"] for i in everything].count(changed) == 1 and everything[-1]["id"] == changed


def test_a_status_change_through_the_domain_shows_as_deleted(engine: Engine, ids: dict[str, int]) -> None:
    _items, end = walk(engine, EVENT)
    with writing(engine) as conn:
        queries.set_status(conn, ids["Teater 1"], Status.ARCHIVED)
    items, _ = walk(engine, EVENT, after=end)
    assert items == [{"state": "deleted", "kind": EVENT, "id": ids["Teater 1"], "modified": items[0]["modified"]}]


@pytest.mark.parametrize(
    "change",
    [{"status": Status.ARCHIVED.value, "archive_reason": "withdrawn"}, {"status": Status.ARCHIVED.value},
     {"status": Status.REJECTED.value}, {"status": Status.PENDING.value}],
)  # fmt: skip
def test_a_deletion_stays_in_the_feed_for_at_least_seven_days(
    engine: Engine, ids: dict[str, int], change: dict[str, Any]
) -> None:
    """RPDE asks for deleted items to be kept at least 7 days: a consumer that reads the feed again
    from the start, or from where it was, eight days after the change still sees the deletion."""
    _items, end = walk(engine, EVENT)
    gone = ids["Teater 2"]
    with writing(engine) as conn:
        conn.execute(update(schema.opportunities).where(schema.opportunities.c.id == gone)
                     .values(updated_at=datetime.now(UTC), **change))  # fmt: skip
    eight_days = datetime.now(UTC) + timedelta(days=8)
    for after in (None, end):
        with engine.connect() as conn:
            found = rpde.page(conn, EVENT, after, public_url=PUBLIC, license_url=LICENSE, now=eight_days, limit=500)
        assert [i["state"] for i in found.body["items"] if i["id"] == gone] == ["deleted"]


def test_a_change_waits_until_it_is_older_than_the_delay(engine: Engine, ids: dict[str, int]) -> None:
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert page(engine, EVENT, None, 500, now=now, delay=timedelta(hours=1)).last
    assert not page(engine, EVENT, None, 500, now=now + timedelta(hours=1), delay=timedelta(hours=1)).last


def test_modified_is_updated_at_in_microseconds() -> None:
    moment = datetime(2026, 12, 2, 16, 0, 0, 123456, tzinfo=UTC)
    assert rpde.modified(moment) == 1796227200123456
    assert rpde.moment(rpde.modified(moment)) == moment


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"afterTimestamp": ["soon"], "afterId": ["1"]}, "afterTimestamp"),
        ({"afterTimestamp": ["-5"], "afterId": ["1"]}, "afterTimestamp"),
        ({"afterTimestamp": ["1.5"], "afterId": ["1"]}, "afterTimestamp"),
        ({"afterTimestamp": ["9" * 19], "afterId": ["1"]}, "afterTimestamp"),
        ({"afterTimestamp": ["1796227200123456"]}, "afterId"),
        ({"afterId": ["4"]}, "afterId"),
        ({"afterTimestamp": ["1796227200123456"], "afterId": ["x"]}, "afterId"),
        ({"afterTimestamp": ["1", "2"], "afterId": ["4"]}, "afterTimestamp"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, list[str]], parameter: str) -> None:
    with pytest.raises(rpde.FeedParameterError) as caught:
        rpde.parse_position(params)
    assert caught.value.parameter == parameter


@pytest.mark.parametrize(
    ("params", "position"),
    [({}, None), ({"other": ["x"]}, None), ({"afterTimestamp": ["1796227200123456"], "afterId": ["4"]}, rpde.Position(1796227200123456, 4)),
     ({"afterTimestamp": [str(rpde.MAX_MODIFIED)], "afterId": ["4"]}, rpde.Position(rpde.MAX_MODIFIED, 4))],
)  # fmt: skip
def test_good_parameters(params: dict[str, list[str]], position: rpde.Position | None) -> None:
    assert rpde.parse_position(params) == position


def test_a_position_past_every_row_is_the_last_page(engine: Engine, ids: dict[str, int]) -> None:
    far = rpde.Position(rpde.MAX_MODIFIED, 1)
    found = page(engine, SESSION_SERIES, far)
    assert found.last and found.body["next"] == rpde.feed_url(PUBLIC, SESSION_SERIES, far)
    assert page(engine, SESSION_SERIES, None).body["items"] != []


def test_an_empty_feed_has_a_last_first_page(engine: Engine) -> None:
    found = page(engine, SESSION_SERIES, None)
    assert found.last and found.body == {"next": f"{PUBLIC}/openactive/session-series", "items": [], "license": LICENSE}
