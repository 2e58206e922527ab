"""A provider's listings and drafts: submit, edit, copy, withdraw, freshness, participation, and
every forbidden path (another organisation's listing by id, a signed-out visitor, a disabled account)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select, update

from opportunities.accounts.accounts import add_user, disable_user
from opportunities.accounts.audit import entries
from opportunities.accounts.identity import Role, User
from opportunities.accounts.organisations import set_trusted, verify_organisation
from opportunities.db import connection, queries
from opportunities.db.schema import opportunities, providers
from opportunities.errors import FieldError, ForbiddenError, NotFoundError, RecordError
from opportunities.listings import drafts, listings
from opportunities.listings.submission import FormValues
from opportunities.model import City, Provider
from opportunities.places.gazetteer import Location
from opportunities.places.geocoding import Geocoder
from opportunities.places.placement import MAP_SOURCE
from opportunities.settings import load_settings
from opportunities.vocabulary import Precision, Status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FORM = FormValues(
    title="Kodklubb", description="Lär dig Python", city="Göteborg", country="SE", address="Götaplatsen 3, 412 56 Göteborg",
    topics=("digital-skills",), age_min=12, age_max=16, mode="in-person", type="club", start_day=date(2026, 12, 2),
    start_time=time(17, 0), end_day=date(2027, 5, 26), schedule="FREQ=WEEKLY;BYDAY=WE", languages=("sv",),
)  # fmt: skip


@dataclass
class People:
    admin: User
    lead: User
    alice: User  # provider of Stadsbiblioteket
    bob: User  # provider of Kulturhuset
    carol: User  # a second member of Stadsbiblioteket
    library_id: int
    culture_id: int


@pytest.fixture
def people(engine: Engine) -> People:
    settings = load_settings()
    with connection.writing(engine) as conn:
        city_id = queries.ensure_city(
            conn, City(name="Göteborg", country="SE", latitude=57.70716, longitude=11.96679, timezone="Europe/Stockholm")
        )
        library = queries.ensure_provider(conn, Provider(name="Stadsbiblioteket Göteborg"), city_id)
        culture = queries.ensure_provider(conn, Provider(name="Kulturhuset"), city_id)
        # Registered in the app, so not yet verified (imported providers count as verified).
        conn.execute(update(providers).values(verified_at=None))

        def user(email: str, role: Role, **kw: object) -> User:
            return add_user(conn, email, role=role, password=None, settings=settings, now=NOW, **kw)  # type: ignore[arg-type]

        return People(
            admin=user("admin@example.org", Role.ADMIN),
            lead=user("lead@example.org", Role.CITY_LEAD, city_ids=(city_id,)),
            alice=user("alice@example.org", Role.PROVIDER, organisation_id=library),
            bob=user("bob@example.org", Role.PROVIDER, organisation_id=culture),
            carol=user("carol@example.org", Role.PROVIDER, organisation_id=library),
            library_id=library,
            culture_id=culture,
        )


def submit(engine: Engine, geocoder: Geocoder, user: User | None, values: FormValues = FORM, **kw: object) -> int:
    with connection.writing(engine) as conn:
        opp = listings.submit(conn, user, values, geocoder=geocoder, now=NOW, **kw)  # type: ignore[arg-type]
    assert opp.id is not None
    return opp.id


def test_a_submission_goes_to_review_as_the_users_organisation(engine: Engine, geocoder: Geocoder, people: People) -> None:
    oid = submit(engine, geocoder, people.alice, replace(FORM, provider="Kulturhuset"))  # the form cannot choose the organisation
    with engine.connect() as conn:
        opp = queries.get_opportunity(conn, oid)
        row = conn.execute(select(opportunities).where(opportunities.c.id == oid)).one()
        log = entries(conn, people.admin, entity="opportunity", entity_id=oid)
    assert opp.status is Status.PENDING and opp.provider == "Stadsbiblioteket Göteborg"
    assert opp.precision is Precision.POSTCODE and row.submitted_by == people.alice.id
    assert [(e.action, e.actor) for e in log] == [("submit", "alice@example.org")]


@pytest.mark.parametrize(
    ("verified", "trusted", "status"),
    [(False, False, Status.PENDING), (True, False, Status.PENDING), (True, True, Status.PUBLISHED)],
)
def test_a_verified_and_trusted_organisation_publishes_directly(
    engine: Engine, geocoder: Geocoder, people: People, verified: bool, trusted: bool, status: Status
) -> None:
    with connection.writing(engine) as conn:
        if verified:
            verify_organisation(conn, people.lead, people.library_id, now=NOW)
        if trusted:
            set_trusted(conn, people.lead, people.library_id, True, now=NOW)
    oid = submit(engine, geocoder, people.alice)
    with engine.connect() as conn:
        assert queries.get_opportunity(conn, oid).status is status
        log = entries(conn, people.admin, entity="opportunity", entity_id=oid)
    assert log[0].action == ("publish" if status is Status.PUBLISHED else "submit")


def test_a_pin_on_the_map_is_stored_as_the_providers_location(engine: Engine, geocoder: Geocoder, people: People) -> None:
    pinned = FORM.with_pin(Location(57.696912, 11.986534, Precision.PROVIDED, MAP_SOURCE, 8))
    oid = submit(engine, geocoder, people.alice, pinned)
    with engine.connect() as conn:
        opp = queries.get_opportunity(conn, oid)
    assert (opp.latitude, opp.longitude, opp.precision, opp.location_source, opp.uncertainty_m) == (
        57.696912, 11.986534, Precision.PROVIDED, MAP_SOURCE, 8)  # fmt: skip


def test_invalid_values_store_nothing(engine: Engine, geocoder: Geocoder, people: People) -> None:
    with pytest.raises(RecordError) as caught:
        submit(engine, geocoder, people.alice, replace(FORM, title="", url="javascript:alert(1)"))
    assert {e.field for e in caught.value.errors} == {"title", "url"}
    with engine.connect() as conn:
        assert queries.count_opportunities(conn) == 0


def test_the_same_listing_twice_is_refused(engine: Engine, geocoder: Geocoder, people: People) -> None:
    submit(engine, geocoder, people.alice)
    with pytest.raises(FieldError, match="same title, start and place"):
        submit(engine, geocoder, people.carol)


def test_an_edit_is_audited_with_before_and_after(engine: Engine, geocoder: Geocoder, people: People) -> None:
    oid = submit(engine, geocoder, people.alice)
    with engine.connect() as conn:
        values = listings.get_listing_values(conn, people.carol, oid)  # a colleague may edit it too
    submit(
        engine,
        geocoder,
        people.carol,
        replace(values, title="Kodklubb för alla", topics=("digital-skills", "inclusion")),
        opportunity_id=oid,
    )
    with engine.connect() as conn:
        opp = queries.get_opportunity(conn, oid)
        log = entries(conn, people.admin, entity="opportunity", entity_id=oid)
    assert opp.title == "Kodklubb för alla" and opp.topics == ("digital-skills", "inclusion")
    assert log[0].action == "edit" and log[0].before is not None and log[0].after is not None
    assert (log[0].before["title"], log[0].after["title"]) == ("Kodklubb", "Kodklubb för alla")


def test_forbidden_paths(engine: Engine, geocoder: Geocoder, people: People) -> None:
    oid = submit(engine, geocoder, people.alice)
    with connection.writing(engine) as conn:
        disabled = disable_user(conn, people.carol.id, now=NOW, actor_label="test")
    calls = {
        "edit": lambda conn, user: listings.submit(
            conn, user, replace(FORM, title="Hijacked"), geocoder=geocoder, now=NOW, opportunity_id=oid
        ),
        "read for editing": lambda conn, user: listings.get_listing_values(conn, user, oid),
        "copy": lambda conn, user: listings.copy_for_next_term(conn, user, oid, date(2027, 9, 1)),
        "withdraw": lambda conn, user: listings.withdraw(conn, user, oid, now=NOW),
        "confirm": lambda conn, user: listings.confirm_running(conn, user, oid, now=NOW),
        "report": lambda conn, user: listings.report_participation(conn, user, oid, {"teens": 3}, now=NOW),
    }
    for call in calls.values():
        for user in (people.bob, None, disabled, people.lead):
            with connection.writing(engine) as conn, pytest.raises(ForbiddenError):
                call(conn, user)
    for user in (None, disabled, people.lead):
        with engine.connect() as conn, pytest.raises(ForbiddenError):
            listings.list_listings(conn, user, now=NOW, stale_after_months=6)
        with engine.connect() as conn, pytest.raises(ForbiddenError):
            submit(engine, geocoder, user)
    with engine.connect() as conn:
        assert queries.get_opportunity(conn, oid).title == "Kodklubb"
        assert [x.id for x in listings.list_listings(conn, people.bob, now=NOW, stale_after_months=6)] == []
    with engine.connect() as conn, pytest.raises(NotFoundError):
        listings.get_listing_values(conn, people.alice, 999_999)


def test_copy_for_next_term_moves_every_date(engine: Engine, geocoder: Geocoder, people: People) -> None:
    values = replace(FORM, schedule="FREQ=WEEKLY;BYDAY=WE;UNTIL=20270526", end_day=None)
    oid = submit(engine, geocoder, people.alice, values)
    with engine.connect() as conn:
        copy = listings.copy_for_next_term(conn, people.alice, oid, date(2027, 9, 1))
    assert (copy.start_day, copy.start_time, copy.schedule) == (
        date(2027, 9, 1),
        time(17, 0),
        "FREQ=WEEKLY;BYDAY=WE;UNTIL=20280223",
    )
    assert (copy.title, copy.topics, copy.address) == (FORM.title, FORM.topics, FORM.address)
    new_id = submit(engine, geocoder, people.alice, copy)
    assert new_id != oid


def test_withdraw_archives_with_a_reason(engine: Engine, geocoder: Geocoder, people: People) -> None:
    oid = submit(engine, geocoder, people.alice)
    with connection.writing(engine) as conn:
        listings.withdraw(conn, people.alice, oid, now=NOW, note="the teacher moved away")
    with engine.connect() as conn:
        (listing,) = listings.list_listings(conn, people.alice, now=NOW, stale_after_months=6)
        log = entries(conn, people.admin, entity="opportunity", entity_id=oid)
    assert listing.opportunity.status is Status.ARCHIVED and listing.archive_reason == listings.WITHDRAWN
    assert (log[0].action, log[0].note) == ("withdraw", "the teacher moved away")
    with connection.writing(engine) as conn, pytest.raises(ForbiddenError):
        listings.submit(conn, people.alice, FORM, geocoder=geocoder, now=NOW, opportunity_id=oid)


@pytest.mark.parametrize(
    ("confirmed_days_ago", "months", "stale"), [(10, 6, False), (200, 6, True), (100, 3, True), (100, 4, False)]
)
def test_listings_not_confirmed_for_long_are_flagged(
    engine: Engine, geocoder: Geocoder, people: People, confirmed_days_ago: int, months: int, stale: bool
) -> None:
    oid = submit(engine, geocoder, people.alice, replace(FORM, end_day=None))
    with connection.writing(engine) as conn:
        conn.execute(
            update(opportunities).where(opportunities.c.id == oid).values(verified_at=NOW - timedelta(days=confirmed_days_ago))
        )
    with engine.connect() as conn:
        (listing,) = listings.list_listings(conn, people.alice, now=NOW, stale_after_months=months)
    assert listing.stale is stale
    with connection.writing(engine) as conn:
        listings.confirm_running(conn, people.alice, oid, now=NOW)
    with engine.connect() as conn:
        (listing,) = listings.list_listings(conn, people.alice, now=NOW, stale_after_months=months)
    assert not listing.stale and listing.opportunity.verified_at == NOW


@pytest.mark.parametrize(
    ("change", "now", "archived"),
    [
        ({"schedule": "", "end_day": None, "start_day": date(2026, 12, 2)}, datetime(2026, 12, 3, 0, 30, tzinfo=UTC), True),
        # 23:30 UTC on the 2nd is already the 3rd in Stockholm (UTC+1): ended there.
        ({"schedule": "", "end_day": None, "start_day": date(2026, 12, 2)}, datetime(2026, 12, 2, 23, 30, tzinfo=UTC), True),
        ({"schedule": "", "end_day": None, "start_day": date(2026, 12, 2)}, datetime(2026, 12, 2, 22, 30, tzinfo=UTC), False),
        (
            {"schedule": "", "end_day": date(2026, 12, 5), "start_day": date(2026, 12, 2)},
            datetime(2026, 12, 4, tzinfo=UTC),
            False,
        ),
        ({"end_day": None, "schedule": "FREQ=WEEKLY;BYDAY=WE;COUNT=2"}, datetime(2026, 12, 10, tzinfo=UTC), True),
        ({"end_day": None, "schedule": "FREQ=WEEKLY;BYDAY=WE"}, datetime(2030, 1, 1, tzinfo=UTC), False),
        ({}, datetime(2027, 5, 28, tzinfo=UTC), True),
    ],
)
def test_ended_activities_are_archived_and_say_so(
    engine: Engine, geocoder: Geocoder, people: People, change: dict[str, object], now: datetime, archived: bool
) -> None:
    oid = submit(engine, geocoder, people.alice, replace(FORM, **change))  # type: ignore[arg-type]
    with connection.writing(engine) as conn:
        found = listings.archive_ended(conn, now=now)
    assert found == ([oid] if archived else [])
    with engine.connect() as conn:
        (listing,) = listings.list_listings(conn, people.alice, now=now, stale_after_months=6)
        log = entries(conn, people.admin, entity="opportunity", entity_id=oid)
    assert (listing.opportunity.status is Status.ARCHIVED) is archived
    assert (listing.archive_reason == listings.ENDED) is archived
    assert (log[0].actor == listings.FRESHNESS_ACTOR) is archived


def test_participation_is_reported_by_age_group(engine: Engine, geocoder: Geocoder, people: People) -> None:
    oid = submit(engine, geocoder, people.alice)
    later = datetime(2027, 6, 1, tzinfo=UTC)
    with connection.writing(engine) as conn, pytest.raises(RecordError, match="once the activity has begun"):
        listings.report_participation(conn, people.alice, oid, {"teens": 3}, now=NOW)
    for counts in ({"teens": -1}, {"toddlers": 3}, {"teens": 100_001}, {"teens": True}):
        with connection.writing(engine) as conn, pytest.raises(RecordError):
            listings.report_participation(conn, people.alice, oid, counts, now=later)  # type: ignore[arg-type]
    with connection.writing(engine) as conn:
        listings.report_participation(conn, people.alice, oid, {"teens": 14, "children": 3, "adults": 0}, now=later)
    with connection.writing(engine) as conn:
        listings.report_participation(conn, people.carol, oid, {"teens": 15, "children": 3}, now=later)  # a correction
    with engine.connect() as conn:
        assert listings.participation(conn, people.alice, oid) == {"teens": 15, "children": 3}
        (listing,) = listings.list_listings(conn, people.alice, now=later, stale_after_months=6)
        log = entries(conn, people.admin, entity="opportunity", entity_id=oid)
    assert listing.participants == 18
    assert log[0].action == "report_participation" and log[0].before == {"teens": 14, "children": 3}


def test_a_review_note_is_shown_to_the_provider(engine: Engine, geocoder: Geocoder, people: People) -> None:
    oid = submit(engine, geocoder, people.alice)
    with connection.writing(engine) as conn:
        conn.execute(
            update(opportunities).where(opportunities.c.id == oid).values(status="rejected", review_note="Add the price")
        )
    with engine.connect() as conn:
        (listing,) = listings.list_listings(conn, people.alice, now=NOW, stale_after_months=6, status=Status.REJECTED)
    assert listing.review_note == "Add the price"
    submit(engine, geocoder, people.alice, replace(FORM, cost="20", currency="SEK"), opportunity_id=oid)
    with engine.connect() as conn:
        (listing,) = listings.list_listings(conn, people.alice, now=NOW, stale_after_months=6)
    assert listing.opportunity.status is Status.PENDING and listing.review_note == ""


# --- drafts -----------------------------------------------------------------------------------------


def test_drafts_are_saved_restored_and_private(engine: Engine, people: People) -> None:
    with connection.writing(engine) as conn:
        draft_id = drafts.save_draft(conn, people.alice, replace(FORM, title="Kod"), now=NOW)
        drafts.save_draft(conn, people.alice, replace(FORM, title="Kodklubb"), now=NOW + timedelta(seconds=5), draft_id=draft_id)
    with engine.connect() as conn:
        restored = drafts.get_draft(conn, people.alice, draft_id)
        assert restored.values == FORM and restored.opportunity_id is None
        assert [d.id for d in drafts.list_drafts(conn, people.alice)] == [draft_id]
        # Not even a colleague of the same organisation sees it; nobody learns that it exists.
        for other in (people.carol, people.bob):
            assert drafts.list_drafts(conn, other) == []
            with pytest.raises(NotFoundError):
                drafts.get_draft(conn, other, draft_id)
        for nobody in (None, people.lead):
            with pytest.raises(ForbiddenError):
                drafts.get_draft(conn, nobody, draft_id)
        assert queries.count_opportunities(conn) == 0  # a draft is never a listing
    with connection.writing(engine) as conn, pytest.raises(NotFoundError):
        drafts.save_draft(conn, people.bob, FORM, now=NOW, draft_id=draft_id)
    with connection.writing(engine) as conn:
        drafts.delete_draft(conn, people.bob, draft_id)  # not his: nothing happens
    with connection.writing(engine) as conn:
        drafts.delete_draft(conn, people.alice, draft_id)
    with engine.connect() as conn:
        assert drafts.list_drafts(conn, people.alice) == []


def test_autosave_keeps_saving_into_the_form_s_draft_and_starts_a_new_one_when_it_is_gone(engine: Engine, people: People) -> None:
    with connection.writing(engine) as conn:
        first = drafts.autosave(conn, people.alice, replace(FORM, title="Kod"), now=NOW, draft_id=None, opportunity_id=None)
        assert (
            drafts.autosave(conn, people.alice, FORM, now=NOW + timedelta(seconds=5), draft_id=first, opportunity_id=None)
            == first
        )
        # A draft id that is someone else's is never written: the form gets a draft of its own.
        bobs = drafts.autosave(conn, people.bob, replace(FORM, title="Schack"), now=NOW, draft_id=first, opportunity_id=None)
        assert bobs != first
        assert drafts.get_draft(conn, people.alice, first).values == FORM
        drafts.delete_draft(conn, people.alice, first)  # discarded in another tab
        fresh = drafts.autosave(conn, people.alice, FORM, now=NOW + timedelta(seconds=9), draft_id=first, opportunity_id=None)
    with engine.connect() as conn:
        assert [d.id for d in drafts.list_drafts(conn, people.alice)] == [fresh]
        restored = drafts.get_draft(conn, people.alice, fresh)
        assert restored.values == FORM and restored.opportunity_id is None
        assert [d.values.title for d in drafts.list_drafts(conn, people.bob)] == ["Schack"]


def test_a_disabled_account_keeps_no_drafts(engine: Engine, people: People) -> None:
    with connection.writing(engine) as conn:
        draft_id = drafts.save_draft(conn, people.carol, FORM, now=NOW)
        disabled = disable_user(conn, people.carol.id, now=NOW, actor_label="test")
    with engine.connect() as conn, pytest.raises(ForbiddenError):
        drafts.get_draft(conn, disabled, draft_id)


def test_city_leads_see_the_listings_of_their_cities_not_confirmed_lately(
    engine: Engine, geocoder: Geocoder, people: People
) -> None:
    fresh = submit(engine, geocoder, people.alice, replace(FORM, end_day=None))
    old = submit(engine, geocoder, people.bob, replace(FORM, title="Schack för unga", end_day=None))
    with connection.writing(engine) as conn:
        conn.execute(update(opportunities).where(opportunities.c.id == old).values(verified_at=NOW - timedelta(days=200)))
        conn.execute(update(opportunities).where(opportunities.c.id == fresh).values(verified_at=NOW - timedelta(days=10)))
        elsewhere = queries.ensure_city(
            conn, City(name="Kranj", country="SI", latitude=46.2389, longitude=14.3556, timezone="Europe/Ljubljana")
        )
        other_lead = add_user(conn, "lead.kranj@example.org", role=Role.CITY_LEAD, password=None, settings=load_settings(),
                              now=NOW, city_ids=(elsewhere,))  # fmt: skip
    with engine.connect() as conn:
        for user in (people.lead, people.admin):
            found = listings.stale_in_cities(conn, user, now=NOW, months=6)
            assert [(s.id, s.title, s.organisation) for s in found] == [(old, "Schack för unga", "Kulturhuset")]
        assert listings.stale_in_cities(conn, other_lead, now=NOW, months=6) == []
        city_id = found[0].city_id
        with pytest.raises(ForbiddenError):
            listings.stale_in_cities(conn, other_lead, now=NOW, months=6, city_id=city_id)
        for outsider in (people.alice, None):
            with pytest.raises(ForbiddenError):
                listings.stale_in_cities(conn, outsider, now=NOW, months=6, city_id=city_id)
