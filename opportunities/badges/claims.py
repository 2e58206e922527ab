"""Claim codes: how a badge is earned without an account.

A provider shows a short code (and its QR code) at the activity; a learner types or scans it and
gets the badge, for an identifier their browser made. A code is :data:`CODE_LENGTH` characters of
an alphabet without look-alikes (no 0/O, 1/I/L, no U), grouped for reading; it expires, and is
single- or multi-use. A claim link mailed to a participant is a long random token of the same
table, used once. Only SHA-256 hashes of codes and tokens are stored: the code is shown once.

Guessing is held back twice, in the database so it holds across replicas: a client (its address,
hashed, as for sign-ins) with :attr:`Settings.badge_claim_max_failures_per_client` failed claims in
the window is refused until the window has passed; when all clients together reach
:attr:`Settings.badge_claim_max_failures`, every claim by code is refused for the window (a storm
from many addresses). With 30¹⁰ ≈ 6·10¹⁴ codes, a thousand guesses every quarter hour would find
one of a thousand live codes about once in 17,000 years.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

import segno
from sqlalchemy import Connection, delete, func, insert, select, update

from opportunities.accounts import audit
from opportunities.accounts.identity import User
from opportunities.badges import achievements
from opportunities.db import queries
from opportunities.db.schema import badge_claim_attempts, badge_claim_codes
from opportunities.errors import BadgeError
from opportunities.settings import Settings
from opportunities.vocabulary import Status

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # 30 characters: no 0 O 1 I L U
CODE_LENGTH = 10
GROUP = 5  # shown as ABCDE-FGHJK
MAX_USES = 1000
MAX_EXPIRY = timedelta(days=90)
MIN_EXPIRY = timedelta(minutes=1)
MAX_LABEL_LENGTH = 100
LINK_TOKEN_BYTES = 32
_SEPARATORS = re.compile(r"[\s\-_.]+")


class CodeKind(StrEnum):
    CODE = "code"  # shown at the activity
    LINK = "link"  # mailed to one participant, used once


@dataclass(frozen=True)
class ClaimCode:
    """A new code, as shown once to the provider."""

    id: int
    code: str  # as typed: ABCDE-FGHJK
    achievement_id: int
    expires_at: datetime
    max_uses: int
    label: str


@dataclass(frozen=True)
class Grant:
    """A claim that may be issued: the badge it earns, and how it was claimed."""

    achievement_id: int
    kind: CodeKind
    code_id: int


def code_hash(code: str) -> str:
    """SHA-256 of a code in its normal form (:func:`normalise`) or of a link token."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def new_code() -> str:
    """A random code of :data:`CODE_LENGTH` characters of :data:`ALPHABET` (from ``secrets``)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """The code grouped for reading aloud and typing: ``ABCDE-FGHJK``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(text: str) -> str:
    """A code as typed (any case, spaces, dashes) in its normal form; raises
    :class:`BadgeError` (``code_malformed``) when it cannot be one."""
    code = _SEPARATORS.sub("", text[:64]).upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        raise BadgeError("code_malformed", length=CODE_LENGTH, example=shown(ALPHABET[:CODE_LENGTH]))
    return code


def claim_link(public_url: str, code: str) -> str:
    """The address a QR code holds: the claim page with the code filled in."""
    return f"{public_url.rstrip('/')}/claim?{urlencode({'code': code})}"


def qr_svg(text: str) -> str:
    """A QR code of ``text`` (a claim page's address with the code) as SVG, error correction M."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=8, border=2, xmldecl=False, svgns=True, title="QR")
    return out.getvalue().decode("utf-8")


def qr_png(text: str) -> bytes:
    """The same QR code as PNG (for printing)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


# --- making codes ---------------------------------------------------------------------------------


def create_code(
    conn: Connection,
    user: User | None,
    achievement_id: int,
    *,
    valid_for: timedelta,
    max_uses: int = 1,
    label: str = "",
    now: datetime,
) -> ClaimCode:
    """A claim code for a published badge, made by whoever may manage it (its organisation's
    provider, its city's lead, an admin). ``label`` names a session or a participant's number,
    never a name. Raises :class:`ForbiddenError`, :class:`BadgeError`."""
    achievement = achievements.get_achievement(conn, achievement_id)
    actor = achievements.authorise_manage(user, achievement)
    if achievement.status is not Status.PUBLISHED:
        raise BadgeError("achievement_not_published")
    if not MIN_EXPIRY <= valid_for <= MAX_EXPIRY:
        raise BadgeError("expiry_invalid", days=MAX_EXPIRY.days)
    if not 1 <= max_uses <= MAX_USES:
        raise BadgeError("uses_invalid", limit=MAX_USES)
    label = label.strip()
    if len(label) > MAX_LABEL_LENGTH:
        raise BadgeError("text_too_long", field="label", n=len(label), limit=MAX_LABEL_LENGTH)
    code = new_code()
    expires = now + valid_for
    code_id = _store(conn, code_hash(code), CodeKind.CODE, achievement_id, label=label, actor=actor, now=now,
                     expires_at=expires, max_uses=max_uses)  # fmt: skip
    audit.record(conn, actor=actor, action="create_claim_code", entity="claim_code", entity_id=code_id,
                 city_id=achievement.city_id, after={"badge": achievement_id, "expires_at": expires, "max_uses": max_uses,
                                                     "label": label}, now=now)  # fmt: skip
    return ClaimCode(code_id, shown(code), achievement_id, expires, max_uses, label)


