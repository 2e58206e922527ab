"""The badge store on a real database: badges scoped to organisation and city, review, claim codes
with their limits, issuance records without personal data, revocation, playlists and their claims."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from opportunities.accounts import audit
from opportunities.accounts.accounts import client_key
from opportunities.accounts.identity import User
from opportunities.badges import achievements, awarding, claims, issuance, playlists
from opportunities.badges.claims import CodeKind
from opportunities.badges.playlists import Rule
from opportunities.db import schema
from opportunities.db.connection import writing
from opportunities.errors import BadgeError, ForbiddenError
from opportunities.listings.review import COMMAND_LINE
from opportunities.vocabulary import Status
from tests.badges.store import NOW, OTHER_SUBJECT, PUBLIC_URL, SUBJECT, TEXTS, Badges, make_badges
from tests.conftest import World

ALICE = client_key("192.0.2.10")
BOB = client_key("198.51.100.7")


@pytest.fixture
def badges(world: World, tmp_path: Path) -> Badges:
    return make_badges(world, tmp_path)


def _claim(b: Badges, code: str, *, subject: str = SUBJECT, client: str = ALICE, now=NOW) -> awarding.Claimed:  # type: ignore[no-untyped-def]
    return awarding.claim(b.engine, code, subject, kind=CodeKind.CODE, client=client, now=now, settings=b.world.settings,
                          signer=b.signer)  # fmt: skip


def _refused(code: str, call, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadgeError) as refused:
        call(*args, **kwargs)
    assert refused.value.code == code, refused.value


# --- badges and who may touch them ---------------------------------------------------------------


def test_a_badge_is_defined_by_its_activitys_provider_and_waits_for_the_citys_lead(world: World) -> None:
    with writing(world.engine) as conn:
        badge = achievements.define_badge(conn, world.librarian, world.ids["Kodklubb"], texts=TEXTS, tags=["python"], now=NOW)
        assert (badge.status, badge.city_id, badge.organisation_id) == (Status.PENDING, world.gbg, world.library)
        assert (
            badge.topics == ("digital-skills",) and badge.text("sv").name == "Kodklubben" and badge.text("pl").name == "Code club"
        )
        _refused(
            "achievement_exists", achievements.define_badge, conn, world.librarian, world.ids["Kodklubb"], texts=TEXTS, now=NOW
        )
        with pytest.raises(ForbiddenError):  # a lead of another city
            achievements.review_badge(conn, world.lead_kranj, badge.id, approve=True, now=NOW)
        _refused("note_missing", achievements.review_badge, conn, world.lead_gbg, badge.id, approve=False, now=NOW)
        published = achievements.review_badge(conn, world.lead_gbg, badge.id, approve=True, now=NOW)
        assert published.status is Status.PUBLISHED
        _refused(
            "achievement_not_pending", achievements.review_badge, conn, world.lead_gbg, badge.id, approve=False, note="x", now=NOW
        )
        logged = audit.entries(conn, world.lead_gbg, entity="badge", entity_id=badge.id)
    assert [e.action for e in logged] == ["approve_badge", "define_badge"] and logged[0].actor == "lead@goteborg.example"


def test_the_review_queue_holds_the_pending_badges_of_the_leads_cities(world: World) -> None:
    with writing(world.engine) as conn:
        pending = achievements.define_badge(conn, world.librarian, world.ids["Kodklubb"], texts=TEXTS, now=NOW)
        assert [a.id for a in achievements.review_queue(conn, world.lead_gbg)] == [pending.id]
        assert achievements.review_queue(conn, world.lead_kranj) == []
        assert [a.id for a in achievements.review_queue(conn, world.admin, city_id=world.gbg)] == [pending.id]
        for stranger in (world.librarian, None, world.disabled_lead):
            with pytest.raises(ForbiddenError):
                achievements.review_queue(conn, stranger)
        with pytest.raises(ForbiddenError):
            achievements.review_queue(conn, world.lead_kranj, city_id=world.gbg)


@pytest.mark.parametrize(
    ("texts", "reason"),
    [
        ({"sv": TEXTS["sv"]}, "text_missing"),  # English is the fallback: required
        ({"en": {**TEXTS["en"], "criteria": " "}}, "text_missing"),
        ({"en": {**TEXTS["en"], "name": "x" * 101}}, "text_too_long"),
        ({**TEXTS, "de": TEXTS["en"]}, "language_unknown"),
    ],
)
def test_a_badge_needs_its_texts(world: World, texts: dict[str, dict[str, str]], reason: str) -> None:
    with writing(world.engine) as conn:
        _refused(reason, achievements.define_badge, conn, world.librarian, world.ids["Kodklubb"], texts=texts, now=NOW)


@pytest.mark.parametrize(("field", "value", "reason"), [("image_url", "http://x.example/a.png", "image_url_invalid"),
                                                        ("image_url", "javascript:alert(1)", "image_url_invalid"),
                                                        ("topics", ["astrology"], "topic_unknown"),
                                                        ("tags", ["x" * 41], "text_too_long")])  # fmt: skip
def test_a_badges_image_topics_and_tags_are_checked(world: World, field: str, value: object, reason: str) -> None:
    with writing(world.engine) as conn:
        _refused(reason, achievements.define_badge, conn, world.librarian, world.ids["Kodklubb"], texts=TEXTS, now=NOW,
                 **{field: value})  # fmt: skip


def test_a_hostile_provider_touches_no_other_organisations_badge_or_city(badges: Badges) -> None:
    """A registered provider (Nytt Forum, Göteborg) and another city's provider (Kranj) try
    everything on the library's badges and the Göteborg lead's playlists: all refused, nothing changed."""
    w = badges.world
    for hostile in (w.newcomer_member, badges.kranj_provider):
        with writing(w.engine) as conn:
            with pytest.raises(ForbiddenError):
                achievements.define_badge(conn, hostile, w.ids["Schack"], texts=TEXTS, now=NOW)  # not theirs (has one anyway)
            with pytest.raises(ForbiddenError):
                achievements.update_badge(conn, hostile, badges.code_club, texts=TEXTS, now=NOW)
            with pytest.raises(ForbiddenError):
                achievements.review_badge(conn, hostile, badges.code_club, approve=True, now=NOW)
            with pytest.raises(ForbiddenError):
                claims.create_code(conn, hostile, badges.code_club, valid_for=timedelta(hours=1), now=NOW)
            with pytest.raises(ForbiddenError):
                playlists.create_playlist(conn, hostile, city_id=w.gbg, texts=TEXTS, members=[badges.code_club, badges.chess],
                                          rule=Rule.any_n(2), now=NOW)  # fmt: skip
    with writing(w.engine) as conn, pytest.raises(ForbiddenError):  # the Kranj provider's own badge, but Nytt Forum's listing
        achievements.define_badge(conn, badges.kranj_provider, w.ids["Debattklubb"], texts=TEXTS, now=NOW)
    record = awarding.award(badges.engine, w.librarian, badges.code_club, SUBJECT, now=NOW, signer=badges.signer).issuance
    strangers: tuple[User | None, ...] = (w.newcomer_member, badges.kranj_provider, w.lead_kranj, w.disabled_lead, None)
    for stranger in strangers:
        with writing(w.engine) as conn, pytest.raises(ForbiddenError):
            issuance.revoke(conn, stranger, record.credential_id, "not mine to revoke", now=NOW)
        with pytest.raises(ForbiddenError):
            awarding.award(badges.engine, stranger, badges.code_club, SUBJECT, now=NOW, signer=badges.signer)
    with badges.engine.connect() as conn:
        assert issuance.get_issuance(conn, record.credential_id).revoked_at is None
        assert achievements.get_achievement(conn, badges.code_club).texts["en"].name == "Code club"
        assert playlists.list_playlists(conn) == []
        assert conn.execute(select(schema.badge_claim_codes)).all() == []


@pytest.mark.parametrize("who", ["librarian", "lead_gbg", "admin"])
def test_the_organisation_the_citys_lead_and_an_admin_manage_a_badge(badges: Badges, who: str) -> None:
    user: User = getattr(badges.world, who)
    with writing(badges.engine) as conn:
        made = claims.create_code(
            conn, user, badges.code_club, valid_for=timedelta(hours=1), max_uses=30, label="Session 3", now=NOW
        )
    assert len(claims.normalise(made.code)) == claims.CODE_LENGTH and made.max_uses == 30
    record = awarding.award(badges.engine, user, badges.code_club, SUBJECT, now=NOW, signer=badges.signer).issuance
    with writing(badges.engine) as conn:
        assert issuance.revoke(conn, user, record.credential_id, "awarded by mistake", now=NOW).revoked_at is not None


# --- claims --------------------------------------------------------------------------------------


def test_a_code_claims_a_signed_badge_that_verifies_and_is_stored_without_the_subject(badges: Badges) -> None:
    code = badges.code(badges.code_club)
    claimed = _claim(badges, code.lower().replace("-", " "))
    credential = claimed.credential
    assert credential["credentialSubject"]["id"] == SUBJECT
    assert credential["credentialSubject"]["achievement"]["id"] == f"{PUBLIC_URL}/badges/achievements/{badges.code_club}"
    assert (
        credential["credentialStatus"]["statusListCredential"] == f"{PUBLIC_URL}/badges/status/{claimed.issuance.status.list_id}"
    )
    checked = badges.verify(credential)
    assert (checked.valid, checked.state, checked.credential_id) == (True, "valid", claimed.issuance.credential_id)
    # Nothing of the learner in the database: not the subject, in any table.
    with badges.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                assert SUBJECT not in json.dumps([str(v) for v in row]), table.name
        stored = conn.execute(select(schema.badge_issuances)).one()
    assert (stored.via, stored.achievement_id) == ("code", badges.code_club)


def test_a_single_use_code_is_used_once_and_an_expired_code_says_so(badges: Badges) -> None:
    code = badges.code(badges.code_club)
    _claim(badges, code)
    _refused("code_used", _claim, badges, code, subject=OTHER_SUBJECT)
    short = badges.code(badges.chess, valid_for=timedelta(minutes=5))
    _refused("code_expired", _claim, badges, short, now=NOW + timedelta(minutes=6))
    _refused("code_unknown", _claim, badges, "ABCDE-FGHJK")
    _refused("code_malformed", _claim, badges, "hello")
    _refused("subject_invalid", _claim, badges, short, subject="ana@example.org")  # never an email
    with badges.engine.connect() as conn:
        assert conn.execute(select(schema.badge_issuances)).all().__len__() == 1
        hashes = conn.execute(select(schema.badge_claim_codes.c.code_hash)).scalars().all()
    assert claims.code_hash(claims.normalise(code)) in hashes and all(claims.normalise(code) not in h for h in hashes)


def test_a_multi_use_code_serves_a_group_until_its_uses_run_out(badges: Badges) -> None:
    code = badges.code(badges.robotics, uses=3)
    ids = {
        _claim(badges, code, subject=f"urn:uuid:0f8fad5b-d9cb-469f-a165-7086772895{n:02d}").issuance.credential_id
        for n in range(3)
    }
    assert len(ids) == 3
    _refused("code_used", _claim, badges, code)


def test_a_pending_badge_cannot_be_earned(world: World, tmp_path: Path) -> None:
    with writing(world.engine) as conn:
        badge = achievements.define_badge(conn, world.librarian, world.ids["Kodklubb"], texts=TEXTS, now=NOW)
        _refused(
            "achievement_not_published",
            claims.create_code,
            conn,
            world.librarian,
            badge.id,
            valid_for=timedelta(hours=1),
            now=NOW,
        )


@pytest.mark.parametrize(("valid_for", "uses", "reason"), [(timedelta(seconds=30), 1, "expiry_invalid"),
                                                          (timedelta(days=91), 1, "expiry_invalid"),
                                                          (timedelta(hours=1), 0, "uses_invalid"),
                                                          (timedelta(hours=1), 1001, "uses_invalid")])  # fmt: skip
def test_a_codes_expiry_and_uses_are_bounded(badges: Badges, valid_for: timedelta, uses: int, reason: str) -> None:
    with writing(badges.engine) as conn:
        _refused(
            reason,
            claims.create_code,
            conn,
            badges.world.librarian,
            badges.code_club,
            valid_for=valid_for,
            max_uses=uses,
            now=NOW,
        )


def test_a_guessing_client_is_stopped_and_others_are_not(badges: Badges) -> None:
    limit = badges.world.settings.badge_claim_max_failures_per_client
    for n in range(limit):
        _refused("code_unknown", _claim, badges, f"ABCDE-{claims.ALPHABET[n] * 5}", client=ALICE)
    good = badges.code(badges.code_club, uses=5)
    _refused("too_many_attempts", _claim, badges, good, client=ALICE)  # even a right code, until the window has passed
    assert _claim(badges, good, client=BOB).issuance.via == "code"
    later = NOW + timedelta(minutes=badges.world.settings.badge_claim_window_minutes, seconds=1)
    assert _claim(badges, good, client=ALICE, now=later).issuance.via == "code"


def test_a_guessing_storm_from_many_clients_stops_every_claim_by_code(badges: Badges) -> None:
    from dataclasses import replace

    badges.world.settings = replace(badges.world.settings, badge_claim_max_failures=25)
    for n in range(25):
        _refused("code_unknown", _claim, badges, "ABCDE-FGHJK", client=client_key(f"203.0.113.{n}"))
    good = badges.code(badges.code_club)
    with pytest.raises(BadgeError) as refused:
        _claim(badges, good, client=client_key("203.0.113.200"))
    assert refused.value.code == "claims_busy" and refused.value.reason.values["minutes"] == 15
    with badges.engine.connect() as conn:  # what is kept of the clients: hashes, never an address
        keys = conn.execute(select(schema.badge_claim_attempts.c.client_key)).scalars().all()
    assert len(keys) == 25 and all(len(k) == 64 and "203.0.113" not in k for k in keys)


# --- issuance, status lists, revocation -----------------------------------------------------------


def test_status_positions_are_unique_and_scrambled(badges: Badges) -> None:
    with writing(badges.engine) as conn:
        positions = [issuance.allocate(conn, badges.world.gbg, NOW, issuer=badges.key.did) for _ in range(300)]
        kranj = issuance.allocate(conn, badges.world.kranj, NOW, issuer=badges.key.did)
    indexes = [p.index for p in positions]
    assert len(set(indexes)) == 300 and all(0 <= i < issuance.STATUS_LIST_SIZE for i in indexes)
    assert indexes != sorted(indexes) and len({p.list_id for p in positions}) == 1 and kranj.list_id != positions[0].list_id


def test_a_full_status_list_is_followed_by_a_new_one(badges: Badges) -> None:
    with writing(badges.engine) as conn:
        first = issuance.allocate(conn, None, NOW, issuer=badges.key.did)
        conn.execute(schema.badge_status_lists.update().where(schema.badge_status_lists.c.id == first.list_id)
                     .values(next_position=schema.badge_status_lists.c.size))  # fmt: skip
        assert issuance.allocate(conn, None, NOW, issuer=badges.key.did).list_id != first.list_id
        assert issuance.allocate(conn, None, NOW, issuer="did:key:z6MkNewKey").list_id not in (first.list_id, first.list_id + 1)


def test_revocation_sets_the_bit_with_a_reason_and_an_audit_entry(badges: Badges) -> None:
    w = badges.world
    claimed = _claim(badges, badges.code(badges.code_club))
    kept = _claim(badges, badges.code(badges.chess))
    later = NOW + timedelta(hours=1)
    with writing(w.engine) as conn:
        _refused("revoke_reason_missing", issuance.revoke, conn, w.lead_gbg, claimed.issuance.credential_id, "  ", now=later)
        revoked = issuance.revoke(conn, w.lead_gbg, claimed.issuance.credential_id, "Claimed with a code that leaked", now=later)
        _refused("already_revoked", issuance.revoke, conn, w.librarian, claimed.issuance.credential_id, "again", now=later)
        _refused("credential_unknown", issuance.revoke, conn, COMMAND_LINE, "urn:uuid:nope", "why", now=later)
        state = issuance.status_list_state(conn, revoked.status.list_id)
        [entry] = [e for e in audit.entries(conn, w.admin, entity="badge") if e.action == "revoke_badge"]
    assert revoked.revoke_reason == "Claimed with a code that leaked" and revoked.revoked_at == later
    assert state is not None and state.revoked == (revoked.status.index,) and state.changed_at == later
    assert entry.note == "Claimed with a code that leaked" and entry.city_id == w.gbg
    assert entry.after == {"credential": claimed.issuance.credential_id, "revoked": True}
    assert badges.verify(claimed.credential, later).state == "revoked"
    assert badges.verify(kept.credential, later).state == "valid"


# --- playlists -----------------------------------------------------------------------------------


def _playlist(b: Badges, rule: Rule) -> playlists.Playlist:
    with writing(b.engine) as conn:
        return playlists.create_playlist(conn, b.world.lead_gbg, city_id=b.world.gbg, members=[b.code_club, b.chess], rule=rule,
                                         texts={"en": {"name": "Göteborg explorer", "description": "Two clubs.",
                                                       "criteria": "Earn both badges."}}, now=NOW)  # fmt: skip


def test_a_playlist_holds_published_badges_of_its_own_city(badges: Badges) -> None:
    w = badges.world
    with writing(w.engine) as conn:
        _refused("members_invalid", playlists.create_playlist, conn, w.lead_gbg, city_id=w.gbg, texts=TEXTS,
                 members=[badges.code_club, badges.robotics], rule=Rule.any_n(1), now=NOW)  # fmt: skip
        with pytest.raises(ForbiddenError):
            playlists.create_playlist(conn, w.lead_kranj, city_id=w.gbg, texts=TEXTS, members=[badges.code_club, badges.chess],
                                      rule=Rule.any_n(1), now=NOW)  # fmt: skip
    made = _playlist(badges, Rule.any_n(2))
    assert made.members == (badges.code_club, badges.chess) and made.achievement.kind is achievements.Kind.PLAYLIST
    assert made.achievement.status is Status.PUBLISHED and made.achievement.topics == ("digital-skills",)


def _presentation(*credentials: dict) -> dict:  # type: ignore[type-arg]
    return {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
            "verifiableCredential": list(credentials)}  # fmt: skip


def test_a_playlist_badge_is_issued_for_a_presentation_that_meets_its_rule(badges: Badges) -> None:
    playlist = _playlist(badges, Rule.any_n(2))
    first = _claim(badges, badges.code(badges.code_club)).credential
    second = _claim(badges, badges.code(badges.chess)).credential
    claimed = awarding.claim_playlist(badges.engine, playlist.id, json.dumps(_presentation(first, second)).encode(),
                                      verify=badges.verify, now=NOW, signer=badges.signer)  # fmt: skip
    assert claimed.credential["credentialSubject"]["id"] == SUBJECT and claimed.issuance.via == "playlist"
    assert claimed.issuance.achievement_id == playlist.achievement.id and badges.verify(claimed.credential).valid


def test_a_presentation_that_does_not_earn_the_playlist_gets_a_reason(badges: Badges) -> None:
    playlist = _playlist(badges, Rule.any_n(2))
    mine = _claim(badges, badges.code(badges.code_club)).credential
    theirs = _claim(badges, badges.code(badges.chess), subject=OTHER_SUBJECT).credential
    chess = _claim(badges, badges.code(badges.chess)).credential
    robotics = _claim(badges, badges.code(badges.robotics)).credential
    tampered = json.loads(json.dumps(chess))
    tampered["credentialSubject"]["achievement"]["name"] = "Chess grandmaster"

    def attempt(presentation: object) -> str:
        with pytest.raises(BadgeError) as refused:
            awarding.claim_playlist(badges.engine, playlist.id, presentation, verify=badges.verify, now=NOW, signer=badges.signer)  # type: ignore[arg-type]
        return refused.value.code

    assert attempt(_presentation(mine)) == "rule_not_met"
    assert attempt(_presentation(mine, robotics)) == "rule_not_met"  # another city's badge is no member
    assert attempt(_presentation(mine, mine)) == "rule_not_met"  # one badge twice
    assert attempt(_presentation(mine, theirs)) == "presentation_subjects_differ"
    assert attempt(_presentation(mine, tampered)) == "presented_invalid"
    assert attempt(b"{not json") == "presentation_invalid"
    assert attempt({"verifiableCredential": []}) == "presentation_invalid"
    assert attempt({"verifiableCredential": [mine] * 61}) == "presentation_invalid"
    with writing(badges.engine) as conn:
        issuance.revoke(conn, badges.world.librarian, chess["id"], "given in error", now=NOW)
    assert attempt(_presentation(mine, chess)) == "presented_revoked"
    with badges.engine.connect() as conn:
        issued = conn.execute(select(schema.badge_issuances.c.via)).scalars().all()
    assert "playlist" not in issued


def test_after_a_key_rotation_new_badges_go_to_new_lists_and_old_ones_still_verify(badges: Badges, tmp_path: Path) -> None:
    from dataclasses import replace

    from opportunities.badges.keys import rotate_issuer_key

    settings = replace(badges.world.settings, badge_key_file=tmp_path / "keys" / "badge-issuer.key", public_url=PUBLIC_URL)
    before = awarding.award(badges.engine, COMMAND_LINE, badges.code_club, SUBJECT, now=NOW, signer=issuance.signer_for(settings))
    rotate_issuer_key(settings.badge_key_file, stamp="20261124T000000Z")
    after = awarding.award(badges.engine, COMMAND_LINE, badges.code_club, SUBJECT, now=NOW, signer=issuance.signer_for(settings))
    assert after.issuance.status.list_id != before.issuance.status.list_id
    assert after.credential["issuer"]["id"] != before.credential["issuer"]["id"]
    with writing(badges.engine) as conn:
        issuance.revoke(conn, COMMAND_LINE, before.issuance.credential_id, "test", now=NOW)
    check = awarding.verifier(badges.engine, settings, now=NOW)
    assert (check(before.credential).state, check(after.credential).state) == ("revoked", "valid")


def test_a_single_use_code_claimed_at_once_from_many_browsers_is_issued_once(badges: Badges) -> None:
    from concurrent.futures import ThreadPoolExecutor

    code = badges.code(badges.code_club)
    group = badges.code(badges.chess, uses=6)

    def attempt(args: tuple[str, int]) -> str:
        secret, n = args
        try:
            _claim(
                badges, secret, subject=f"urn:uuid:0f8fad5b-d9cb-469f-a165-7086772895{n:02d}", client=client_key(f"192.0.2.{n}")
            )
        except BadgeError as refused:
            return refused.code
        return "issued"

    with ThreadPoolExecutor(max_workers=6) as pool:
        single = list(pool.map(attempt, [(code, n) for n in range(6)]))
        multi = list(pool.map(attempt, [(group, n) for n in range(10, 18)]))
    assert sorted(single) == ["code_used"] * 5 + ["issued"]
    assert sorted(multi) == ["code_used"] * 2 + ["issued"] * 6
    with badges.engine.connect() as conn:
        positions = conn.execute(select(schema.badge_issuances.c.status_list_id, schema.badge_issuances.c.status_index)).all()
    assert len(positions) == 7 == len(set(positions))
