"""Multibase text of bytes: base58btc (prefix ``z``) for keys and signatures, base64url without padding
(prefix ``u``) for status lists; and the Multikey header of an Ed25519 public key."""

from __future__ import annotations

import base64

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}
# The multicodec varint of ed25519-pub (0xed), as Multikey and did:key write it.
ED25519_PUB_HEADER = b"\xed\x01"


def base58btc_encode(data: bytes) -> str:
    """``data`` in base58 (Bitcoin alphabet), leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """The bytes of base58 ``text``; ``ValueError`` on a character outside the alphabet."""
    number = 0
    for char in text:
        if char not in _INDEX:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode_z(data: bytes) -> str:
    """Multibase base58btc: ``z`` + base58."""
    return "z" + base58btc_encode(data)


def decode_z(text: str) -> bytes:
    """The bytes of a multibase base58btc value; ``ValueError`` when it is not one."""
    if not text.startswith("z"):
        raise ValueError("not a base58btc multibase value (it must start with z)")
    return base58btc_decode(text[1:])


def encode_u(data: bytes) -> str:
    """Multibase base64url without padding: ``u`` + base64url."""
    return "u" + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_u(text: str) -> bytes:
    """The bytes of a multibase base64url value; ``ValueError`` when it is not one."""
    if not text.startswith("u"):
        raise ValueError("not a base64url multibase value (it must start with u)")
    body = text[1:]
    if any(char in body for char in "+/="):
        raise ValueError("not base64url without padding")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except ValueError:  # binascii.Error
        raise ValueError("not base64url") from None


def ed25519_public_multibase(raw: bytes) -> str:
    """The Multikey ``publicKeyMultibase`` of a 32-byte Ed25519 public key: ``z6Mk…``."""
    return encode_z(ED25519_PUB_HEADER + raw)


def ed25519_public_raw(multibase: str) -> bytes:
    """The 32 bytes of an Ed25519 Multikey value; ``ValueError`` for anything else."""
    decoded = decode_z(multibase)
    if not decoded.startswith(ED25519_PUB_HEADER) or len(decoded) != 34:
        raise ValueError("not an Ed25519 Multikey")
    return decoded[2:]
