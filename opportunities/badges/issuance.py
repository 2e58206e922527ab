"""Issuance records, status lists and revocation: what the server keeps of an issued badge.

An issuance record holds the credential's id, the badge, how and when it was issued and its
position in a W3C Bitstring Status List: never the subject, a name, an email or an address. A
provider revokes the badges of their organisation, a city lead those of their cities, an admin
any; with a reason, audited. The status list credential published for a list sets the bit of
every revoked index.

Signing is not done here: :func:`issue` takes a :class:`Signer` (the adapters build one from
the issuer's key, :mod:`opportunities.badges.credentials` and :mod:`opportunities.badges.proofs`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, func, insert, select, update

from opportunities.accounts import audit
from opportunities.badges import achievements, proofs
from opportunities.badges.achievements import Achievement
from opportunities.badges.credentials import SUBJECT_ID, build_credential
from opportunities.badges.keys import IssuerKey, did_web_for, load_issuer_keys, load_or_create_issuer_key
from opportunities.badges.status_lists import LIST_SIZE, StatusEntry, status_list_credential
from opportunities.db import queries
from opportunities.db.schema import badge_issuances, badge_status_lists
from opportunities.errors import BadgeError
from opportunities.listings.review import CommandLine, Reviewer
from opportunities.settings import Settings
from opportunities.vocabulary import Status

STATUS_LIST_SIZE = LIST_SIZE  # 2**17 bits, 16 KB: the Bitstring Status List's minimum for herd privacy
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class StatusPosition:
    """Where a credential's revocation bit is: the list's id and the bit's index."""

    list_id: int
    index: int


@dataclass(frozen=True)
class Issuance:
    credential_id: str
    achievement_id: int
    via: str
    issued_at: datetime
    status: StatusPosition
    revoked_at: datetime | None
    revoke_reason: str


class Signer(Protocol):
    """Builds and signs the OpenBadgeCredential of one issuance (see the module's docstring);
    ``issuer`` is the DID it signs as."""

    @property
    def issuer(self) -> str: ...

    def __call__(
        self, *, achievement: Achievement, subject_id: str, credential_id: str, issued: datetime, status: StatusPosition
    ) -> dict[str, Any]: ...


def check_subject(subject: str) -> str:
    """A subject identifier as the learner's browser made it (a did:key or a urn:uuid; never a name
    or an email); raises ``subject_invalid``."""
    subject = subject.strip()[:300]
    if subject.lower().startswith("urn:uuid:"):
        subject = subject.lower()
    if not SUBJECT_ID.fullmatch(subject):
        raise BadgeError("subject_invalid")
    return subject


def issuer_keys(settings: Settings) -> tuple[IssuerKey, ...]:
    """The deployment's issuer keys, the current one first (created on first use, BADGE_KEY_FILE),
    then the retired ones that still verify what they signed."""
    did_web = did_web_for(settings.public_url) if settings.badge_issuer_did == "web" else None
    load_or_create_issuer_key(settings.badge_key_file, did_web_host=did_web)
    return load_issuer_keys(settings.badge_key_file, did_web_host=did_web)


def signer_for(settings: Settings, *, language: str = "en", key: IssuerKey | None = None) -> Signer:
    """The :class:`Signer` of this deployment: its current issuer key, PUBLIC_URL, FEED_PUBLISHER as
    the issuer's name."""
    return credential_signer(key or issuer_keys(settings)[0], public_url=settings.public_url,
                             issuer_name=settings.feed_publisher, language=language)  # fmt: skip


def credential_signer(key: IssuerKey, *, public_url: str, issuer_name: str, language: str = "en") -> Signer:
    """A :class:`Signer` by ``key``: an OpenBadgeCredential (its achievement in ``language`` where
    the badge has it) with its status entry, signed ``eddsa-rdfc-2022``."""

    return _KeySigner(key, public_url, issuer_name, language)


