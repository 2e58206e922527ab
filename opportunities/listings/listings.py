"""A provider's listings: submit and edit, copy for the next term, withdraw, freshness, participation.

Every function takes the person acting and checks with :mod:`opportunities.accounts.permissions`, on the
listing's organisation as stored (never as the page sent it): a provider changes only their own
organisation's listings. Every status change and edit is written to the audit log in the same
transaction. A submission goes to review (``pending``); a verified organisation that a city lead
marked as trusted publishes directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from opportunities import recurrence
from opportunities.accounts import audit
from opportunities.accounts.identity import Role, User
from opportunities.accounts.organisations import get_organisation
from opportunities.accounts.permissions import Action, authorise
from opportunities.db import queries, schema
from opportunities.db.schema import cities, opportunities, opportunity_languages, opportunity_topics, participation_reports
from opportunities.errors import N_, FieldError, ForbiddenError, NotFoundError, RecordError, because
from opportunities.listings.calendar import city_zone
from opportunities.listings.importing import Registry, locate
from opportunities.listings.schedules import last_day
from opportunities.listings.submission import FormValues
from opportunities.model import Opportunity, as_datetime
from opportunities.places.geocoding import Geocoder
from opportunities.places.placement import MAP_SOURCE
from opportunities.validation import parse_opportunity
from opportunities.vocabulary import AGE_GROUPS_BY_ID, Precision, Status

ENDED = "ended"  # archive_reason of a listing archived because its last session has passed
WITHDRAWN = "withdrawn"  # archive_reason of a listing its provider withdrew
# Most people one report may count in one age group.
MAX_PARTICIPANTS = 100_000
# The actor label of changes nobody made by hand (listings archived because they ended).
FRESHNESS_ACTOR = "freshness check"
_ENTITY = "opportunity"


@dataclass(frozen=True)
class Listing:
    """A listing as its provider sees it: the record and what happened to it."""

    opportunity: Opportunity
    review_note: str  # the city lead's reason for a rejection, or the changes asked for
    archive_reason: str
    timezone: str
    stale: bool  # not confirmed as still running for longer than the freshness setting
    participants: int | None  # the reported total, None when nothing was reported

    @property
    def id(self) -> int:
        assert self.opportunity.id is not None
        return self.opportunity.id


def _members_only(user: User | None) -> User:
    """``user``, a member of an organisation who may submit for it."""
    if user is not None and user.organisation_id is None and not user.disabled:
        raise ForbiddenError("only members of an organisation submit listings")
    return authorise(user, Action.SUBMIT, organisation_id=user.organisation_id if user is not None else None)


def _owner(conn: Connection, opportunity_id: int) -> tuple[int, int]:
    """(organisation id, city id) of a stored listing; NotFoundError when there is none."""
    row = conn.execute(
        select(opportunities.c.provider_id, opportunities.c.city_id).where(opportunities.c.id == opportunity_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no opportunity with id {opportunity_id}")
    return int(row.provider_id), int(row.city_id)


def _authorise_listing(conn: Connection, user: User | None, action: Action, opportunity_id: int) -> tuple[User, int]:
    """The actor and the listing's city id, when ``user`` may do ``action`` on the stored listing."""
    organisation_id, city_id = _owner(conn, opportunity_id)
    return authorise(user, action, organisation_id=organisation_id), city_id


def _snapshot(opp: Opportunity) -> dict[str, Any]:
    """What the audit log keeps of a listing before and after a change."""
    return {
        "title": opp.title, "status": opp.status.value, "start": opp.start, "end": opp.end, "schedule": opp.schedule,
        "city": opp.city, "address": opp.address, "latitude": opp.latitude, "longitude": opp.longitude,
        "precision": opp.precision.value if opp.precision else None, "age_min": opp.age_min, "age_max": opp.age_max,
        "topics": opp.topics, "languages": opp.languages, "cost": opp.cost, "currency": opp.currency, "url": opp.url,
        "mode": opp.mode.value, "type": opp.type.value, "description": opp.description, "venue": opp.venue,
        "contact_email": opp.contact_email, "accessibility": opp.accessibility,
    }  # fmt: skip


