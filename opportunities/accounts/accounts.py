"""People who sign in: providers, city leads and admins; passwords, sign-in and sessions.

Passwords are hashed with Argon2id (argon2-cffi). Tokens (sessions, password resets) are random
and only their SHA-256 is stored, so a copy of the database signs nobody in. Every function takes
the connection of the caller's transaction (``connection.writing(engine)`` for the ones that write)
and the time ``now`` (aware, UTC), so tests control the clock. Role changes and disabling are
written to the audit log; ``actor`` None means the command line (a person with the database)."""

from __future__ import annotations

import gzip
import hashlib
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from opportunities.accounts import audit
from opportunities.accounts.identity import Role, User
from opportunities.accounts.permissions import Action, authorise
from opportunities.db import connection, queries, schema
from opportunities.db.schema import address_confirmations, city_leads, password_resets, sign_in_attempts, sign_in_sessions, users
from opportunities.errors import (
    N_,
    AccountExistsError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    PasswordPolicyError,
    RateLimitError,
    SignInError,
    TokenError,
    UnconfirmedAccountError,
    because,
)
from opportunities.settings import Settings
from opportunities.validation import parse_email

# 19,640 common passwords, lowercased (Django's list, by Royce Williams; see docs/data-and-licences.md).
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")
# Argon2 hashes the whole input; a limit keeps a megabyte "password" from costing a megabyte of work.
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100
# Reset links one account may ask for in an hour: a forgetful person needs one or two; more floods its inbox.
MAX_RESETS_PER_HOUR = 3
# Days a self-registration has to confirm its address (the link's validity); then it is removed.
UNCONFIRMED_DAYS = 7
# Days a client that signed in to an account stays known to it (it then passes the account's limit).
KNOWN_CLIENT_DAYS = 90
# How long a sign-in's ticket for the session cookie is valid (the browser trades it at once).
SESSION_TICKET_SECONDS = 60
# The cookie holding a browser's session token (set HttpOnly by web/session.py, read by the pages).
SESSION_COOKIE = "col_session"
# last_seen_at is written at most this often, so a page rerun does not write every time.
_TOUCH_EVERY = timedelta(minutes=5)
_hasher = PasswordHasher()  # Argon2id with argon2-cffi's recommended cost (RFC 9106 low-memory)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email takes as long as a wrong
    password; made on first use, not when the module is imported."""
    return _hasher.hash(secrets.token_hex(16))


def now_utc() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A random token for a cookie or a link (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def client_key(address: str) -> str:
    """What is stored of a client's network address for rate limits: a hash, not the address."""
    return hashlib.sha256(address.strip().encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    """The stored form of an email address: trimmed, NFC, lower case.

    Raises :class:`FieldError` (field ``email``) when it is not an address.
    """
    value = unicodedata.normalize("NFC", email.strip()).lower()
    try:
        parse_email(value)  # the same rule as a listing's contact email
    except FieldError:
        raise FieldError("email", because(N_("Enter a valid email address."))) from None
    if len(value) > MAX_EMAIL_LENGTH:
        raise FieldError(
            "email",
            because(N_("This is {n} characters long; at most {limit} are allowed."), n=len(value), limit=MAX_EMAIL_LENGTH),
        )
    return value


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_password_policy(password: str, *, email: str, min_length: int) -> None:
    """Raise :class:`PasswordPolicyError` unless ``password`` may be used by the account ``email``."""
    if len(password) < min_length:
        raise PasswordPolicyError("too_short", min_length)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError("too_long", min_length)
    folded = password.strip().casefold()
    if folded == email.strip().casefold() or folded == email.strip().casefold().partition("@")[0]:
        raise PasswordPolicyError("email", min_length)
    if folded in common_passwords():
        raise PasswordPolicyError("common", min_length)


def hash_password(password: str) -> str:
    """An Argon2id hash (PHC string ``$argon2id$...``)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- users ------------------------------------------------------------------------------


def _city_ids(conn: Connection, user_id: int) -> tuple[int, ...]:
    return tuple(
        conn.execute(select(city_leads.c.city_id).where(city_leads.c.user_id == user_id).order_by(city_leads.c.city_id)).scalars()
    )


def _user(conn: Connection, row: Any) -> User:
    return User(id=row.id, email=row.email, name=row.name, role=Role(row.role), organisation_id=row.organisation_id,
                city_ids=_city_ids(conn, row.id), disabled=row.disabled_at is not None, language=row.language,
                confirmed=row.confirmed_at is not None)  # fmt: skip


def get_user(conn: Connection, user_id: int) -> User:
    """Raises :class:`NotFoundError`."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFoundError(f"no user with id {user_id}")
    return _user(conn, row)


def find_user(conn: Connection, email: str) -> User | None:
    """The account with this email (any case), or None (also for something that is not an email)."""
    try:
        key = normalise_email(email)
    except FieldError:
        return None
    row = conn.execute(select(users).where(users.c.email == key)).first()
    return None if row is None else _user(conn, row)


def list_users(conn: Connection, *, organisation_id: int | None = None) -> list[User]:
    """Every account by email, or the members of one organisation."""
    query = select(users).order_by(users.c.email)
    if organisation_id is not None:
        query = query.where(users.c.organisation_id == organisation_id)
    return [_user(conn, row) for row in conn.execute(query)]


def _check_role(role: Role, organisation_id: int | None, city_ids: tuple[int, ...]) -> None:
    if role is Role.PROVIDER and organisation_id is None:
        raise FieldError("organisation", because(N_("Choose an organisation.")))
    if role is Role.CITY_LEAD and not city_ids:
        raise FieldError("city", because(N_("Choose a city.")))


def add_user(
    conn: Connection,
    email: str,
    *,
    role: Role,
    password: str | None,
    settings: Settings,
    now: datetime,
    name: str = "",
    organisation_id: int | None = None,
    city_ids: tuple[int, ...] = (),
    language: str = "en",
    actor: User | None = None,
    actor_label: str = "",
    confirmed: bool = True,
) -> User:
    """Create an account. ``password`` None: the person signs in with OpenID Connect (or resets it).
    ``confirmed`` False (a self-registration): no sign-in until :func:`confirm_address`.

    Raises :class:`FieldError` (email, name, organisation, city), :class:`PasswordPolicyError`,
    :class:`AccountExistsError`. Permission to add is the caller's to check (the command line, an
    admin, registration, an accepted invitation).
    """
    key = normalise_email(email)
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise FieldError(
            "name", because(N_("This is {n} characters long; at most {limit} are allowed."), n=len(name), limit=MAX_NAME_LENGTH)
        )
    _check_role(role, organisation_id, city_ids)
    if password is not None:
        check_password_policy(password, email=key, min_length=settings.password_min_length)
    if conn.execute(select(users.c.id).where(users.c.email == key)).first() is not None:
        raise AccountExistsError(f"an account for {key} exists already")
    values = {
        "email": key, "name": name, "password_hash": hash_password(password) if password is not None else None,
        "role": role.value, "organisation_id": organisation_id, "language": language, "created_at": now,
        "confirmed_at": now if confirmed else None,
    }  # fmt: skip
    user_id = int(conn.execute(insert(users).returning(users.c.id).values(**values)).scalar_one())
    if city_ids:
        conn.execute(insert(city_leads), [{"user_id": user_id, "city_id": c} for c in sorted(set(city_ids))])
    user = get_user(conn, user_id)
    audit.record(conn, actor=actor, actor_label=actor_label, action="add_user", entity="user", entity_id=user_id,
                 city_id=_user_city(conn, user), after=_public(user), now=now)  # fmt: skip
    return user


def _user_city(conn: Connection, user: User) -> int | None:
    """The city an audit entry about ``user`` belongs to, so that city's lead sees it: the city of
    their organisation, or the one city they lead; None for an admin or a lead of several cities."""
    if user.organisation_id is not None:
        city = conn.execute(select(schema.providers.c.city_id).where(schema.providers.c.id == user.organisation_id)).scalar()
        return int(city) if city is not None else None
    return user.city_ids[0] if len(user.city_ids) == 1 else None


def _public(user: User) -> dict[str, Any]:
    """What the audit log keeps of an account (never a password hash)."""
    return {"email": user.email, "role": user.role.value, "organisation_id": user.organisation_id,
            "city_ids": list(user.city_ids), "disabled": user.disabled}  # fmt: skip


def set_role(
    conn: Connection,
    user_id: int,
    role: Role,
    *,
    now: datetime,
    city_ids: tuple[int, ...] = (),
    organisation_id: int | None = None,
    actor: User | None = None,
    actor_label: str = "",
) -> User:
    """Give an account a role: a city lead leads ``city_ids``, a provider belongs to ``organisation_id``
    (an admin keeps neither). Checks ``actor`` may manage users (None: the command line).

    Raises :class:`ForbiddenError`, :class:`NotFoundError`, :class:`FieldError`.
    """

    if actor is not None:
        authorise(actor, Action.MANAGE_USERS)
    before = get_user(conn, user_id)
    _check_role(role, organisation_id, city_ids)
    conn.execute(update(users).where(users.c.id == user_id).values(
        role=role.value, organisation_id=organisation_id if role is Role.PROVIDER else None))  # fmt: skip
    conn.execute(delete(city_leads).where(city_leads.c.user_id == user_id))
    if role is Role.CITY_LEAD:
        conn.execute(insert(city_leads), [{"user_id": user_id, "city_id": c} for c in sorted(set(city_ids))])
    after = get_user(conn, user_id)
    audit.record(conn, actor=actor, actor_label=actor_label, action="set_role", entity="user", entity_id=user_id,
                 city_id=_user_city(conn, after), before=_public(before), after=_public(after), now=now)  # fmt: skip
    return after


def disable_user(conn: Connection, user_id: int, *, now: datetime, actor: User | None = None, actor_label: str = "") -> User:
    """Disable an account and end its sessions; it can do nothing from now on.

    Raises :class:`ForbiddenError` (actor not an admin, or an admin disabling themself),
    :class:`NotFoundError`.
    """

    if actor is not None:
        authorise(actor, Action.MANAGE_USERS)
        if actor.id == user_id:
            raise ForbiddenError("an admin cannot disable their own account")
    before = get_user(conn, user_id)
    conn.execute(update(users).where(users.c.id == user_id, users.c.disabled_at.is_(None)).values(disabled_at=now))
    conn.execute(delete(sign_in_sessions).where(sign_in_sessions.c.user_id == user_id))
    after = get_user(conn, user_id)
    audit.record(conn, actor=actor, actor_label=actor_label, action="disable_user", entity="user", entity_id=user_id,
                 city_id=_user_city(conn, after), before=_public(before), after=_public(after), now=now)  # fmt: skip
    return after


def set_language(conn: Connection, user_id: int, language: str) -> None:
    """The language mail to this person is written in (the one they last used the app in)."""
    conn.execute(update(users).where(users.c.id == user_id).values(language=language))


# --- signing in -------------------------------------------------------------------------


def _failures_since(conn: Connection, column: Any, value: str, since: datetime) -> list[datetime]:
    query = (
        select(sign_in_attempts.c.at)
        .where(column == value, sign_in_attempts.c.at >= since, sign_in_attempts.c.succeeded.is_(False))
        .order_by(sign_in_attempts.c.at)
    )
    return [queries.aware(at) or since for at in conn.execute(query).scalars()]


def _check_delay(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> None:
    """From the ``limit``-th failure on, the next attempt waits 1 minute, then 2, 4, 8… (at most the
    window) after the latest failure: guessing slows down, while the owner is never locked out for long."""
    if len(failures) < limit:
        return
    delay = min(window, timedelta(minutes=1) * 2 ** min(len(failures) - limit, 20))
    wait = failures[-1] + delay - now
    if wait > timedelta(0):
        raise RateLimitError(max(1, int(wait.total_seconds())))


def _check_rate(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> None:
    if len(failures) >= limit:
        # Free again when enough of the counted failures have left the window.
        oldest_counted = failures[len(failures) - limit]
        raise RateLimitError(max(1, int((oldest_counted + window - now).total_seconds())))


def authenticate(engine: Engine, email: str, password: str, client: str, now: datetime, *, settings: Settings) -> User:
    """The account for this email and password. ``client`` is :func:`client_key` of the address.

    Takes the engine, not a connection: every attempt is committed in its own transaction, the
    failed ones too (a caller's rollback on the error must not erase them). Raises
    :class:`RateLimitError` when the account or the client had too many failures in the window
    (checked before the password, so guessing stops), :class:`SignInError` for a wrong email or
    password, an account without a password, or a disabled account (one message for all), and
    :class:`UnconfirmedAccountError` for the right password of an account whose address is not
    confirmed yet.
    """
    unconfirmed = False
    with connection.writing(engine) as conn:  # the attempt is kept, whatever comes of it
        try:
            user = _attempt(conn, email, password, client, now, settings)
        except UnconfirmedAccountError:
            user, unconfirmed = None, True
    if unconfirmed:
        raise UnconfirmedAccountError("confirm the address first: open the link mailed to it")
    if user is None:
        raise SignInError("wrong email or password")
    return user


def _attempt(conn: Connection, email: str, password: str, client: str, now: datetime, settings: Settings) -> User | None:
    try:
        key = normalise_email(email)
    except FieldError:
        key = email.strip().lower()  # counted all the same: a typo is a failed attempt too
    window = timedelta(minutes=settings.sign_in_window_minutes)
    since = now - window
    last_success = conn.execute(
        select(func.max(sign_in_attempts.c.at)).where(sign_in_attempts.c.email == key, sign_in_attempts.c.succeeded.is_(True))
    ).scalar()
    account_since = max(since, queries.aware(last_success) or since)
    # A client this account has signed in from before is not held back by failures from elsewhere:
    # someone guessing the password cannot lock its owner out (the owner's own client limit still holds).
    known_client = bool(client) and conn.execute(
        select(sign_in_attempts.c.at).where(
            sign_in_attempts.c.email == key, sign_in_attempts.c.client_key == client, sign_in_attempts.c.succeeded.is_(True)
        ).limit(1)
    ).first() is not None  # fmt: skip
    if not known_client:
        _check_delay(
            _failures_since(conn, sign_in_attempts.c.email, key, account_since),
            settings.sign_in_max_failures_per_account,
            window,
            now,
        )
    if client:  # no address (a proxy that sends none): not one key that every visitor would share
        _check_rate(
            _failures_since(conn, sign_in_attempts.c.client_key, client, since),
            settings.sign_in_max_failures_per_client,
            window,
            now,
        )
    row = conn.execute(select(users).where(users.c.email == key)).first()
    ok = verify_password(row.password_hash if row is not None else None, password[:MAX_PASSWORD_LENGTH])
    ok = ok and row is not None and row.disabled_at is None
    conn.execute(insert(sign_in_attempts).values(at=now, email=key[:MAX_EMAIL_LENGTH], client_key=client[:64], succeeded=ok))
    if not ok or row is None:
        return None
    if row.confirmed_at is None:
        raise UnconfirmedAccountError("confirm the address first: open the link mailed to it")
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(update(users).where(users.c.id == row.id).values(password_hash=hash_password(password)))
    return _user(conn, row)


def user_for_oidc(conn: Connection, *, email: str, subject: str, email_verified: bool, now: datetime) -> User:
    """The existing account an OpenID Connect sign-in maps to: by subject, else by verified email
    (which links the subject to the account). Nobody gets an account, or a role, this way.

    Raises :class:`SignInError` when no enabled account matches.
    """
    row = conn.execute(select(users).where(users.c.oidc_subject == subject)).first() if subject else None
    if row is None and email_verified is True:  # a claim that is missing or anything but true proves nothing
        try:
            row = conn.execute(select(users).where(users.c.email == normalise_email(email))).first()
        except FieldError:
            row = None
        if row is not None and row.oidc_subject not in (None, subject):
            row = None  # linked to another identity already
        if row is not None and subject:
            linked: dict[str, Any] = {"oidc_subject": subject}
            if row.confirmed_at is None:
                # The identity provider has verified the address, which a self-registration on it never
                # did: whoever registered it (perhaps not its owner) loses the password and sessions.
                linked |= {"confirmed_at": now, "password_hash": None}
                conn.execute(delete(sign_in_sessions).where(sign_in_sessions.c.user_id == row.id))
            conn.execute(update(users).where(users.c.id == row.id).values(**linked))
            row = conn.execute(select(users).where(users.c.id == row.id)).one()
    if row is None or row.disabled_at is not None or row.confirmed_at is None:
        raise SignInError("no account for this sign-in")
    return _user(conn, row)


def start_session(conn: Connection, user_id: int, now: datetime, *, settings: Settings) -> str:
    """A new session for the user; the returned token goes into the cookie, its hash into the table."""
    token = new_token()
    conn.execute(insert(sign_in_sessions).values(token_hash=token_hash(token), user_id=user_id, created_at=now,
                                                 expires_at=now + timedelta(hours=settings.session_hours), last_seen_at=now))  # fmt: skip
    return token


def user_for_session(conn: Connection, token: str, now: datetime) -> User | None:
    """The signed-in user of a session token, or None (unknown, expired, or the account disabled).
    Reads only."""
    if not token or len(token) > 200:
        return None
    row = conn.execute(
        select(users)
        .join(sign_in_sessions, sign_in_sessions.c.user_id == users.c.id)
        .where(sign_in_sessions.c.token_hash == token_hash(token), sign_in_sessions.c.expires_at > now)
    ).first()
    if row is None or row.disabled_at is not None or row.confirmed_at is None:
        return None
    return _user(conn, row)


def touch_session(conn: Connection, token: str, now: datetime) -> None:
    """Record that the session was used (at most every few minutes, so most reruns do not write)."""
    conn.execute(update(sign_in_sessions).where(sign_in_sessions.c.token_hash == token_hash(token),
                                                sign_in_sessions.c.last_seen_at < now - _TOUCH_EVERY).values(last_seen_at=now))  # fmt: skip


def issue_session_ticket(conn: Connection, token: str, now: datetime) -> str:
    """A single-use ticket for the session of ``token``, valid SESSION_TICKET_SECONDS: the page hands
    it to the browser, which trades it at ``/auth/session`` (:func:`redeem_session_ticket`) for the
    HttpOnly cookie. A page script sees the ticket at most, never the session's token."""
    ticket = new_token()
    conn.execute(update(sign_in_sessions).where(sign_in_sessions.c.token_hash == token_hash(token))
                 .values(ticket_hash=token_hash(ticket), ticket_expires_at=now + timedelta(seconds=SESSION_TICKET_SECONDS)))  # fmt: skip
    return ticket


def redeem_session_ticket(conn: Connection, ticket: str, now: datetime) -> tuple[str, datetime] | None:
    """Trade a ticket for the session's token and its expiry, once: the session gets a new token
    (so the one the page knew is void), the ticket is spent. None for an unknown, spent or expired
    ticket, or an account that may not sign in."""
    if not ticket or len(ticket) > 200:
        return None
    row = conn.execute(
        select(sign_in_sessions.c.token_hash, sign_in_sessions.c.expires_at, users.c.disabled_at, users.c.confirmed_at)
        .join(users, users.c.id == sign_in_sessions.c.user_id)
        .where(sign_in_sessions.c.ticket_hash == token_hash(ticket), sign_in_sessions.c.ticket_expires_at > now,
               sign_in_sessions.c.expires_at > now)
    ).first()  # fmt: skip
    if row is None or row.disabled_at is not None or row.confirmed_at is None:
        return None
    token = new_token()
    spent = conn.execute(
        update(sign_in_sessions)
        .where(sign_in_sessions.c.token_hash == row.token_hash, sign_in_sessions.c.ticket_hash == token_hash(ticket))
        .values(token_hash=token_hash(token), ticket_hash=None, ticket_expires_at=None)
    )
    if spent.rowcount != 1:  # two trades at once: one wins
        return None
    return token, queries.aware(row.expires_at) or now


def end_session(conn: Connection, token: str) -> None:
    """Sign out: the session's row is deleted, so the token is worthless even if it was copied."""
    conn.execute(delete(sign_in_sessions).where(sign_in_sessions.c.token_hash == token_hash(token)))


def end_expired(conn: Connection, now: datetime, *, settings: Settings) -> None:
    """Forget expired sessions, failed sign-in attempts older than the rate-limit window, and
    successful ones older than KNOWN_CLIENT_DAYS (they say which clients an account knows)."""
    conn.execute(delete(sign_in_sessions).where(sign_in_sessions.c.expires_at <= now))
    window = timedelta(minutes=settings.sign_in_window_minutes)
    conn.execute(delete(sign_in_attempts).where(sign_in_attempts.c.at < now - window, sign_in_attempts.c.succeeded.is_(False)))
    conn.execute(delete(sign_in_attempts).where(sign_in_attempts.c.at < now - timedelta(days=KNOWN_CLIENT_DAYS)))


# --- passwords --------------------------------------------------------------------------


def change_password(conn: Connection, user_id: int, old_password: str, new_password: str, *, settings: Settings,
                    keep_token: str | None = None) -> None:  # fmt: skip
    """Change a password, knowing the old one; every other session of the account ends.

    Raises :class:`SignInError` (wrong old password), :class:`PasswordPolicyError`, :class:`NotFoundError`.
    """
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFoundError(f"no user with id {user_id}")
    if not verify_password(row.password_hash, old_password[:MAX_PASSWORD_LENGTH]):
        raise SignInError("the current password is wrong")
    _set_password(conn, row.id, row.email, new_password, settings=settings, keep_token=keep_token)


def _set_password(
    conn: Connection, user_id: int, email: str, password: str, *, settings: Settings, keep_token: str | None
) -> None:
    check_password_policy(password, email=email, min_length=settings.password_min_length)
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=hash_password(password)))
    # Every reset link not used yet stops working: a new password voids the old ways in.
    conn.execute(delete(password_resets).where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None)))
    ends = delete(sign_in_sessions).where(sign_in_sessions.c.user_id == user_id)
    if keep_token:
        ends = ends.where(sign_in_sessions.c.token_hash != token_hash(keep_token))
    conn.execute(ends)


