"""Playlists: a city lead's set of badges with a rule ("any 3 of these 5", "one from each of 4
topics") and a badge of its own, earned by presenting the badges that meet the rule.

The rules are pure functions (:func:`check_rule`, :func:`evaluate`); the store below keeps a
playlist, its members and its badge, a city lead's for their own city.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select

from opportunities.accounts import audit
from opportunities.accounts.identity import User
from opportunities.accounts.permissions import Action, authorise
from opportunities.badges import achievements
from opportunities.badges.achievements import Achievement
from opportunities.db import queries
from opportunities.db.schema import badge_playlist_members, badge_playlists
from opportunities.errors import BadgeError
from opportunities.vocabulary import TOPICS, Status

MAX_MEMBERS = 50


class RuleKind(StrEnum):
    ANY_N = "any_n"  # any n of the members
    PER_TOPIC = "per_topic"  # one member from each of the rule's topics, each badge counted once


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    count: int  # any_n: n; per_topic: len(topics)
    topics: tuple[str, ...] = ()

    @staticmethod
    def any_n(n: int) -> Rule:
        return Rule(RuleKind.ANY_N, n)

    @staticmethod
    def per_topic(topics: Sequence[str]) -> Rule:
        chosen = tuple(dict.fromkeys(topics))
        return Rule(RuleKind.PER_TOPIC, len(chosen), chosen)


@dataclass(frozen=True)
class Progress:
    """How far a set of earned badges is from a playlist's rule."""

    met: bool
    missing: int  # badges still needed (0 when met)
    counted: tuple[int, ...]  # the earned members that count towards the rule


def check_rule(rule: Rule, members: Mapping[int, Collection[str]]) -> Rule:
    """``rule`` when it can be met by ``members`` (badge id -> its topics); else raises
    :class:`BadgeError`: ``members_invalid`` (fewer than 2 or more than :data:`MAX_MEMBERS`),
    ``rule_invalid`` (any n outside 1…members), ``topic_unknown``, ``rule_topics_invalid`` (a topic
    no member has, or more topics than distinct members can cover)."""
    if not 2 <= len(members) <= MAX_MEMBERS:
        raise BadgeError("members_invalid", limit=MAX_MEMBERS)
    if rule.kind is RuleKind.ANY_N:
        if not 1 <= rule.count <= len(members):
            raise BadgeError("rule_invalid", n=rule.count, maximum=len(members))
        return rule
    if not rule.topics or rule.count != len(rule.topics):
        raise BadgeError("rule_topics_invalid", topics="—")
    for topic in rule.topics:
        if topic not in TOPICS:
            raise BadgeError("topic_unknown", topic=topic[:40])
    uncovered = [t for t in rule.topics if not any(t in topics for topics in members.values())]
    if uncovered:
        raise BadgeError("rule_topics_invalid", topics=", ".join(uncovered))
    if not evaluate(rule, members, members.keys()).met:  # e.g. three topics that only two badges have
        raise BadgeError("rule_topics_invalid", topics=", ".join(rule.topics))
    return rule


def evaluate(rule: Rule, members: Mapping[int, Collection[str]], earned: Iterable[int]) -> Progress:
    """Whether the badges ``earned`` meet ``rule`` over ``members`` (badge id -> its topics).

    Badges that are not members do not count. ``per_topic`` needs a different badge for each
    topic (a badge of two topics counts for one of them): a matching of topics to badges.
    """
    held = sorted(set(earned) & set(members))
    if rule.kind is RuleKind.ANY_N:
        counted = tuple(held[: rule.count])
        return Progress(len(held) >= rule.count, max(0, rule.count - len(held)), counted)
    matched = _match_topics(rule.topics, {badge: members[badge] for badge in held})
    missing = len(rule.topics) - len(matched)
    return Progress(missing == 0, missing, tuple(sorted(matched.values())))


def _match_topics(topics: Sequence[str], badges: Mapping[int, Collection[str]]) -> dict[str, int]:
    """A largest matching of topics to distinct badges having them (augmenting paths; small sets)."""
    owner: dict[int, str] = {}  # badge -> the topic it counts for

    def place(topic: str, seen: set[int]) -> bool:
        for badge, its_topics in badges.items():
            if topic in its_topics and badge not in seen:
                seen.add(badge)
                if badge not in owner or place(owner[badge], seen):
                    owner[badge] = topic
                    return True
        return False

    for topic in topics:
        place(topic, set())
    return {topic: badge for badge, topic in owner.items()}


