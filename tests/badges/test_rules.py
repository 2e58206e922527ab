"""Playlist rules and claim codes as pure functions: tables of cases."""

from __future__ import annotations

import pytest

from opportunities.badges import claims
from opportunities.badges.playlists import Rule, check_rule, evaluate
from opportunities.errors import BadgeError

# badge id -> its topics
MEMBERS = {
    1: ("arts-culture",),
    2: ("digital-skills",),
    3: ("digital-skills", "science-technology"),
    4: ("sport-outdoors",),
    5: ("languages", "arts-culture"),
}


@pytest.mark.parametrize(
    ("rule", "earned", "met", "missing"),
    [
        (Rule.any_n(3), [1, 2, 3], True, 0),
        (Rule.any_n(3), [1, 2], False, 1),
        (Rule.any_n(3), [], False, 3),
        (Rule.any_n(3), [1, 2, 9, 10], False, 1),  # badges outside the playlist do not count
        (Rule.any_n(3), [1, 1, 2], False, 1),  # one badge twice counts once
        (Rule.any_n(1), [5], True, 0),
        (Rule.any_n(5), [1, 2, 3, 4, 5], True, 0),
        (Rule.per_topic(["arts-culture", "digital-skills"]), [1, 2], True, 0),
        (Rule.per_topic(["arts-culture", "digital-skills"]), [1], False, 1),
        # badge 3 has two topics, but counts for one of them only
        (Rule.per_topic(["digital-skills", "science-technology"]), [3], False, 1),
        (Rule.per_topic(["digital-skills", "science-technology"]), [2, 3], True, 0),
        # matching: 5 must count for languages, so 1 covers arts-culture
        (Rule.per_topic(["arts-culture", "languages"]), [5, 1], True, 0),
        (Rule.per_topic(["arts-culture", "languages"]), [5], False, 1),
        (Rule.per_topic(["arts-culture", "languages", "sport-outdoors", "digital-skills"]), [1, 2, 4, 5], True, 0),
        (Rule.per_topic(["sport-outdoors"]), [1, 2, 3], False, 1),
    ],
)
def test_rules_are_evaluated(rule: Rule, earned: list[int], met: bool, missing: int) -> None:
    progress = evaluate(rule, MEMBERS, earned)
    assert (progress.met, progress.missing) == (met, missing)
    assert set(progress.counted) <= set(earned) & set(MEMBERS)


@pytest.mark.parametrize(
    ("rule", "members", "reason"),
    [
        (Rule.any_n(0), MEMBERS, "rule_invalid"),
        (Rule.any_n(6), MEMBERS, "rule_invalid"),
        (Rule.any_n(1), {1: ("arts-culture",)}, "members_invalid"),  # a playlist of one badge
        (Rule.any_n(2), dict.fromkeys(range(51), ()), "members_invalid"),
        (Rule.per_topic(["wellbeing"]), MEMBERS, "rule_topics_invalid"),  # no member has it
        (Rule.per_topic(["astrology"]), MEMBERS, "topic_unknown"),
        (Rule.per_topic([]), MEMBERS, "rule_topics_invalid"),
        # three topics that two badges alone have: no way to meet it
        (Rule.per_topic(["digital-skills", "science-technology", "sport-outdoors"]), {3: MEMBERS[3], 4: MEMBERS[4]},
         "rule_topics_invalid"),
    ],
)  # fmt: skip
def test_rules_that_cannot_be_met_are_refused(rule: Rule, members: dict[int, tuple[str, ...]], reason: str) -> None:
    with pytest.raises(BadgeError) as refused:
        check_rule(rule, members)
    assert refused.value.code == reason


@pytest.mark.parametrize("rule", [Rule.any_n(3), Rule.per_topic(["arts-culture", "digital-skills", "sport-outdoors"])])
def test_rules_that_can_be_met_pass(rule: Rule) -> None:
    assert check_rule(rule, MEMBERS) == rule


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("ABCDE-FGHJK", "ABCDEFGHJK"),
        ("abcde fghjk", "ABCDEFGHJK"),
        (" AbCdE_fGhJk ", "ABCDEFGHJK"),
        ("23456.789AB", "23456789AB"),
    ],
)
def test_codes_are_read_as_typed(typed: str, normal: str) -> None:
    assert claims.normalise(typed) == normal


@pytest.mark.parametrize(
    "typed",
    ["", "ABCDE", "ABCDE-FGHJK-M", "ABCDE-FGHJ0", "ABCDE-FGHJ1", "OBCDE-FGHJK", "IBCDE-FGHJK", "LBCDE-FGHJK", "UBCDE-FGHJK",
     "ÅBCDE-FGHJK", "ABCDE-FGHJK\x00", "A" * 10_000],
)  # fmt: skip
def test_codes_with_look_alikes_or_the_wrong_length_are_malformed(typed: str) -> None:
    with pytest.raises(BadgeError) as refused:
        claims.normalise(typed)
    assert refused.value.code == "code_malformed"


def test_new_codes_use_the_unambiguous_alphabet_and_differ() -> None:
    made = {claims.new_code() for _ in range(2000)}
    assert len(made) == 2000
    assert all(len(code) == claims.CODE_LENGTH and set(code) <= set(claims.ALPHABET) for code in made)
    assert not set(claims.ALPHABET) & set("0O1IlLU")
    assert claims.normalise(claims.shown("ABCDEFGHJK")) == "ABCDEFGHJK" and claims.shown("ABCDEFGHJK") == "ABCDE-FGHJK"


def test_the_qr_code_is_svg_and_png() -> None:
    assert claims.claim_link("https://map.example.org/", "ABCDE-FGHJK") == "https://map.example.org/claim?code=ABCDE-FGHJK"
    svg = claims.qr_svg(claims.claim_link("https://map.example.org", "ABCDE-FGHJK"))
    assert svg.startswith("<svg") and "<path" in svg
    assert claims.qr_png("https://map.example.org/claim?code=ABCDE-FGHJK").startswith(b"\x89PNG\r\n\x1a\n")