def submit(
    conn: Connection,
    user: User | None,
    values: FormValues,
    *,
    geocoder: Geocoder,
    now: datetime,
    opportunity_id: int | None = None,
) -> Opportunity:
    """Store the form as a new listing, or as the new version of listing ``opportunity_id``.

    The organisation is the user's own (whatever the form says). The listing goes to review
    (``pending``), or is published at once when the organisation is verified and trusted by the
    listing's city.
    Raises :class:`RecordError` listing every invalid field (the rules of an import),
    :class:`FieldError` when it cannot be located or duplicates another listing,
    :class:`ForbiddenError` / :class:`NotFoundError` when the user may not change the listing.
    """
    actor = _members_only(user)
    organisation_id = actor.organisation_id
    assert organisation_id is not None
    before: Opportunity | None = None
    if opportunity_id is not None:
        actor, _city = _authorise_listing(conn, actor, Action.SUBMIT, opportunity_id)
        before = queries.get_opportunity(conn, opportunity_id)
        if before.status is Status.ARCHIVED:
            raise ForbiddenError("an archived listing is not edited; copy it instead")
    organisation = get_organisation(conn, organisation_id)
    record = {**values.to_record(), "provider": organisation.name}
    opp = parse_opportunity(record, status=Status.PENDING, today=now.date())
    written = (record["latitude"], record["longitude"])
    registry = Registry(conn, geocoder)
    city_id, city_name = registry.city(opp.city, opp.country, opp, written)
    # Trust is the listing's city's: trusted in Płock publishes directly in Płock, not in Radom.
    if organisation.publishes_directly_in(city_id):
        opp = replace(opp, status=Status.PUBLISHED)
    opp = locate(replace(opp, city=city_name), geocoder, written, registry.centre(city_name, opp.country))
    if opp.precision is Precision.PROVIDED and values.location_uncertainty_m is not None:
        # A pin placed on the map: as exact as the map was zoomed, not as its many decimals suggest.
        opp = replace(opp, location_source=MAP_SOURCE, uncertainty_m=values.location_uncertainty_m)
    key = opp.dedup_key
    clash = conn.execute(select(opportunities.c.id).where(opportunities.c.dedup_key == key)).scalar()
    if clash is not None and clash != opportunity_id:
        raise FieldError("title", because(N_("listing {id} has the same title, start and place"), id=str(clash)))
    row = queries.opportunity_row(opp, provider_id=organisation.id, city_id=city_id, now=now, dedup_key=key)
    row["submitted_by"] = actor.id
    row["verified_at"] = now  # submitting is confirming that it runs
    row["review_note"] = ""
    if before is None:
        (new_id,) = queries.insert_opportunities(conn, [row], [opp.topics], [opp.languages])
        action = "publish" if opp.status is Status.PUBLISHED else "submit"
    else:
        assert opportunity_id is not None
        row.pop("created_at")
        conn.execute(update(opportunities).where(opportunities.c.id == opportunity_id).values(**row))
        conn.execute(delete(opportunity_topics).where(opportunity_topics.c.opportunity_id == opportunity_id))
        conn.execute(delete(opportunity_languages).where(opportunity_languages.c.opportunity_id == opportunity_id))
        if opp.topics:
            conn.execute(insert(opportunity_topics), [{"opportunity_id": opportunity_id, "topic": t} for t in opp.topics])
        if opp.languages:
            conn.execute(
                insert(opportunity_languages), [{"opportunity_id": opportunity_id, "language": code} for code in opp.languages]
            )
        new_id, action = opportunity_id, "edit"
    stored = queries.get_opportunity(conn, new_id)
    audit.record(conn, actor=actor, action=action, entity=_ENTITY, entity_id=new_id, now=now, city_id=city_id,
                 before=_snapshot(before) if before else None, after=_snapshot(stored))  # fmt: skip
    return stored


def get_listing_values(conn: Connection, user: User | None, opportunity_id: int) -> FormValues:
    """The form filled with a stored listing, to edit it; only for its organisation."""
    _authorise_listing(conn, user, Action.SUBMIT, opportunity_id)
    return FormValues.from_opportunity(queries.get_opportunity(conn, opportunity_id))


