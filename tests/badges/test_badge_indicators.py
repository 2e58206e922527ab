"""Badge indicators: issued, claimed, revoked, playlists completed, per city, topic and period,
beside the previous period."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from opportunities.badges import awarding, issuance, playlists
from opportunities.badges.claims import CodeKind
from opportunities.coverage import reports
from opportunities.coverage.indicators import Group, Period, ScopeKind, compute, resolve_scope
from opportunities.db.connection import writing
from opportunities.listings.review import COMMAND_LINE
from opportunities.vocabulary import Status
from tests.badges.store import NOW, SUBJECT, make_badges
from tests.conftest import World

LEADS = (Status.PUBLISHED, Status.PENDING)  # the world's listings wait for review
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def test_badges_are_counted_per_city_topic_and_period(world: World, tmp_path: Path) -> None:
    b = make_badges(world, tmp_path)
    october = NOW - timedelta(days=30)
    with writing(b.engine) as conn:
        playlist = playlists.create_playlist(conn, world.lead_gbg, city_id=world.gbg, members=[b.code_club, b.chess],
                                             rule=playlists.Rule.any_n(2), texts={"en": {"name": "Two clubs", "description": "Both.",
                                                                                         "criteria": "Both badges."}}, now=NOW)  # fmt: skip
    first = awarding.claim(b.engine, b.code(b.code_club), SUBJECT, kind=CodeKind.CODE, client="", now=NOW, settings=world.settings,
                           signer=b.signer)  # fmt: skip
    second = awarding.award(b.engine, COMMAND_LINE, b.chess, SUBJECT, now=NOW, signer=b.signer)
    awarding.claim_playlist(b.engine, playlist.id, {"verifiableCredential": [first.credential, second.credential]}, verify=b.verify,
                            now=NOW, signer=b.signer)  # fmt: skip
    earlier = awarding.award(b.engine, COMMAND_LINE, b.code_club, SUBJECT, now=october, signer=b.signer)
    awarding.award(b.engine, COMMAND_LINE, b.robotics, SUBJECT, now=NOW, signer=b.signer)  # Kranj's
    with writing(b.engine) as conn:
        issuance.revoke(conn, COMMAND_LINE, earlier.issuance.credential_id, "mistake", now=NOW)
    with b.engine.connect() as conn:
        found = compute(conn, resolve_scope(conn, ScopeKind.CITY, "Göteborg", statuses=LEADS), NOVEMBER, statuses=LEADS)
        network = compute(conn, resolve_scope(conn, ScopeKind.NETWORK, statuses=LEADS), NOVEMBER, statuses=LEADS)
    figures = {f.key: (f.value, f.previous) for f in found.group(Group.BADGES)}
    assert figures == {"issued": (3, 1), "claimed": (1, 0), "revoked": (1, 0), "playlists-completed": (1, 0)}
    assert found.figure(Group.BADGES, "issued").change == 2  # type: ignore[union-attr]
    assert found.figure(Group.BADGES_BY_TOPIC, "digital-skills").value == 3  # type: ignore[union-attr]
    assert found.figure(Group.BADGES_BY_TOPIC, "sport-outdoors").value == 0  # type: ignore[union-attr]
    assert network.figure(Group.BADGES, "issued").value == 4  # type: ignore[union-attr]
    label = reports.figure_label(found.figure(Group.BADGES, "playlists-completed"), "en")  # type: ignore[arg-type]
    assert label == "Playlists completed"
    assert reports.figure_label(found.figure(Group.BADGES_BY_TOPIC, "digital-skills"), "en") == "Digital skills"  # type: ignore[arg-type]
