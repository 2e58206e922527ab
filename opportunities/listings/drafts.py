"""Drafts of the submission form: saved as the provider types, restored after a reload, never public.

A draft belongs to the person who typed it: nobody else reads, changes or even learns of it (a
colleague's draft id is "not found", not "forbidden"). It holds the form's values as JSON
(:class:`opportunities.listings.submission.FormValues`), and, when it edits a stored listing, that
listing's id. Nothing in a draft is shown on the map or in any list of listings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from opportunities.accounts.identity import User
from opportunities.accounts.permissions import Action, authorise
from opportunities.db import queries
from opportunities.db.schema import drafts
from opportunities.errors import ForbiddenError, NotFoundError
from opportunities.listings.submission import FormValues

# Most drafts one person keeps; the oldest beyond this are dropped when a new one is started.
MAX_DRAFTS_PER_USER = 50


@dataclass(frozen=True)
class Draft:
    id: int
    values: FormValues
    opportunity_id: int | None  # the listing it edits; None: a new listing
    updated_at: datetime


def _draft(row: object) -> Draft:
    try:
        data = json.loads(row.data)  # type: ignore[attr-defined]
    except ValueError:
        data = {}
    values = FormValues.from_json_dict(data if isinstance(data, dict) else {})
    updated = queries.aware(row.updated_at)  # type: ignore[attr-defined]
    assert updated is not None
    return Draft(id=row.id, values=values, opportunity_id=row.opportunity_id, updated_at=updated)  # type: ignore[attr-defined]


def _drafter(user: User | None) -> User:
    """``user``, a member of an organisation who may submit for it (drafts are theirs alone)."""
    if user is not None and user.organisation_id is None and not user.disabled:
        raise ForbiddenError("only members of an organisation keep drafts")
    return authorise(user, Action.SUBMIT, organisation_id=user.organisation_id if user is not None else None)


def save_draft(
    conn: Connection,
    user: User | None,
    values: FormValues,
    *,
    now: datetime,
    draft_id: int | None = None,
    opportunity_id: int | None = None,
) -> int:
    """Save the form's values as ``user``'s draft (a new one when ``draft_id`` is None); returns its id.

    Raises :class:`ForbiddenError` for anyone who may not submit for an organisation, and
    :class:`NotFoundError` for a draft id that is not the user's own.
    """
    actor = _drafter(user)
    data = json.dumps(values.to_json_dict(), ensure_ascii=False, sort_keys=True)
    if draft_id is not None:
        result = conn.execute(
            update(drafts)
            .where(drafts.c.id == draft_id, drafts.c.user_id == actor.id)
            .values(data=data, updated_at=now, opportunity_id=opportunity_id)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"no draft {draft_id}")
        return draft_id
    assert actor.organisation_id is not None  # authorised to submit: a member of an organisation
    new_id = conn.execute(
        insert(drafts)
        .returning(drafts.c.id)
        .values(
            user_id=actor.id,
            organisation_id=actor.organisation_id,
            opportunity_id=opportunity_id,
            data=data,
            created_at=now,
            updated_at=now,
        )
    ).scalar_one()
    old = [
        r.id
        for r in conn.execute(
            select(drafts.c.id)
            .where(drafts.c.user_id == actor.id)
            .order_by(drafts.c.updated_at.desc(), drafts.c.id.desc())
            .offset(MAX_DRAFTS_PER_USER)
        )
    ]
    if old:
        conn.execute(delete(drafts).where(drafts.c.id.in_(old)))
    return int(new_id)


def autosave(
    conn: Connection, user: User | None, values: FormValues, *, now: datetime, draft_id: int | None, opportunity_id: int | None
) -> int:
    """Save the form as it is now into ``draft_id``, or into a new draft when that one is gone
    (discarded in another tab, or submitted meanwhile); returns the id the form keeps from now on."""
    try:
        return save_draft(conn, user, values, now=now, draft_id=draft_id, opportunity_id=opportunity_id)
    except NotFoundError:
        return save_draft(conn, user, values, now=now, opportunity_id=opportunity_id)


def get_draft(conn: Connection, user: User | None, draft_id: int) -> Draft:
    """``user``'s draft; :class:`NotFoundError` for any other, :class:`ForbiddenError` for no user."""
    actor = _drafter(user)
    row = conn.execute(select(drafts).where(drafts.c.id == draft_id, drafts.c.user_id == actor.id)).first()
    if row is None:
        raise NotFoundError(f"no draft {draft_id}")
    return _draft(row)


def list_drafts(conn: Connection, user: User | None) -> list[Draft]:
    """``user``'s own drafts, the latest first."""
    actor = _drafter(user)
    query = select(drafts).where(drafts.c.user_id == actor.id).order_by(drafts.c.updated_at.desc(), drafts.c.id.desc())
    return [_draft(r) for r in conn.execute(query)]


def delete_draft(conn: Connection, user: User | None, draft_id: int) -> None:
    """Drop ``user``'s draft (after it was submitted, or when the provider discards it)."""
    actor = _drafter(user)
    conn.execute(delete(drafts).where(drafts.c.id == draft_id, drafts.c.user_id == actor.id))