def copy_for_next_term(conn: Connection, user: User | None, opportunity_id: int, new_start: date) -> FormValues:
    """The form filled with a listing moved to start on ``new_start`` (same fields; the end and the
    schedule's last day move by as much). Nothing is stored until it is submitted."""
    values = get_listing_values(conn, user, opportunity_id)
    if values.start_day is None:
        return values
    shift = new_start - values.start_day
    schedule = values.schedule
    rule = recurrence.parse_rule(schedule) if schedule else None
    if rule is not None and rule.until is not None:
        moved_until = rule.until + shift
        schedule = recurrence.canonical(rule.text.replace(f"UNTIL={rule.until:%Y%m%d}", f"UNTIL={moved_until:%Y%m%d}", 1))
    return replace(values, start_day=new_start, end_day=values.end_day + shift if values.end_day else None, schedule=schedule)


def _listing_rows(conn: Connection, organisation_id: int, status: Status | None) -> list[Any]:
    query = (
        select(*queries.opportunity_columns(), opportunities.c.review_note, opportunities.c.archive_reason, cities.c.timezone)
        .select_from(queries.joined_opportunities())
        .where(opportunities.c.provider_id == organisation_id)
        .order_by(opportunities.c.start_date.desc(), opportunities.c.id.desc())
    )
    if status is not None:
        query = query.where(opportunities.c.status == status.value)
    return list(conn.execute(query))


def is_stale(opp: Opportunity, now: datetime, months: int) -> bool:
    """Whether a live listing was last confirmed (or, never confirmed, created) over ``months`` ago."""
    if opp.status not in (Status.PUBLISHED, Status.PENDING):
        return False
    confirmed = opp.verified_at or opp.created_at
    return confirmed is not None and confirmed < now - timedelta(days=round(months * 30.44))


def list_listings(
    conn: Connection, user: User | None, *, now: datetime, stale_after_months: int, status: Status | None = None
) -> list[Listing]:
    """The listings of ``user``'s organisation (one status, or all), the latest start first."""
    actor = _members_only(user)
    assert actor.organisation_id is not None
    authorise(actor, Action.VIEW_ORGANISATION, organisation_id=actor.organisation_id)
    rows = _listing_rows(conn, actor.organisation_id, status)
    records = queries.load_opportunities(conn, rows)
    totals = participation_totals(conn, [r.id for r in rows])
    return [
        Listing(
            opportunity=opp,
            review_note=row.review_note,
            archive_reason=row.archive_reason,
            timezone=row.timezone,
            stale=is_stale(opp, now, stale_after_months),
            participants=totals.get(row.id),
        )
        for row, opp in zip(rows, records, strict=True)
    ]


def _change_status(
    conn: Connection, actor: User | None, opportunity_id: int, city_id: int, values: Mapping[str, Any], *, action: str, now: datetime,
    note: str = "", actor_label: str = "",
) -> Opportunity:  # fmt: skip
    before = queries.get_opportunity(conn, opportunity_id)
    conn.execute(update(opportunities).where(opportunities.c.id == opportunity_id).values(updated_at=now, **values))
    after = queries.get_opportunity(conn, opportunity_id)
    audit.record(conn, actor=actor, action=action, entity=_ENTITY, entity_id=opportunity_id, now=now, city_id=city_id,
                 before=_snapshot(before), after=_snapshot(after), note=note, actor_label=actor_label)  # fmt: skip
    return after


def withdraw(conn: Connection, user: User | None, opportunity_id: int, *, now: datetime, note: str = "") -> Opportunity:
    """Archive a listing its provider no longer offers (reason "withdrawn"); kept for the record."""
    actor, city_id = _authorise_listing(conn, user, Action.SUBMIT, opportunity_id)
    return _change_status(conn, actor, opportunity_id, city_id, {"status": Status.ARCHIVED.value, "archive_reason": WITHDRAWN},
                          action="withdraw", now=now, note=note[: audit.MAX_NOTE_LENGTH])  # fmt: skip