def request_confirmation(conn: Connection, user_id: int, now: datetime) -> str:
    """A single-use link token confirming the account's address, valid UNCONFIRMED_DAYS; the caller
    mails the link (``mail.confirmation_message``)."""
    token = new_token()
    conn.execute(insert(address_confirmations).values(token_hash=token_hash(token), user_id=user_id, created_at=now,
                                                      expires_at=now + timedelta(days=UNCONFIRMED_DAYS)))  # fmt: skip
    return token


def confirm_address(conn: Connection, token: str, now: datetime) -> User:
    """Confirm the address of the account the link was mailed to; it may sign in from now on.

    Raises :class:`TokenError` ("unknown", "expired", "used").
    """
    user = _spend_link(conn, address_confirmations, token.strip(), now)
    conn.execute(update(users).where(users.c.id == user.id, users.c.confirmed_at.is_(None)).values(confirmed_at=now))
    return get_user(conn, user.id)


def _spend_link(conn: Connection, table: Any, token: str, now: datetime) -> User:
    """The enabled account a single-use link (a row of ``table``: token_hash, user_id, expires_at,
    used_at) was made for, the link spent. Raises :class:`TokenError` ("unknown", "expired", "used").

    Spent conditionally on ``used_at``, so two concurrent uses cannot both succeed; an error later
    in the caller's transaction rolls the spending back, and the link stays usable.
    """
    row = conn.execute(select(table).where(table.c.token_hash == token_hash(token))).first()
    if row is None:
        raise TokenError("unknown")
    if row.used_at is not None:
        raise TokenError("used")
    if (queries.aware(row.expires_at) or now) <= now:
        raise TokenError("expired")
    user = get_user(conn, row.user_id)
    if user.disabled:
        raise TokenError("unknown")
    spent = conn.execute(update(table).where(table.c.token_hash == row.token_hash, table.c.used_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:
        raise TokenError("used")
    return user


def remove_unconfirmed(conn: Connection, now: datetime) -> list[int]:
    """Remove the accounts whose address was not confirmed within UNCONFIRMED_DAYS (their address
    is free to register again); returns their organisations' ids, for the caller to remove those
    that nobody else joined."""
    stale = conn.execute(
        select(users.c.id, users.c.organisation_id).where(
            users.c.confirmed_at.is_(None), users.c.created_at < now - timedelta(days=UNCONFIRMED_DAYS)
        )
    ).all()
    ids = [row.id for row in stale]
    if ids:
        for table in (address_confirmations, password_resets, sign_in_sessions, city_leads):
            conn.execute(delete(table).where(table.c.user_id.in_(ids)))
        conn.execute(delete(users).where(users.c.id.in_(ids)))
    return sorted({row.organisation_id for row in stale if row.organisation_id is not None})


def request_password_reset(conn: Connection, email: str, now: datetime, *, settings: Settings) -> tuple[User, str] | None:
    """A single-use reset token for the account, valid PASSWORD_RESET_MINUTES; None when there is
    no enabled account, or MAX_RESETS_PER_HOUR were asked for it (the page says the same either way). The caller mails the link
    (``mail.password_reset_message``)."""
    user = find_user(conn, email)
    if user is None or user.disabled:
        return None
    recent = conn.execute(
        select(func.count()).select_from(password_resets)
        .where(password_resets.c.user_id == user.id, password_resets.c.created_at > now - timedelta(hours=1))
    ).scalar_one()  # fmt: skip
    if recent >= MAX_RESETS_PER_HOUR:
        return None  # the page says the same: nobody learns the account exists, nor floods its inbox
    token = new_token()
    conn.execute(insert(password_resets).values(token_hash=token_hash(token), user_id=user.id, created_at=now,
                                                expires_at=now + timedelta(minutes=settings.password_reset_minutes)))  # fmt: skip
    return user, token


def complete_password_reset(conn: Connection, token: str, new_password: str, now: datetime, *, settings: Settings) -> User:
    """Set a new password with a reset token; the token is used up and every session ends.

    Raises :class:`TokenError` ("unknown", "expired", "used"), :class:`PasswordPolicyError`
    (the token stays usable then).
    """
    user = _spend_link(conn, password_resets, token, now)  # a refused password rolls the spending back
    _set_password(conn, user.id, user.email, new_password, settings=settings, keep_token=None)
    # The link was mailed to the address: opening it confirms the address, as a registration's link does.
    conn.execute(update(users).where(users.c.id == user.id, users.c.confirmed_at.is_(None)).values(confirmed_at=now))
    return get_user(conn, user.id)


def set_password(conn: Connection, user_id: int, password: str, *, settings: Settings, now: datetime,
                 actor: User | None = None, actor_label: str = "") -> User:  # fmt: skip
    """Set a password without the old one (the command line's ``users reset-password``); ends the
    account's sessions. Raises :class:`PasswordPolicyError`, :class:`NotFoundError`, :class:`ForbiddenError`."""

    if actor is not None:
        authorise(actor, Action.MANAGE_USERS)
    user = get_user(conn, user_id)
    _set_password(conn, user.id, user.email, password, settings=settings, keep_token=None)
    audit.record(conn, actor=actor, actor_label=actor_label, action="set_password", entity="user", entity_id=user.id,
                 city_id=_user_city(conn, user), now=now)  # fmt: skip
    return user
