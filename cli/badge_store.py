"""``python -m opportunities badges list|award|revoke``: the badges of the database, an
organiser's award (a credential file, or claim links by mail) and revocation, as the command line
(audited as "command line": whoever runs it has the database itself)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.database import opened_engine as _engine
from opportunities.settings import Settings

EXIT_OK = 0
EXIT_PARTIAL = 1  # award --emails: some messages could not be sent
EXIT_UNUSABLE = 2


def add_actions(actions: Any) -> None:
    """``list``, ``award`` and ``revoke``, added to the ``badges`` command's actions."""
    a = actions.add_parser("list", help="the badges (id, status, kind, city, name) with their counts of issued and revoked")
    a.add_argument("--city", help="only the badges of this city")
    a.add_argument("--status", choices=("pending", "published", "rejected", "archived"), help="only badges of this status")
    a.set_defaults(run=cmd_badges_list)
    a = actions.add_parser("award", help="award a published badge: a signed credential file, or claim links by mail")
    a.add_argument("achievement", metavar="ACHIEVEMENT", type=int, help="the badge's id (see: badges list)")
    to = a.add_mutually_exclusive_group(required=True)
    to.add_argument("--subject", metavar="ID", help="the learner's identifier (did:key:… or urn:uuid:…); needs --out")
    to.add_argument("--emails", metavar="FILE.csv", help="a CSV of email[,language]: each gets a one-time claim link, "
                                                         "then the address is forgotten (needs SMTP_HOST)")  # fmt: skip
    a.add_argument("--out", metavar="FILE", help="where to write the signed credential (JSON)")
    a.add_argument("--force", action="store_true", help="overwrite --out when it exists")
    a.set_defaults(run=cmd_badges_award)
    a = actions.add_parser("revoke", help="revoke an issued badge, with a reason (audited; the status list says so at once)")
    a.add_argument("credential", metavar="CREDENTIAL_ID", help="the credential's id (urn:uuid:…)")
    a.add_argument("--reason", required=True, help="why it is revoked (kept with the record and in the audit log)")
    a.set_defaults(run=cmd_badges_revoke)


def cmd_badges_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import func, select

    from opportunities.badges.achievements import list_achievements
    from opportunities.db import queries
    from opportunities.db.schema import badge_issuances
    from opportunities.errors import NotFoundError
    from opportunities.vocabulary import Status

    with _engine(settings) as engine, engine.connect() as conn:
        city_ids = None
        if args.city:
            city = queries.find_city(conn, args.city)
            if city is None or city.id is None:
                raise NotFoundError(f"no city {args.city!r}")
            city_ids = [city.id]
        statuses = [Status(args.status)] if args.status else None
        cities = {c.id: c.name for c in queries.list_cities(conn)}
        i = badge_issuances.c
        counts = {row.achievement_id: (row.issued, row.revoked) for row in conn.execute(
            select(i.achievement_id, func.count().label("issued"), func.count(i.revoked_at).label("revoked")).group_by(i.achievement_id)
        )}  # fmt: skip
        found = list_achievements(conn, city_ids=city_ids, statuses=statuses)
    if not found:
        print("no badges")
    for badge in found:
        issued, revoked = counts.get(badge.id, (0, 0))
        print(f"{badge.id}\t{badge.status.value}\t{badge.kind.value}\t{cities.get(badge.city_id, badge.city_id)}\t"
              f"{badge.text('en').name}\tissued {issued}, revoked {revoked}")  # fmt: skip
    return EXIT_OK


def cmd_badges_award(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.badges import awarding, issuance
    from opportunities.listings.review import COMMAND_LINE

    now = datetime.now(UTC)
    if args.emails:
        if args.out:
            print("error: --out goes with --subject; claim links are mailed", file=sys.stderr)
            return EXIT_UNUSABLE
        recipients = awarding.read_recipients(Path(args.emails).read_bytes())
        with _engine(settings) as engine:
            sent, failed = awarding.award_by_email(engine, COMMAND_LINE, args.achievement, recipients, now=now, settings=settings)
        print(f"claim links: {len(recipients)} queued, {sent} sent, {failed} failed (the outbox keeps the failed ones' addresses "
              "until an admin deals with them)" if failed else f"claim links: {sent} sent; no address was kept")  # fmt: skip
        return EXIT_PARTIAL if failed else EXIT_OK
    if not args.out:
        print("error: --subject needs --out FILE, where the signed credential is written", file=sys.stderr)
        return EXIT_UNUSABLE
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists already; name another file, or overwrite it with --force", file=sys.stderr)
        return EXIT_UNUSABLE
    with _engine(settings) as engine:
        claimed = awarding.award(
            engine, COMMAND_LINE, args.achievement, args.subject, now=now, signer=issuance.signer_for(settings)
        )
    _write_json(out, claimed.credential)
    print(f"awarded {claimed.issuance.credential_id} to {args.subject}: {out}")
    return EXIT_OK


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """Written whole or not at all: to a temporary file beside it, then renamed."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def cmd_badges_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.badges import issuance
    from opportunities.db.connection import writing
    from opportunities.listings.review import COMMAND_LINE

    with _engine(settings) as engine, writing(engine) as conn:
        revoked = issuance.revoke(conn, COMMAND_LINE, args.credential, args.reason, now=datetime.now(UTC))
    print(f"revoked {revoked.credential_id} (status list {revoked.status.list_id}, index {revoked.status.index})")
    return EXIT_OK
