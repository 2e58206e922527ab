"""Badges of activities (Open Badges 3.0 ``Achievement``\\ s): defined by the activity's provider in
the app's languages, one per activity, reviewed by the city's lead like a listing.

Who may do what is decided by :mod:`opportunities.accounts.permissions`, from the organisation and
city of the activity *as stored*, never as sent: a provider defines and manages the badges of their
own organisation's activities, a city lead reviews those of their cities (and manages their
playlists), an admin may do all. Every change is audited in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from opportunities.accounts import audit
from opportunities.accounts.identity import Role, User
from opportunities.accounts.organisations import get_organisation
from opportunities.accounts.permissions import Action, allowed, authorise
from opportunities.badges.credentials import AchievementDefinition, AchievementText
from opportunities.db import queries
from opportunities.db.schema import badge_achievements, opportunities
from opportunities.errors import BadgeError, ForbiddenError, NotFoundError
from opportunities.vocabulary import LANGUAGES, TOPICS, Status

MAX_NAME_LENGTH = 100
MAX_TEXT_LENGTH = 2000
MAX_TAGS = 10
MAX_TAG_LENGTH = 40
MAX_IMAGE_URL_LENGTH = 2000
_LIMITS = {"name": MAX_NAME_LENGTH, "description": MAX_TEXT_LENGTH, "criteria": MAX_TEXT_LENGTH}


class Kind(StrEnum):
    ACTIVITY = "activity"  # the badge of one activity
    PLAYLIST = "playlist"  # the badge a playlist's rule earns


@dataclass(frozen=True)
class Achievement:
    id: int
    kind: Kind
    opportunity_id: int | None
    organisation_id: int | None
    city_id: int
    texts: Mapping[str, AchievementText]  # language -> text; "en" always present
    image_url: str
    tags: tuple[str, ...]
    topics: tuple[str, ...]
    status: Status
    review_note: str
    created_at: datetime
    updated_at: datetime

    def text(self, language: str) -> AchievementText:
        """The badge in ``language``, else in English."""
        return self.texts.get(language) or self.texts["en"]


def achievement_url(public_url: str, achievement_id: int) -> str:
    """The badge's stable address: the Achievement's ``id`` in every credential, served as JSON."""
    return f"{public_url.rstrip('/')}/badges/achievements/{achievement_id}"


def achievement_id_from_url(public_url: str, url: str) -> int | None:
    """The id of one of our badges from its address (:func:`achievement_url`), else None."""
    prefix = achievement_url(public_url, 0)[:-1]
    rest = url[len(prefix) :] if url.startswith(prefix) else ""
    return int(rest) if rest.isdigit() and len(rest) < 12 else None


def definition(achievement: Achievement, *, public_url: str, issuer_name: str) -> AchievementDefinition:
    """What a credential says of ``achievement`` (:mod:`opportunities.badges.credentials`)."""
    return AchievementDefinition(
        id=achievement_url(public_url, achievement.id), texts=achievement.texts, image_url=achievement.image_url or None,
        tags=achievement.tags, topics=achievement.topics, issuer_name=issuer_name,
    )  # fmt: skip


# --- checking what a provider wrote ---------------------------------------------------------------


def check_texts(texts: Mapping[str, Mapping[str, str]]) -> dict[str, AchievementText]:
    """The badge's texts per language, trimmed; English is required (the fallback), the other app
    languages optional (a language with every field empty is left out). Raises
    :class:`BadgeError` (``language_unknown``, ``text_missing``, ``text_too_long``)."""
    checked: dict[str, AchievementText] = {}
    for language, fields in texts.items():
        if language not in LANGUAGES:
            raise BadgeError("language_unknown", language=str(language)[:20])
        values = {name: str(fields.get(name, "") or "").strip() for name in _LIMITS}
        for name, limit in _LIMITS.items():
            if len(values[name]) > limit:
                raise BadgeError("text_too_long", field=name, n=len(values[name]), limit=limit)
        if not any(values.values()):
            continue
        if not all(values.values()):
            raise BadgeError("text_missing")
        checked[language] = AchievementText(**values)
    if "en" not in checked:
        raise BadgeError("text_missing")
    return checked


def check_topics(topics: Iterable[str]) -> tuple[str, ...]:
    """Topic ids of the vocabulary, each once, in the order given."""
    found = tuple(dict.fromkeys(t.strip() for t in topics if t.strip()))
    for topic in found:
        if topic not in TOPICS:
            raise BadgeError("topic_unknown", topic=topic[:40])
    return found


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Free words (at most :data:`MAX_TAGS`, each at most :data:`MAX_TAG_LENGTH` characters)."""
    found = tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))
    for tag in found:
        if len(tag) > MAX_TAG_LENGTH:
            raise BadgeError("text_too_long", field="tag", n=len(tag), limit=MAX_TAG_LENGTH)
    if len(found) > MAX_TAGS:
        raise BadgeError("text_too_long", field="tags", n=len(found), limit=MAX_TAGS)
    return found