def create_link_token(conn: Connection, actor: User | None, achievement_id: int, *, now: datetime, settings: Settings) -> str:
    """A one-time claim link's token for a mailed award (the caller has checked the permission)."""
    token = secrets.token_urlsafe(LINK_TOKEN_BYTES)
    _store(conn, code_hash(token), CodeKind.LINK, achievement_id, label="", actor=actor, now=now,
           expires_at=now + timedelta(days=settings.badge_claim_link_days), max_uses=1)  # fmt: skip
    return token


def _store(
    conn: Connection, hashed: str, kind: CodeKind, achievement_id: int, *, label: str, actor: User | None, now: datetime,
    expires_at: datetime, max_uses: int,
) -> int:  # fmt: skip
    values = {"code_hash": hashed, "kind": kind.value, "achievement_id": achievement_id, "label": label,
              "created_by": actor.id if actor is not None else None, "created_at": now, "expires_at": expires_at,
              "max_uses": max_uses, "uses": 0}  # fmt: skip
    return int(conn.execute(insert(badge_claim_codes).returning(badge_claim_codes.c.id).values(**values)).scalar_one())


# --- redeeming ------------------------------------------------------------------------------------


def check_limits(conn: Connection, client: str, now: datetime, settings: Settings) -> None:
    """Refuse (``too_many_attempts``, ``claims_busy``) while this client, or all clients together,
    have failed too often in the window. ``client`` is :func:`opportunities.accounts.accounts.client_key`
    of the address ("" when none is known: then only the global limit holds)."""
    window = timedelta(minutes=settings.badge_claim_window_minutes)
    since = now - window
    recent = badge_claim_attempts.c.at >= since
    if client:
        mine = conn.execute(
            select(func.count(), func.min(badge_claim_attempts.c.at)).where(badge_claim_attempts.c.client_key == client, recent)
        ).one()
        if mine[0] >= settings.badge_claim_max_failures_per_client:
            raise BadgeError("too_many_attempts", minutes=_minutes_until(mine[1], window, now))
    everyone = conn.execute(select(func.count(), func.min(badge_claim_attempts.c.at)).where(recent)).one()
    if everyone[0] >= settings.badge_claim_max_failures:
        raise BadgeError("claims_busy", minutes=_minutes_until(everyone[1], window, now))


def _minutes_until(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    free_at = (queries.aware(oldest) or now) + window
    return max(1, -(-int((free_at - now).total_seconds()) // 60))


def record_failure(conn: Connection, client: str, now: datetime, settings: Settings) -> None:
    """Count one failed claim of ``client``; attempts older than two windows are swept."""
    conn.execute(insert(badge_claim_attempts).values(at=now, client_key=client[:64]))
    conn.execute(
        delete(badge_claim_attempts).where(
            badge_claim_attempts.c.at < now - 2 * timedelta(minutes=settings.badge_claim_window_minutes)
        )
    )


def redeem(conn: Connection, secret: str, *, kind: CodeKind, now: datetime) -> Grant:
    """Use a code (as typed) or a link token once: the badge it earns. Uses are counted atomically,
    so a single-use code claimed twice at once is issued once.

    Raises :class:`BadgeError`: ``code_malformed``, ``code_unknown``, ``code_expired``,
    ``code_used``, ``achievement_not_published``. The caller records a failure
    (:func:`record_failure`) in a transaction of its own, so it is kept.
    """
    hashed = code_hash(normalise(secret) if kind is CodeKind.CODE else secret.strip()[:100])
    row = conn.execute(
        select(badge_claim_codes).where(badge_claim_codes.c.code_hash == hashed, badge_claim_codes.c.kind == kind.value)
    ).first()
    if row is None:
        raise BadgeError("code_unknown")
    if (queries.aware(row.expires_at) or now) <= now:
        raise BadgeError("code_expired")
    if row.uses >= row.max_uses:
        raise BadgeError("code_used")
    if achievements.get_achievement(conn, row.achievement_id).status is not Status.PUBLISHED:
        raise BadgeError("achievement_not_published")
    used = conn.execute(
        update(badge_claim_codes)
        .where(badge_claim_codes.c.id == row.id, badge_claim_codes.c.uses < badge_claim_codes.c.max_uses)
        .values(uses=badge_claim_codes.c.uses + 1)
    )
    if used.rowcount != 1:
        raise BadgeError("code_used")
    return Grant(row.achievement_id, kind, row.id)
