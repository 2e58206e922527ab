"""The review of submissions by city leads: the queue, approve, reject, request changes.

Every action is checked here, server side (:mod:`opportunities.accounts.permissions`), writes the audit
log in the same transaction as the change, and queues a message to the provider in their
language (:mod:`opportunities.accounts.mail`). Only a pending listing can be reviewed, and only once: two
leads acting on one listing at the same moment cannot both change it.

The command line (``python -m opportunities review``) acts as :data:`COMMAND_LINE`: whoever runs
it has the database itself, so it may review anything; the audit log names it "command line".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeAlias

from sqlalchemy import Connection, select, update

from opportunities.accounts import audit, mail
from opportunities.accounts.identity import Role, User
from opportunities.accounts.organisations import Organisation, get_organisation, list_organisations
from opportunities.accounts.permissions import Action, authorise
from opportunities.db import queries
from opportunities.db.schema import opportunities, users
from opportunities.errors import N_, FieldError, NotFoundError, ReviewStateError, because
from opportunities.i18n import translator
from opportunities.listings.duplicates import LikelyDuplicate, likely_duplicates
from opportunities.model import Opportunity
from opportunities.settings import Settings
from opportunities.vocabulary import Status

# The longest reason or note a lead may write (it goes into a mail and onto the provider's page).
MAX_NOTE_LENGTH = 2000
QUEUE_LIMIT = 500


class CommandLine:
    """The operator of ``python -m opportunities``: may review anything; audited by that label."""


COMMAND_LINE: Final = CommandLine()
Reviewer: TypeAlias = User | CommandLine | None


@dataclass(frozen=True)
class QueueItem:
    """A pending submission, as a reviewer sees it."""

    opportunity: Opportunity
    organisation: Organisation
    city_id: int
    duplicates: tuple[LikelyDuplicate, ...]


def _reviewer(reviewer: Reviewer, action: Action, city_id: int | None) -> User | None:
    """The user acting (None for the command line), when they may; else :class:`ForbiddenError`."""
    if isinstance(reviewer, CommandLine):
        return None
    return authorise(reviewer, action, city_id=city_id)


def _city_ids(reviewer: Reviewer, city_id: int | None) -> tuple[int, ...] | None:
    """The cities whose queue ``reviewer`` sees (None: all), narrowed to ``city_id`` when given."""
    if city_id is not None:
        _reviewer(reviewer, Action.REVIEW, city_id)
        return (city_id,)
    if isinstance(reviewer, CommandLine):
        return None
    if reviewer is None or reviewer.disabled or reviewer.role is Role.PROVIDER:
        authorise(reviewer, Action.REVIEW, city_id=-1)  # raises, with the reason
    assert reviewer is not None
    return None if reviewer.role is Role.ADMIN else reviewer.city_ids


def queue(conn: Connection, reviewer: Reviewer, *, city_id: int | None = None, limit: int = QUEUE_LIMIT) -> list[QueueItem]:
    """Pending submissions in the reviewer's cities, oldest first, each with its likely duplicates.

    Raises :class:`ForbiddenError` for anyone who may not review (there, or at all).
    """
    cities = _city_ids(reviewer, city_id)
    query = (
        select(*queries.opportunity_columns())
        .select_from(queries.joined_opportunities())
        .where(opportunities.c.status == Status.PENDING.value)
        .order_by(opportunities.c.created_at, opportunities.c.id)
        .limit(limit)
    )
    if cities is not None:
        query = query.where(opportunities.c.city_id.in_(cities))
    rows = list(conn.execute(query))
    found = queries.load_opportunities(conn, rows)
    organisations: dict[int, Organisation] = {}
    items = []
    for row, opp in zip(rows, found, strict=True):
        if row.provider_id not in organisations:
            organisations[row.provider_id] = get_organisation(conn, row.provider_id)
        items.append(QueueItem(opp, organisations[row.provider_id], row.city_id, tuple(likely_duplicates(conn, opp))))
    return items


def unverified_organisations(conn: Connection, reviewer: Reviewer, *, city_id: int | None = None) -> list[Organisation]:
    """Organisations of the reviewer's cities waiting to be verified, oldest registration first."""
    cities = _city_ids(reviewer, city_id)
    return list_organisations(conn, city_ids=cities, unverified_only=True)