def confirm_running(conn: Connection, user: User | None, opportunity_id: int, *, now: datetime) -> Opportunity:
    """ "Still running?" answered yes: the listing's last-verified date becomes now."""
    actor, city_id = _authorise_listing(conn, user, Action.SUBMIT, opportunity_id)
    status = conn.execute(select(opportunities.c.status).where(opportunities.c.id == opportunity_id)).scalar_one()
    if status == Status.ARCHIVED.value:
        raise ForbiddenError("an archived listing cannot be confirmed; copy it for the next term instead")
    return _change_status(conn, actor, opportunity_id, city_id, {"verified_at": now}, action="confirm", now=now)


def archive_ended(conn: Connection, *, now: datetime, organisation_id: int | None = None) -> list[int]:
    """Archive the live listings whose last session day has passed in their city (reason "ended");
    returns their ids. One-off events and series with an end, UNTIL or COUNT; open series stay."""
    live = opportunities.c.status.in_([Status.PUBLISHED.value, Status.PENDING.value])
    # No city is more than 14 hours ahead of UTC: "today" there is at most the UTC date + 1 day.
    latest_today = (now.astimezone(UTC) + timedelta(days=1)).date()
    candidates = or_(
        and_(opportunities.c.schedule == "", func.coalesce(opportunities.c.end_date, opportunities.c.start_date) < latest_today),
        and_(opportunities.c.schedule != "", opportunities.c.end_date < latest_today),
        and_(opportunities.c.schedule.like("%COUNT=%")) & (opportunities.c.start_date < latest_today),
        and_(opportunities.c.schedule.like("%UNTIL=%")) & (opportunities.c.start_date < latest_today),
    )
    query = (
        select(
            opportunities.c.id,
            opportunities.c.city_id,
            opportunities.c.schedule,
            opportunities.c.start_date,
            opportunities.c.start_time,
            opportunities.c.end_date,
            opportunities.c.end_time,
            cities.c.timezone,
        )
        .join(cities, opportunities.c.city_id == cities.c.id)
        .where(live, candidates)
    )
    if organisation_id is not None:
        query = query.where(opportunities.c.provider_id == organisation_id)
    archived: list[int] = []
    for row in conn.execute(query).all():
        start = datetime.combine(row.start_date, row.start_time) if row.start_time else row.start_date
        end = (datetime.combine(row.end_date, row.end_time) if row.end_time else row.end_date) if row.end_date else None
        last = last_day(row.schedule, start, end)
        today = now.astimezone(city_zone(row.timezone)).date()
        if last is not None and last < today:
            _change_status(conn, None, row.id, row.city_id, {"status": Status.ARCHIVED.value, "archive_reason": ENDED},
                           action="archive", now=now, note=ENDED, actor_label=FRESHNESS_ACTOR)  # fmt: skip
            archived.append(int(row.id))
    return archived


@dataclass(frozen=True)
class StaleListing:
    """A live listing of a city that its provider has not confirmed as still running lately."""

    id: int
    title: str
    organisation: str
    city_id: int
    status: Status
    last_confirmed: datetime


