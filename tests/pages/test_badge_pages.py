"""The badge pages (Claim, My badges, Verify, Badges) for each role and signed out (AppTest).

Claim and My badges are the browser's work (``ui/badge_wallet.js``, tested in
tests/e2e/test_badges.py); here: each page opens for everyone in their language, sends the
browser its texts, and a claim link's code reaches the form only when it looks like a code.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from opportunities.accounts.accounts import start_session
from opportunities.badges import achievements, awarding, claims, issuance, playlists
from opportunities.db.connection import writing
from opportunities.db.queries import set_status
from opportunities.errors import BadgeError
from opportunities.i18n import explain
from opportunities.settings import load_settings
from opportunities.text import escape_markdown
from opportunities.vocabulary import Status
from tests.conftest import PROJECT_ROOT, World, page
from ui import badge_images, session

NOW = datetime.now(UTC)

ROLES = ["nobody", "admin", "lead_gbg", "librarian"]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "warning", "error", "info", "success")
             for e in getattr(at, kind)]  # fmt: skip
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))  # as written (Markdown escapes undone)


def component_data(at: AppTest, view: str) -> dict[str, object]:
    """The data the wallet component was mounted with for ``view`` ("claim" or "wallet") on the last run."""
    for element in at.get("bidi_component"):
        if element.proto.component_name == "col_badge_wallet":
            data = dict(json.loads(element.proto.json))
            if data["view"] == view:
                return data
    raise AssertionError(f"no {view} component")


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(("name", "title"), [("claim", "Claim a badge"), ("my_badges", "My badges")])
def test_the_wallet_pages_open_for_everyone(signed_in: World, who: str, name: str, title: str) -> None:
    at = page(name, None if who == "nobody" else getattr(signed_in, who), signed_in)
    assert not at.exception
    assert at.title[0].value == title
    assert "Sign in" not in texts(at)


@pytest.mark.parametrize(("language", "title", "label"), [("sv", "Hämta ett märke", "Märkeskod"), ("sl", "Prevzemi značko", "Koda značke"),
                                                          ("pl", "Odbierz odznakę", "Kod odznaki")])  # fmt: skip
def test_the_claim_form_speaks_the_visitors_language(signed_in: World, language: str, title: str, label: str) -> None:
    at = page("claim", None, signed_in, language)
    assert at.title[0].value == title
    data = component_data(at, "claim")
    assert data["lang"] == language
    assert data["texts"]["codeLabel"] == label  # type: ignore[index]


@pytest.mark.parametrize(("code", "sent"), [("K7Q-M2X-9PD", "K7Q-M2X-9PD"), ("<script>", ""), ("x" * 65, "")])
def test_a_claim_links_code_reaches_the_form_only_when_it_looks_like_one(signed_in: World, code: str, sent: str) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "claim.py"), default_timeout=60)
    at.query_params["code"] = code
    at.run()
    assert not at.exception
    assert component_data(at, "claim")["code"] == sent


def test_the_wallet_says_clearing_the_browser_loses_the_badges(signed_in: World) -> None:
    at = page("my_badges", None, signed_in, "pl")
    data = component_data(at, "wallet")
    assert data["view"] == "wallet"
    assert "przeglądarce" in data["texts"]["clearingLoses"]  # type: ignore[index]


# --- Verify and Badges: with a badge of the library's Kodklubb, published by Göteborg's lead ------

SUBJECT = "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"
TEXTS = {"en": {"name": "Code club", "description": "Wrote a game.", "criteria": "Three sessions."},
         "sv": {"name": "Kodklubben", "description": "Skrev ett spel.", "criteria": "Tre träffar."}}  # fmt: skip


@dataclass
class Badged:
    world: World
    badge_id: int
    credential: dict[str, Any]


@pytest.fixture
def badged(signed_in: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Badged:
    monkeypatch.setenv("BADGE_KEY_FILE", str(tmp_path / "keys" / "issuer.key"))
    w = replace(signed_in, settings=load_settings())
    with writing(w.engine) as conn:
        badge = achievements.define_badge(conn, w.librarian, w.ids["Kodklubb"], texts=TEXTS,
                                          image_url=badge_images.data_url("code"), now=NOW)  # fmt: skip
        if badge.status is Status.PENDING:
            achievements.review_badge(conn, w.lead_gbg, badge.id, approve=True, now=NOW)
    signer = issuance.signer_for(w.settings)
    claimed = awarding.award(w.engine, w.librarian, badge.id, SUBJECT, now=NOW, signer=signer)
    return Badged(w, badge.id, claimed.credential)


def paste(at: AppTest, text: str) -> AppTest:
    at.text_area(key=session.VERIFY_TEXT).input(text).run()
    assert not at.exception
    return at


@pytest.mark.parametrize("who", ROLES)
def test_the_verify_page_accepts_an_issued_badge_for_everyone(badged: Badged, who: str) -> None:
    w = badged.world
    at = paste(page("verify", None if who == "nobody" else getattr(w, who), w), json.dumps(badged.credential))
    assert at.success[0].value.startswith("Valid")
    shown = texts(at)
    assert "Code club" in shown and SUBJECT in shown and badged.credential["id"] in shown


def test_the_verify_page_says_revoked_after_a_revoke_in_the_readers_language(badged: Badged) -> None:
    w = badged.world
    with writing(w.engine) as conn:
        issuance.revoke(conn, w.lead_gbg, badged.credential["id"], "Given by mistake", now=NOW)
    at = paste(page("verify", None, w, "sv"), json.dumps(badged.credential))
    assert at.error[0].value.startswith("Återkallat")
    assert "Varför:\n- " + explain(BadgeError("revoked").reason, "sv") in texts(at)


@pytest.mark.parametrize(
    ("change", "reason"),
    [(lambda c: c["credentialSubject"]["achievement"].update(name="Champion"), "forged"),
     (lambda c: c.update({"@context": c["@context"][::-1]}), "context"),
     (lambda c: c.pop("proof"), "signature")],
)  # fmt: skip
def test_the_verify_page_refuses_a_changed_badge_and_says_why(badged: Badged, change: Any, reason: str) -> None:
    broken = copy.deepcopy(badged.credential)
    change(broken)
    at = paste(page("verify", None, badged.world), json.dumps(broken))
    assert at.error[0].value.startswith("Not valid")
    assert reason in texts(at).lower()


@pytest.mark.parametrize("text", ["not json at all", '{"a": 1}', "[" * 5000])
def test_the_verify_page_answers_nonsense_calmly(badged: Badged, text: str) -> None:
    at = paste(page("verify", None, badged.world), text)
    assert at.error[0].value.startswith("Not valid")


def test_the_badges_page_asks_a_signed_out_visitor_to_sign_in(signed_in: World) -> None:
    at = page("badges", None, signed_in)
    assert "Sign in to see this page." in texts(at)
    assert not at.button and not at.text_input


def tab_labels(at: AppTest) -> list[str]:
    return [t.label for t in at.tabs]


def test_a_provider_defines_a_badge_in_two_languages(signed_in: World) -> None:
    at = page("badges", signed_in.librarian, signed_in)
    assert tab_labels(at)[:2] == ["Our badges", "Define a badge"] and "To review" not in tab_labels(at)
    at.text_input(key="define_name_en").input("Code club")
    at.text_area(key="define_description_en").input("Wrote a game.")
    at.text_area(key="define_criteria_en").input("Three sessions.")
    at.text_input(key="define_name_pl").input("Klub kodowania")
    at.text_area(key="define_description_pl").input("Napisał(a) grę.")
    at.text_area(key="define_criteria_pl").input("Trzy spotkania.")
    at.radio(key="define_picture").set_value("leaf")
    next(b for b in at.get("form_submit_button") if b.proto.label == "Save the badge").click().run()
    assert not at.exception
    with signed_in.engine.connect() as conn:
        (badge,) = achievements.list_achievements(conn, organisation_id=signed_in.library)
    assert badge.texts["en"].name == "Code club" and badge.texts["pl"].name == "Klub kodowania"
    assert badge_images.name_of(badge.image_url) == "leaf"
    assert "Code club" in texts(at)


def test_a_provider_makes_a_claim_code_and_sees_its_qr_code(badged: Badged) -> None:
    w = badged.world
    at = page("badges", w.librarian, w)
    next(b for b in at.get("form_submit_button") if b.proto.label == "Make a claim code").click().run()
    assert not at.exception
    code = st_code(at)
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code)
    (qr,) = [i.proto.imgs[0] for i in at.get("image") if i.proto.imgs[0].caption == "QR code of the claim link"]
    svg = base64.b64decode(qr.url.removeprefix("data:image/svg+xml;base64,")).decode("utf-8")
    assert svg.lstrip().startswith("<svg") and "<script" not in svg
    assert any(f"/claim?code={code}" in c.value for c in at.code)
    with writing(w.engine) as conn:  # the code is real: it redeems
        assert claims.redeem(conn, code, kind=claims.CodeKind.CODE, now=NOW).achievement_id == badged.badge_id


def st_code(at: AppTest) -> str:
    found = [m.value for m in at.markdown if m.value.startswith("## `")]
    assert found, texts(at)
    return found[0].removeprefix("## `").removesuffix("`")


def test_another_city_lead_sees_nothing_of_the_badge(badged: Badged) -> None:
    w = badged.world
    at = page("badges", w.lead_kranj, w)
    assert "Code club" not in texts(at)
    at = page("badges", w.lead_gbg, w)
    assert "Code club" in texts(at)
    assert tab_labels(at)[:3] == ["Badges in the city", "To review", "Playlists"]


def test_a_provider_of_another_organisation_cannot_revoke(badged: Badged) -> None:
    w = badged.world
    at = page("badges", w.newcomer_member, w)
    form_revoke(at, badged.credential["id"], "no reason")
    assert "Your account may not do this." in texts(at)
    at = page("badges", w.librarian, w)
    form_revoke(at, badged.credential["id"], "Given by mistake")
    assert "The badge is revoked." in texts(at)


def form_revoke(at: AppTest, credential_id: str, reason: str) -> None:
    inputs = [t for t in at.text_input if t.label == "Badge id"]
    inputs[0].input(credential_id)
    next(t for t in at.text_area if t.label == "Why it is revoked").input(reason)
    next(b for b in at.get("form_submit_button") if b.proto.label == "Revoke the badge").click().run()
    assert not at.exception


def test_explore_marks_an_activity_that_awards_a_badge_in_the_list_and_the_detail(badged: Badged) -> None:
    w = badged.world
    with writing(w.engine) as conn:
        set_status(conn, w.ids["Kodklubb"], Status.PUBLISHED)
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "explore.py"), default_timeout=60)
    at.session_state[session.LANGUAGE] = "sv"
    at.query_params["id"] = str(w.ids["Kodklubb"])
    at.run()
    assert not at.exception
    notes = [line for m in at.main.markdown if m.value.startswith("**") for line in m.value.split("  \n")]
    marks = [n.removeprefix(":small[:gray[").removesuffix("]]") for n in notes if "märke" in n]
    assert marks == [":material/workspace_premium: " + escape_markdown("Delar ut ett märke: Kodklubben")]
    shown = " ".join(m.value for m in at.markdown)  # the dialog is not in the main area
    assert "**Märke:** " + escape_markdown("Kodklubben: fråga efter koden på aktiviteten") in shown


def test_the_verify_page_looks_up_a_pasted_id_or_a_link_to_one(badged: Badged) -> None:
    w = badged.world
    credential_id = str(badged.credential["id"])
    at = paste(page("verify", None, w), f"{w.settings.public_url}/verify?id={credential_id.replace(':', '%3A')}")
    assert at.success[0].value == "Issued here and not revoked."
    assert "Code club" in texts(at) and "drop its file here" in texts(at)
    with writing(w.engine) as conn:
        issuance.revoke(conn, w.librarian, credential_id, "Given by mistake", now=NOW)
    at = paste(page("verify", None, w, "pl"), credential_id)
    assert at.error[0].value.startswith("Unieważniona")
    at = paste(page("verify", None, w), "urn:uuid:00000000-0000-4000-8000-000000000000")
    assert texts(at).count("urn:uuid:00000000-0000-4000-8000-000000000000") == 1 and not at.success


def test_a_city_lead_makes_a_playlist_and_the_wallet_is_told_of_it(badged: Badged) -> None:
    w = badged.world
    with writing(w.engine) as conn:
        set_status(conn, w.ids["Schack"], Status.PUBLISHED)
        second = achievements.define_badge(conn, w.librarian, w.ids["Schack"], now=NOW, texts={
            "en": {"name": "Chess player", "description": "Played a tournament.", "criteria": "Five games."}})  # fmt: skip
        if second.status is Status.PENDING:
            achievements.review_badge(conn, w.lead_gbg, second.id, approve=True, now=NOW)
    at = page("badges", w.lead_gbg, w)
    members = next(m for m in at.multiselect if m.label == "Badges in the playlist")
    members.set_value([badged.badge_id, second.id])
    next(n for n in at.number_input if n.label == "How many (for “any”)").set_value(2)
    at.text_input(key="playlist_name_en").input("Göteborg Explorer")
    at.text_area(key="playlist_description_en").input("Two badges of the city.")
    at.text_area(key="playlist_criteria_en").input("Both.")
    next(b for b in at.get("form_submit_button") if b.proto.label == "Save the playlist").click().run()
    assert not at.exception
    assert "The playlist is saved." in texts(at)
    assert "Any 2 of them" in texts(at)
    wallet = component_data(page("my_badges", None, w, "sv"), "wallet")
    (offer,) = wallet["playlists"]  # type: ignore[misc]
    assert offer["name"] == "Göteborg Explorer" and offer["need"] == 2 and offer["rule"] == "Vilka 2 som helst av dem"
    assert offer["members"] == [achievements.achievement_url(w.settings.public_url, i) for i in (badged.badge_id, second.id)]
    assert badged.credential["credentialSubject"]["achievement"]["id"] in offer["members"]


def test_another_citys_lead_cannot_see_or_use_the_playlist_form_for_this_city(badged: Badged) -> None:
    at = page("badges", badged.world.lead_kranj, badged.world)
    assert "Code club" not in texts(at)
    assert "A playlist needs at least two published badges in the city." in texts(at)


def test_a_mailed_claim_links_token_reaches_the_form(signed_in: World) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "claim.py"), default_timeout=60)
    at.query_params["token"] = "x7Hq_3-aZ"
    at.run()
    data = component_data(at, "claim")
    assert data["token"] == "x7Hq_3-aZ" and data["code"] == ""


def test_awarding_by_email_without_a_mail_server_says_so_and_sends_nothing(badged: Badged) -> None:
    w = badged.world
    at = page("badges", w.librarian, w)
    next(t for t in at.text_area if t.label.startswith("E-mail addresses")).input("ada@example.org\nbo@example.org,sv")
    next(b for b in at.get("form_submit_button") if b.proto.label == "Send the claim links").click().run()
    assert not at.exception
    assert explain(BadgeError("mail_not_configured").reason, "en") in texts(at)


def test_a_rejected_badge_is_changed_by_its_provider_and_goes_back_to_review(signed_in: World) -> None:
    w = signed_in
    with writing(w.engine) as conn:
        badge = achievements.define_badge(conn, w.librarian, w.ids["Kodklubb"], texts=TEXTS, now=NOW,
                                          image_url=badge_images.data_url("book"))  # fmt: skip
        if badge.status is Status.PUBLISHED:
            pytest.skip("the library publishes directly: nothing to review")
        achievements.review_badge(conn, w.lead_gbg, badge.id, approve=False, note="Say what the criteria are", now=NOW)
    at = page("badges", w.librarian, w)
    assert "Say what the criteria are" in texts(at)
    assert at.text_input(key=f"edit_{badge.id}_name_en").value == "Code club"
    assert at.radio(key=f"edit_{badge.id}_picture").value == "book"
    at.text_area(key=f"edit_{badge.id}_criteria_en").input("Come to three sessions and finish a game.")
    next(b for b in at.get("form_submit_button") if b.proto.label == "Save the changes").click().run()
    assert not at.exception
    with w.engine.connect() as conn:
        changed = achievements.get_achievement(conn, badge.id)
    assert changed.status is Status.PENDING and changed.texts["en"].criteria == "Come to three sessions and finish a game."
    assert changed.texts["sv"].name == "Kodklubben"  # the other languages kept
    other = page("badges", w.newcomer_member, w)  # another organisation's provider sees nothing of it
    assert "Code club" not in texts(other)


@pytest.mark.parametrize(("path", "who", "title"), [("pages/claim.py", None, "Claim a badge"), ("pages/my_badges.py", None, "My badges"),
                                                     ("pages/verify.py", None, "Verify a badge"), ("pages/badges.py", "admin", "Badges")])  # fmt: skip
def test_the_pages_are_in_the_apps_navigation(signed_in: World, path: str, who: str | None, title: str) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    if who is not None:
        with writing(signed_in.engine) as conn:
            user = getattr(signed_in, who)
            at.session_state[session.SESSION_TOKEN] = start_session(conn, user.id, NOW, settings=signed_in.settings)
    at.session_state[session.LANGUAGE] = "en"
    at.switch_page(path).run()
    assert not at.exception
    assert at.title[0].value == title


def test_an_admin_sees_the_leads_part_of_every_city(badged: Badged) -> None:
    at = page("badges", badged.world.admin, badged.world)
    assert tab_labels(at)[:3] == ["Badges in the city", "To review", "Playlists"]
    assert "Our badges" not in tab_labels(at)
    assert "Code club" in texts(at)


def test_explore_filters_to_activities_that_award_a_badge_and_puts_it_in_the_link(badged: Badged) -> None:
    w = badged.world
    with writing(w.engine) as conn:
        for title in ("Kodklubb", "Schack", "Robotika"):
            set_status(conn, w.ids[title], Status.PUBLISHED)
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "explore.py"), default_timeout=60)
    at.session_state[session.LANGUAGE] = "en"
    at.run()
    everything = card_titles(at)
    assert {"Kodklubb", "Schack", "Robotika"} <= set(everything)
    at.checkbox(key=session.BADGE_ONLY).check().run()
    assert not at.exception
    assert card_titles(at) == ["Kodklubb"]
    assert at.query_params["badge"] == "1"
    # A link with the filter opens with it; a bad value is dropped with a message.
    link = AppTest.from_file(str(PROJECT_ROOT / "pages" / "explore.py"), default_timeout=60)
    link.session_state[session.LANGUAGE] = "en"
    link.query_params["badge"] = "1"
    link.run()
    assert card_titles(link) == ["Kodklubb"] and link.checkbox(key=session.BADGE_ONLY).value
    bad = AppTest.from_file(str(PROJECT_ROOT / "pages" / "explore.py"), default_timeout=60)
    bad.session_state[session.LANGUAGE] = "en"
    bad.query_params["badge"] = "maybe"
    bad.run()
    assert "The badge filter" in " ".join(x.value for x in bad.warning)
    assert set(card_titles(bad)) == set(everything)


def card_titles(at: AppTest) -> list[str]:
    return [m.value.split("**")[1] for m in at.main.markdown if m.value.startswith("**") and "  \n" in m.value]


def test_explore_shows_a_playlists_activities_from_a_link_or_the_menu(badged: Badged) -> None:
    w = badged.world
    with writing(w.engine) as conn:
        for title in ("Kodklubb", "Schack", "Robotika"):
            set_status(conn, w.ids[title], Status.PUBLISHED)
        second = achievements.define_badge(conn, w.librarian, w.ids["Schack"], now=NOW, texts={
            "en": {"name": "Chess player", "description": "Played a tournament.", "criteria": "Five games."}})  # fmt: skip
        if second.status is Status.PENDING:
            achievements.review_badge(conn, w.lead_gbg, second.id, approve=True, now=NOW)
        made = playlists.create_playlist(conn, w.lead_gbg, city_id=w.gbg, members=[badged.badge_id, second.id],
                                         rule=playlists.Rule.any_n(2), now=NOW, texts={
                                             "en": {"name": "Göteborg Explorer", "description": "Two.", "criteria": "Both."}})  # fmt: skip
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "explore.py"), default_timeout=60)
    at.session_state[session.LANGUAGE] = "en"
    at.query_params["playlist"] = str(made.id)
    at.run()
    assert not at.exception
    assert sorted(card_titles(at)) == ["Kodklubb", "Schack"]
    assert "Göteborg Explorer" in at.info[0].value and "Any 2 of them" in at.info[0].value
    at.selectbox(key=session.PLAYLIST).select(None).run()
    assert "Robotika" in card_titles(at) and "playlist" not in at.query_params
    gone = AppTest.from_file(str(PROJECT_ROOT / "pages" / "explore.py"), default_timeout=60)
    gone.session_state[session.LANGUAGE] = "en"
    gone.query_params["playlist"] = "999"
    gone.run()
    assert not gone.exception
    assert escape_markdown("The playlist 999 in the link was ignored.") in " ".join(x.value for x in gone.warning)
    assert "Robotika" in card_titles(gone)
