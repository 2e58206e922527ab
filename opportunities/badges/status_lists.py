"""Revocation with a W3C Bitstring Status List (v1.0), purpose ``revocation``.

A list is :data:`LIST_SIZE` bits (16 KiB, the spec's minimum, for herd privacy); bit ``i`` (the
left-most bit of the first byte is 0) is set when the credential holding index ``i`` is revoked.
The list is GZIP-compressed and written as multibase base64url (``u…``) in a signed
``BitstringStatusListCredential`` published at a stable URL.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opportunities.badges.contexts import VC_V2
from opportunities.badges.keys import IssuerKey
from opportunities.badges.multibase import decode_u, encode_u
from opportunities.badges.proofs import sign, xsd_datetime
from opportunities.errors import BadgeError

LIST_SIZE = 131072
STATUS_PURPOSE = "revocation"
# Larger than any list we publish (1 Mi bits); guards against a list that unpacks into gigabytes.
MAX_LIST_BITS = 8 * 1024 * 1024


@dataclass(frozen=True)
class StatusEntry:
    """Where a credential's revocation bit is: the status list credential's URL and the bit's index."""

    list_url: str
    index: int

    def as_json(self) -> dict[str, str]:
        """The credential's ``credentialStatus``: a ``BitstringStatusListEntry``."""
        return {
            "id": f"{self.list_url}#{self.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": STATUS_PURPOSE,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }


class Bitstring:
    """A decoded status list: ``bits[i]`` is True when index ``i`` is set."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data) * 8

    def __getitem__(self, index: int) -> bool:
        if not 0 <= index < len(self):
            raise IndexError(index)
        return bool(self.data[index // 8] & (0x80 >> (index % 8)))


def encode(revoked_indexes: Iterable[int], size: int = LIST_SIZE) -> str:
    """The ``encodedList`` of a list of ``size`` bits with ``revoked_indexes`` set."""
    if size % 8 or size < LIST_SIZE:
        raise ValueError(f"a status list holds a multiple of 8 bits, at least {LIST_SIZE}")
    bits = bytearray(size // 8)
    for index in revoked_indexes:
        if not 0 <= index < size:
            raise ValueError(f"index {index} is outside the list of {size}")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list gives the same bytes, so an unchanged list keeps its signature's input
    return encode_u(gzip.compress(bytes(bits), mtime=0))


def decode(encoded: str) -> Bitstring:
    """The bits of an ``encodedList``; ``ValueError`` when it is not base64url GZIP of a list."""
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP
    try:
        data = unpacker.decompress(decode_u(encoded), MAX_LIST_BITS // 8 + 1)
    except zlib.error as error:
        raise ValueError(f"not GZIP: {error}") from None
    if len(data) > MAX_LIST_BITS // 8:
        raise ValueError("the status list is too long")
    if not data or not unpacker.eof:
        raise ValueError("the status list is empty or cut off")
    return Bitstring(data)


def status_list_credential(
    *,
    list_url: str,
    revoked: Iterable[int],
    issuer: IssuerKey,
    issued: datetime,
    valid_for: timedelta | None = None,
    size: int = LIST_SIZE,
) -> dict[str, Any]:
    """The signed ``BitstringStatusListCredential`` at ``list_url`` with ``revoked`` set. Cacheable:
    the same inputs give the same credential. ``valid_for`` sets ``validUntil`` (a verifier then
    fetches a fresh one); none by default."""
    credential: dict[str, Any] = {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.did,
        "validFrom": xsd_datetime(issued),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encode(revoked, size),
        },
    }
    if valid_for is not None:
        credential["validUntil"] = xsd_datetime(issued + valid_for)
    return sign(credential, issuer, created=issued)


def revoked_in(list_credential: Any, *, index: int) -> bool:
    """Whether bit ``index`` is set in a status list credential's list (its proof is checked
    elsewhere). ``BadgeError("bad_status_list")`` when the list is not a revocation list or damaged."""
    url = str(list_credential.get("id", "")) if isinstance(list_credential, dict) else ""
    try:
        subject = list_credential["credentialSubject"]
        if "BitstringStatusListCredential" not in list_credential["type"]:
            raise ValueError("not a status list credential")
        if subject["type"] != "BitstringStatusList" or subject["statusPurpose"] != STATUS_PURPOSE:
            raise ValueError("not a revocation list")
        return decode(subject["encodedList"])[index]
    except (KeyError, TypeError, ValueError, IndexError):
        raise BadgeError("bad_status_list", url=url[:200]) from None