def stale_in_cities(
    conn: Connection, user: User | None, *, now: datetime, months: int, city_id: int | None = None, limit: int = 500
) -> list[StaleListing]:
    """The live listings of ``user``'s cities (one city, or all of them) last confirmed (or, never
    confirmed, created) over ``months`` ago, the longest unconfirmed first: what a city lead
    follows up. Checked per city through the permissions module."""
    if user is None:
        raise ForbiddenError("sign in to see the listings of a city")
    if city_id is not None:
        authorise(user, Action.VIEW_CITY, city_id=city_id)
        city_ids: list[int] | None = [city_id]
    elif user.role is Role.ADMIN and not user.disabled:
        city_ids = None
    else:
        city_ids = [c for c in sorted(user.city_ids) if authorise(user, Action.VIEW_CITY, city_id=c)]
        if not city_ids:
            return []
    confirmed = func.coalesce(opportunities.c.verified_at, opportunities.c.created_at)
    cutoff = now - timedelta(days=round(months * 30.44))
    query = (
        select(
            opportunities.c.id,
            opportunities.c.title,
            schema.providers.c.name,
            opportunities.c.city_id,
            opportunities.c.status,
            confirmed.label("confirmed"),
        )
        .join(schema.providers, opportunities.c.provider_id == schema.providers.c.id)
        .where(opportunities.c.status.in_([Status.PUBLISHED.value, Status.PENDING.value]), confirmed < cutoff)
        .order_by(confirmed, opportunities.c.id)
        .limit(limit)
    )
    if city_ids is not None:
        query = query.where(opportunities.c.city_id.in_(city_ids))
    return [
        StaleListing(
            id=r.id,
            title=r.title,
            organisation=r.name,
            city_id=r.city_id,
            status=Status(r.status),
            last_confirmed=r.confirmed if r.confirmed.tzinfo else r.confirmed.replace(tzinfo=UTC),
        )
        for r in conn.execute(query).all()
    ]


def participation_totals(conn: Connection, opportunity_ids: list[int]) -> dict[int, int]:
    """The reported number of participants of each listing that has a report."""
    totals: dict[int, int] = {}
    for i in range(0, len(opportunity_ids), 500):
        chunk = opportunity_ids[i : i + 500]
        query = (
            select(participation_reports.c.opportunity_id, func.sum(participation_reports.c.participants))
            .where(participation_reports.c.opportunity_id.in_(chunk))
            .group_by(participation_reports.c.opportunity_id)
        )
        totals.update((int(oid), int(total)) for oid, total in conn.execute(query))
    return totals


def participation(conn: Connection, user: User | None, opportunity_id: int) -> dict[str, int]:
    """The reported participants of a listing by age group (for its organisation)."""
    _authorise_listing(conn, user, Action.REPORT_PARTICIPATION, opportunity_id)
    query = select(participation_reports.c.age_group, participation_reports.c.participants).where(
        participation_reports.c.opportunity_id == opportunity_id
    )
    return {group: int(n) for group, n in conn.execute(query)}


def report_participation(
    conn: Connection, user: User | None, opportunity_id: int, counts: Mapping[str, int], *, now: datetime
) -> dict[str, int]:
    """Record how many people took part, by age group (totals only, never names); a new report of a
    listing replaces its earlier one. Only once the activity has begun.

    Raises :class:`RecordError` for an unknown age group, a negative or huge count, or an activity
    that has not started yet.
    """
    actor, city_id = _authorise_listing(conn, user, Action.REPORT_PARTICIPATION, opportunity_id)
    opp = queries.get_opportunity(conn, opportunity_id)
    errors: list[FieldError] = []
    row = conn.execute(select(cities.c.timezone).where(cities.c.id == city_id)).scalar_one()
    today = now.astimezone(city_zone(row)).date()
    if as_datetime(opp.start).date() > today:
        errors.append(FieldError("participants", because(N_("Participants can be reported once the activity has begun."))))
    for group, count in counts.items():
        if group not in AGE_GROUPS_BY_ID:
            errors.append(FieldError("participants", because(N_("unknown age group {value}"), value=repr(group))))
        elif isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_PARTICIPANTS:
            errors.append(FieldError(group, because(N_("Give a whole number from 0 to {limit}."), limit=MAX_PARTICIPANTS)))
    if errors:
        raise RecordError(errors)
    before = participation(conn, actor, opportunity_id)
    kept = {group: count for group, count in counts.items() if count > 0}
    conn.execute(delete(participation_reports).where(participation_reports.c.opportunity_id == opportunity_id))
    if kept:
        conn.execute(
            insert(participation_reports),
            [
                {"opportunity_id": opportunity_id, "age_group": g, "participants": n, "reported_at": now, "reported_by": actor.id}
                for g, n in kept.items()
            ],
        )
    audit.record(conn, actor=actor, action="report_participation", entity=_ENTITY, entity_id=opportunity_id, now=now,
                 city_id=city_id, before=before or None, after=kept)  # fmt: skip
    return kept
