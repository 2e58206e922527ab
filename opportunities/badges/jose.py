"""The same credential secured the other way W3C standardised: VC-JOSE-COSE (``application/vc+jwt``).

An additional download for wallets that take JWTs: the credential (without its Data Integrity
proof) is the payload of a compact JWS, ``alg`` ``EdDSA`` (RFC 8037), ``typ`` ``vc+jwt``, ``cty``
``vc``, ``kid`` the issuer's verification method. :func:`from_vc_jwt` checks one and returns the
credential; :func:`opportunities.badges.verification.verify` accepts both forms.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from opportunities.badges.keys import IssuerKey, resolve_verification_method
from opportunities.errors import BadgeError

MEDIA_TYPE = "application/vc+jwt"
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def to_vc_jwt(credential: Mapping[str, Any], key: IssuerKey) -> str:
    """``credential`` (its ``proof`` left out) as a compact JWS signed by ``key``."""
    header = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": key.verification_method}
    payload = {name: value for name, value in credential.items() if name != "proof"}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    )
    return signing_input + "." + _b64(key.private_key.sign(signing_input.encode("ascii")))


def looks_like_jwt(text: str) -> bool:
    """Whether ``text`` is a compact JWS (three base64url parts)."""
    return bool(COMPACT_JWS.fullmatch(text.strip()))


def from_vc_jwt(token: str, *, known_keys: Sequence[IssuerKey]) -> tuple[dict[str, Any], str]:
    """The credential in ``token`` and the verification method that signed it, after checking the
    signature. ``BadgeError``: ``malformed`` (not a vc+jwt), ``unsupported_proof`` (another
    algorithm), ``unknown_issuer`` (a key not resolvable offline), ``forged``, ``issuer_mismatch``."""
    token = token.strip()
    if not looks_like_jwt(token):
        raise BadgeError("malformed", field="JWT")
    encoded_header, encoded_payload, encoded_signature = token.split(".")
    try:
        header = json.loads(_unb64(encoded_header))
        payload = json.loads(_unb64(encoded_payload).decode("utf-8"))
        signature = _unb64(encoded_signature)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadgeError("malformed", field="JWT") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise BadgeError("malformed", field="JWT")
    if header.get("alg") != "EdDSA":
        raise BadgeError("unsupported_proof", kind=f"JWT {str(header.get('alg'))[:40]}")
    if header.get("typ") not in (None, "vc+jwt") or "crit" in header:
        raise BadgeError("malformed", field="JWT header")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise BadgeError("malformed", field="JWT kid")
    public = resolve_verification_method(kid, known=known_keys)
    if public is None:
        raise BadgeError("unknown_issuer", key=kid[:200])
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, f"{encoded_header}.{encoded_payload}".encode("ascii"))
    except InvalidSignature:
        raise BadgeError("forged") from None
    issuer = payload.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if kid.partition("#")[0] != issuer_id:
        raise BadgeError("issuer_mismatch")
    return payload, kid