# A picture carried inside the credential (the bundled badge pictures, ui/badge_images.py): it shows
# offline and anywhere, fetched from no one.
DATA_IMAGE_PREFIXES = ("data:image/svg+xml;base64,", "data:image/png;base64,")


def check_image_url(url: str) -> str:
    """An https:// address, a small ``data:`` picture, or nothing: a credential's image is fetched by
    whoever shows it, or carried in it."""
    url = url.strip()
    allowed_kind = url.startswith("https://") or url.startswith(DATA_IMAGE_PREFIXES)
    if url and (not allowed_kind or len(url) > MAX_IMAGE_URL_LENGTH or any(c.isspace() for c in url)):
        raise BadgeError("image_url_invalid")
    return url


# --- reading --------------------------------------------------------------------------------------


def _achievement(row: Any) -> Achievement:
    texts = {language: AchievementText(**fields) for language, fields in json.loads(row.texts).items()}
    return Achievement(
        id=row.id, kind=Kind(row.kind), opportunity_id=row.opportunity_id, organisation_id=row.organisation_id,
        city_id=row.city_id, texts=texts, image_url=row.image_url, tags=tuple(json.loads(row.tags)),
        topics=tuple(json.loads(row.topics)), status=Status(row.status), review_note=row.review_note,
        created_at=queries.aware(row.created_at) or row.created_at, updated_at=queries.aware(row.updated_at) or row.updated_at,
    )  # fmt: skip


def get_achievement(conn: Connection, achievement_id: int) -> Achievement:
    """The badge ``achievement_id``; raises :class:`BadgeError` (``achievement_unknown``)."""
    row = conn.execute(select(badge_achievements).where(badge_achievements.c.id == achievement_id)).first()
    if row is None:
        raise BadgeError("achievement_unknown", id=str(achievement_id))
    return _achievement(row)


def badge_of_activity(conn: Connection, opportunity_id: int) -> Achievement | None:
    row = conn.execute(select(badge_achievements).where(badge_achievements.c.opportunity_id == opportunity_id)).first()
    return _achievement(row) if row is not None else None


def list_achievements(
    conn: Connection,
    *,
    city_ids: Iterable[int] | None = None,
    organisation_id: int | None = None,
    statuses: Iterable[Status] | None = None,
    kind: Kind | None = None,
) -> list[Achievement]:
    """Badges, oldest first, narrowed to cities, an organisation, statuses, a kind."""
    query = select(badge_achievements).order_by(badge_achievements.c.id)
    if city_ids is not None:
        query = query.where(badge_achievements.c.city_id.in_(list(city_ids)))
    if organisation_id is not None:
        query = query.where(badge_achievements.c.organisation_id == organisation_id)
    if statuses is not None:
        query = query.where(badge_achievements.c.status.in_([s.value for s in statuses]))
    if kind is not None:
        query = query.where(badge_achievements.c.kind == kind.value)
    return [_achievement(r) for r in conn.execute(query)]


