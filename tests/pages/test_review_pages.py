"""The Upload and Review pages for each role (streamlit.testing.v1.AppTest), forbidden paths included.

A sign-in is put into the session state as ui/access.py documents (AppTest cannot set cookies).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from streamlit.proto.Block_pb2 import Block as BlockProto
from streamlit.testing.v1 import AppTest

from opportunities.db import schema
from opportunities.db.connection import writing
from opportunities.vocabulary import Status
from tests.conftest import World, page


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "warning", "error", "info", "success")
             for e in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize(("name", "who"), [("upload", "lead_gbg"), ("review", "librarian"), ("review", "newcomer_member")])
def test_a_page_for_another_role_shows_nothing_of_it(signed_in: World, name: str, who: str) -> None:
    at = page(name, getattr(signed_in, who), signed_in)
    assert not at.exception
    assert "This page is not available to your account." in texts(at)
    assert not at.dataframe and not at.button


@pytest.mark.parametrize("who", ["disabled_lead", "nobody"])
@pytest.mark.parametrize("name", ["upload", "review"])
def test_a_signed_out_visitor_or_disabled_account_is_asked_to_sign_in(signed_in: World, name: str, who: str) -> None:
    at = page(name, None if who == "nobody" else signed_in.disabled_lead, signed_in)
    assert "Sign in to see this page." in texts(at)
    assert not at.dataframe


def test_the_upload_page_offers_the_templates_in_the_users_language(signed_in: World) -> None:
    at = page("upload", signed_in.librarian, signed_in, "sv")
    assert not at.exception
    assert at.title[0].value == "Ladda upp aktiviteter"
    assert "Stadsbiblioteket Göteborg" in texts(at)
    downloads = [b.proto.label for b in at.get("download_button")]
    assert downloads == ["Mall (Excel)", "Mall (CSV)", "Vokabulär (CSV)"]


def test_the_review_page_shows_the_leads_queue_and_decides(signed_in: World) -> None:
    at = page("review", signed_in.lead_gbg, signed_in)
    assert not at.exception
    queue = at.dataframe[0].value
    assert list(queue["Title"]) == ["Kodklubb", "Schack", "Debattklubb"]
    assert "Robotika" not in queue["Title"].tolist()  # Kranj is another lead's
    assert at.selectbox[1].value == signed_in.ids["Kodklubb"]
    at.button(key=f"approve_{signed_in.ids['Kodklubb']}").click().run()
    assert not at.exception
    assert "Saved." in texts(at)
    with signed_in.engine.connect() as conn:
        status = conn.execute(
            select(schema.opportunities.c.status).where(schema.opportunities.c.id == signed_in.ids["Kodklubb"])
        ).scalar_one()
    assert status == Status.PUBLISHED.value
    assert list(at.dataframe[0].value["Title"]) == ["Schack", "Debattklubb"]


def test_the_review_page_escapes_provider_text(signed_in: World) -> None:
    with writing(signed_in.engine) as conn:
        conn.execute(schema.opportunities.update().where(schema.opportunities.c.id == signed_in.ids["Kodklubb"])
                     .values(description="**bold** <img src=x onerror=alert(1)> [link](javascript:alert(1))"))  # fmt: skip
    at = page("review", signed_in.lead_gbg, signed_in)
    shown = [m.value for m in at.markdown if "bold" in m.value]
    assert shown and all("\\*\\*bold\\*\\*" in s and "\\[link\\]" in s and "\\<img" in s for s in shown)


def test_the_review_page_flags_text_that_hides_its_direction(signed_in: World) -> None:
    with writing(signed_in.engine) as conn:
        conn.execute(schema.opportunities.update().where(schema.opportunities.c.id == signed_in.ids["Kodklubb"])
                     .values(title="Kodklubb \u202egpj.exe"))  # fmt: skip
    at = page("review", signed_in.lead_gbg, signed_in)
    assert any("invisible characters that change the direction" in w.value for w in at.warning)
    with writing(signed_in.engine) as conn:
        conn.execute(schema.opportunities.update().where(schema.opportunities.c.id == signed_in.ids["Kodklubb"])
                     .values(title="Kodklubb \u0645\u200c\u0646"))  # a joiner in Persian text is no trick  # fmt: skip
    at = page("review", signed_in.lead_gbg, signed_in)
    assert not any("invisible characters" in w.value for w in at.warning)


def test_the_review_page_names_kinds_actions_and_records_in_words(signed_in: World) -> None:
    w = signed_in
    at = page("review", w.lead_gbg, w, "sv")
    assert not [m.value for m in at.markdown if " · ngo" in m.value or m.value.startswith("ngo")]  # the kind, in Swedish
    [log] = [d.value for d in at.dataframe if "Typ av ändring" in d.value.columns or "Kind of change" in d.value.columns]
    records = " ".join(str(v) for v in log.iloc[:, 3])
    assert "opportunity" not in records and "aktivitet " in records  # "listing 4" in Swedish, not the table name
    changed_at = " ".join(str(v) for v in log.iloc[:, 0])
    assert "UTC" in changed_at or ":" in changed_at


def test_bulk_approve_and_request_changes_on_the_page(signed_in: World) -> None:
    w = signed_in
    at = page("review", w.lead_gbg, w, "pl")
    at.multiselect[0].select(w.ids["Kodklubb"]).select(w.ids["Schack"])
    at.button[0].click().run()  # "Zatwierdź wybrane", the bulk form's button
    assert not at.exception
    assert list(at.dataframe[0].value["Tytuł"]) == ["Debattklubb"]
    oid = w.ids["Debattklubb"]
    at.text_area[1].input("Dodaj adres, proszę")  # the request-changes note
    at.button(key=f"FormSubmitter:changes_{oid}-Poproś o zmiany").click().run()
    assert not at.exception
    assert "Żadne zgłoszenie nie czeka na sprawdzenie." in texts(at)
    with w.engine.connect() as conn:
        rows = dict(conn.execute(select(schema.opportunities.c.title, schema.opportunities.c.status)
                                 .where(schema.opportunities.c.id.in_(list(w.ids.values())))).all())  # fmt: skip
    assert rows == {"Kodklubb": "published", "Schack": "published", "Debattklubb": "draft", "Robotika": "pending"}


def test_another_citys_lead_sees_none_of_it(signed_in: World) -> None:
    at = page("review", signed_in.lead_kranj, signed_in)
    assert list(at.dataframe[0].value["Title"]) == ["Robotika"]
    assert list(at.selectbox[0].options) == ["All my cities", "Kranj"]


def test_review_one_keeps_every_choice_and_opens_the_next_after_a_decision(signed_in: World) -> None:
    w = signed_in
    at = page("review", w.lead_gbg, w)
    for title in ("Schack", "Debattklubb", "Kodklubb", "Schack"):  # the second choice, and every later one, is kept
        at.selectbox[1].select(w.ids[title]).run()
        assert not at.exception
        assert at.selectbox[1].value == w.ids[title]
        assert at.subheader[0].value == title
    at.button(key=f"approve_{w.ids['Schack']}").click().run()  # decided: the one after it opens, not the first
    assert not at.exception
    assert at.selectbox[1].value == w.ids["Debattklubb"]
    assert at.subheader[0].value == "Debattklubb"
    oid = w.ids["Debattklubb"]
    at.text_area[0].input("Inte för oss")  # the last one decided: the one before it opens
    at.button(key=f"FormSubmitter:reject_{oid}-Reject").click().run()
    assert not at.exception
    assert at.selectbox[1].value == w.ids["Kodklubb"]


def _tab_shown(at: AppTest) -> int:
    """The index of the tab the page tells the browser to show."""
    found = [node.proto.tab_container.default_tab_index for node in at.main.children.values()
             if isinstance(node.proto, BlockProto) and node.proto.WhichOneof("type") == "tab_container"]  # fmt: skip
    assert len(found) == 1
    return found[0]


def test_the_tab_chosen_stays_open_after_verifying_an_organisation(signed_in: World) -> None:
    w = signed_in
    at = page("review", w.lead_gbg, w)
    at.session_state["review_tab"] = "Provider organisations"  # as the lead's click on the tab sets it
    at.run()
    assert _tab_shown(at) == 1
    at.button(key=f"verify_{w.newcomer}").click().run()
    assert not at.exception
    assert "Saved." in texts(at)
    assert _tab_shown(at) == 1


def test_review_times_are_in_the_citys_time_and_say_which(signed_in: World) -> None:
    w = signed_in
    with writing(w.engine) as conn:
        conn.execute(schema.opportunities.update().where(schema.opportunities.c.id == w.ids["Kodklubb"])
                     .values(created_at=datetime(2026, 12, 5, 9, 30, tzinfo=UTC)))  # fmt: skip
    at = page("review", w.lead_gbg, w, "sv")
    queue = at.dataframe[0].value
    assert queue.iloc[0, 1] == "5 dec. 2026 10:30 CET"  # Göteborg: UTC+1 in winter, named
    [log] = [d.value for d in at.dataframe if "Ändrad" in " ".join(d.value.columns)]
    assert all(str(v).endswith(("CET", "CEST", "UTC")) for v in log.iloc[:, 0])