@dataclass(frozen=True)
class _KeySigner:
    key: IssuerKey
    public_url: str
    issuer_name: str
    language: str

    @property
    def issuer(self) -> str:
        return self.key.did

    def __call__(
        self, *, achievement: Achievement, subject_id: str, credential_id: str, issued: datetime, status: StatusPosition
    ) -> dict[str, Any]:
        key, public_url, issuer_name, language = self.key, self.public_url, self.issuer_name, self.language
        unsigned = build_credential(
            achievement=achievements.definition(achievement, public_url=public_url, issuer_name=issuer_name),
            subject_id=subject_id, issuer=key, issuer_name=issuer_name, issued=issued, credential_id=credential_id,
            status=StatusEntry(status_list_url(public_url, status.list_id), status.index), language=language,
        )  # fmt: skip
        return proofs.sign(unsigned, key, created=issued)


def status_list_url(public_url: str, list_id: int) -> str:
    """The stable address of status list ``list_id``'s credential."""
    return f"{public_url.rstrip('/')}/badges/status/{list_id}"


def allocate(conn: Connection, city_id: int | None, now: datetime, *, issuer: str) -> StatusPosition:
    """The next free position of ``city_id``'s status list signed by ``issuer`` (a DID), a new list
    when it is full (or the issuer's key is new: one list, one signer).

    Positions become indexes by an odd stride and a shift drawn when the list is made: a
    permutation of the list's bits, so indexes do not tell the order of issuance. Two writers
    taking the same position: the second tries again with the next one.
    """
    for _attempt in range(20):
        owner = badge_status_lists.c.city_id == city_id if city_id is not None else badge_status_lists.c.city_id.is_(None)
        row = conn.execute(
            select(badge_status_lists)
            .where(owner, badge_status_lists.c.issuer == issuer, badge_status_lists.c.next_position < badge_status_lists.c.size)
            .order_by(badge_status_lists.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            values = {"city_id": city_id, "issuer": issuer, "size": STATUS_LIST_SIZE, "next_position": 0, "created_at": now,
                      "stride": 2 * secrets.randbelow(STATUS_LIST_SIZE // 2) + 1, "shift": secrets.randbelow(STATUS_LIST_SIZE)}  # fmt: skip
            conn.execute(insert(badge_status_lists).values(**values))
            continue
        taken = conn.execute(
            update(badge_status_lists)
            .where(badge_status_lists.c.id == row.id, badge_status_lists.c.next_position == row.next_position)
            .values(next_position=row.next_position + 1)
        )
        if taken.rowcount == 1:
            return StatusPosition(row.id, (row.next_position * row.stride + row.shift) % row.size)
    raise RuntimeError("no status list position could be taken")  # twenty writers in a row: a defect


def issue(
    conn: Connection, achievement_id: int, subject: str, *, via: str, now: datetime, signer: Signer
) -> tuple[Issuance, dict[str, Any]]:
    """Record and sign one credential of a published badge for ``subject`` in the caller's
    transaction: if signing fails, nothing is recorded. Returns the record and the credential."""
    subject = check_subject(subject)
    achievement = achievements.get_achievement(conn, achievement_id)
    if achievement.status is not Status.PUBLISHED:
        raise BadgeError("achievement_not_published")
    position = allocate(conn, achievement.city_id, now, issuer=signer.issuer)
    credential_id = f"urn:uuid:{uuid.uuid4()}"
    conn.execute(insert(badge_issuances).values(credential_id=credential_id, achievement_id=achievement_id, via=via,
                                                issued_at=now, status_list_id=position.list_id,
                                                status_index=position.index, revoke_reason=""))  # fmt: skip
    credential = signer(achievement=achievement, subject_id=subject, credential_id=credential_id, issued=now, status=position)
    return get_issuance(conn, credential_id), credential


def _issuance(row: Any) -> Issuance:
    return Issuance(row.credential_id, row.achievement_id, row.via, queries.aware(row.issued_at) or row.issued_at,
                    StatusPosition(row.status_list_id, row.status_index), queries.aware(row.revoked_at), row.revoke_reason)  # fmt: skip


def get_issuance(conn: Connection, credential_id: str) -> Issuance:
    """The record of ``credential_id``; raises ``credential_unknown``."""
    row = conn.execute(select(badge_issuances).where(badge_issuances.c.credential_id == credential_id.strip()[:100])).first()
    if row is None:
        raise BadgeError("credential_unknown", id=credential_id.strip()[:100])
    return _issuance(row)


def list_issuances(conn: Connection, *, achievement_id: int | None = None, limit: int = 1000) -> list[Issuance]:
    query = select(badge_issuances).order_by(badge_issuances.c.issued_at.desc()).limit(limit)
    if achievement_id is not None:
        query = query.where(badge_issuances.c.achievement_id == achievement_id)
    return [_issuance(r) for r in conn.execute(query)]


def revoke(conn: Connection, user: Reviewer, credential_id: str, reason: str, *, now: datetime) -> Issuance:
    """Revoke an issued badge with a reason (audited, with the badge's city). The command line
    (:data:`opportunities.listings.review.COMMAND_LINE`) may revoke any; a person only what
    :func:`~opportunities.badges.achievements.may_manage` allows.

    Raises :class:`ForbiddenError`, :class:`BadgeError` (``credential_unknown``,
    ``already_revoked``, ``revoke_reason_missing``).
    """
    found = get_issuance(conn, credential_id)
    achievement = achievements.get_achievement(conn, found.achievement_id)
    actor = None if isinstance(user, CommandLine) else achievements.authorise_manage(user, achievement)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise BadgeError("revoke_reason_missing", limit=MAX_REASON_LENGTH)
    changed = conn.execute(
        update(badge_issuances)
        .where(badge_issuances.c.credential_id == found.credential_id, badge_issuances.c.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )
    if changed.rowcount != 1:
        raise BadgeError("already_revoked")
    # The entity id is the badge's (credential ids are not integers); the credential is in "after".
    audit.record(conn, actor=actor, action="revoke_badge", entity="badge", entity_id=achievement.id, city_id=achievement.city_id,
                 before={"credential": found.credential_id, "revoked": False},
                 after={"credential": found.credential_id, "revoked": True}, note=reason, now=now)  # fmt: skip
    return get_issuance(conn, found.credential_id)


@dataclass(frozen=True)
class StatusListState:
    """What a status list credential publishes."""

    list_id: int
    size: int
    revoked: tuple[int, ...]  # the indexes whose bit is set
    changed_at: datetime  # the list's last revocation, or when it was made
    issuer: str  # the DID that signs it


def status_list_state(conn: Connection, list_id: int) -> StatusListState | None:
    """List ``list_id``'s size and revoked indexes; None when there is no such list."""
    row = conn.execute(
        select(badge_status_lists.c.size, badge_status_lists.c.created_at, badge_status_lists.c.issuer).where(
            badge_status_lists.c.id == list_id
        )
    ).first()
    if row is None:
        return None
    of_list = (badge_issuances.c.status_list_id == list_id, badge_issuances.c.revoked_at.is_not(None))
    # one range of ix_badge_issuances_list_revoked each; sorted here, not by the database (which
    # would then walk the list's unique index, every issued row of it)
    revoked = sorted(conn.execute(select(badge_issuances.c.status_index).where(*of_list)).scalars())
    latest = conn.execute(select(func.max(badge_issuances.c.revoked_at)).where(*of_list)).scalar()
    changed = queries.aware(latest) or queries.aware(row.created_at) or row.created_at
    return StatusListState(list_id, int(row.size), tuple(revoked), changed, row.issuer)


def status_list_document(conn: Connection, list_id: int, *, keys: Sequence[IssuerKey], public_url: str) -> dict[str, Any] | None:
    """The status list credential of list ``list_id``, signed by the one of ``keys`` it was made
    with (None when there is no such list, or that key is gone). Dated by its last change, so the
    same state gives the same document (an ETag, a cache)."""
    state = status_list_state(conn, list_id)
    key = next((k for k in keys if k.did == state.issuer), None) if state is not None else None
    if state is None or key is None:
        return None
    return status_list_credential(list_url=status_list_url(public_url, list_id), revoked=state.revoked, issuer=key,
                                  issued=state.changed_at, size=state.size)  # fmt: skip


def list_id_from_url(public_url: str, url: str) -> int | None:
    """The id of one of our status lists from its address (:func:`status_list_url`), else None."""
    prefix = status_list_url(public_url, 0)[:-1]
    rest = url[len(prefix) :] if url.startswith(prefix) else ""
    return int(rest) if rest.isdigit() and len(rest) < 12 else None