def review_queue(conn: Connection, reviewer: User | None, *, city_id: int | None = None) -> list[Achievement]:
    """The badges waiting for review in the reviewer's cities (or ``city_id``), oldest first;
    :class:`ForbiddenError` for anyone who may not review there."""
    if city_id is not None:
        authorise(reviewer, Action.REVIEW, city_id=city_id)
        return list_achievements(conn, city_ids=[city_id], statuses=[Status.PENDING])
    if reviewer is None or reviewer.disabled or reviewer.role is Role.PROVIDER:
        authorise(reviewer, Action.REVIEW, city_id=-1)  # raises, with the reason
    assert reviewer is not None
    cities = None if reviewer.role is Role.ADMIN else reviewer.city_ids
    return list_achievements(conn, city_ids=cities, statuses=[Status.PENDING])


def may_manage(user: User | None, achievement: Achievement) -> bool:
    """Whether ``user`` may make claim codes for, award and revoke ``achievement``: a provider of its
    organisation, a lead of its city, an admin."""
    return (
        achievement.organisation_id is not None
        and allowed(user, Action.MANAGE_BADGES, organisation_id=achievement.organisation_id)
    ) or allowed(user, Action.MANAGE_CITY_BADGES, city_id=achievement.city_id)


def authorise_manage(user: User | None, achievement: Achievement) -> User:
    """``user`` when :func:`may_manage`; else :class:`ForbiddenError`."""
    if user is None or not may_manage(user, achievement):
        raise ForbiddenError("only the badge's organisation or its city's leads may do this")
    return user


# --- writing --------------------------------------------------------------------------------------


def _public(a: Achievement) -> dict[str, Any]:
    """What the audit log keeps of a badge."""
    return {"texts": {k: vars(v) for k, v in a.texts.items()}, "image_url": a.image_url, "tags": list(a.tags),
            "topics": list(a.topics), "status": a.status.value}  # fmt: skip


def _texts_json(texts: Mapping[str, AchievementText]) -> str:
    return json.dumps({k: vars(v) for k, v in texts.items()}, ensure_ascii=False, sort_keys=True)


