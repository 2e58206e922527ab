"""Indicators on small hand-made datasets with known answers: periods, sessions (recurring, multi-day,
across DST), the previous period's change, districts, organisations, participation; the CSV and
JSON files and the command line; the printable report (escaped) and the charts' PNGs."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Connection, Engine, inspect, text

from cli import commands as cli
from opportunities.coverage.charts import chart_png, charts
from opportunities.coverage.indicators import (
    FRESH_DAYS,
    MAX_PERIOD_DAYS,
    Group,
    Indicators,
    Note,
    Period,
    ScopeKind,
    compute,
    default_period,
    district_of_points,
    resolve_scope,
    scope_names,
)
from opportunities.coverage.printable import report_html
from opportunities.coverage.regions import region_of
from opportunities.coverage.reports import CSV_COLUMNS, format_change, indicators_csv, indicators_json
from opportunities.db.connection import writing
from opportunities.db.queries import ensure_city, ensure_provider, insert_opportunities, opportunity_row
from opportunities.db.schema import districts
from opportunities.errors import FieldError, NotFoundError
from opportunities.model import City, Opportunity, Provider
from opportunities.vocabulary import Mode, OpportunityType, Precision, ProviderKind, Status

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))  # previous: 2 Oct – 31 Oct 2026
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def square(west: float, south: float, size: float) -> str:
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


@dataclass(frozen=True)
class Item:
    """One opportunity of the hand-made dataset."""

    title: str
    city: str
    provider: str
    start: date | datetime
    end: date | datetime | None = None
    schedule: str = ""
    topics: tuple[str, ...] = ("digital-skills",)
    age: tuple[int, int | None] = (13, 17)
    mode: Mode = Mode.IN_PERSON
    type: OpportunityType = OpportunityType.WORKSHOP
    cost: int = 0
    accessibility: str = ""
    status: Status = Status.PUBLISHED
    point: tuple[float, float] | None = None  # (lon, lat)
    precision: Precision = Precision.PROVIDED
    created: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    verified: datetime | None = None


CITIES = {
    "Alphaville": City("Alphaville", "SE", 57.0, 12.0, "Europe/Stockholm"),
    "Betatown": City("Betatown", "SE", 58.0, 13.0, "Europe/Stockholm"),
    "Gammagrad": City("Gammagrad", "PL", 52.0, 21.0, "Europe/Warsaw"),
}
PROVIDERS = {
    "School One": (ProviderKind.SCHOOL, "Alphaville"),
    HOSTILE: (ProviderKind.NGO, "Alphaville"),
    "Library Three": (ProviderKind.LIBRARY, "Gammagrad"),
    "Pending Company": (ProviderKind.COMPANY, "Alphaville"),
}
NOV_5 = datetime(2026, 11, 5, 9, tzinfo=UTC)
# Alphaville's districts: West (11.9–12.0 E) and East (12.0–12.1 E), sharing the meridian 12.0.
WEST, EAST = square(11.9, 56.95, 0.1), square(12.0, 56.95, 0.1)
ITEMS = (
    # In November only; fresh (verified in October although stored in January); in West.
    Item("Coding", "Alphaville", "School One", datetime(2026, 11, 10, 17), accessibility="Step-free entrance",
         point=(11.95, 57.0), verified=datetime(2026, 10, 1, tzinfo=UTC)),
    # In October only: online, paid, for children.
    Item("Drawing", "Alphaville", "School One", date(2026, 10, 15), topics=("arts-culture",), age=(6, 12),
         mode=Mode.ONLINE, type=OpportunityType.EVENT, cost=50, verified=datetime(2026, 9, 15, tzinfo=UTC)),
    # Weekly on Tuesdays until 3 November (a Tuesday): in October and on 3 November.
    Item("Chess club", "Alphaville", "School One", datetime(2026, 9, 1, 16), end=date(2026, 11, 3),
         schedule="FREQ=WEEKLY;BYDAY=TU", type=OpportunityType.CLUB, topics=("study",), age=(10, 17)),
    # Weekly on Tuesdays until Monday 2 November: its last session is 27 October.
    Item("Old club", "Alphaville", "School One", datetime(2026, 9, 1, 16), end=date(2026, 11, 2),
         schedule="FREQ=WEEKLY;BYDAY=TU", type=OpportunityType.CLUB, topics=("study",)),
    # A camp over the month's turn: in both periods, in October's and November's months.
    Item("Camp", "Alphaville", HOSTILE, date(2026, 10, 30), end=date(2026, 11, 2), type=OpportunityType.CAMP,
         topics=("sport-outdoors",), age=(18, 30), created=NOV_5),
    # The last minutes of the period count; the first minute after it does not.
    Item("Late talk", "Alphaville", "School One", datetime(2026, 11, 30, 23, 30), type=OpportunityType.EVENT,
         point=(12.05, 57.0), precision=Precision.CITY, created=datetime(2026, 3, 1, tzinfo=UTC)),
    Item("December talk", "Alphaville", "School One", datetime(2026, 12, 1, 0, 0), type=OpportunityType.EVENT),
    # First Saturday of the month from 5 December: no session in November.
    Item("Monthly walk", "Alphaville", "School One", datetime(2026, 12, 5, 10), schedule="FREQ=MONTHLY;BYDAY=1SA"),
    # Pending: counted only when city leads ask for pending ones.
    Item("Pending fair", "Alphaville", "Pending Company", date(2026, 11, 12), status=Status.PENDING, created=NOV_5),
    Item("Beta course", "Betatown", "School One", date(2026, 11, 20), type=OpportunityType.COURSE, age=(31, None)),
    Item("Gamma reading", "Gammagrad", "Library Three", date(2026, 11, 5), topics=("languages",), created=NOV_5),
)  # fmt: skip


def store(engine: Engine, items: tuple[Item, ...] = ITEMS, *, district_rows: bool = True) -> None:
    with writing(engine) as conn:
        city_ids = {name: ensure_city(conn, city) for name, city in CITIES.items()}
        provider_ids = {
            name: ensure_provider(conn, Provider(name, kind), city_ids[city]) for name, (kind, city) in PROVIDERS.items()
        }
        if district_rows:
            conn.execute(districts.insert(), [
                {"city_id": city_ids["Alphaville"], "name": "West", "boundary": WEST},
                {"city_id": city_ids["Alphaville"], "name": "East", "boundary": EAST},
            ])  # fmt: skip
        rows, topics = [], []
        for item in items:
            city = CITIES[item.city]
            opp = Opportunity(
                title=item.title, provider=item.provider, city=item.city, country=city.country, topics=item.topics,
                age_min=item.age[0], age_max=item.age[1], mode=item.mode, type=item.type, start=item.start,
                end=item.end, schedule=item.schedule, cost=Decimal(item.cost), currency="SEK" if item.cost else "",
                accessibility=item.accessibility, status=item.status,
                longitude=item.point[0] if item.point else None, latitude=item.point[1] if item.point else None,
                precision=item.precision if item.point else None, created_at=item.created, updated_at=item.created,
                verified_at=item.verified,
            )  # fmt: skip
            rows.append(
                opportunity_row(opp, provider_id=provider_ids[item.provider], city_id=city_ids[item.city], now=item.created)
            )
            topics.append(item.topics)
        insert_opportunities(conn, rows, topics, [() for _ in rows])


@pytest.fixture
def dataset(engine: Engine) -> Engine:
    store(engine)
    return engine


def indicators_of(engine: Engine, kind: ScopeKind, name: str = "", period: Period = NOVEMBER, **kwargs: Any) -> Indicators:
    with engine.connect() as conn:
        statuses = kwargs.get("statuses", frozenset({Status.PUBLISHED}))
        return compute(conn, resolve_scope(conn, kind, name, statuses=statuses), period, **kwargs)


def values(indicators: Indicators, group: Group) -> dict[str, tuple[float | None, float | None]]:
    return {f.key: (f.value, f.previous) for f in indicators.group(group)}


# --- periods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "days", "previous", "months"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), 30, (date(2026, 10, 2), date(2026, 10, 31)), ["2026-11"]),
        (date(2026, 11, 15), date(2026, 11, 15), 1, (date(2026, 11, 14), date(2026, 11, 14)), ["2026-11"]),
        (date(2026, 12, 20), date(2027, 1, 10), 22, (date(2026, 11, 28), date(2026, 12, 19)), ["2026-12", "2027-01"]),
        # A leap day: the previous period of March 2028 (31 days) starts on 30 January.
        (date(2028, 3, 1), date(2028, 3, 31), 31, (date(2028, 1, 30), date(2028, 2, 29)), ["2028-03"]),
        (date(2027, 1, 1), date(2027, 12, 31), 365, (date(2026, 1, 1), date(2026, 12, 31)),
         [f"2027-{m:02d}" for m in range(1, 13)]),
    ],
)  # fmt: skip
def test_periods(start: date, end: date, days: int, previous: tuple[date, date], months: list[str]) -> None:
    period = Period(start, end)
    assert period.days == days
    assert period.previous() == Period(*previous)
    assert [f"{m.start:%Y-%m}" for m in period.months()] == months
    assert period.months()[0].start == start and period.months()[-1].end == end


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 11, 2), date(2026, 11, 1), "to: The end is before the start"),
        (date(2000, 1, 1), date(2026, 1, 1), f"to: A period is at most {MAX_PERIOD_DAYS:,} days; this one has 9,498"),
    ],
)
def test_unusable_periods(start: date, end: date, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        Period(start, end)


@pytest.mark.parametrize(
    ("today", "period"),
    [
        (date(2026, 11, 23), Period(date(2026, 11, 1), date(2026, 11, 30))),
        (date(2026, 12, 31), Period(date(2026, 12, 1), date(2026, 12, 31))),
        (date(2028, 2, 1), Period(date(2028, 2, 1), date(2028, 2, 29))),
    ],
)
def test_default_period_is_the_month(today: date, period: Period) -> None:
    assert default_period(today) == period


# --- scopes and regions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "region"),
    [
        (City("Göteborg", "SE", 57.7, 11.97, "Europe/Stockholm"), "Västra Götaland"),
        (City("GÄVLE", "SE", 60.7, 17.1, "Europe/Stockholm"), "Sweden"),  # not listed: its country
        (City("Hudiksvall", "se", 61.7, 17.1, "Europe/Stockholm"), "Gävleborg"),
        (City("Plock", "PL", 52.5, 19.7, "Europe/Warsaw"), "Mazowsze"),  # accents folded
        (City("Novo mesto", "SI", 45.8, 15.2, "Europe/Ljubljana"), "Slovenija"),
        (City("Wien", "AT", 48.2, 16.4, "Europe/Vienna"), "Austria"),
    ],
)
def test_region_of(city: City, region: str) -> None:
    assert region_of(city) == region


def test_the_demo_cities_are_in_the_network_s_regions() -> None:
    from opportunities.demo.generator import CITIES

    for demo in CITIES:
        assert region_of(City(demo.name, demo.country, 0.0, 0.0, "UTC")) == demo.region, demo.name


def test_scopes(dataset: Engine) -> None:
    with dataset.connect() as conn:
        assert scope_names(conn, ScopeKind.CITY) == ["Alphaville", "Betatown", "Gammagrad"]
        assert scope_names(conn, ScopeKind.REGION) == ["Poland", "Sweden"]
        assert scope_names(conn, ScopeKind.NETWORK) == []
        assert [c.name for c in resolve_scope(conn, ScopeKind.REGION, "sweden").cities] == ["Alphaville", "Betatown"]
        assert resolve_scope(conn, ScopeKind.CITY, "ALPHAVILLE").name == "Alphaville"
        with pytest.raises(NotFoundError, match="choose one of: Alphaville, Betatown, Gammagrad"):
            resolve_scope(conn, ScopeKind.CITY, "Deltaville")
        with pytest.raises(NotFoundError, match="no region 'Mars'"):
            resolve_scope(conn, ScopeKind.REGION, "Mars")


# --- figures ---------------------------------------------------------------------------------------


def test_city_opportunities_this_and_previous_period(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville")
    # November: Coding, Chess club (3 Nov), Camp (1–2 Nov), Late talk (30 Nov 23:30).
    # October 2–31: Drawing, Chess club, Old club, Camp (30–31 Oct).
    assert values(found, Group.OPPORTUNITIES) == {"counted": (4, 4)}
    assert found.figure(Group.OPPORTUNITIES, "counted").change == 0  # type: ignore[union-attr]
    topics = values(found, Group.TOPIC)
    assert topics["digital-skills"] == (2, 0)
    assert topics["study"] == (1, 2)
    assert topics["arts-culture"] == (0, 1)
    assert topics["sport-outdoors"] == (1, 1)
    modes = values(found, Group.MODE)
    assert modes == {"in-person": (4, 3), "online": (0, 1), "hybrid": (0, 0)}
    types = values(found, Group.TYPE)
    assert (types["workshop"], types["club"], types["camp"], types["event"]) == ((1, 0), (1, 2), (1, 1), (1, 1))
    ages = values(found, Group.AGE_GROUP)
    # Coding 13–17, Chess 10–17, Camp 18–30, Late talk 13–17 | Drawing 6–12, Chess, Old club 13–17, Camp.
    assert ages == {"children": (1, 2), "teens": (3, 2), "young-adults": (1, 1), "adults": (0, 0)}
    assert values(found, Group.MONTH) == {"2026-11": (4, None)}


@pytest.mark.parametrize(
    ("kind", "name", "counted"),
    [
        (ScopeKind.CITY, "Alphaville", 4),
        (ScopeKind.CITY, "Betatown", 1),
        (ScopeKind.CITY, "Gammagrad", 1),
        (ScopeKind.REGION, "Sweden", 5),
        (ScopeKind.REGION, "Poland", 1),
        (ScopeKind.NETWORK, "", 6),
    ],
)
def test_scope_sums(dataset: Engine, kind: ScopeKind, name: str, counted: int) -> None:
    assert indicators_of(dataset, kind, name).figure(Group.OPPORTUNITIES, "counted").value == counted  # type: ignore[union-attr]


def test_statuses_are_a_parameter(dataset: Engine) -> None:
    leads = indicators_of(dataset, ScopeKind.CITY, "Alphaville", statuses=frozenset({Status.PUBLISHED, Status.PENDING}))
    assert leads.figure(Group.OPPORTUNITIES, "counted").value == 5  # type: ignore[union-attr]
    assert leads.figure(Group.ORGANISATIONS, "joined").value == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("period", "months"),
    [
        # The camp (30 Oct – 2 Nov) counts in both months; the old club's last session is 27 Oct.
        (Period(date(2026, 10, 1), date(2026, 11, 30)), {"2026-10": (4, None), "2026-11": (4, None)}),
        # December: the walk on the first Saturday (5 Dec), the talk at 00:00 on 1 December.
        (Period(date(2026, 12, 1), date(2026, 12, 31)), {"2026-12": (2, None)}),
        (Period(date(2026, 12, 6), date(2027, 1, 31)), {"2026-12": (0, None), "2027-01": (1, None)}),
    ],
)
def test_months(dataset: Engine, period: Period, months: dict[str, tuple[int, None]]) -> None:
    assert values(indicators_of(dataset, ScopeKind.CITY, "Alphaville", period), Group.MONTH) == months


def test_shares_and_their_change(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville")
    shares = values(found, Group.SHARES)
    assert shares["free"] == (1.0, 0.75)  # Drawing costs 50 in October
    assert shares["accessible"] == (0.25, 0.0)
    # Fresh as of 30 November: Coding (verified 1 Oct) and the camp (stored 5 Nov); the chess club
    # and the late talk were stored in January and March. As of 31 October only Drawing (verified
    # 15 September) was fresh: the camp was not stored yet.
    assert shares["fresh"] == (0.5, 0.25)
    fresh = found.figure(Group.SHARES, "fresh")
    assert fresh is not None and fresh.change == pytest.approx(0.25)
    assert format_change(fresh, "en") == "+25.0 pp"
    assert format_change(fresh, "sv") == "+25,0 p.e."


def test_a_share_of_nothing_is_not_zero(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.CITY, "Gammagrad")
    free = found.figure(Group.SHARES, "free")
    assert free is not None and (free.value, free.previous, free.change) == (1.0, None, None)
    assert format_change(free, "en") == ""


def test_freshness_window_is_six_months() -> None:
    assert 182 <= FRESH_DAYS <= 184


def test_districts_covered(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville")
    # Coding lies in West; the late talk lies in East but is placed at the city centre only.
    assert values(found, Group.DISTRICTS) == {"covered": (1, 0), "total": (2, 2)}
    assert Note.NO_DISTRICTS not in found.notes
    gamma = indicators_of(dataset, ScopeKind.CITY, "Gammagrad")
    assert gamma.figure(Group.DISTRICTS, "covered") is None and Note.NO_DISTRICTS in gamma.notes


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(11.95, 57.0), (12.05, 57.0)], [0, 1]),
        ([(12.0, 57.0)], [0]),  # on the shared edge: counted once, in the first district
        ([(13.0, 57.0)], [-1]),
        ([(11.9, 56.95)], [0]),  # a corner belongs to its district
        ([(12.25, 57.0), (12.35, 57.0), (12.3, 57.0)], [2, 2, -1]),  # a multipolygon's two parts, not its gap
        ([], []),
    ],
)
def test_district_of_points(points: list[tuple[float, float]], expected: list[int]) -> None:
    multi = json.dumps({"type": "MultiPolygon", "coordinates": [json.loads(square(12.2, 56.95, 0.07))["coordinates"],
                                                                json.loads(square(12.33, 56.95, 0.07))["coordinates"]]})  # fmt: skip
    found = district_of_points([WEST, EAST, multi], [p[0] for p in points], [p[1] for p in points])
    assert found == expected


def test_a_self_intersecting_boundary_is_repaired() -> None:
    bowtie = json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]})
    assert district_of_points([bowtie], [0.5, 1.0, 1.5], [1.0, 1.9, 1.0]) == [0, -1, 0]


def test_organisations_joined(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville")
    # School One's first opportunity was stored in January; the hostile one's on 5 November. The
    # pending company has nothing published, so the public does not see it.
    assert values(found, Group.ORGANISATIONS)["joined"] == (1, 0)
    kinds = values(found, Group.JOINED_BY_KIND)
    assert kinds["ngo"] == (1, 0) and kinds["school"] == (0, 0) and kinds["company"] == (0, 0)
    assert [(o.name, o.kind, o.joined) for o in found.joined] == [(HOSTILE, ProviderKind.NGO, date(2026, 11, 5))]
    # School One is registered in Alphaville and offers a course in Betatown: it belongs to both.
    network = indicators_of(dataset, ScopeKind.NETWORK)
    assert values(network, Group.ORGANISATIONS)["joined"] == (2, 0)


def _add_column(conn: Connection, table: str, column: str, kind: str) -> None:
    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


def test_verification_counts_once_organisations_carry_its_date(dataset: Engine) -> None:
    with dataset.connect() as conn:
        before = {c["name"] for c in inspect(conn).get_columns("providers")}
    if "verified_at" not in before:
        assert Note.NO_VERIFICATION in indicators_of(dataset, ScopeKind.CITY, "Alphaville").notes
    with writing(dataset) as conn:
        _add_column(conn, "providers", "verified_at", "TIMESTAMP")
        conn.execute(text("UPDATE providers SET verified_at = NULL"))
        # UTC instants: PostgreSQL's column (migration 0006) is timestamptz, which reads a naive
        # value in the server's own time zone; SQLite's keeps the naive UTC text.
        aware = conn.dialect.name == "postgresql"
        for name, at in (("School One", datetime(2026, 11, 30, 23, 30)), ("Library Three", datetime(2026, 10, 20, 8))):
            conn.execute(
                text("UPDATE providers SET verified_at = :at WHERE name = :name"),
                {"at": at.replace(tzinfo=UTC) if aware else at, "name": name},
            )
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville")
    # 23:30 UTC on 30 November is already 1 December in Alphaville (UTC+1).
    assert values(found, Group.ORGANISATIONS)["verified"] == (0, 0)
    assert Note.NO_VERIFICATION not in found.notes
    assert values(indicators_of(dataset, ScopeKind.NETWORK), Group.ORGANISATIONS)["verified"] == (0, 1)


def test_participation_counts_once_providers_report_it(dataset: Engine) -> None:
    with dataset.connect() as conn:
        exists = inspect(conn).has_table("participation_reports")
    if not exists:
        assert Note.NO_PARTICIPATION in indicators_of(dataset, ScopeKind.CITY, "Alphaville").notes
        with writing(dataset) as conn:
            conn.execute(text("CREATE TABLE participation_reports (opportunity_id INTEGER NOT NULL, "
                              "age_group VARCHAR(20) NOT NULL, participants INTEGER NOT NULL)"))  # fmt: skip
    with writing(dataset) as conn:
        ids: dict[str, int] = {row.title: row.id for row in conn.execute(text("SELECT title, id FROM opportunities"))}
        columns = {c["name"] for c in inspect(conn).get_columns("participation_reports")}
        extra = {"reported_at": datetime(2026, 12, 1)} if "reported_at" in columns else {}
        reports = [("Coding", "teens", 12), ("Camp", "young-adults", 20), ("Chess club", "children", 3),
                   ("Chess club", "teens", 5), ("Drawing", "children", 7), ("Gamma reading", "teens", 100)]  # fmt: skip
        for title, group, number in reports:
            names = ", ".join(["opportunity_id", "age_group", "participants", *extra])
            marks = ", ".join([":o", ":g", ":n", *(f":{k}" for k in extra)])
            conn.execute(
                text(f"INSERT INTO participation_reports ({names}) VALUES ({marks})"),
                {"o": ids[title], "g": group, "n": number, **extra},
            )
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville")
    assert Note.NO_PARTICIPATION not in found.notes
    # Reports are per opportunity: one that counts in both periods counts in both.
    assert values(found, Group.PARTICIPANTS) == {"total": (40, 35)}
    by_age = values(found, Group.PARTICIPANTS_BY_AGE_GROUP)
    assert by_age["teens"] == (17, 5) and by_age["children"] == (3, 10) and by_age["young-adults"] == (20, 20)


@pytest.mark.parametrize(
    ("schedule", "start", "period", "counted"),
    [
        # Stockholm springs forward at 02:00 on 28 March 2027: 02:30 does not exist that night, the
        # session's day still counts (dates are local; no time arithmetic across the change).
        ("FREQ=WEEKLY;BYDAY=SU", datetime(2027, 3, 21, 2, 30), Period(date(2027, 3, 28), date(2027, 3, 28)), 1),
        # …and falls back on 31 October 2027: 02:30 happens twice, counted once.
        ("FREQ=WEEKLY;BYDAY=SU", datetime(2027, 10, 3, 2, 30), Period(date(2027, 10, 31), date(2027, 10, 31)), 1),
        ("FREQ=WEEKLY;BYDAY=SU", datetime(2027, 3, 21, 2, 30), Period(date(2027, 3, 22), date(2027, 3, 27)), 0),
        # A daily rule that ended the day before the period.
        ("FREQ=DAILY;UNTIL=20270327", datetime(2027, 3, 1, 2, 30), Period(date(2027, 3, 28), date(2027, 4, 3)), 0),
        ("FREQ=DAILY;COUNT=28", datetime(2027, 3, 1, 2, 30), Period(date(2027, 3, 28), date(2027, 4, 3)), 1),
    ],
)
def test_sessions_across_dst(engine: Engine, schedule: str, start: datetime, period: Period, counted: int) -> None:
    store(engine, (Item("Night owls", "Alphaville", "School One", start, schedule=schedule),), district_rows=False)
    assert indicators_of(engine, ScopeKind.CITY, "Alphaville", period).figure(Group.OPPORTUNITIES, "counted").value == counted  # type: ignore[union-attr]


# --- files -----------------------------------------------------------------------------------------


def test_csv_reads_back(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville")
    rows = list(csv.DictReader(io.StringIO(indicators_csv(found, "pl"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_key = {(r["group"], r["key"]): r for r in rows}
    fresh = by_key["shares", "fresh"]
    assert (fresh["value"], fresh["previous"], fresh["change"], fresh["unit"]) == ("0.5000", "0.2500", "0.2500", "share")
    digital = by_key["topic", "digital-skills"]
    assert (digital["label"], digital["value"], digital["previous"], digital["change"]) == ("Umiejętności cyfrowe", "2", "0", "2")
    assert {(r["from"], r["to"], r["previous_from"], r["previous_to"]) for r in rows} == {
        ("2026-11-01", "2026-11-30", "2026-10-02", "2026-10-31")
    }


def test_csv_guards_formula_like_names(engine: Engine) -> None:
    CITIES["=HYPERLINK(1)"] = City("=HYPERLINK(1)", "SE", 57.0, 12.0, "Europe/Stockholm")
    try:
        store(engine, (Item("Talk", "=HYPERLINK(1)", "School One", date(2026, 11, 3)),), district_rows=False)
    finally:
        del CITIES["=HYPERLINK(1)"]
    found = indicators_of(engine, ScopeKind.CITY, "=hyperlink(1)")
    rows = list(csv.DictReader(io.StringIO(indicators_csv(found))))
    assert {r["name"] for r in rows} == {"'=HYPERLINK(1)"}
    change = {r["key"]: r["change"] for r in rows if r["group"] == "opportunities"}
    assert change == {"counted": "1"}  # a positive number is not guarded; a negative one stays a number
    assert all(not r["change"].startswith("'") for r in rows)


def test_json(dataset: Engine) -> None:
    document = json.loads(indicators_json(indicators_of(dataset, ScopeKind.REGION, "Sweden")))
    assert document["scope"] == {"kind": "region", "name": "Sweden", "cities": ["Alphaville", "Betatown"]}
    assert document["previous_period"] == {"from": "2026-10-02", "to": "2026-10-31"}
    assert document["organisations_joined"] == [{"name": HOSTILE, "kind": "ngo", "joined": "2026-11-05"}]
    counted = next(f for f in document["figures"] if f["group"] == "opportunities")
    assert (counted["value"], counted["previous"], counted["change"]) == (5, 4, 1)


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_database(dataset: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


@pytest.mark.parametrize(
    ("where", "counted"),
    [(["--city", "alphaville"], "4"), (["--region", "Sweden"], "5"), (["--network"], "6")],
)
def test_cli_csv(cli_database: str, tmp_path: Path, where: list[str], counted: str) -> None:
    out = tmp_path / "indicators.csv"
    code = cli.main(["indicators", *where, "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv", str(out)])
    assert code == cli.EXIT_OK
    with out.open(encoding="utf-8", newline="") as written:
        rows = list(csv.DictReader(written))
    assert next(r for r in rows if r["group"] == "opportunities")["value"] == counted


def test_cli_json_to_stdout_with_statuses(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["indicators", "--city", "Alphaville", "--from", "2026-11-01", "--to", "2026-11-30",
                     "--status", "published", "--status", "pending", "--format", "json", "-"])  # fmt: skip
    assert code == cli.EXIT_OK
    document = json.loads(capsys.readouterr().out)
    assert document["statuses"] == ["pending", "published"]
    assert next(f for f in document["figures"] if f["group"] == "opportunities")["value"] == 5


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["--city", "Nowhere", "--format", "csv"], cli.EXIT_UNUSABLE, "choose one of: Alphaville"),
        (["--network", "--from", "2026-11-01", "--format", "csv"], cli.EXIT_UNUSABLE, "give both"),
        (
            ["--network", "--from", "2026-11-02", "--to", "2026-11-01", "--format", "csv"],
            cli.EXIT_UNUSABLE,
            "to: The end is before the start",
        ),
        (["--network", "--from", "1.11.2026", "--to", "2026-11-30", "--format", "csv"], 2, "not a date"),
        (["--city", "A", "--network", "--format", "csv"], 2, "not allowed with"),
    ],
)
def test_cli_errors(cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    arguments: list[str], code: int, message: str) -> None:  # fmt: skip
    out = tmp_path / "out.csv"
    try:
        result = cli.main(["indicators", *arguments, str(out)])
    except SystemExit as exit_:  # argparse
        result = int(exit_.code or 0)
    assert result == code
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert not out.exists()


def test_cli_unwritable_file(cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["indicators", "--network", "--format", "csv", str(tmp_path / "missing" / "out.csv")])
    assert code == cli.EXIT_FILE
    assert "cannot use" in capsys.readouterr().err


# --- the report and the charts ---------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("language", ["en", "sv", "sl", "pl"])
def test_report_escapes_data_text(engine: Engine, language: str) -> None:
    hostile_city = "Évil<b>ville</b>"
    CITIES[hostile_city] = City(hostile_city, "SE", 57.0, 12.0, "Europe/Stockholm")
    try:
        store(engine, (Item("Talk", hostile_city, HOSTILE, date(2026, 11, 3), created=NOV_5),), district_rows=False)
    finally:
        del CITIES[hostile_city]
    found = indicators_of(engine, ScopeKind.CITY, hostile_city)
    drawn = charts(found, language)
    images: dict[Group, bytes] = {group: chart_png(drawn[group]) for group in (Group.MONTH, Group.TOPIC)}
    page = report_html(found, language, chart_images=images, today=date(2026, 12, 1))
    parsed = _Tags()
    parsed.feed(page)
    tags = {tag for tag, _ in parsed.tags}
    assert "script" not in tags and "b" not in tags
    assert all((attrs.get("src") or "").startswith("data:image/png;base64,") for tag, attrs in parsed.tags if tag == "img")
    assert len([tag for tag, _ in parsed.tags if tag == "img"]) == 2
    assert all("onerror" not in attrs for _, attrs in parsed.tags)
    text_shown = "".join(parsed.text)
    assert HOSTILE in text_shown and hostile_city in text_shown  # shown as text, whole
    assert ('<html lang="' + language + '"') in page
    assert "@page" in page and "http" not in page.replace("http-equiv", "")  # nothing fetched from elsewhere


def test_report_in_swedish(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.REGION, "Sweden")
    page = report_html(found, "sv", chart_images={}, today=date(2026, 12, 1))
    assert "Learning opportunities" not in page and "Sweden" in page  # translated around the name
    assert "<img" not in page  # no chart given, none shown


def test_chart_png_is_a_real_png(dataset: Engine) -> None:
    found = indicators_of(dataset, ScopeKind.CITY, "Alphaville", Period(date(2026, 10, 1), date(2026, 11, 30)))
    drawn = charts(found, "sl")
    assert list(drawn) == [Group.MONTH, Group.TOPIC, Group.AGE_GROUP, Group.MODE, Group.TYPE, Group.JOINED_BY_KIND]
    png = chart_png(drawn[Group.TOPIC])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG" and image.width >= 560 and image.height > 200
        # Drawn, not blank: the bars' colour is there.
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1_000_000) or []}
        assert (0x1F, 0x6F, 0xB4) in colours


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (ScopeKind.NETWORK, "", date(2026, 12, 1), date(2026, 12, 31))),
        ({"scope": "city", "name": " Kranj ", "from": "2026-09-01", "to": "2026-11-30"},
         (ScopeKind.CITY, "Kranj", date(2026, 9, 1), date(2026, 11, 30))),
        ({"scope": "galaxy", "from": "yesterday", "to": "2026-02-30"}, (ScopeKind.NETWORK, "", date(2026, 12, 1), date(2026, 12, 31))),
        ({"scope": "region", "name": "x" * 500}, (ScopeKind.REGION, "x" * 200, date(2026, 12, 1), date(2026, 12, 31))),
    ],
)  # fmt: skip
def test_a_link_to_the_indicators_page_is_read_with_safe_fallbacks(params: dict[str, str], expected: tuple[object, ...]) -> None:
    from opportunities.coverage.indicators import request_from_params

    asked = request_from_params(params, date(2026, 12, 6))
    assert (asked.kind, asked.name, asked.start, asked.end) == expected
