"""Bulk upload by a signed-in person: who may upload, for which organisation, published or pending.

The import itself is :mod:`opportunities.listings.importing` (the same code as the command line); this
module adds the checks of an upload from the app, server side: a provider uploads only their own
organisation's listings (every row's provider must be it), a verified organisation's listings in
the cities that trust it are published at once and all others wait for review, and the stored listings are
written to the audit log in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from opportunities.accounts import audit
from opportunities.accounts.identity import Role, User
from opportunities.accounts.organisations import Organisation, get_organisation
from opportunities.accounts.permissions import Action, authorise
from opportunities.db.schema import opportunities
from opportunities.errors import ForbiddenError, ImportChangedError
from opportunities.listings.importing import ImportPreview, ImportReport, Progress, confirm_import, preview_import
from opportunities.listings.spreadsheets import Table
from opportunities.places.geocoding import Geocoder


@dataclass(frozen=True)
class UploadTarget:
    """Where an upload goes: the organisation every row must belong to (None: an admin's upload,
    any provider) and whether its rows are published at once."""

    organisation: Organisation | None
    publish_in: frozenset[int]  # the cities whose rows are published at once (trusted there); others wait for review


def upload_target(conn: Connection, user: User | None) -> UploadTarget:
    """What ``user`` may upload. Raises :class:`ForbiddenError` for a signed-out visitor, a
    disabled account, a city lead, and a provider without an organisation."""
    if user is not None and user.role is Role.ADMIN and not user.disabled:
        return UploadTarget(None, publish_in=frozenset())
    if user is None or user.organisation_id is None:
        authorise(user, Action.UPLOAD, organisation_id=None)  # raises, saying why
        raise ForbiddenError("only members of an organisation may upload")
    authorise(user, Action.UPLOAD, organisation_id=user.organisation_id)
    organisation = get_organisation(conn, user.organisation_id)
    return UploadTarget(organisation, publish_in=organisation.trusted_in if organisation.verified else frozenset())


def preview_upload(
    engine: Engine, user: User | None, table: Table, geocoder: Geocoder, *, filename: str = "", progress: Progress | None = None
) -> ImportPreview:
    """Each row's outcome for ``user``'s upload (see :func:`importing.preview_import`)."""
    with engine.connect() as conn:
        target = upload_target(conn, user)
    name = target.organisation.name if target.organisation else None
    return preview_import(
        engine, table, geocoder, filename=filename, publish_in=target.publish_in, organisation=name, progress=progress
    )


def confirm_upload(
    engine: Engine,
    user: User | None,
    table: Table,
    geocoder: Geocoder,
    preview: ImportPreview,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Store what the preview showed, checking ``user`` again (an account disabled meanwhile
    stores nothing); raises :class:`ImportChangedError` when the organisation's trust changed."""
    with engine.connect() as conn:
        target = upload_target(conn, user)
    if target.publish_in != preview.publish_in:
        raise ImportChangedError("your organisation's permission to publish changed since the preview; preview the file again")
    assert user is not None
    name = target.organisation.name if target.organisation else None

    def record(conn: Connection, report: ImportReport) -> None:
        audit_import(conn, report, actor=user, publish_in=preview.publish_in, publish=preview.publish,
                     note=preview.filename, now=now)  # fmt: skip

    return confirm_import(
        engine, table, geocoder, preview, organisation=name, submitted_by=user.id, progress=progress, on_stored=record
    )


def audit_import(
    conn: Connection,
    report: ImportReport,
    *,
    actor: User | None,
    now: datetime,
    publish: bool,
    publish_in: frozenset[int] = frozenset(),
    note: str = "",
) -> None:
    """One audit entry per city of the stored listings, readable by that city's leads; ``actor``
    None: the command line's import."""
    by_city: dict[int, list[int]] = defaultdict(list)
    ids = report.stored_ids
    for i in range(0, len(ids), 500):
        query = select(opportunities.c.id, opportunities.c.city_id).where(opportunities.c.id.in_(ids[i : i + 500]))
        for oid, city_id in conn.execute(query):
            by_city[city_id].append(oid)
    for city_id, stored in sorted(by_city.items()):
        status = "published" if publish or city_id in publish_in else "pending"
        audit.record(conn, actor=actor, action="upload", entity="opportunity", entity_id=stored[0] if len(stored) == 1 else None,
                     city_id=city_id, before=None, after={"status": status, "ids": sorted(stored)},
                     note=note, now=now)  # fmt: skip