def define_badge(
    conn: Connection,
    user: User | None,
    opportunity_id: int,
    *,
    texts: Mapping[str, Mapping[str, str]],
    image_url: str = "",
    tags: Iterable[str] = (),
    topics: Iterable[str] | None = None,
    now: datetime,
) -> Achievement:
    """The badge of activity ``opportunity_id``, defined by a provider of its organisation (or an
    admin). Published at once when the organisation publishes directly in the activity's city,
    else pending a city lead's review. ``topics`` None: the activity's own.

    Raises :class:`ForbiddenError`, :class:`NotFoundError`, :class:`BadgeError`.
    """
    row = conn.execute(
        select(opportunities.c.provider_id, opportunities.c.city_id).where(opportunities.c.id == opportunity_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no opportunity with id {opportunity_id}")
    actor = authorise(user, Action.MANAGE_BADGES, organisation_id=row.provider_id)
    if badge_of_activity(conn, opportunity_id) is not None:
        raise BadgeError("achievement_exists")
    checked = check_texts(texts)
    chosen_topics = check_topics(topics if topics is not None else queries.get_opportunity(conn, opportunity_id).topics)
    organisation = get_organisation(conn, row.provider_id)
    status = Status.PUBLISHED if organisation.publishes_directly_in(row.city_id) else Status.PENDING
    values = {
        "kind": Kind.ACTIVITY.value, "opportunity_id": opportunity_id, "organisation_id": row.provider_id,
        "city_id": row.city_id, "texts": _texts_json(checked), "image_url": check_image_url(image_url),
        "tags": json.dumps(list(check_tags(tags)), ensure_ascii=False), "topics": json.dumps(list(chosen_topics)),
        "status": status.value, "review_note": "", "created_by": actor.id, "created_at": now, "updated_at": now,
    }  # fmt: skip
    new_id = int(conn.execute(insert(badge_achievements).returning(badge_achievements.c.id).values(**values)).scalar_one())
    made = get_achievement(conn, new_id)
    audit.record(conn, actor=actor, action="define_badge", entity="badge", entity_id=new_id, city_id=made.city_id,
                 after=_public(made), now=now)  # fmt: skip
    return made


def update_badge(
    conn: Connection,
    user: User | None,
    achievement_id: int,
    *,
    texts: Mapping[str, Mapping[str, str]],
    image_url: str = "",
    tags: Iterable[str] = (),
    topics: Iterable[str] = (),
    now: datetime,
) -> Achievement:
    """Change an activity's badge. A change goes back to review unless the organisation publishes
    directly in the city. Credentials issued before keep what they said."""
    before = get_achievement(conn, achievement_id)
    if before.kind is not Kind.ACTIVITY or before.organisation_id is None:
        raise ForbiddenError("a playlist's badge is changed with its playlist")
    actor = authorise(user, Action.MANAGE_BADGES, organisation_id=before.organisation_id)
    organisation = get_organisation(conn, before.organisation_id)
    status = Status.PUBLISHED if organisation.publishes_directly_in(before.city_id) else Status.PENDING
    conn.execute(
        update(badge_achievements)
        .where(badge_achievements.c.id == achievement_id)
        .values(
            texts=_texts_json(check_texts(texts)),
            image_url=check_image_url(image_url),
            tags=json.dumps(list(check_tags(tags)), ensure_ascii=False),
            topics=json.dumps(list(check_topics(topics))),
            status=status.value,
            updated_at=now,
        )
    )
    after = get_achievement(conn, achievement_id)
    audit.record(conn, actor=actor, action="update_badge", entity="badge", entity_id=achievement_id, city_id=after.city_id,
                 before=_public(before), after=_public(after), now=now)  # fmt: skip
    return after


def review_badge(
    conn: Connection, reviewer: User | None, achievement_id: int, *, approve: bool, note: str = "", now: datetime
) -> Achievement:
    """A city lead of the badge's city publishes or rejects a pending badge (with a note the
    provider reads); once only: two leads deciding at once cannot both change it."""
    before = get_achievement(conn, achievement_id)
    actor = authorise(reviewer, Action.REVIEW, city_id=before.city_id)
    note = note.strip()
    if not approve and not note:
        raise BadgeError("note_missing")
    if len(note) > MAX_TEXT_LENGTH:
        raise BadgeError("text_too_long", field="note", n=len(note), limit=MAX_TEXT_LENGTH)
    status = Status.PUBLISHED if approve else Status.REJECTED
    changed = conn.execute(
        update(badge_achievements)
        .where(badge_achievements.c.id == achievement_id, badge_achievements.c.status == Status.PENDING.value)
        .values(status=status.value, review_note=note, updated_at=now)
    )
    if changed.rowcount != 1:
        raise BadgeError("achievement_not_pending")
    audit.record(conn, actor=actor, action="approve_badge" if approve else "reject_badge", entity="badge",
                 entity_id=achievement_id, city_id=before.city_id, before={"status": before.status.value},
                 after={"status": status.value}, note=note, now=now)  # fmt: skip
    return get_achievement(conn, achievement_id)


def add_playlist_badge(
    conn: Connection,
    actor: User,
    *,
    city_id: int,
    texts: Mapping[str, AchievementText],
    image_url: str,
    topics: tuple[str, ...],
    now: datetime,
) -> int:
    """The badge of a new playlist (published: a city lead made it); for :mod:`~opportunities.badges.playlists`."""
    values = {
        "kind": Kind.PLAYLIST.value, "opportunity_id": None, "organisation_id": None, "city_id": city_id,
        "texts": _texts_json(texts), "image_url": image_url, "tags": "[]", "topics": json.dumps(list(topics)),
        "status": Status.PUBLISHED.value, "review_note": "", "created_by": actor.id, "created_at": now, "updated_at": now,
    }  # fmt: skip
    return int(conn.execute(insert(badge_achievements).returning(badge_achievements.c.id).values(**values)).scalar_one())
