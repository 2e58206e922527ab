"""Harvesting external RPDE feeds (issue 17): a real publisher on 127.0.0.1 serving OpenActive's own
examples, followed incrementally; updates only when newer, deletions, 503/Retry-After, 410, the
page cap, hostile pages and items, the lease. On SQLite, and on PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from opportunities.db import queries, schema
from opportunities.db.connection import writing
from opportunities.errors import ForbiddenError, RecordError
from opportunities.feeds import harvesting
from opportunities.feeds.fetching import FetchLimits
from opportunities.model import City, Provider
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Status
from tests.feeds.rpde_server import Answer, FeedServer, example_item, serve

LIMITS = FetchLimits(timeout_s=5, deadline_s=5, max_bytes=2_000_000, allow_private=True)
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve()


@pytest.fixture
def feed_id(engine: Engine, server: FeedServer) -> int:
    """A feed of Everyone Active in Middlesbrough (where OpenActive's examples are), at /feed."""
    with writing(engine) as conn:
        city = queries.ensure_city(conn, City("Middlesbrough", "GB", 54.5763, -1.2347, "Europe/London"))
        organisation = queries.ensure_provider(conn, Provider("Everyone Active"), city)
        feed = harvesting.register_feed(conn, None, url=server.url("/feed"), organisation_id=organisation, city_id=city,
                                        license=LICENSE, attribution="Everyone Active via OpenActive", now=NOW)  # fmt: skip
    return feed.id


def item(example: str, item_id: str, modified: int, **data: Any) -> dict[str, Any]:
    """OpenActive's example item with another id, modified and changed data."""
    found = copy.deepcopy(example_item(example))
    found["id"], found["modified"] = item_id, modified
    found["data"].update(data)
    found["data"]["@id"] = f"https://example.com/api/{example}/{item_id}"
    return found


def deleted(item_id: str, modified: int) -> dict[str, Any]:
    return {"state": "deleted", "kind": "SessionSeries", "id": item_id, "modified": modified}


def harvest(engine: Engine, feed_id: int, geocoder: Geocoder, **kw: Any) -> harvesting.HarvestReport:
    kw.setdefault("max_pages", 10)
    return harvesting.harvest_feed(engine, feed_id, geocoder, limits=kw.pop("limits", LIMITS), **kw)


def feed(engine: Engine, feed_id: int) -> harvesting.Feed:
    with engine.connect() as conn:
        return harvesting.get_feed(conn, feed_id)


def stored(engine: Engine) -> dict[str, tuple[str, str]]:
    """Harvested item id -> (title, status) of the opportunity it became."""
    query = select(schema.harvested_items.c.item_id, schema.opportunities.c.title, schema.opportunities.c.status).join(
        schema.opportunities, schema.opportunities.c.id == schema.harvested_items.c.opportunity_id
    )
    with engine.connect() as conn:
        return {i: (t, s) for i, t, s in conn.execute(query)}


def count_opportunities(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(schema.opportunities.c.id)).all())


