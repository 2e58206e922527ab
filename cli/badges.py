"""``python -m opportunities badges …``: the issuer's keys and verifying a badge file.

``badges keys`` shows the issuer key (creating it on first use) and ``--rotate`` retires it for a
new one; ``badges verify FILE`` checks a credential (JSON, or a PNG or SVG with one baked in) and
prints valid, revoked, expired or invalid and why; the exit code is 0 only when it is valid.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli import badge_store
from cli.database import opened_engine
from opportunities.settings import Settings

EXIT_OK = 0
EXIT_NOT_VALID = 1  # verify: revoked, expired or invalid


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a moment like 2026-12-06T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_parser(sub: Any) -> None:
    """The ``badges`` command and its actions, added to the command line's subparsers."""
    p = sub.add_parser("badges", help="Open Badges: the issuer's keys, verifying a badge file")
    actions = p.add_subparsers(dest="badges_action", required=True)
    a = actions.add_parser("keys", help="show the issuer key (BADGE_KEY_FILE), creating it on first use")
    a.add_argument("--rotate", action="store_true", help="retire the current key (kept for verifying) and create a new one")
    a.set_defaults(run=cmd_badges_keys)
    a = actions.add_parser("verify", help="verify a badge: a credential JSON, or a PNG or SVG with one baked in")
    a.add_argument("file", metavar="FILE", help="the credential file, or - for standard input")
    a.add_argument(
        "--status-list",
        action="append",
        default=[],
        metavar="FILE",
        help="a revocation list credential (JSON) to check the badge against, by its id (repeatable)",
    )
    a.add_argument("--now", type=_moment, help="verify as at this moment (default: now)")
    a.add_argument("--json", action="store_true", help="print the result as JSON")
    a.set_defaults(run=cmd_badges_verify)
    badge_store.add_actions(actions)


def _did_web_host(settings: Settings) -> str | None:
    from opportunities.badges.keys import did_web_for

    return did_web_for(settings.public_url) if settings.badge_issuer_did == "web" else None


def cmd_badges_keys(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.badges.keys import exposure, load_issuer_keys, rotate_issuer_key

    path = settings.badge_key_file
    existed = path.exists()
    if args.rotate:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        rotate_issuer_key(path, stamp=stamp, did_web_host=_did_web_host(settings))
    keys = load_issuer_keys(path, did_web_host=_did_web_host(settings))
    current = keys[0]
    state = "rotated: a new key" if args.rotate else ("" if existed else "created")
    print(f"key file: {path}{f' ({state})' if state else ''}")
    print(f"issuer: {current.did}")
    print(f"verification method: {current.verification_method}")
    print(f"public key: {current.public_multibase}")
    for old in keys[1:]:
        print(f"retired (still verifies): {old.verification_method}")
    problem = exposure(path)
    if problem:
        print(
            f"warning: the key can be read or replaced by others: {problem}; chmod 600 the file, 700 its folder", file=sys.stderr
        )
    return EXIT_OK


def _read_bytes(name: str, limit: int) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read(limit + 1)
    with Path(name).open("rb") as file:  # OSError: exit 4 in main
        return file.read(limit + 1)  # more than the limit is refused by verify, without reading it all


def _status_lists(args: argparse.Namespace, limit: int) -> Callable[[str], dict[str, Any] | None]:
    """The revocation lists given on the command line, by their id. Nothing is fetched."""
    lists: dict[str, dict[str, Any]] = {}
    for name in args.status_list:
        try:
            listed = json.loads(_read_bytes(name, limit).decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise argparse.ArgumentTypeError(f"{name} is not a JSON revocation list") from None
        if isinstance(listed, dict) and isinstance(listed.get("id"), str):
            lists[listed["id"]] = listed
    return lists.get


def cmd_badges_verify(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.badges.awarding import own_status_lists
    from opportunities.badges.keys import load_issuer_keys
    from opportunities.badges.verification import MAX_BYTES, verify

    data = _read_bytes(args.file, MAX_BYTES)
    try:
        status_lists = _status_lists(args, MAX_BYTES)
    except argparse.ArgumentTypeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    known = (
        load_issuer_keys(settings.badge_key_file, did_web_host=_did_web_host(settings))
        if settings.badge_key_file.exists()
        else ()
    )
    with opened_engine(settings) as engine:
        # A list given with --status-list first; else this deployment's own, from its database.
        own = own_status_lists(engine, settings, keys=known)
        result = verify(
            data, known_keys=known, status_list=lambda url: status_lists(url) or own(url), now=args.now or datetime.now(UTC)
        )
    if args.json:
        shown = result.as_json()
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        print(result.state)
        for reason in result.reasons:
            print(f"  why: {reason}")
        rows = [
            ("issuer", f"{result.issuer_name} ({result.issuer})" if result.issuer_name else result.issuer),
            ("achievement", result.achievement_name),
            ("subject", result.subject),
            ("issued", result.issued.isoformat() if result.issued else None),
            ("valid until", result.valid_until.isoformat() if result.valid_until else None),
            ("credential", result.credential_id),
        ]
        for label, value in rows:
            if value:
                print(f"{label}: {value}")
    return EXIT_OK if result.valid else EXIT_NOT_VALID
