"""The one place that decides who may do what. Pages and domain functions ask here, server side.

Rules: a disabled account and a signed-out visitor may do nothing; an admin may do everything;
a provider acts for their own organisation only; a city lead acts in their own cities only.
"""

from __future__ import annotations

from enum import StrEnum

from opportunities.accounts.identity import Role, User
from opportunities.errors import ForbiddenError
from opportunities.vocabulary import Status


class Action(StrEnum):
    # A provider's, for their organisation (organisation_id required)
    SUBMIT = "submit"  # create, edit, copy, withdraw a listing; drafts
    UPLOAD = "upload"  # bulk upload
    REPORT_PARTICIPATION = "report_participation"
    INVITE = "invite"  # invite colleagues to the organisation
    VIEW_ORGANISATION = "view_organisation"  # see the organisation's listings, whatever their status
    MANAGE_BADGES = "manage_badges"  # the badges of the organisation's activities: define, claim codes, award, revoke
    # A city lead's, in their city (city_id required)
    REVIEW = "review"  # approve, reject, request changes
    VERIFY_ORGANISATION = "verify_organisation"
    SET_TRUSTED = "set_trusted"
    READ_AUDIT = "read_audit"  # city_id None: the city lead's own cities (audit.entries filters)
    VIEW_CITY = "view_city"  # every listing of the city, freshness flags
    REPLACE_DISTRICTS = "replace_districts"  # upload the city's district boundaries
    MANAGE_CITY_BADGES = "manage_city_badges"  # playlists; revoke any badge issued in the city (badges are reviewed with REVIEW)
    MANAGE_FEEDS = "manage_feeds"  # register, harvest and remove the city's external feeds; see their health
    # An admin's
    MANAGE_USERS = "manage_users"  # add, set role, disable, reset passwords
    APPOINT_CITY_LEAD = "appoint_city_lead"
    VIEW_OUTBOX = "view_outbox"


_PROVIDER_ACTIONS = frozenset(
    {Action.SUBMIT, Action.UPLOAD, Action.REPORT_PARTICIPATION, Action.INVITE, Action.VIEW_ORGANISATION, Action.MANAGE_BADGES}
)
_CITY_ACTIONS = frozenset(
    {
        Action.REVIEW,
        Action.VERIFY_ORGANISATION,
        Action.SET_TRUSTED,
        Action.READ_AUDIT,
        Action.VIEW_CITY,
        Action.REPLACE_DISTRICTS,
        Action.MANAGE_CITY_BADGES,
        Action.MANAGE_FEEDS,
    }
)


def authorise(user: User | None, action: Action, *, organisation_id: int | None = None, city_id: int | None = None) -> User:
    """``user``, when they may do ``action`` (for this organisation / in this city); else raises
    :class:`ForbiddenError`. Pass the organisation and city of the record acted on, as stored,
    never as sent by the page."""
    if user is None:
        raise ForbiddenError("sign in first")
    if user.disabled:
        raise ForbiddenError("this account is disabled")
    if user.role is Role.ADMIN:
        return user
    if action in _PROVIDER_ACTIONS:
        if user.role is Role.PROVIDER and organisation_id is not None and user.organisation_id == organisation_id:
            return user
        raise ForbiddenError("only members of the organisation may do this")
    if action in _CITY_ACTIONS:
        if user.role is Role.CITY_LEAD and (city_id in user.city_ids or (action is Action.READ_AUDIT and city_id is None)):
            return user
        raise ForbiddenError("only the city's leads may do this")
    raise ForbiddenError("only an admin may do this")


def allowed(user: User | None, action: Action, *, organisation_id: int | None = None, city_id: int | None = None) -> bool:
    """Whether :func:`authorise` would let ``user`` do ``action`` (for showing a page or a button;
    the action itself still calls :func:`authorise`)."""
    try:
        authorise(user, action, organisation_id=organisation_id, city_id=city_id)
    except ForbiddenError:
        return False
    return True


def coverage_view(user: User | None, city_ids: tuple[int, ...]) -> tuple[tuple[Status, ...], tuple[int, ...] | None]:
    """What the Coverage page counts for ``user``: the statuses, and the cities they may choose
    (None: every city). A visitor, a provider or a disabled account gets the public view
    (published only, every city); a city lead their cities (of ``city_ids``, the known ones) with the
    pending listings they review; an admin every city with pending ones."""
    if user is None or user.disabled or user.role is Role.PROVIDER:
        return (Status.PUBLISHED,), None
    if user.role is Role.ADMIN:
        return (Status.PUBLISHED, Status.PENDING), None
    mine = tuple(c for c in city_ids if allowed(user, Action.VIEW_CITY, city_id=c))
    return ((Status.PUBLISHED, Status.PENDING), mine) if mine else ((Status.PUBLISHED,), None)