def test_a_feed_is_followed_page_by_page_to_its_end_and_then_from_where_it_stopped(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    server.page("/feed", [item("sessionseries_example_1", "s1", 10), item("event_example_1", "e1", 11)], "/feed?after=11")
    server.page("/feed?after=11", [item("scheduledsession_example_1", "ss1", 12)], "/feed?after=12")
    server.last_page("/feed?after=12")

    report = harvest(engine, feed_id, geocoder)

    assert report.error is None and not report.rejected, report
    assert (report.pages, report.seen, report.stored, report.caught_up) == (3, 3, 3, True)
    assert stored(engine) == {"s1": ("Virtual BODYPUMP", "published"), "e1": ("Alan's social ride group Gorhambury House loop", "published"),
                              "ss1": ("Hot Yoga", "published")}  # fmt: skip
    health = feed(engine, feed_id)
    assert health.next_url == server.url("/feed?after=12")
    assert (health.items_stored, health.lag_s, health.errors, health.last_error) == (3, 0.0, 0, None)
    assert health.last_success_at is not None

    # The next run starts at the stored next URL: the last page, then what was added after it.
    server.requests.clear()
    server.page("/feed?after=12", [item("event_example_1", "e2", 13, name="Evening ride")], "/feed?after=13")
    server.last_page("/feed?after=13")
    again = harvest(engine, feed_id, geocoder)
    assert server.requests == ["/feed?after=12", "/feed?after=13"]
    assert (again.stored, again.caught_up) == (1, True)
    assert stored(engine)["e2"] == ("Evening ride", "published")


def test_the_items_are_mapped_as_an_import_would_store_them(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    server.page("/feed", [item("sessionseries_example_1", "s1", 10)], "/feed?end")
    server.last_page("/feed?end")
    harvest(engine, feed_id, geocoder)
    with engine.connect() as conn:
        (oid,) = conn.execute(select(schema.harvested_items.c.opportunity_id)).scalars()
        opp = queries.get_opportunity(conn, oid)
        source = harvesting.attributions(conn, [oid])[oid]
    assert (opp.provider, opp.city, opp.country) == ("Everyone Active", "Middlesbrough", "GB")
    assert (opp.latitude, opp.longitude, opp.precision and opp.precision.value) == (54.543964, -1.20978500000001, "provided")
    assert (opp.start, opp.end, opp.schedule) == (
        datetime(2018, 10, 2, 20, 15),
        datetime(2018, 11, 4).date(),
        "FREQ=WEEKLY;BYDAY=TU",
    )
    assert (opp.age_min, opp.age_max, str(opp.cost), opp.currency, opp.topics) == (16, None, "3.30", "GBP", ("sport-outdoors",))
    assert opp.accessibility == "Visual impairment"
    assert source == harvesting.Attribution(
        "Everyone Active via OpenActive", LICENSE, "https://example.com/api/sessionseries_example_1/s1"
    )


def test_an_item_is_updated_only_when_its_modified_is_newer(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    server.page("/feed", [item("event_example_1", "e1", 100, name="First")], "/feed?1")
    server.page("/feed?1", [item("event_example_1", "e1", 100, name="Same modified")], "/feed?2")
    server.page("/feed?2", [item("event_example_1", "e1", 200, name="Newer")], "/feed?3")
    server.page("/feed?3", [item("event_example_1", "e1", 150, name="Older, replayed")], "/feed?4")
    server.last_page("/feed?4")

    report = harvest(engine, feed_id, geocoder)

    assert (report.stored, report.unchanged) == (2, 2)
    assert stored(engine) == {"e1": ("Newer", "published")}
    assert count_opportunities(engine) == 1


def test_a_deleted_item_takes_its_opportunity_off_explore(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    server.page("/feed", [item("event_example_1", "e1", 10), item("event_example_1", "e2", 11, name="Other ride")], "/feed?1")
    server.page("/feed?1", [deleted("e1", 12), deleted("never-seen", 13)], "/feed?2")
    server.last_page("/feed?2")

    report = harvest(engine, feed_id, geocoder)

    assert report.deleted == 1
    assert stored(engine) == {
        "e1": ("Alan's social ride group Gorhambury House loop", "archived"),
        "e2": ("Other ride", "published"),
    }
    with engine.connect() as conn:
        published = queries.get_opportunities(conn, [r[0] for r in conn.execute(select(schema.opportunities.c.id))])
    assert [o.title for o in published if o.status is Status.PUBLISHED] == ["Other ride"]
    # Brought back upstream with a newer modified: published again.
    server.page("/feed?2", [item("event_example_1", "e1", 20, name="Back again")], "/feed?3")
    server.last_page("/feed?3")
    harvest(engine, feed_id, geocoder)
    assert stored(engine)["e1"] == ("Back again", "published")
    assert count_opportunities(engine) == 2


def test_503_with_retry_after_stores_nothing_and_waits(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    server.answers["/feed"] = Answer(503, b"busy", {"Content-Type": "text/plain", "Retry-After": "120"})
    report = harvest(engine, feed_id, geocoder)
    assert report.error is not None and report.error.retry_after_s == 120
    health = feed(engine, feed_id)
    assert health.retry_after is not None and timedelta(seconds=100) < health.retry_after - datetime.now(UTC) <= timedelta(
        seconds=120
    )
    assert (health.errors, health.last_error and health.last_error.values["status"]) == (1, 503)
    assert health.next_url == server.url("/feed") and count_opportunities(engine) == 0

    server.requests.clear()
    assert harvest(engine, feed_id, geocoder).skipped == "waiting"
    assert server.requests == []
    with engine.connect() as conn:
        assert harvesting.due_feeds(conn, datetime.now(UTC)) == []
    server.page("/feed", [item("event_example_1", "e1", 10)], "/feed")
    assert harvest(engine, feed_id, geocoder, force=True).stored == 1
    assert feed(engine, feed_id).retry_after is None


def test_410_gone_stops_the_feed(engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int) -> None:
    server.answers["/feed"] = Answer(410, b"{}")
    report = harvest(engine, feed_id, geocoder)
    assert report.error is not None and report.error.gone
    assert feed(engine, feed_id).gone_at is not None
    server.requests.clear()
    assert harvest(engine, feed_id, geocoder, force=True).skipped == "gone"
    assert server.requests == []


def test_a_run_reads_at_most_max_pages_and_the_next_continues(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    for n in range(5):
        server.page(
            "/feed" if n == 0 else f"/feed?{n}", [item("event_example_1", f"e{n}", n, name=f"Ride {n}")], f"/feed?{n + 1}"
        )
    server.last_page("/feed?5")

    first = harvest(engine, feed_id, geocoder, max_pages=2)
    assert (first.pages, first.stored, first.caught_up) == (2, 2, False)
    assert feed(engine, feed_id).next_url == server.url("/feed?2")
    assert feed(engine, feed_id).lag_s is None  # never caught up yet

    rest = harvest(engine, feed_id, geocoder, max_pages=10)
    assert (rest.pages, rest.stored, rest.caught_up) == (4, 3, True)
    assert len(stored(engine)) == 5


def _million_items() -> bytes:
    return b'{"next": "http://127.0.0.1/x", "items": [' + b",".join([b"{}"] * 1_000_000) + b"]}"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(body=b'{"next": "x", "items": [}'), "the page is not valid JSON ({detail})"),
        (Answer(body=b"[" * 100_000 + b"]" * 100_000), "the page is not valid JSON ({detail})"),
        (Answer(body=b"[1, 2]"), "the page is not an RPDE page: {detail}"),
        (Answer(body=b'{"items": []}'), "the page is not an RPDE page: {detail}"),
        (
            Answer(body=b'{"next": "javascript:alert(1)", "items": []}'),
            "{value} is not a web address starting with http:// or https://",
        ),
        (
            Answer(body=b'{"next": "/feed?2", "items": [{"state": "updated", "id": "a", "modified": "soon", "data": {}}]}'),
            "the page is not an RPDE page: {detail}",
        ),
        (
            Answer(body=b'{"next": "/feed?2", "items": [{"state": "deleted", "id": "a", "modified": 100000000000000000000000}]}'),
            "the page is not an RPDE page: {detail}",
        ),
        (Answer(body=_million_items()), "the page holds {n} items, more than {limit}"),
        (Answer(endless=True), "the page is larger than {limit} bytes"),
        (Answer(body=b"<html><h1>Feed</h1></html>", headers={"Content-Type": "text/html"}), "the page is {value}, not JSON"),
        (Answer(500, b"{}"), "the feed answered HTTP {status} for {url}"),
    ],
    ids=[
        "malformed",
        "nested-bomb",
        "not-object",
        "no-next",
        "javascript-next",
        "bad-modified",
        "huge-modified",
        "million-items",
        "1-GB",
        "html",
        "server-error",
    ],
)
def test_a_hostile_page_changes_nothing_and_says_why(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int, answer: Answer, reason: str
) -> None:
    limits = FetchLimits(timeout_s=5, deadline_s=10, max_bytes=10 * 1024 * 1024, allow_private=True)
    server.answers["/feed"] = answer
    report = harvest(engine, feed_id, geocoder, limits=limits)
    assert report.error is not None and report.error.reason.text == reason
    health = feed(engine, feed_id)
    assert health.last_error is not None and health.last_error.text == reason and health.errors == 1
    assert health.next_url == server.url("/feed") and count_opportunities(engine) == 0


def test_a_bad_item_is_refused_alone_with_its_reason(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    html = "<script>alert('x')</script><b>Ride</b>"
    abroad = item("event_example_1", "abroad", 3, name="Far away")
    abroad["data"]["location"]["geo"] = {"@type": "GeoCoordinates", "latitude": 46.05, "longitude": 14.5}  # Ljubljana
    other_country = item("event_example_1", "other-country", 4, name="Elsewhere")
    other_country["data"]["location"]["address"]["addressCountry"] = "SI"
    server.page("/feed", [
        item("event_example_1", "html", 1, name=html),
        item("event_example_1", "js", 2, name="Script link", url="javascript:alert(1)"),
        abroad, other_country,
        item("event_example_1", "no-age", 5, name="Adults", ageRange=None),
        item("event_example_1", "facility", 6, **{"@type": "FacilityUse"}),
        item("event_example_1", "copy", 7, name=html),  # the same opportunity as "html"
    ], "/feed?end")  # fmt: skip
    server.last_page("/feed?end")

    report = harvest(engine, feed_id, geocoder)

    assert report.error is None
    assert stored(engine) == {"html": (html, "published"), "no-age": ("Adults", "published")}  # HTML kept as text
    assert {i: (e.field, e.reason.text) for i, e in report.rejected.items()} == {
        "js": ("url", "{value} is not a web address starting with http:// or https://"),
        "abroad": ("latitude", report.rejected["abroad"].reason.text),
        "other-country": ("country", "The item is in {value}, not in the feed's country {limit}."),
        "facility": ("type", "{value} is not one of: {limit}"),
        "copy": ("row", "the same opportunity as item {id} of the feed"),
    }
    with engine.connect() as conn:
        problems = {i: str(e) for i, _u, e in harvesting.item_problems(conn, feed_id)}
        no_age = select(schema.harvested_items.c.opportunity_id).where(schema.harvested_items.c.item_id == "no-age")
        adults = queries.get_opportunity(conn, conn.execute(no_age).scalar_one())
    assert problems["js"] == "url: 'javascript:alert(1)' is not a web address starting with http:// or https://"
    assert problems["abroad"].startswith("latitude: ")
    assert adults.age_min == 18  # no ageRange: adults, as OpenActive says
    assert feed(engine, feed_id).items_rejected == 5


def test_a_feed_on_a_private_address_is_refused(engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int) -> None:
    server.page("/feed", [item("event_example_1", "e1", 1)], "/feed")
    report = harvest(engine, feed_id, geocoder, limits=FetchLimits(allow_private=False))
    assert report.error is not None
    assert (
        report.error.reason.text == "{host} is at {address}, a private, loopback or link-local address; feeds there are refused"
    )
    assert server.requests == [] and count_opportunities(engine) == 0


def test_a_feed_leased_by_another_replica_is_skipped(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    server.last_page("/feed")
    with writing(engine) as conn:
        conn.execute(
            update(schema.harvest_feeds).values(lease_owner="replica-b", lease_until=datetime.now(UTC) + timedelta(minutes=5))
        )
    assert harvest(engine, feed_id, geocoder, owner="replica-a").skipped == "leased"
    assert server.requests == []
    # A lease that ran out (its replica died) is taken over.
    with writing(engine) as conn:
        conn.execute(update(schema.harvest_feeds).values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    report = harvest(engine, feed_id, geocoder, owner="replica-a")
    assert report.skipped == "" and report.caught_up
    with engine.connect() as conn:
        assert conn.execute(select(schema.harvest_feeds.c.lease_owner, schema.harvest_feeds.c.lease_until)).one() == ("", None)


def test_registering_checks_who_and_what(engine: Engine, server: FeedServer, feed_id: int) -> None:
    with engine.connect() as conn:
        registered = harvesting.get_feed(conn, feed_id)
    with writing(engine) as conn, pytest.raises(RecordError) as refused:
        harvesting.register_feed(conn, None, url="javascript:alert(1)", organisation_id=registered.organisation_id,
                                 city_id=registered.city_id, license="CC BY", attribution="", now=NOW)  # fmt: skip
    assert [e.field for e in refused.value.errors] == ["url", "license", "attribution"]
    from opportunities.accounts.identity import Role, User

    provider = User(
        id=1,
        email="p@example.org",
        name="",
        role=Role.PROVIDER,
        organisation_id=registered.organisation_id,
        city_ids=(),
        disabled=False,
    )
    with writing(engine) as conn, pytest.raises(ForbiddenError):
        harvesting.register_feed(conn, provider, url=server.url("/x"), organisation_id=registered.organisation_id,
                                 city_id=registered.city_id, license=LICENSE, attribution="X", now=NOW)  # fmt: skip


def test_removing_a_feed_archives_what_it_brought(engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int) -> None:
    server.page("/feed", [item("event_example_1", "e1", 1)], "/feed")
    harvest(engine, feed_id, geocoder)
    with writing(engine) as conn:
        assert harvesting.remove_feed(conn, None, feed_id, now=datetime.now(UTC)) == 1
        assert harvesting.list_feeds(conn, None) == []
        statuses = conn.execute(select(schema.opportunities.c.status, schema.opportunities.c.archive_reason)).all()
    assert statuses == [("archived", "feed removed")]


def test_reasons_survive_the_database(engine: Engine) -> None:
    from opportunities.errors import Country, because

    reason = because("{a} {b} {c} {d}", a=1, b=Country("SE"), c=because("{x}", x="y"), d=NOW.date())
    assert harvesting.reason_from_json(json.loads(json.dumps(harvesting.reason_json(reason)))) == reason


def _serve_feed(server: FeedServer, source: Engine, kind: str) -> str:
    """Our own feed of ``kind`` from ``source``, page by page, served at its path; returns its URL."""
    from urllib.parse import urlsplit

    from opportunities.feeds import rpde

    after = None
    while True:
        with source.connect() as conn:
            page = rpde.page(conn, kind, after, public_url=server.base, license_url=LICENSE,
                             now=datetime.now(UTC) + timedelta(seconds=1), limit=2)  # fmt: skip
        url = rpde.feed_url(server.base, kind, after)
        parts = urlsplit(url)
        server.answers[parts.path + (f"?{parts.query}" if parts.query else "")] = Answer(body=json.dumps(page.body).encode())
        if page.last:
            return rpde.feed_url(server.base, kind)
        last = page.body["items"][-1]
        after = rpde.Position(last["modified"], last["id"])


def test_our_own_feed_harvested_into_a_second_database_gives_the_same_opportunities(
    engine: Engine, geocoder: Geocoder, server: FeedServer, databases: Any, tmp_path: Any
) -> None:
    from opportunities.db.connection import open_database
    from opportunities.feeds import rpde
    from opportunities.feeds.openactive import EVENT, SESSION_SERIES
    from opportunities.listings.importing import import_records
    from tests.conftest import template_row

    located = {"latitude": "57.6969", "longitude": "11.9795", "accessibility": "Rullstolsramp"}
    # Titles that name an activity of OpenActive's list: our feed publishes only those (see openactive.names_activity).
    rows = [template_row(title=f"Yoga {n}", **located) for n in range(3)] + [
        template_row(
            title="Dans", schedule="", start="2026-12-05 10:00", end="2026-12-05 12:00", cost="50", currency="SEK", **located
        ),
        template_row(
            title="Yoga online", mode="online", address="", latitude="", longitude="", schedule="", start="2026-12-06", end=""
        ),
    ]
    report = import_records(engine, rows, geocoder, publish=True)
    assert not report.rejected
    urls = {kind: _serve_feed(server, engine, kind) for kind in (SESSION_SERIES, EVENT)}

    second_url = databases.create(tmp_path / "second")
    second = open_database(second_url)
    try:
        with writing(second) as conn:
            city = queries.ensure_city(conn, City("Göteborg", "SE", 57.70716, 11.96679, "Europe/Stockholm"))
            library = queries.ensure_provider(conn, Provider("Stadsbiblioteket Göteborg"), city)
            feed_ids = [harvesting.register_feed(conn, None, url=url, organisation_id=library, city_id=city, license=LICENSE,
                                                 attribution="Cities of Learning Göteborg", now=NOW).id for url in urls.values()]  # fmt: skip
        for feed_id in feed_ids:
            done = harvest(second, feed_id, geocoder)
            assert done.error is None and not done.rejected and done.caught_up, done

        def shown(e: Engine) -> set[tuple[Any, ...]]:
            with e.connect() as conn:
                ids = list(conn.execute(select(schema.opportunities.c.id)).scalars())
                return {(o.title, o.start, o.end, o.schedule, o.age_min, o.age_max, o.cost, o.currency, o.topics,
                         o.languages, o.mode, o.latitude, o.longitude, o.url, o.city, o.provider)
                        for o in queries.get_opportunities(conn, ids)}  # fmt: skip

        assert shown(second) == shown(engine)
        # Harvested, so not ours to republish: our feed in the second database lists them as deleted.
        with second.connect() as conn:
            page = rpde.page(conn, SESSION_SERIES, None, public_url="https://second.example", license_url=LICENSE,
                             now=datetime.now(UTC) + timedelta(seconds=1))  # fmt: skip
        assert page.body["items"] and {i["state"] for i in page.body["items"]} == {"deleted"}
    finally:
        second.dispose()
        databases.drop(second_url)


@pytest.mark.parametrize("fmt", ["geojson", "parquet"])
def test_the_geographic_exports_credit_a_harvested_opportunity(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int, tmp_path: Any, fmt: str
) -> None:
    from opportunities.listings.exporting import export

    server.page("/feed", [item("event_example_1", "e1", 1)], "/feed")
    harvest(engine, feed_id, geocoder)
    out = tmp_path / f"out.{fmt}"
    with engine.connect() as conn:
        assert export(conn, out, fmt=fmt) == 1
    if fmt == "geojson":
        properties = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    else:
        import geopandas as gpd

        properties = gpd.read_parquet(out).iloc[0].to_dict()
    assert (properties["source"], properties["license"]) == ("Everyone Active via OpenActive", LICENSE)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": {"en": "A ride"}},
        {"location": ["not", "a", "place"]},
        {"ageRange": {"minValue": {"nested": 1}}},
        {"startDate": "9999-12-31T23:30:00-12:00"},
        {"startDate": 20261201},
        {"offers": "free"},
        {"@type": ["Event"]},
        {"eventAttendanceMode": 7, "inLanguage": {"code": "en"}, "category": 3, "accessibilitySupport": "yes"},
    ],
    ids=["name-object", "location-list", "age-object", "year-9999", "date-number", "offers-text", "type-list", "odd-types"],
)
def test_oddly_shaped_data_refuses_its_item_or_is_ignored_never_the_run(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int, changes: dict[str, Any]
) -> None:
    series = item("sessionseries_example_1", "odd-series", 2)
    series["data"]["eventSchedule"] = [{"@type": "PartialSchedule", "repeatFrequency": "P1W", "byMonthDay": 5, "byDay": 7,
                                        "startDate": "2018-10-02", "startTime": "20:15"}]  # fmt: skip
    server.page("/feed", [item("event_example_1", "odd", 1, **changes), series, item("event_example_1", "fine", 3, name="Fine")],
                "/feed?end")  # fmt: skip
    server.last_page("/feed?end")
    report = harvest(engine, feed_id, geocoder)
    assert report.error is None and report.caught_up
    assert stored(engine)["fine"] == ("Fine", "published")
    assert set(report.rejected) | set(stored(engine)) >= {"odd", "odd-series", "fine"}


def test_a_lead_sees_and_manages_only_the_feeds_of_their_cities(engine: Engine, feed_id: int) -> None:
    from opportunities.accounts.identity import Role, User

    with engine.connect() as conn:
        city = harvesting.get_feed(conn, feed_id).city_id
        lead = User(
            id=7, email="l@example.org", name="", role=Role.CITY_LEAD, organisation_id=None, city_ids=(city,), disabled=False
        )
        other = User(id=8, email="o@example.org", name="", role=Role.CITY_LEAD, organisation_id=None, city_ids=(city + 1,),
                     disabled=False)  # fmt: skip
        assert [f.id for f in harvesting.list_feeds(conn, lead)] == [feed_id]
        assert harvesting.list_feeds(conn, other) == []
        with pytest.raises(ForbiddenError):
            harvesting.list_feeds(conn, other, city_id=city)
    with writing(engine) as conn, pytest.raises(ForbiddenError):
        harvesting.remove_feed(conn, other, feed_id, now=NOW)


def test_a_run_that_lost_its_lease_stores_no_further_page(
    engine: Engine, geocoder: Geocoder, server: FeedServer, feed_id: int
) -> None:
    server.page("/feed", [item("event_example_1", "e1", 1)], "/feed?2")
    server.page("/feed?2", [item("event_example_1", "e2", 2, name="Second")], "/feed?3")
    server.last_page("/feed?3")
    calls = []

    def clock() -> datetime:
        calls.append(1)
        if len(calls) == 3:  # before the second page is stored, another replica takes the feed over
            with writing(engine) as conn:
                conn.execute(update(schema.harvest_feeds).values(lease_owner="replica-b"))
        return datetime.now(UTC)

    report = harvest(engine, feed_id, geocoder, owner="replica-a", clock=clock)
    assert (report.skipped, report.pages) == ("leased", 1)
    assert set(stored(engine)) == {"e1"}
    health = feed(engine, feed_id)
    assert health.next_url == server.url("/feed?2")  # replica-b goes on from the first page not stored
    with engine.connect() as conn:
        assert conn.execute(select(schema.harvest_feeds.c.lease_owner)).scalar_one() == "replica-b"
