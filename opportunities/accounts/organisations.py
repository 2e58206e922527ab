"""Organisations (the ``providers`` table): registering, verifying, trusting, inviting colleagues,
and appointing city leads.

An organisation that registers in the app is unverified: none of its listings is published until
a city lead of its city (or an admin) verifies it. A verified organisation a city lead marks as
trusted may publish without review. Every change goes into the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, union, update

from opportunities.accounts import accounts, audit, mail
from opportunities.accounts.identity import Role, User
from opportunities.accounts.permissions import Action, authorise
from opportunities.db import queries
from opportunities.db.schema import cities, city_leads, invitations, opportunities, organisation_trust, providers, users
from opportunities.errors import (
    N_,
    AccountExistsError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    RecordError,
    TokenError,
    because,
)
from opportunities.settings import Settings
from opportunities.text import fold
from opportunities.validation import check_text, parse_email, parse_url
from opportunities.vocabulary import ProviderKind

# Invitations an organisation may send in 24 hours: enough for a team, too few for a spam run.
MAX_INVITATIONS_PER_DAY = 20


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    kind: ProviderKind
    city_id: int | None
    website: str
    contact_email: str
    verified_at: datetime | None
    verified_by: int | None
    registered_at: datetime | None
    trusted_in: frozenset[int] = frozenset()  # the cities whose lead trusts it to publish without review

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    def publishes_directly_in(self, city_id: int) -> bool:
        """Whether its listings in ``city_id`` are published without review (verified, and trusted there)."""
        return self.verified and city_id in self.trusted_in


@dataclass(frozen=True)
class Invitation:
    organisation_id: int
    organisation_name: str
    email: str
    expires_at: datetime


def _organisation(row: Any, trusted_in: frozenset[int] = frozenset()) -> Organisation:
    return Organisation(id=row.id, name=row.name, kind=ProviderKind(row.kind), city_id=row.city_id, website=row.website,
                        contact_email=row.contact_email, verified_at=queries.aware(row.verified_at), verified_by=row.verified_by,
                        registered_at=queries.aware(row.registered_at), trusted_in=trusted_in)  # fmt: skip


def _trust(conn: Connection, organisation_ids: list[int] | None = None) -> dict[int, frozenset[int]]:
    """The cities each organisation is trusted in (of ``organisation_ids``; None: all)."""
    query = select(organisation_trust.c.provider_id, organisation_trust.c.city_id)
    if organisation_ids is not None:
        query = query.where(organisation_trust.c.provider_id.in_(organisation_ids))
    found: dict[int, set[int]] = {}
    for provider_id, city_id in conn.execute(query):
        found.setdefault(provider_id, set()).add(city_id)
    return {key: frozenset(value) for key, value in found.items()}


def get_organisation(conn: Connection, organisation_id: int) -> Organisation:
    """Raises :class:`NotFoundError`."""
    row = conn.execute(select(providers).where(providers.c.id == organisation_id)).first()
    if row is None:
        raise NotFoundError(f"no organisation with id {organisation_id}")
    return _organisation(row, _trust(conn, [organisation_id]).get(organisation_id, frozenset()))


def list_organisations(
    conn: Connection, *, city_ids: tuple[int, ...] | None = None, unverified_only: bool = False
) -> list[Organisation]:
    """Organisations by name; only those of ``city_ids`` when given; oldest registration first
    with ``unverified_only`` (the review queue)."""
    query = select(providers)
    if city_ids is not None:
        query = query.where(providers.c.city_id.in_(city_ids))
    if unverified_only:
        # Only organisations someone confirmed an address for: a registration on an address nobody
        # owns never reaches a lead.
        confirmed = select(users.c.id).where(users.c.organisation_id == providers.c.id, users.c.confirmed_at.is_not(None))
        query = query.where(providers.c.verified_at.is_(None), confirmed.exists())
        query = query.order_by(providers.c.registered_at, providers.c.id)
    else:
        query = query.order_by(providers.c.name)
    rows = list(conn.execute(query))
    trust = _trust(conn) if rows else {}
    return [_organisation(row, trust.get(row.id, frozenset())) for row in rows]


def organisations_active_in(conn: Connection, city_ids: tuple[int, ...]) -> list[Organisation]:
    """The verified organisations a lead of ``city_ids`` may trust there, by name: those based in
    one of the cities, with a listing in one, or trusted in one already."""
    ids = union(
        select(providers.c.id.label("id")).where(providers.c.city_id.in_(city_ids)),
        select(opportunities.c.provider_id).where(opportunities.c.city_id.in_(city_ids)),
        select(organisation_trust.c.provider_id).where(organisation_trust.c.city_id.in_(city_ids)),
    ).subquery()
    query = select(providers).where(providers.c.id.in_(select(ids.c.id)), providers.c.verified_at.is_not(None))
    rows = list(conn.execute(query.order_by(providers.c.name)))
    trust = _trust(conn, [row.id for row in rows]) if rows else {}
    return [_organisation(row, trust.get(row.id, frozenset())) for row in rows]


def _snapshot(org: Organisation) -> dict[str, Any]:
    return {"name": org.name, "kind": org.kind.value, "city_id": org.city_id, "website": org.website,
            "contact_email": org.contact_email, "verified": org.verified, "trusted_in": sorted(org.trusted_in)}  # fmt: skip


def register_organisation(
    conn: Connection,
    *,
    name: str,
    kind: ProviderKind,
    city_id: int,
    website: str,
    contact_email: str,
    user_email: str,
    password: str | None,
    settings: Settings,
    now: datetime,
    user_name: str = "",
    language: str = "en",
    confirmed: bool = False,
) -> tuple[Organisation, User]:
    """A new, unverified organisation with its first provider account, whose address is not
    confirmed yet: a link to confirm it is mailed (outbox; the caller runs ``mail.deliver_pending``
    after the commit), and the city's leads hear of the organisation once it is opened
    (:func:`confirm_registration`). ``confirmed``: the address is known to be the person's (an
    admin's registration, tests), and the leads are notified now.

    Registrations left unconfirmed for UNCONFIRMED_DAYS are removed first, so an address someone
    registered without owning it is free again.

    Raises :class:`RecordError` listing every unusable field (name, website, contact_email, city,
    email), :class:`PasswordPolicyError`, :class:`AccountExistsError` (the name or the email is
    taken; ``taken`` says which). ``password`` None: the person signs in through OpenID Connect.
    """
    _remove_stale_registrations(conn, now)
    name, website, contact_email = name.strip(), website.strip(), contact_email.strip()
    errors: list[FieldError] = []
    if not name:
        errors.append(FieldError("name", because(N_("This is required."))))
    else:
        try:
            check_text("provider", name)
        except FieldError as exc:
            errors.append(FieldError("name", exc.reason))
    if website:
        try:
            parse_url(website)
        except FieldError as exc:
            errors.append(FieldError("website", exc.reason))
    try:
        parse_email(contact_email)
    except FieldError as exc:
        errors.append(FieldError("contact_email", exc.reason))
    city = conn.execute(select(cities.c.id, cities.c.name).where(cities.c.id == city_id)).first()
    if city is None:
        errors.append(FieldError("city", because(N_("Choose a city."))))
    try:
        accounts.normalise_email(user_email)
    except FieldError as exc:
        errors.append(exc)
    if errors:
        raise RecordError(errors)
    if password is not None:
        accounts.check_password_policy(password, email=user_email, min_length=settings.password_min_length)
    if conn.execute(select(providers.c.id).where(providers.c.name_key == fold(name))).first() is not None:
        raise AccountExistsError(f"an organisation called {name} exists already", taken="name")
    values = {"name": name, "name_key": fold(name), "kind": kind.value, "city_id": city_id, "website": website,
              "contact_email": contact_email, "verified_at": None, "registered_at": now}  # fmt: skip
    org_id = int(conn.execute(insert(providers).returning(providers.c.id).values(**values)).scalar_one())
    org = get_organisation(conn, org_id)
    audit.record(conn, actor=None, actor_label=accounts.normalise_email(user_email), action="register_organisation",
                 entity="organisation", entity_id=org_id, city_id=city_id, after=_snapshot(org), now=now)  # fmt: skip
    user = accounts.add_user(conn, user_email, role=Role.PROVIDER, password=password, settings=settings, now=now,
                             name=user_name, organisation_id=org_id, language=language,
                             actor_label=accounts.normalise_email(user_email), confirmed=confirmed)  # fmt: skip
    if confirmed:
        _notify_leads(conn, org, settings, now)
    else:
        token = accounts.request_confirmation(conn, user.id, now)
        message = mail.confirmation_message(
            user.email,
            language,
            organisation=name,
            url=mail.link(settings, "sign_in", confirm=token),
            days=accounts.UNCONFIRMED_DAYS,
        )
        mail.queue(conn, message, now)
    return org, user


def confirm_registration(conn: Connection, token: str, *, settings: Settings, now: datetime) -> User:
    """Open a confirmation link: the account's address is confirmed, it may sign in, and the leads of
    its organisation's city hear of the organisation (when it still waits for verification).

    Raises :class:`TokenError` ("unknown", "expired", "used").
    """
    user = accounts.confirm_address(conn, token, now)
    if user.organisation_id is not None:
        org = get_organisation(conn, user.organisation_id)
        if not org.verified and org.registered_at is not None:
            _notify_leads(conn, org, settings, now)
    return user


def _notify_leads(conn: Connection, org: Organisation, settings: Settings, now: datetime) -> None:
    city = conn.execute(select(cities.c.name).where(cities.c.id == org.city_id)).scalar()
    if org.city_id is None or city is None:
        return
    for lead_email, lead_language in _leads_of(conn, org.city_id):
        message = mail.organisation_registered_message(
            lead_email, lead_language, organisation=org.name, city=city, url=mail.link(settings, "review")
        )
        mail.queue(conn, message, now)


def _remove_stale_registrations(conn: Connection, now: datetime) -> None:
    """Remove registrations never confirmed (see :func:`accounts.remove_unconfirmed`), and their
    organisations when nobody else joined, nothing was listed and no lead verified them."""
    for org_id in accounts.remove_unconfirmed(conn, now):
        members = conn.execute(select(func.count()).select_from(users).where(users.c.organisation_id == org_id)).scalar_one()
        listed = conn.execute(
            select(func.count()).select_from(opportunities).where(opportunities.c.provider_id == org_id)
        ).scalar_one()
        org = get_organisation(conn, org_id)
        if members == 0 and listed == 0 and not org.verified and org.registered_at is not None:
            conn.execute(delete(invitations).where(invitations.c.organisation_id == org_id))
            conn.execute(delete(organisation_trust).where(organisation_trust.c.provider_id == org_id))
            conn.execute(delete(providers).where(providers.c.id == org_id))


def _leads_of(conn: Connection, city_id: int) -> list[tuple[str, str]]:
    query = (select(users.c.email, users.c.language).join(city_leads, city_leads.c.user_id == users.c.id)
             .where(city_leads.c.city_id == city_id, users.c.disabled_at.is_(None), users.c.role == Role.CITY_LEAD.value)
             .order_by(users.c.email))  # fmt: skip
    return [(r.email, r.language) for r in conn.execute(query)]


def verify_organisation(
    conn: Connection, actor: User | None, organisation_id: int, *, now: datetime, note: str = ""
) -> Organisation:
    """Mark the organisation verified (a city lead of its city, or an admin).

    Raises :class:`ForbiddenError`, :class:`NotFoundError`.
    """
    before = get_organisation(conn, organisation_id)
    user = authorise(actor, Action.VERIFY_ORGANISATION, city_id=before.city_id)
    conn.execute(update(providers).where(providers.c.id == organisation_id).values(verified_at=now, verified_by=user.id))
    after = get_organisation(conn, organisation_id)
    audit.record(conn, actor=user, action="verify_organisation", entity="organisation", entity_id=organisation_id,
                 city_id=before.city_id, before=_snapshot(before), after=_snapshot(after), note=note, now=now)  # fmt: skip
    return after


def set_trusted(
    conn: Connection, actor: User | None, organisation_id: int, trusted: bool, *, now: datetime, city_id: int | None = None
) -> Organisation:
    """Let a verified organisation publish without review in ``city_id`` (default: its own city),
    or stop it. Trust is the city's to give: a city lead of ``city_id``, or an admin.

    Raises :class:`ForbiddenError`, :class:`NotFoundError`, :class:`FieldError` (not verified yet,
    or no city).
    """
    before = get_organisation(conn, organisation_id)
    city = before.city_id if city_id is None else city_id
    if city is None:
        raise FieldError("city", because(N_("Choose a city.")))
    user = authorise(actor, Action.SET_TRUSTED, city_id=city)
    if trusted and not before.verified:
        raise FieldError("trusted", because(N_("Verify the organisation first.")))
    if trusted == (city in before.trusted_in):
        return before
    if trusted:
        conn.execute(
            insert(organisation_trust).values(provider_id=organisation_id, city_id=city, granted_by=user.id, granted_at=now)
        )
    else:
        conn.execute(
            delete(organisation_trust).where(
                organisation_trust.c.provider_id == organisation_id, organisation_trust.c.city_id == city
            )
        )
    after = get_organisation(conn, organisation_id)
    audit.record(conn, actor=user, action="set_trusted", entity="organisation", entity_id=organisation_id,
                 city_id=city, before=_snapshot(before), after=_snapshot(after), now=now)  # fmt: skip
    return after


def may_publish_directly(conn: Connection, organisation_id: int, city_id: int) -> bool:
    """Whether a listing of this organisation in ``city_id`` is published without review: the
    organisation is verified and trusted by that city."""
    return get_organisation(conn, organisation_id).publishes_directly_in(city_id)


def invite(conn: Connection, actor: User | None, organisation_id: int, email: str, *, settings: Settings, now: datetime) -> str:
    """An invitation to join the organisation, valid INVITATION_DAYS; returns the token (the page
    shows the link to copy) and queues the mail (the caller runs ``mail.deliver_pending``).

    An address that has an account already is invited like any other (accepting then says so to its
    owner): the answer tells nobody which addresses have accounts.

    Raises :class:`ForbiddenError` (not a member, nor an admin; an organisation not verified yet;
    more than MAX_INVITATIONS_PER_DAY), :class:`FieldError` (email), :class:`NotFoundError`.
    """
    user = authorise(actor, Action.INVITE, organisation_id=organisation_id)
    key = accounts.normalise_email(email)
    org = get_organisation(conn, organisation_id)
    if not org.verified and user.role is not Role.ADMIN:
        raise ForbiddenError("an organisation invites colleagues once a city lead has verified it")
    recent = conn.execute(
        select(func.count()).select_from(invitations)
        .where(invitations.c.organisation_id == organisation_id, invitations.c.created_at > now - timedelta(days=1))
    ).scalar_one()  # fmt: skip
    if recent >= MAX_INVITATIONS_PER_DAY:
        raise ForbiddenError(f"an organisation sends at most {MAX_INVITATIONS_PER_DAY} invitations a day")
    token = accounts.new_token()
    expires = now + timedelta(days=settings.invitation_days)
    conn.execute(insert(invitations).values(token_hash=accounts.token_hash(token), organisation_id=organisation_id, email=key,
                                            invited_by=user.id, created_at=now, expires_at=expires))  # fmt: skip
    audit.record(conn, actor=user, action="invite", entity="organisation", entity_id=organisation_id, city_id=org.city_id,
                 after={"email": key, "expires_at": expires}, now=now)  # fmt: skip
    message = mail.invitation_message(
        key, user.language, organisation=org.name, invited_by=user.label, url=invitation_link(settings, token), expires_at=expires
    )
    mail.queue(conn, message, now)
    return token


def invitation_link(settings: Settings, token: str) -> str:
    return mail.link(settings, "sign_in", invitation=token)


def find_invitation(conn: Connection, token: str, now: datetime) -> Invitation:
    """The open invitation of a token. Raises :class:`TokenError` ("unknown", "expired", "used")."""
    row = conn.execute(
        select(invitations, providers.c.name.label("organisation_name"))
        .join(providers, providers.c.id == invitations.c.organisation_id)
        .where(invitations.c.token_hash == accounts.token_hash(token.strip()))
    ).first()
    if row is None:
        raise TokenError("unknown")
    if row.accepted_at is not None:
        raise TokenError("used")
    expires = queries.aware(row.expires_at) or now
    if expires <= now:
        raise TokenError("expired")
    return Invitation(
        organisation_id=row.organisation_id, organisation_name=row.organisation_name, email=row.email, expires_at=expires
    )


def accept_invitation(conn: Connection, token: str, *, password: str | None, settings: Settings, now: datetime,
                      name: str = "", language: str = "en") -> User:  # fmt: skip
    """Create the invited person's provider account in the organisation; the invitation is used up.

    Raises :class:`TokenError`, :class:`PasswordPolicyError`, :class:`AccountExistsError`.
    """
    invitation = find_invitation(conn, token, now)
    used = conn.execute(update(invitations).where(invitations.c.token_hash == accounts.token_hash(token.strip()),
                                                  invitations.c.accepted_at.is_(None)).values(accepted_at=now))  # fmt: skip
    if used.rowcount != 1:
        raise TokenError("used")
    return accounts.add_user(conn, invitation.email, role=Role.PROVIDER, password=password, settings=settings, now=now,
                             name=name, organisation_id=invitation.organisation_id, language=language,
                             actor_label=invitation.email)  # fmt: skip


def appoint_city_lead(conn: Connection, actor: User | None, user_id: int, city_ids: tuple[int, ...], *, now: datetime,
                      actor_label: str = "") -> User:  # fmt: skip
    """Make an account a city lead of ``city_ids`` (an admin, or the command line when ``actor`` is None).

    Raises :class:`ForbiddenError`, :class:`NotFoundError`, :class:`FieldError` (no city, or an unknown one).
    """
    if actor is not None:
        authorise(actor, Action.APPOINT_CITY_LEAD)
    known = set(conn.execute(select(cities.c.id).where(cities.c.id.in_(city_ids))).scalars())
    if not city_ids or known != set(city_ids):
        raise FieldError("city", because(N_("Choose a city.")))
    return accounts.set_role(
        conn, user_id, Role.CITY_LEAD, now=now, city_ids=tuple(sorted(known)), actor=actor, actor_label=actor_label
    )