def _snapshot(conn: Connection, opportunity_id: int) -> tuple[Opportunity, int, int, str, int | None]:
    row = conn.execute(
        select(
            opportunities.c.city_id, opportunities.c.provider_id, opportunities.c.review_note, opportunities.c.submitted_by
        ).where(opportunities.c.id == opportunity_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no opportunity with id {opportunity_id}")
    return queries.get_opportunity(conn, opportunity_id), row.city_id, row.provider_id, row.review_note, row.submitted_by


def _decide(
    conn: Connection,
    reviewer: Reviewer,
    opportunity_id: int,
    status: Status,
    note: str,
    *,
    action: str,
    now: datetime,
    settings: Settings,
) -> Opportunity:
    before, city_id, provider_id, old_note, submitted_by = _snapshot(conn, opportunity_id)
    user = _reviewer(reviewer, Action.REVIEW, city_id)
    if before.status is not Status.PENDING:
        raise ReviewStateError(because(N_("listing {id} is not pending: it was reviewed already"), id=str(opportunity_id)))
    organisation = get_organisation(conn, provider_id)
    if status is Status.PUBLISHED and not organisation.verified:
        raise ReviewStateError(
            because(
                N_("{name} is not verified yet: verify the organisation before publishing its listings"), name=organisation.name
            )
        )
    # Only while still pending: of two leads deciding at once, the second changes nothing.
    changed = conn.execute(
        update(opportunities)
        .where(opportunities.c.id == opportunity_id, opportunities.c.status == Status.PENDING.value)
        .values(status=status.value, review_note=note, updated_at=now)
    )
    if changed.rowcount != 1:
        raise ReviewStateError(because(N_("listing {id} was reviewed by someone else meanwhile"), id=str(opportunity_id)))
    after = queries.get_opportunity(conn, opportunity_id)
    audit.record(conn, actor=user, action=action, entity="opportunity", entity_id=opportunity_id, city_id=city_id,
                 before={"status": before.status.value, "review_note": old_note},
                 after={"status": status.value, "review_note": note}, note=note, now=now)  # fmt: skip
    for recipient, language in _recipients(conn, provider_id, submitted_by, organisation):
        mail.queue(conn, review_message(recipient, language, after, action=action, note=note, settings=settings), now)
    return after


def _checked_note(note: str, field: str, *, required: bool) -> str:
    note = note.strip()
    if required and not note:
        raise FieldError(field, because(N_("Write what the provider should know: it is sent to them.")))
    if len(note) > MAX_NOTE_LENGTH:
        raise FieldError(
            field, because(N_("This is {n} characters long; at most {limit} are allowed."), n=len(note), limit=MAX_NOTE_LENGTH)
        )
    return note


def approve(conn: Connection, reviewer: Reviewer, opportunity_id: int, *, now: datetime, settings: Settings) -> Opportunity:
    """Publish a pending listing. Raises :class:`ForbiddenError`, :class:`NotFoundError`,
    :class:`ReviewStateError` (not pending; organisation not verified)."""
    return _decide(conn, reviewer, opportunity_id, Status.PUBLISHED, "", action="approve", now=now, settings=settings)


def approve_many(
    conn: Connection, reviewer: Reviewer, opportunity_ids: list[int], *, now: datetime, settings: Settings
) -> list[Opportunity]:
    """Approve each listing, all or none: any one refused raises, and the caller's transaction
    (which holds the others) is rolled back."""
    return [approve(conn, reviewer, oid, now=now, settings=settings) for oid in dict.fromkeys(opportunity_ids)]


def reject(
    conn: Connection, reviewer: Reviewer, opportunity_id: int, reason: str, *, now: datetime, settings: Settings
) -> Opportunity:
    """Reject a pending listing with a reason the provider sees (required)."""
    reason = _checked_note(reason, "reason", required=True)
    return _decide(conn, reviewer, opportunity_id, Status.REJECTED, reason, action="reject", now=now, settings=settings)


def request_changes(
    conn: Connection, reviewer: Reviewer, opportunity_id: int, note: str, *, now: datetime, settings: Settings
) -> Opportunity:
    """Send a pending listing back to its provider as a draft, with a note saying what to change."""
    note = _checked_note(note, "note", required=True)
    return _decide(conn, reviewer, opportunity_id, Status.DRAFT, note, action="request_changes", now=now, settings=settings)


def _recipients(
    conn: Connection, provider_id: int, submitted_by: int | None, organisation: Organisation
) -> list[tuple[str, str]]:
    """Who hears of a decision: the person who submitted the listing; else the organisation's
    members; else its contact address (imported listings)."""
    active = users.c.disabled_at.is_(None)
    if submitted_by is not None:
        found = conn.execute(select(users.c.email, users.c.language).where(users.c.id == submitted_by, active)).first()
        if found is not None:
            return [(found.email, found.language)]
    members = conn.execute(
        select(users.c.email, users.c.language).where(users.c.organisation_id == provider_id, active).order_by(users.c.id)
    ).all()
    if members:
        return [(m.email, m.language) for m in members]
    return [(organisation.contact_email, "en")] if organisation.contact_email else []


def review_message(
    recipient: str, language: str, opp: Opportunity, *, action: str, note: str, settings: Settings
) -> mail.Message:
    """The message telling a provider what the review decided, in ``language``."""
    _ = translator(language).gettext
    url = mail.link(settings, "my_opportunities")
    if action == "approve":
        subject = _("Published: {title}").format(title=opp.title)
        body = _("Your listing “{title}” was approved and is now on the Cities of Learning map.\n\n{url}")
    elif action == "reject":
        subject = _("Not published: {title}").format(title=opp.title)
        body = _("Your listing “{title}” was not published. The reviewer wrote:\n\n{note}\n\n{url}")
    else:
        subject = _("Changes requested: {title}").format(title=opp.title)
        body = _("The reviewer asks you to change your listing “{title}” and submit it again:\n\n{note}\n\n{url}")
    return mail.Message(recipient, subject, body.format(title=opp.title, note=note, url=url))
