"""The review of submissions: the queue, decisions, audit, mail, and every forbidden path; uploads by
signed-in people; the ``review`` command line."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from cli.commands import main
from opportunities.accounts import audit, organisations
from opportunities.accounts.accounts import disable_user
from opportunities.accounts.identity import User
from opportunities.db import queries, schema
from opportunities.db.connection import writing
from opportunities.db.schema import mail_outbox
from opportunities.errors import FieldError, ForbiddenError, ImportChangedError, ReviewStateError
from opportunities.listings import listings, review, uploads
from opportunities.listings.importing import Outcome
from opportunities.listings.spreadsheets import read_table_bytes
from opportunities.listings.submission import FormValues
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Status
from tests.conftest import KRANJ, LIMITS, NOW, World, csv_bytes, template_row


def status_of(world: World, title: str) -> tuple[Status, str]:
    with world.engine.connect() as conn:
        row = conn.execute(select(schema.opportunities.c.status, schema.opportunities.c.review_note)
                           .where(schema.opportunities.c.id == world.ids[title])).one()  # fmt: skip
    return Status(row.status), row.review_note


def outbox(world: World) -> list[tuple[str, str, str]]:
    with world.engine.connect() as conn:
        return [(r.recipient, r.subject, r.body) for r in conn.execute(select(mail_outbox).order_by(mail_outbox.c.id))]


def test_the_queue_holds_the_leads_cities_pending_submissions_oldest_first(world: World) -> None:
    with world.engine.connect() as conn:
        gbg = review.queue(conn, world.lead_gbg)
        assert [i.opportunity.title for i in gbg] == ["Kodklubb", "Schack", "Debattklubb"]
        assert [i.organisation.verified for i in gbg] == [True, True, False]
        assert [i.opportunity.title for i in review.queue(conn, world.lead_kranj)] == ["Robotika"]
        assert len(review.queue(conn, world.admin)) == 4
        assert [o.name for o in review.unverified_organisations(conn, world.lead_gbg)] == ["Nytt Forum"]
        assert review.unverified_organisations(conn, world.lead_kranj) == []


def test_approve_publishes_audits_and_tells_the_provider_in_their_language(world: World) -> None:
    with writing(world.engine) as conn:
        published = review.approve(conn, world.lead_gbg, world.ids["Kodklubb"], now=NOW, settings=world.settings)
    assert published.status is Status.PUBLISHED and published.updated_at == NOW
    with world.engine.connect() as conn:
        [entry] = audit.entries(conn, world.lead_gbg, entity="opportunity", entity_id=world.ids["Kodklubb"])
    assert (entry.actor, entry.action, entry.city_id) == ("lead@goteborg.example", "approve", world.gbg)
    assert (entry.before, entry.after) == ({"status": "pending", "review_note": ""}, {"status": "published", "review_note": ""})
    recipient, subject, body = outbox(world)[-1]
    assert recipient == "bibliotekarie@example.org"
    assert subject == "Publicerad: Kodklubb" and "/my_opportunities" in body


@pytest.mark.parametrize(
    ("decide", "status"),
    [(review.reject, Status.REJECTED), (review.request_changes, Status.DRAFT)],
)
def test_reject_and_request_changes_need_a_note_the_provider_sees(world: World, decide: object, status: Status) -> None:
    run = decide  # type: ignore[assignment]
    with pytest.raises(FieldError), writing(world.engine) as conn:
        run(conn, world.lead_gbg, world.ids["Schack"], "   ", now=NOW, settings=world.settings)  # type: ignore[operator]
    assert status_of(world, "Schack") == (Status.PENDING, "")
    note = "Lägg till adressen, <b>tack</b>"
    with writing(world.engine) as conn:
        run(conn, world.lead_gbg, world.ids["Schack"], note, now=NOW, settings=world.settings)  # type: ignore[operator]
    assert status_of(world, "Schack") == (status, note)
    assert note in outbox(world)[-1][2]


def test_an_unverified_organisations_listing_is_published_only_after_verification(world: World) -> None:
    with pytest.raises(ReviewStateError, match="not verified"), writing(world.engine) as conn:
        review.approve(conn, world.lead_gbg, world.ids["Debattklubb"], now=NOW, settings=world.settings)
    with writing(world.engine) as conn:
        organisations.verify_organisation(conn, world.lead_gbg, world.newcomer, now=NOW)
        review.approve(conn, world.lead_gbg, world.ids["Debattklubb"], now=NOW, settings=world.settings)
    assert status_of(world, "Debattklubb")[0] is Status.PUBLISHED
    # The member who uploaded it hears, in Swedish.
    assert outbox(world)[-1][:2] == ("anna@nytt.example", "Publicerad: Debattklubb")


def test_a_listing_is_reviewed_once(world: World) -> None:
    with writing(world.engine) as conn:
        review.approve(conn, world.lead_gbg, world.ids["Kodklubb"], now=NOW, settings=world.settings)
    with pytest.raises(ReviewStateError, match="not pending"), writing(world.engine) as conn:
        review.reject(conn, world.admin, world.ids["Kodklubb"], "too late", now=NOW, settings=world.settings)
    assert status_of(world, "Kodklubb") == (Status.PUBLISHED, "")


@pytest.mark.parametrize("who", ["lead_kranj", "librarian", "newcomer_member", "nobody", "disabled_lead"])
@pytest.mark.parametrize("decision", ["approve", "reject", "request_changes", "queue", "audit"])
def test_forbidden_reviews_change_nothing(world: World, who: str, decision: str) -> None:
    """A city lead of another city, a provider (even of the listing's own organisation), a
    signed-out visitor and a disabled account may not review a Göteborg listing."""
    user = None if who == "nobody" else getattr(world, who)
    oid = world.ids["Kodklubb"]
    decide = {
        "approve": lambda conn: review.approve(conn, user, oid, now=NOW, settings=world.settings),
        "reject": lambda conn: review.reject(conn, user, oid, "no", now=NOW, settings=world.settings),
        "request_changes": lambda conn: review.request_changes(conn, user, oid, "no", now=NOW, settings=world.settings),
        "queue": lambda conn: review.queue(conn, user, city_id=world.gbg),
        "audit": lambda conn: audit.entries(conn, user, city_id=world.gbg),
    }[decision]
    with writing(world.engine) as conn, pytest.raises(ForbiddenError):
        decide(conn)
    assert status_of(world, "Kodklubb") == (Status.PENDING, "")


@pytest.mark.parametrize("who", ["librarian", "nobody", "disabled_lead"])
def test_who_may_not_review_sees_no_queue_at_all(world: World, who: str) -> None:
    user = None if who == "nobody" else getattr(world, who)
    with pytest.raises(ForbiddenError), world.engine.connect() as conn:
        review.queue(conn, user)


def test_bulk_approve_is_all_or_nothing(world: World) -> None:
    ids = [world.ids["Kodklubb"], world.ids["Robotika"]]  # Robotika is in Kranj
    with pytest.raises(ForbiddenError), writing(world.engine) as conn:
        review.approve_many(conn, world.lead_gbg, ids, now=NOW, settings=world.settings)
    assert status_of(world, "Kodklubb")[0] is Status.PENDING
    with writing(world.engine) as conn:
        done = review.approve_many(conn, world.admin, ids, now=NOW, settings=world.settings)
    assert [o.status for o in done] == [Status.PUBLISHED, Status.PUBLISHED]


def test_city_leads_read_the_audit_log_of_their_cities_only(world: World) -> None:
    with writing(world.engine) as conn:
        review.approve(conn, world.lead_kranj, world.ids["Robotika"], now=NOW, settings=world.settings)
        review.approve(conn, world.lead_gbg, world.ids["Kodklubb"], now=NOW, settings=world.settings)
    with world.engine.connect() as conn:
        assert {e.entity_id for e in audit.entries(conn, world.lead_kranj, entity="opportunity")} == {world.ids["Robotika"]}
        gbg = audit.entries(conn, world.lead_gbg, entity="opportunity")
    assert {e.action for e in gbg} == {"approve", "upload"}  # and the newcomer's upload
    assert all(e.city_id == world.gbg for e in gbg)


@pytest.mark.parametrize("who", ["lead_gbg", "nobody", "disabled_provider"])
def test_forbidden_uploads(world: World, geocoder: Geocoder, who: str) -> None:
    if who == "disabled_provider":
        with writing(world.engine) as conn:
            user: User | None = disable_user(conn, world.librarian.id, now=NOW)
    else:
        user = None if who == "nobody" else getattr(world, who)
    table = read_table_bytes(csv_bytes([template_row(title="Sneaky")]), "x.csv", limits=LIMITS)
    with pytest.raises(ForbiddenError):
        uploads.preview_upload(world.engine, user, table, geocoder)


def test_an_upload_is_checked_again_when_confirmed(world: World, geocoder: Geocoder) -> None:
    table = read_table_bytes(csv_bytes([template_row(title="Late")]), "x.csv", limits=LIMITS)
    preview = uploads.preview_upload(world.engine, world.librarian, table, geocoder)
    with writing(world.engine) as conn:
        disabled = disable_user(conn, world.librarian.id, now=NOW)
    with pytest.raises(ForbiddenError):
        uploads.confirm_upload(world.engine, disabled, table, geocoder, preview, now=NOW)


def test_a_trusted_organisation_publishes_its_upload_and_the_listing_records_who(world: World, geocoder: Geocoder) -> None:
    table = read_table_bytes(csv_bytes([template_row(title="Läsecirkel", provider="")]), "x.csv", limits=LIMITS)
    pending = uploads.preview_upload(world.engine, world.librarian, table, geocoder)
    with writing(world.engine) as conn:
        organisations.set_trusted(conn, world.lead_gbg, world.library, True, now=NOW)
    with pytest.raises(ImportChangedError, match="permission to publish"):
        uploads.confirm_upload(world.engine, world.librarian, table, geocoder, pending, now=NOW)
    preview = uploads.preview_upload(world.engine, world.librarian, table, geocoder)
    assert preview.publish_in == {world.gbg} and [r.outcome for r in preview.rows] == [Outcome.STORE]
    [oid] = uploads.confirm_upload(world.engine, world.librarian, table, geocoder, preview, now=NOW).stored_ids
    with world.engine.connect() as conn:
        row = conn.execute(select(schema.opportunities).where(schema.opportunities.c.id == oid)).one()
    assert (row.status, row.submitted_by) == ("published", world.librarian.id)


def test_trust_is_the_citys_a_trusted_organisation_publishes_directly_only_where_it_is_trusted(
    world: World, geocoder: Geocoder
) -> None:
    """Trusted by Göteborg's lead, the library publishes at once in Göteborg; in Kranj its listings
    (a form or an upload) wait for Kranj's review until Kranj's lead trusts it too."""
    with writing(world.engine) as conn:
        organisations.set_trusted(conn, world.lead_gbg, world.library, True, now=NOW)
        with pytest.raises(ForbiddenError):  # Göteborg's lead cannot give trust in Kranj
            organisations.set_trusted(conn, world.lead_gbg, world.library, True, now=NOW, city_id=world.kranj)
    rows = [template_row(title="Läsecirkel", provider=""), template_row(title="Branje", **{**KRANJ, "provider": ""})]
    table = read_table_bytes(csv_bytes(rows), "x.csv", limits=LIMITS)
    preview = uploads.preview_upload(world.engine, world.librarian, table, geocoder)
    assert preview.publish_in == frozenset({world.gbg}) and not preview.publish
    stored = uploads.confirm_upload(world.engine, world.librarian, table, geocoder, preview, now=NOW).stored_ids
    in_kranj = FormValues(title="Knjižni klub", description="", city="Kranj", country="SI", latitude=46.2389, longitude=14.3556,
                          topics=("digital-skills",), age_min=12, mode="in-person", type="club", start_day=date(2026, 12, 2))  # fmt: skip
    with writing(world.engine) as conn:
        by_form = listings.submit(conn, world.librarian, in_kranj, geocoder=geocoder, now=NOW)
        statuses = [queries.get_opportunity(conn, oid).status for oid in stored]
    assert statuses == [Status.PUBLISHED, Status.PENDING]
    assert by_form.status is Status.PENDING
    with writing(world.engine) as conn:
        organisations.set_trusted(conn, world.lead_kranj, world.library, True, now=NOW, city_id=world.kranj)
        again = listings.submit(conn, world.librarian, replace(in_kranj, title="Knjižni klub 2"), geocoder=geocoder, now=NOW)
        trust = organisations.get_organisation(conn, world.library).trusted_in
        log = audit.entries(conn, world.lead_kranj, entity="organisation", entity_id=world.library)
    assert again.status is Status.PUBLISHED and trust == frozenset({world.gbg, world.kranj})
    assert [(e.action, e.city_id) for e in log] == [("set_trusted", world.kranj)]  # Kranj's lead sees Kranj's decision only


def test_a_provider_uploads_only_their_organisations_listings(world: World, geocoder: Geocoder) -> None:
    table = read_table_bytes(csv_bytes([template_row(title="Theirs", provider="Nytt Forum")]), "x.csv", limits=LIMITS)
    preview = uploads.preview_upload(world.engine, world.librarian, table, geocoder)
    assert [(r.outcome, r.field) for r in preview.rows] == [(Outcome.REJECT, "provider")]


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("CACHE_DIR", str(world.settings.cache_dir))
    return world


def test_review_command_lists_approves_rejects(cli_world: World, capsys: pytest.CaptureFixture[str]) -> None:
    w = cli_world
    assert main(["review", "list", "--city", "Göteborg"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert [line.split("\t")[-2] for line in lines if not line.startswith(("\t", "organisation"))] == [
        "Kodklubb",
        "Schack",
        "Debattklubb",
    ]
    assert any(line.startswith("organisation") and "Nytt Forum" in line for line in lines)
    assert "3 pending, 1 organisations to verify" in out.err

    assert main(["review", "approve", str(w.ids["Kodklubb"]), str(w.ids["Robotika"])]) == 0
    assert status_of(w, "Robotika")[0] is Status.PUBLISHED
    assert main(["review", "reject", str(w.ids["Schack"]), "--reason", "Dubblett av Kodklubb"]) == 0
    assert status_of(w, "Schack") == (Status.REJECTED, "Dubblett av Kodklubb")
    with w.engine.connect() as conn:
        entries = audit.entries(conn, w.admin, entity="opportunity", entity_id=w.ids["Schack"])
    assert [(e.actor, e.action) for e in entries] == [("command line", "reject")]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["review", "approve", "999999"], 2, "no opportunity with id 999999"),
        (["review", "approve", "{Debattklubb}"], 2, "not verified"),
        (["review", "request-changes", "{Schack}", "--note", " "], 2, "note"),
        (["review", "list", "--city", "Atlantis"], 2, "no city called 'Atlantis'"),
    ],
)
def test_review_command_refusals_exit_2_without_a_traceback(
    cli_world: World, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    argv = [a.format(**cli_world.ids) for a in argv]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert status_of(cli_world, "Schack")[0] is Status.PENDING


@pytest.mark.parametrize("argv", [["review", "reject", "5"], ["review", "approve"], ["review", "approve", "x"]])
def test_review_command_line_errors_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_review_message_is_escaped_nowhere_because_mail_is_text(world: World) -> None:
    # Mail bodies are plain text: the provider's own title comes back exactly as written.
    with world.engine.connect() as conn:
        opp = queries.get_opportunity(conn, world.ids["Kodklubb"])
    message = review.review_message(
        "a@b.example", "pl", replace(opp, title="<script>x</script> & co"), action="reject", note="powód", settings=world.settings
    )
    assert "<script>x</script> & co" in message.subject and "powód" in message.body


def test_the_decision_reaches_the_provider_through_a_real_smtp_server(world: World) -> None:
    from email import message_from_bytes
    from email.header import decode_header, make_header

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    received: list[bytes] = []

    class Keep(MessageHandler):
        def handle_message(self, message: object) -> None:
            received.append(bytes(message.as_bytes()))  # type: ignore[attr-defined]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = replace(world.settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        with writing(world.engine) as conn:
            review.reject(conn, world.lead_gbg, world.ids["Kodklubb"], "Adressen saknas", now=NOW, settings=settings)
        from opportunities.accounts import mail

        assert mail.deliver_pending(world.engine, settings, NOW)[1] == 0
    finally:
        controller.stop()
    [raw] = [r for r in received if b"bibliotekarie@example.org" in r]
    message = message_from_bytes(raw)
    assert str(make_header(decode_header(message["Subject"]))) == "Inte publicerad: Kodklubb"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes) and "Adressen saknas" in body.decode()
