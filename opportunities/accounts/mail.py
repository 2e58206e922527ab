"""Mail: invitations, password resets, notices to city leads, review results.

Every message is first written to the ``mail_outbox`` table, in the transaction of the change that
causes it, then sent by :func:`deliver_pending` after the commit when SMTP_HOST is set. Without a
server the message stays in the outbox, where an admin sees it on the Account page and can pass
its link on; a failed send is recorded on the message and fails nothing for the person who acted.
Messages are written in the recipient's language. Once a message is sent, the outbox forgets its
address (the recipient is blanked): a badge's claim link mailed to a participant leaves no trace of
who it went to.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import Connection, Engine, insert, select, update

from opportunities.accounts.permissions import Action, authorise
from opportunities.db import connection, queries
from opportunities.db.schema import mail_outbox
from opportunities.i18n import format_when, translator
from opportunities.settings import Settings
from opportunities.text import without_hidden_controls

if TYPE_CHECKING:
    from opportunities.accounts.identity import User

SMTP_TIMEOUT_S = 15
_SENDING = "sending…"  # claimed by one process; another skips it


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    body: str


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    created_at: datetime
    recipient: str
    subject: str
    body: str
    sent_at: datetime | None
    error: str


def link(settings: Settings, page: str, **params: str) -> str:
    """An absolute link into the app (PUBLIC_URL), e.g. ``link(s, "sign_in", reset=token)``."""
    query = f"?{urlencode(params)}" if params else ""
    return f"{settings.public_url}/{page}{query}"


def queue(conn: Connection, message: Message, now: datetime) -> int:
    """Write a message to the outbox in the caller's transaction; returns its id."""
    # Names in subjects and bodies are provider text: a direction override in one would disguise the mail.
    values = {"created_at": now, "recipient": message.recipient, "subject": without_hidden_controls(message.subject)[:300],
              "body": without_hidden_controls(message.body)}  # fmt: skip
    return int(conn.execute(insert(mail_outbox).returning(mail_outbox.c.id).values(**values)).scalar_one())


def deliver_pending(engine: Engine, settings: Settings, now: datetime) -> tuple[int, int]:
    """Send the outbox's unsent messages when SMTP_HOST is set; returns (sent, failed).

    Without SMTP_HOST nothing is sent and (0, 0) returned. A sent message keeps no address (its
    recipient is blanked). A failure is written on the message (``error``, the address kept so an
    admin can pass it on) and not retried automatically; never raises for a mail problem.
    """
    if not settings.smtp_host:
        return 0, 0
    sent = failed = 0
    with engine.connect() as conn:
        ids = list(conn.execute(select(mail_outbox.c.id).where(mail_outbox.c.sent_at.is_(None), mail_outbox.c.error == "")
                                .order_by(mail_outbox.c.id)).scalars())  # fmt: skip
    for message_id in ids:
        with connection.writing(engine) as conn:
            claimed = conn.execute(update(mail_outbox).where(mail_outbox.c.id == message_id, mail_outbox.c.sent_at.is_(None),
                                                             mail_outbox.c.error == "").values(error=_SENDING))  # fmt: skip
            if claimed.rowcount != 1:
                continue
            row = conn.execute(select(mail_outbox).where(mail_outbox.c.id == message_id)).one()
        error = ""
        try:
            send(Message(row.recipient, row.subject, row.body), settings)
        except (OSError, smtplib.SMTPException, ssl.SSLError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000] or "failed"
        with connection.writing(engine) as conn:
            sent_values: dict[str, Any] = (
                {"error": error, "sent_at": None} if error else {"error": "", "sent_at": now, "recipient": ""}
            )
            conn.execute(update(mail_outbox).where(mail_outbox.c.id == message_id).values(**sent_values))
        if error:
            failed += 1
        else:
            sent += 1
    return sent, failed


def send(message: Message, settings: Settings) -> None:
    """Send one message through the configured SMTP server now. Raises OSError/SMTPException."""
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    mail.set_content(message.body)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(mail)


def outbox(conn: Connection, user: User | None, *, unsent_only: bool = False, limit: int = 100) -> list[OutboxEntry]:
    """The newest messages, for an admin. Raises :class:`ForbiddenError` for anyone else."""

    authorise(user, Action.VIEW_OUTBOX)
    query = select(mail_outbox).order_by(mail_outbox.c.id.desc()).limit(limit)
    if unsent_only:
        query = query.where(mail_outbox.c.sent_at.is_(None))
    return [_outbox_entry(r) for r in conn.execute(query)]


def _outbox_entry(r: Any) -> OutboxEntry:
    return OutboxEntry(id=r.id, created_at=queries.aware(r.created_at) or r.created_at, recipient=r.recipient, subject=r.subject,
                       body=r.body, sent_at=queries.aware(r.sent_at), error=r.error)  # fmt: skip


# --- the messages, each in the recipient's language ------------------------------------------


def invitation_message(
    recipient: str, language: str, *, organisation: str, invited_by: str, url: str, expires_at: datetime
) -> Message:
    _ = translator(language).gettext
    return Message(
        recipient,
        _("Join {organisation} on the Cities of Learning map").format(organisation=organisation),
        _(
            "{person} invites you to publish learning opportunities for {organisation} on the Cities of Learning map.\n\n"
            "Open this link to create your account (valid until {expires}):\n{url}\n\n"
            "If you did not expect this message, ignore it."
        ).format(person=invited_by, organisation=organisation, expires=format_when(expires_at, language), url=url),
    )


def confirmation_message(recipient: str, language: str, *, organisation: str, url: str, days: int) -> Message:
    _ = translator(language).gettext
    return Message(
        recipient,
        _("Confirm your address for the Cities of Learning map"),
        _(
            "Someone registered {organisation} on the Cities of Learning map with this address.\n\n"
            "Open this link within {days} days to confirm that the address is yours and to sign in (it works once):\n{url}\n\n"
            "If it was not you, ignore this message: the registration is removed after {days} days."
        ).format(organisation=organisation, url=url, days=days),
    )


def password_reset_message(recipient: str, language: str, *, url: str, minutes: int) -> Message:
    _ = translator(language).gettext
    return Message(
        recipient,
        _("Choose a new password for the Cities of Learning map"),
        _(
            "Someone asked to reset the password of your account on the Cities of Learning map.\n\n"
            "Open this link within {minutes} minutes to choose a new password (it works once):\n{url}\n\n"
            "If it was not you, ignore this message: your password stays as it is."
        ).format(minutes=minutes, url=url),
    )


def organisation_registered_message(recipient: str, language: str, *, organisation: str, city: str, url: str) -> Message:
    _ = translator(language).gettext
    return Message(
        recipient,
        _("New organisation to verify: {organisation}").format(organisation=organisation),
        _(
            "{organisation} registered on the Cities of Learning map in {city}. Its listings are published only "
            "after you verify it.\n\nReview it here:\n{url}"
        ).format(organisation=organisation, city=city, url=url),
    )
