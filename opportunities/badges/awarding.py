"""Earning a badge: a claim by code or mailed link, an award by email list, a playlist's badge for
a presentation of the badges its rule asks for.

Each flow takes the engine, not a connection: a failed claim is recorded in a transaction of its
own (so the limits against guessing count it whatever happens next), and an issuance is recorded
and signed in one transaction (a failure leaves nothing behind).

Awards by email send each address a one-time claim link in its language and keep no address:
the links are made and the messages queued in one transaction, then sent at once, and the outbox
forgets each address once its message is sent (:func:`opportunities.accounts.mail.deliver_pending`).
Without a mail server (SMTP_HOST) nothing is queued: the addresses would wait in the outbox.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from opportunities.accounts import audit, mail
from opportunities.accounts.identity import User
from opportunities.badges import achievements, claims, issuance, playlists
from opportunities.badges.claims import CodeKind
from opportunities.badges.issuance import Issuance, Signer
from opportunities.badges.keys import IssuerKey
from opportunities.badges.verification import Verification, verify
from opportunities.db.connection import writing
from opportunities.errors import BadgeError
from opportunities.i18n import translator
from opportunities.listings.review import CommandLine, Reviewer
from opportunities.settings import Settings
from opportunities.vocabulary import LANGUAGES

MAX_EMAILS = 500
MAX_PRESENTED = 60
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+")
# Failures that may be guesses: counted for the limits. A malformed code or subject is not a guess.
_NOT_VALID = {"revoked": "presented_revoked", "expired": "presented_expired"}
_GUESSES = frozenset({"code_unknown", "code_expired", "code_used"})


@dataclass(frozen=True)
class Claimed:
    issuance: Issuance
    credential: dict[str, Any]


def claim(
    engine: Engine, secret: str, subject: str, *, kind: CodeKind, client: str, now: datetime, settings: Settings, signer: Signer
) -> Claimed:
    """The signed credential a claim code (or a mailed link's token) earns for ``subject``.

    ``client`` is the hashed address (:func:`opportunities.accounts.accounts.client_key`). Raises
    :class:`BadgeError`: the limits (``too_many_attempts``, ``claims_busy``), the subject, the
    code (:func:`opportunities.badges.claims.redeem`); nothing is issued then.
    """
    subject = issuance.check_subject(subject)
    with engine.connect() as conn:  # a read: no write lock taken for it
        claims.check_limits(conn, client, now, settings)
    try:
        with writing(engine) as conn:
            grant = claims.redeem(conn, secret, kind=kind, now=now)
            record, credential = issuance.issue(conn, grant.achievement_id, subject, via=kind.value, now=now, signer=signer)
    except BadgeError as refused:
        if refused.code in _GUESSES:
            with writing(engine) as conn:
                claims.record_failure(conn, client, now, settings)
        raise
    return Claimed(record, credential)


def _actor(user: Reviewer, achievement: achievements.Achievement) -> User | None:
    """Who acts: None for the command line (:data:`~opportunities.listings.review.COMMAND_LINE`,
    audited so), else a person who may manage the badge (:class:`ForbiddenError` for anyone else)."""
    return None if isinstance(user, CommandLine) else achievements.authorise_manage(user, achievement)


def award(engine: Engine, user: Reviewer, achievement_id: int, subject: str, *, now: datetime, signer: Signer) -> Claimed:
    """An organiser's offline award of a published badge to ``subject``. Raises
    :class:`ForbiddenError`, :class:`BadgeError`."""
    with writing(engine) as conn:
        achievement = achievements.get_achievement(conn, achievement_id)
        actor = _actor(user, achievement)
        record, credential = issuance.issue(conn, achievement_id, subject, via="award", now=now, signer=signer)
        audit.record(conn, actor=actor, action="award_badge", entity="badge", entity_id=achievement_id,
                     city_id=achievement.city_id, after={"credential": record.credential_id}, now=now)  # fmt: skip
    return Claimed(record, credential)


# --- awards by email ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str


def read_recipients(data: bytes | str, *, default_language: str = "en") -> list[Recipient]:
    """Addresses from a CSV (``email[,language]``, with or without a header row; ``;`` or ``,``) or
    a list with one address a line. Each address once; raises ``email_invalid``, ``too_many_emails``."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    found: dict[str, Recipient] = {}
    dialect = ";" if text.count(";") > text.count(",") else ","
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=dialect)):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0]:
            continue
        if number == 0 and cells[0].lower() in ("email", "e-mail", "address", "epost", "e-pošta", "e-posta"):
            continue
        email = cells[0]
        if len(email) > 254 or not _EMAIL.fullmatch(email):
            raise BadgeError("email_invalid", value=email[:80])
        language = cells[1].lower()[:2] if len(cells) > 1 and cells[1].lower()[:2] in LANGUAGES else default_language
        found.setdefault(email.lower(), Recipient(email, language))
    if len(found) > MAX_EMAILS:
        raise BadgeError("too_many_emails", limit=MAX_EMAILS, n=len(found))
    return list(found.values())


def claim_link_message(recipient: Recipient, *, badge: str, url: str, days: int) -> mail.Message:
    """The mail with a one-time claim link, in the recipient's language."""
    _ = translator(recipient.language).gettext
    return mail.Message(
        recipient.email,
        _("Your badge: {badge}").format(badge=badge),
        _(
            "You have earned the badge “{badge}” on the Cities of Learning map.\n\n"
            "Open this link within {days} days to claim it into your browser (it works once):\n{url}\n\n"
            "Your address is not kept: this message was the only use of it."
        ).format(badge=badge, days=days, url=url),
    )


