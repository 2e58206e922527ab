"""Awards by email through a real SMTP server (aiosmtpd): one-time claim links in each recipient's
language, and no address left behind; offline awards."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from opportunities.accounts import audit
from opportunities.badges import awarding
from opportunities.badges.claims import CodeKind
from opportunities.db import schema
from opportunities.errors import BadgeError
from opportunities.listings.review import COMMAND_LINE
from tests.badges.store import NOW, SUBJECT, Badges, make_badges
from tests.conftest import World

CSV = "email;language\nana@example.org;sv\nbor@example.si;sl\n\nANA@example.org;sv\nkuba@example.pl;pl-PL\nlee@example.com;\n"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def badges(world: World, tmp_path: Path) -> Badges:
    return make_badges(world, tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CSV, [("ana@example.org", "sv"), ("bor@example.si", "sl"), ("kuba@example.pl", "pl"), ("lee@example.com", "en")]),
        ("a@b.example\nc@d.example\n", [("a@b.example", "en"), ("c@d.example", "en")]),
        ("email,language\r\n", []),
        ("\ufeffe-mail,language\r\nx@y.example,sl\r\n", [("x@y.example", "sl")]),
    ],
)
def test_email_lists_are_read_with_each_language(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(r.email, r.language) for r in awarding.read_recipients(text.encode())] == expected


@pytest.mark.parametrize(("text", "reason"), [("ana@example.org\nnot an address\n", "email_invalid"),
                                              ("ana@example.org,sv\n<x>@y.z\n", "email_invalid"),
                                              ("".join(f"p{n}@example.org\n" for n in range(501)), "too_many_emails")])  # fmt: skip
def test_a_bad_email_list_is_refused_whole(text: str, reason: str) -> None:
    with pytest.raises(BadgeError) as refused:
        awarding.read_recipients(text)
    assert refused.value.code == reason


def test_claim_links_reach_each_recipient_in_their_language_and_the_outbox_forgets_them(
    badges: Badges, smtp: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp
    settings = replace(badges.world.settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                       public_url="https://map.example.org")  # fmt: skip
    recipients = awarding.read_recipients(CSV)
    sent, failed = awarding.award_by_email(badges.engine, badges.world.librarian, badges.code_club, recipients, now=NOW,
                                           settings=settings)  # fmt: skip
    assert failed == 0 and sent >= 4
    received = {m["To"]: m for m in inbox.messages}
    swedish = received["ana@example.org"]
    subject = str(make_header(decode_header(swedish["Subject"])))
    body = swedish.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert subject == "Ditt märke: Kodklubben" and "https://map.example.org/claim?token=" in body
    assert "Code club" in str(make_header(decode_header(received["kuba@example.pl"]["Subject"])))  # no Polish text: English
    assert "značk" in str(make_header(decode_header(received["bor@example.si"]["Subject"]))).lower()
    # The outbox keeps no address once sent; the audit log says how many, never who.
    with badges.engine.connect() as conn:
        outbox = conn.execute(select(schema.mail_outbox.c.recipient, schema.mail_outbox.c.sent_at)).all()
        logged = [e for e in audit.entries(conn, badges.world.admin, entity="badge") if e.action == "award_badge_by_email"]
    assert outbox and all(r.recipient == "" and r.sent_at is not None for r in outbox)
    assert logged[0].after == {"links": 4} and "example" not in str(logged[0].after) + logged[0].note
    # The link works once, for the identifier the learner's browser made.
    token = parse_qs(urlsplit(body[body.index("https://") :].split()[0]).query)["token"][0]

    def claim() -> awarding.Claimed:
        return awarding.claim(badges.engine, token, SUBJECT, kind=CodeKind.LINK, client="", now=NOW, settings=settings,
                              signer=badges.signer)  # fmt: skip

    first = claim()
    assert first.issuance.via == "link" and badges.verify(first.credential).valid
    with pytest.raises(BadgeError) as refused:
        claim()
    assert refused.value.code == "code_used"
    with pytest.raises(BadgeError) as typed:  # a link token is not a code to type
        awarding.claim(
            badges.engine, token, SUBJECT, kind=CodeKind.CODE, client="", now=NOW, settings=settings, signer=badges.signer
        )
    assert typed.value.code == "code_malformed"


def test_without_a_mail_server_no_address_is_queued(badges: Badges) -> None:
    with pytest.raises(BadgeError) as refused:
        awarding.award_by_email(badges.engine, badges.world.librarian, badges.code_club, awarding.read_recipients(CSV), now=NOW,
                                settings=badges.world.settings)  # fmt: skip
    assert refused.value.code == "mail_not_configured"
    with badges.engine.connect() as conn:
        assert not conn.execute(select(schema.mail_outbox).where(schema.mail_outbox.c.recipient.contains("example.org"))).all()
        assert not conn.execute(select(schema.badge_claim_codes)).all()


def test_an_offline_award_from_the_command_line_is_audited_as_such(badges: Badges) -> None:
    claimed = awarding.award(badges.engine, COMMAND_LINE, badges.robotics, SUBJECT, now=NOW, signer=badges.signer)
    assert claimed.issuance.via == "award" and badges.verify(claimed.credential).valid
    with badges.engine.connect() as conn:
        [entry] = [e for e in audit.entries(conn, badges.world.admin, entity="badge") if e.action == "award_badge"]
    assert entry.actor == "command line" and entry.city_id == badges.world.kranj
