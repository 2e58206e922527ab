"""Verifying a badge for the Verify page, on the server and offline: our issuer keys (the current
one and those retired by rotation) and our own revocation lists, read from the database rather
than fetched. A credential of another issuer is still checked (a ``did:key`` resolves from the
string itself); a status list of another site cannot be read, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from opportunities.badges import issuance, status_lists, verification
from opportunities.badges.keys import IssuerKey
from opportunities.badges.verification import Verification
from opportunities.errors import BadgeError
from opportunities.settings import Settings
from ui import access

_LIST_ID = re.compile(r"(\d+)")


def list_id_of(url: str, public_url: str) -> int | None:
    """The id of our own status list at ``url`` (None for any other address)."""
    prefix = issuance.status_list_url(public_url, 0)[: -len("0")]
    if not url.startswith(prefix):
        return None
    found = _LIST_ID.fullmatch(url[len(prefix) :])
    return int(found.group(1)) if found else None


def local_status_list(url: str, *, settings: Settings, known: Sequence[IssuerKey], now: datetime) -> dict[str, Any] | None:
    """Our status list credential at ``url``, made from the database as the route serves it."""
    list_id = list_id_of(url, settings.public_url)
    if list_id is None or not known:
        return None
    with access.engine().connect() as conn:
        state = issuance.status_list_state(conn, list_id)
    if state is None:
        return None
    return status_lists.status_list_credential(list_url=url, revoked=state.revoked, issuer=known[0], issued=now, size=state.size)


def verify_bytes(data: bytes, *, now: datetime) -> Verification:
    """What :func:`opportunities.badges.verification.verify` finds in ``data`` (JSON, or a PNG or
    SVG with a baked credential); never raises."""
    settings = access.settings()
    try:
        known = issuance.issuer_keys(settings)
    except BadgeError:  # no usable key file: other issuers' badges can still be checked
        known = ()
    return verification.verify(
        data, known_keys=known, status_list=lambda url: local_status_list(url, settings=settings, known=known, now=now), now=now
    )
