"""Verifying an Open Badge: shape, contexts, signature, issuer, dates and revocation, all at once.

:func:`verify` takes what a person drops on the Verify page or gives the command line (a parsed
credential, or the bytes of a JSON file or of a PNG or SVG with the credential baked in) and
never raises: it returns a :class:`Verification` whose ``state`` is ``valid``, ``revoked``,
``expired`` or ``invalid`` and whose ``reasons`` say why, worded once for every language.

| what is wrong | reason code | state |
|---|---|---|
| more than :data:`MAX_BYTES` | ``too_large`` | invalid |
| not JSON, cut off | ``not_json`` | invalid |
| image without a baked credential | ``no_baked_credential`` | invalid |
| type lacks VerifiableCredential / OpenBadgeCredential | ``not_a_credential`` | invalid |
| a context not bundled | ``unknown_context`` | invalid |
| contexts swapped, missing, inline | ``wrong_context`` | invalid |
| a term no context defines | ``undefined_term`` | invalid |
| a field missing or of the wrong shape | ``malformed`` | invalid |
| no proof / another kind of proof | ``no_proof`` / ``unsupported_proof`` | invalid |
| signature does not match (tampered, forged) | ``forged`` | invalid |
| key that cannot be resolved offline | ``unknown_issuer`` | invalid |
| key not the issuer's | ``issuer_mismatch`` | invalid |
| ``validFrom`` in the future | ``not_yet_valid`` | invalid |
| status list missing / damaged or not the issuer's | ``status_unavailable`` / ``bad_status_list`` | invalid |
| bit set in the revocation list | ``revoked`` | revoked |
| ``validUntil`` passed | ``expired`` | expired |
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cachetools import LRUCache

from opportunities.badges.contexts import CONTEXT_FILES, OB_V3P0, VC_V2
from opportunities.badges.jose import from_vc_jwt, looks_like_jwt
from opportunities.badges.keys import IssuerKey
from opportunities.badges.proofs import check_proof
from opportunities.badges.status_lists import STATUS_PURPOSE, revoked_in
from opportunities.errors import BadgeError, Reason

MAX_BYTES = 1024 * 1024
# Clocks of issuer and verifier may differ this much (as Digital Bazaar's vc allows).
CLOCK_SKEW = timedelta(minutes=5)
_log = logging.getLogger(__name__)
State = Literal["valid", "revoked", "expired", "invalid"]
StatusListSource = Callable[[str], "dict[str, Any] | None"]
CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
# Status list credentials whose proof was found valid (by content): only valid ones are kept.
_CHECKED_LISTS: LRUCache[tuple[bytes, tuple[str, ...]], str] = LRUCache(maxsize=64)
_LISTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found. ``reasons`` and ``codes`` list every problem (codes of
    :data:`opportunities.errors.BADGE_REASONS`); the other fields are read from the credential
    as it claims to be, for showing, even when it is invalid."""

    valid: bool
    state: State
    reasons: tuple[Reason, ...]
    issuer: str | None = None
    achievement_name: str | None = None
    subject: str | None = None
    issued: datetime | None = None
    valid_until: datetime | None = None
    credential_id: str | None = None
    codes: tuple[str, ...] = ()
    issuer_name: str | None = None
    achievement_id: str | None = None
    issued_here: bool = False  # signed by one of ``known_keys`` (our own issuer)
    credential: Mapping[str, Any] | None = field(default=None, repr=False)

    def as_json(self, gettext: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The verdict as JSON (for the verify route and ``badges verify --json``): the reasons worded
        with ``gettext`` (the reader's language; English without), their codes beside them."""
        return {
            "state": self.state,
            "valid": self.valid,
            "reasons": [reason.render(gettext) if gettext else str(reason) for reason in self.reasons],
            "codes": list(self.codes),
            "issuer": self.issuer,
            "issuer_name": self.issuer_name,
            "issued_here": self.issued_here,
            "achievement": self.achievement_name,
            "achievement_id": self.achievement_id,
            "subject": self.subject,
            "issued": self.issued.isoformat() if self.issued else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "credential_id": self.credential_id,
        }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_text(data: bytes) -> str:
    """The text of a credential file: JSON or a compact JWS, read from a PNG or SVG when baked in.
    ``BadgeError``: ``too_large``, ``no_baked_credential``, ``not_json`` (not UTF-8)."""
    from opportunities.badges.baking import looks_like_image, unbake

    if len(data) > MAX_BYTES:
        raise BadgeError("too_large", limit=MAX_BYTES)
    if looks_like_image(data):
        return unbake(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadgeError("not_json") from None


def read_document(data: bytes) -> dict[str, Any]:
    """The credential in ``data``: JSON, or a PNG or SVG with one baked in. ``BadgeError``:
    ``too_large``, ``not_json``, ``no_baked_credential``, ``not_a_credential``."""
    try:
        parsed = json.loads(read_text(data))
    except (ValueError, RecursionError):
        raise BadgeError("not_json") from None
    if not isinstance(parsed, dict):
        raise BadgeError("not_a_credential")
    return parsed


def _credential_of(document: dict[str, Any] | bytes, known_keys: Sequence[IssuerKey]) -> tuple[Any, str | None]:
    """The credential, and the verification method when it came as a VC-JOSE JWT (signature checked)."""
    if not isinstance(document, bytes):
        return document, None
    text = read_text(document)
    if looks_like_jwt(text):
        return from_vc_jwt(text, known_keys=known_keys)
    return read_document(document), None


def _check_shape(credential: Mapping[str, Any]) -> None:
    if len(json.dumps(credential, ensure_ascii=False).encode("utf-8")) > MAX_BYTES:
        raise BadgeError("too_large", limit=MAX_BYTES)
    types = credential.get("type")
    types = [types] if isinstance(types, str) else types
    if (
        not isinstance(types, list)
        or not all(isinstance(name, str) for name in types)
        or "VerifiableCredential" not in types
        or not CREDENTIAL_TYPES & set(types)
    ):
        raise BadgeError("not_a_credential")
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not all(isinstance(url, str) for url in contexts):
        raise BadgeError("wrong_context")
    for url in contexts:
        if url not in CONTEXT_FILES:
            raise BadgeError("unknown_context", url=url[:200])
    if contexts[:1] != [VC_V2] or OB_V3P0 not in contexts or len(set(contexts)) != len(contexts):
        raise BadgeError("wrong_context")
    for name in ("id", "issuer", "credentialSubject", "validFrom"):
        if name not in credential:
            raise BadgeError("malformed", field=name)
    if _id_of(credential["issuer"]) is None:
        raise BadgeError("malformed", field="issuer")
    if not isinstance(credential["credentialSubject"], dict):
        raise BadgeError("malformed", field="credentialSubject")
    for name in ("validFrom", "validUntil"):
        if name in credential and _parse_time(credential[name]) is None:
            raise BadgeError("malformed", field=name)


def _check_signature(credential: Mapping[str, Any], known_keys: Sequence[IssuerKey]) -> bool:
    """Raises unless the proof is valid and made by the issuer; True when the key is one of ours."""
    method = check_proof(credential, known_keys=known_keys)
    issuer = _id_of(credential["issuer"])
    if method.partition("#")[0] != issuer:
        raise BadgeError("issuer_mismatch")
    return any(key.verification_method == method for key in known_keys)


def _status_entry(credential: Mapping[str, Any]) -> tuple[str, int] | None:
    status = credential.get("credentialStatus")
    if status is None:
        return None
    entries = status if isinstance(status, list) else [status]
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadgeError("malformed", field="credentialStatus")
        if entry.get("type") != "BitstringStatusListEntry" or entry.get("statusPurpose") != STATUS_PURPOSE:
            continue
        url, index = entry.get("statusListCredential"), entry.get("statusListIndex")
        if not isinstance(url, str) or not isinstance(index, str) or not index.isascii() or not index.isdigit():
            raise BadgeError("malformed", field="credentialStatus")
        return url, int(index)
    return None


def _checked_list_proof(listed: Mapping[str, Any], known_keys: Sequence[IssuerKey]) -> str:
    """:func:`check_proof` of a status list credential, remembered: every credential of a list names
    the same one, and checking its proof costs as much as checking the credential's."""
    digest = hashlib.sha256(json.dumps(listed, sort_keys=True, ensure_ascii=False).encode("utf-8")).digest()
    key = (digest, tuple(key.verification_method for key in known_keys))
    with _LISTS_LOCK:
        method = _CHECKED_LISTS.get(key)
    if method is None:
        method = check_proof(listed, known_keys=known_keys)
        with _LISTS_LOCK:
            _CHECKED_LISTS[key] = method
    return method


def _check_status(
    credential: Mapping[str, Any], status_list: StatusListSource, known_keys: Sequence[IssuerKey], now: datetime
) -> bool:
    """Whether the credential is revoked; raises when its status cannot be known."""
    entry = _status_entry(credential)
    if entry is None:
        return False
    url, index = entry
    try:
        listed = status_list(url)
    except BadgeError:
        raise
    except Exception:  # a status source that fails is a list we cannot read, never a traceback
        listed = None
    if listed is None:
        raise BadgeError("status_unavailable", url=url[:200])
    try:
        if listed.get("@context") != [VC_V2] or listed.get("id") != url:
            raise BadgeError("bad_status_list", url=url[:200])
        method = _checked_list_proof(listed, known_keys)
        if _id_of(listed.get("issuer")) != _id_of(credential["issuer"]) or method.partition("#")[0] != _id_of(
            listed.get("issuer")
        ):
            raise BadgeError("bad_status_list", url=url[:200])
        until = _parse_time(listed.get("validUntil"))
        if until is not None and until + CLOCK_SKEW < now:
            raise BadgeError("bad_status_list", url=url[:200])
    except BadgeError as error:
        if error.code == "bad_status_list":
            raise
        raise BadgeError("bad_status_list", url=url[:200]) from None
    return revoked_in(listed, index=index)


def _read_fields(credential: Mapping[str, Any]) -> dict[str, Any]:
    subject = credential.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    issuer = credential.get("issuer")
    return {
        "issuer": _id_of(issuer),
        "issuer_name": _text(issuer.get("name")) if isinstance(issuer, dict) else None,
        "achievement_name": _text(achievement.get("name")) or _text(credential.get("name")),
        "achievement_id": _text(achievement.get("id")),
        "subject": _text(subject.get("id")),
        "issued": _parse_time(credential.get("validFrom")),
        "valid_until": _parse_time(credential.get("validUntil")),
        "credential_id": _text(credential.get("id")),
    }


def _invalid(error: BadgeError, fields: Mapping[str, Any] | None = None) -> Verification:
    return Verification(False, "invalid", (error.reason,), codes=(error.code,), **(fields or {}))


def verify(
    document: dict[str, Any] | bytes,
    *,
    known_keys: Sequence[IssuerKey],
    status_list: StatusListSource,
    now: datetime,
) -> Verification:
    """Everything about ``document`` a verifier checks; never raises. ``status_list(url)`` gives the
    status list credential at ``url`` (or None when it cannot); nothing is fetched here. ``now``
    without a time zone is taken as UTC."""
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    try:
        return _verify(document, known_keys=known_keys, status_list=status_list, now=now)
    except Exception:  # a defect here must not become a traceback on the Verify page: logged, and invalid
        _log.exception("verifying a credential failed")
        return _invalid(BadgeError("malformed", field="credential"))


def _verify(
    document: dict[str, Any] | bytes,
    *,
    known_keys: Sequence[IssuerKey],
    status_list: StatusListSource,
    now: datetime,
) -> Verification:
    try:
        credential, jwt_method = _credential_of(document, known_keys)
        if not isinstance(credential, dict):
            raise BadgeError("not_a_credential")
        _check_shape(credential)
    except BadgeError as error:
        return _invalid(error)
    except RecursionError:
        return _invalid(BadgeError("not_json"))
    fields = _read_fields(credential)
    try:
        if jwt_method is None:
            ours = _check_signature(credential, known_keys)
        else:  # the JWT's signature and issuer were checked as it was read
            ours = any(key.verification_method == jwt_method for key in known_keys)
        issued = fields["issued"]
        if issued is not None and issued - CLOCK_SKEW > now:
            raise BadgeError("not_yet_valid", day=issued.astimezone(UTC).date())
        revoked = _check_status(credential, status_list, known_keys, now)
    except BadgeError as error:
        return _invalid(error, {**fields, "credential": credential})
    except RecursionError:
        return _invalid(BadgeError("malformed", field="credential"), fields)
    problems: list[BadgeError] = []
    if revoked:
        problems.append(BadgeError("revoked"))
    until = fields["valid_until"]
    if until is not None and until + CLOCK_SKEW < now:
        problems.append(BadgeError("expired", day=until.astimezone(UTC).date()))
    state: State = "revoked" if revoked else "expired" if problems else "valid"
    return Verification(
        state == "valid",
        state,
        tuple(problem.reason for problem in problems),
        codes=tuple(problem.code for problem in problems),
        issued_here=ours,
        credential=credential,
        **fields,
    )