# --- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Playlist:
    id: int
    city_id: int
    achievement: Achievement  # the playlist's own badge (its texts are the playlist's)
    rule: Rule
    members: tuple[int, ...]  # badge ids
    created_at: datetime


def _rule(row: Any) -> Rule:
    return Rule(RuleKind(row.rule_kind), row.rule_count, tuple(json.loads(row.rule_topics)))


def _playlist(conn: Connection, row: Any) -> Playlist:
    members = tuple(
        conn.execute(
            select(badge_playlist_members.c.achievement_id)
            .where(badge_playlist_members.c.playlist_id == row.id)
            .order_by(badge_playlist_members.c.achievement_id)
        ).scalars()
    )
    return Playlist(row.id, row.city_id, achievements.get_achievement(conn, row.achievement_id), _rule(row), members,
                    queries.aware(row.created_at) or row.created_at)  # fmt: skip


def get_playlist(conn: Connection, playlist_id: int) -> Playlist:
    row = conn.execute(select(badge_playlists).where(badge_playlists.c.id == playlist_id)).first()
    if row is None:
        raise BadgeError("achievement_unknown", id=f"playlist {playlist_id}")
    return _playlist(conn, row)


def playlist_of_badge(conn: Connection, achievement_id: int) -> Playlist | None:
    """The playlist whose own badge is ``achievement_id``, if any."""
    row = conn.execute(select(badge_playlists).where(badge_playlists.c.achievement_id == achievement_id)).first()
    return _playlist(conn, row) if row is not None else None


def list_playlists(conn: Connection, *, city_ids: Iterable[int] | None = None) -> list[Playlist]:
    query = select(badge_playlists).order_by(badge_playlists.c.id)
    if city_ids is not None:
        query = query.where(badge_playlists.c.city_id.in_(list(city_ids)))
    return [_playlist(conn, r) for r in conn.execute(query)]


def create_playlist(
    conn: Connection,
    user: User | None,
    *,
    city_id: int,
    texts: Mapping[str, Mapping[str, str]],
    members: Iterable[int],
    rule: Rule,
    image_url: str = "",
    now: datetime,
) -> Playlist:
    """A playlist of ``city_id`` by one of its leads (or an admin): its members must be published
    badges of that city; the rule one they can meet. Its own badge is published with it.

    Raises :class:`ForbiddenError`, :class:`BadgeError`.
    """
    actor = authorise(user, Action.MANAGE_CITY_BADGES, city_id=city_id)
    checked_texts = achievements.check_texts(texts)
    chosen = list(dict.fromkeys(members))
    found = {a.id: a for a in achievements.list_achievements(conn, city_ids=[city_id], statuses=[Status.PUBLISHED])}
    if len(chosen) > MAX_MEMBERS or any(m not in found for m in chosen):
        raise BadgeError("members_invalid", limit=MAX_MEMBERS)
    check_rule(rule, {m: found[m].topics for m in chosen})
    topics = tuple(dict.fromkeys(t for m in chosen for t in found[m].topics))
    badge_id = achievements.add_playlist_badge(conn, actor, city_id=city_id, texts=checked_texts,
                                               image_url=achievements.check_image_url(image_url), topics=topics, now=now)  # fmt: skip
    values = {"city_id": city_id, "achievement_id": badge_id, "rule_kind": rule.kind.value, "rule_count": rule.count,
              "rule_topics": json.dumps(list(rule.topics)), "created_by": actor.id, "created_at": now, "updated_at": now}  # fmt: skip
    playlist_id = int(conn.execute(insert(badge_playlists).returning(badge_playlists.c.id).values(**values)).scalar_one())
    conn.execute(insert(badge_playlist_members), [{"playlist_id": playlist_id, "achievement_id": m} for m in chosen])
    made = get_playlist(conn, playlist_id)
    audit.record(conn, actor=actor, action="create_playlist", entity="playlist", entity_id=playlist_id, city_id=city_id,
                 after={"members": list(made.members), "rule": {"kind": rule.kind.value, "count": rule.count,
                                                                 "topics": list(rule.topics)}, "badge": badge_id}, now=now)  # fmt: skip
    return made


def progress(conn: Connection, playlist: Playlist, earned: Iterable[int]) -> Progress:
    """How far ``earned`` badge ids are from ``playlist``'s rule (for the playlist view)."""
    members = {
        a.id: a.topics for a in achievements.list_achievements(conn, city_ids=[playlist.city_id]) if a.id in playlist.members
    }
    return evaluate(playlist.rule, members, earned)