def award_by_email(
    engine: Engine, user: Reviewer, achievement_id: int, recipients: Sequence[Recipient], *, now: datetime, settings: Settings
) -> tuple[int, int]:
    """Mail each recipient a one-time claim link to ``achievement_id``, in their language; returns
    (sent, failed). The audit log keeps how many, never who. Raises :class:`ForbiddenError`,
    :class:`BadgeError` (``mail_not_configured``, ``achievement_not_published``, ``too_many_emails``)."""
    if not settings.smtp_host:
        raise BadgeError("mail_not_configured")
    if len(recipients) > MAX_EMAILS:
        raise BadgeError("too_many_emails", limit=MAX_EMAILS, n=len(recipients))
    with writing(engine) as conn:
        achievement = achievements.get_achievement(conn, achievement_id)
        actor = _actor(user, achievement)
        if achievement.status.value != "published":
            raise BadgeError("achievement_not_published")
        for recipient in recipients:
            token = claims.create_link_token(conn, actor, achievement_id, now=now, settings=settings)
            url = mail.link(settings, "claim", token=token)
            badge = achievement.text(recipient.language).name
            mail.queue(conn, claim_link_message(recipient, badge=badge, url=url, days=settings.badge_claim_link_days), now)
        audit.record(conn, actor=actor, action="award_badge_by_email", entity="badge", entity_id=achievement_id,
                     city_id=achievement.city_id, after={"links": len(recipients)}, now=now)  # fmt: skip
    return mail.deliver_pending(engine, settings, now)


# --- verifying here -------------------------------------------------------------------------------


def own_status_lists(engine: Engine, settings: Settings, *, keys: Sequence[IssuerKey]) -> Callable[[str], dict[str, Any] | None]:
    """This deployment's revocation lists by their URL, read from the database and signed afresh
    with ``keys``; ``None`` for any other URL (nothing is fetched)."""

    def status_list(url: str) -> dict[str, Any] | None:
        list_id = issuance.list_id_from_url(settings.public_url, url)
        if list_id is None:
            return None
        with engine.connect() as conn:
            return issuance.status_list_document(conn, list_id, keys=keys, public_url=settings.public_url)

    return status_list


def verifier(engine: Engine, settings: Settings, *, now: datetime) -> Callable[[dict[str, Any] | bytes], Verification]:
    """Verification as this deployment does it: its issuer keys (current and retired) are known,
    and its own status lists are read from the database (signed afresh); another issuer's list is
    never fetched, so a credential naming one cannot be checked for revocation here."""
    keys = issuance.issuer_keys(settings)
    status_list = own_status_lists(engine, settings, keys=keys)

    def check(document: dict[str, Any] | bytes) -> Verification:
        return verify(document, known_keys=keys, status_list=status_list, now=now)

    return check


# --- a playlist's badge for a presentation -------------------------------------------------------


class Checked(Protocol):
    """What the playlist claim needs of a credential's verification
    (:class:`opportunities.badges.verification.Verification` has it)."""

    @property
    def valid(self) -> bool: ...
    @property
    def state(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def credential_id(self) -> str | None: ...


def presented_credentials(presentation: Mapping[str, Any] | bytes | str) -> list[dict[str, Any]]:
    """The credentials of a Verifiable Presentation (``verifiableCredential``: one or a list of
    at most :data:`MAX_PRESENTED`); raises ``presentation_invalid``."""
    if isinstance(presentation, bytes | str):
        try:
            presentation = json.loads(presentation)
        except (ValueError, RecursionError):
            raise BadgeError("presentation_invalid") from None
    if not isinstance(presentation, Mapping):
        raise BadgeError("presentation_invalid")
    found = presentation.get("verifiableCredential")
    listed = [found] if isinstance(found, dict) else found
    if not isinstance(listed, list) or not listed or len(listed) > MAX_PRESENTED or not all(isinstance(c, dict) for c in listed):
        raise BadgeError("presentation_invalid")
    return listed


def claim_playlist(
    engine: Engine,
    playlist_id: int,
    presentation: Mapping[str, Any] | bytes | str,
    *,
    verify: Callable[[dict[str, Any]], Checked],
    now: datetime,
    signer: Signer,
) -> Claimed:
    """The playlist's badge for the subject of the presented badges, when each is valid (our
    signature, not revoked, not expired), issued here, all of one subject, and together they meet
    the playlist's rule. Raises :class:`BadgeError` (``presentation_invalid``,
    ``presented_revoked``, ``presented_expired``, ``presented_invalid``, ``credential_not_ours``, ``presentation_subjects_differ``,
    ``rule_not_met``); nothing is issued then."""
    credentials = presented_credentials(presentation)
    checked = [verify(credential) for credential in credentials]
    for number, result in enumerate(checked, start=1):
        if not result.valid:
            raise BadgeError(_NOT_VALID.get(result.state, "presented_invalid"), n=number)
    subjects = {result.subject for result in checked}
    if len(subjects) != 1 or None in subjects:
        raise BadgeError("presentation_subjects_differ")
    [subject] = subjects
    assert subject is not None
    with writing(engine) as conn:
        playlist = playlists.get_playlist(conn, playlist_id)
        earned = []
        for number, result in enumerate(checked, start=1):
            try:
                record = issuance.get_issuance(conn, result.credential_id or "")
            except BadgeError:
                raise BadgeError("credential_not_ours", n=number) from None
            if record.revoked_at is not None:  # revoked since the status list was read
                raise BadgeError("presented_revoked", n=number)
            earned.append(record.achievement_id)
        progress = playlists.progress(conn, playlist, earned)
        if not progress.met:
            raise BadgeError("rule_not_met", missing=progress.missing)
        record, credential = issuance.issue(conn, playlist.achievement.id, subject, via="playlist", now=now, signer=signer)
    return Claimed(record, credential)
