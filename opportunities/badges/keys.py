"""The issuer's Ed25519 key: kept in a file outside the repository, created on first use.

The key file is PKCS #8 PEM, written with mode 0600 in a folder made with mode 0700. The issuer is
``did:key`` by default (the public key is the identifier: anyone resolves it offline) or
``did:web:<host>`` when a host is given (the DID document is then served at
``/.well-known/did.json``; see docs/operating/badges.md for rotation).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opportunities.badges.contexts import MULTIKEY_V1
from opportunities.badges.multibase import ed25519_public_multibase, ed25519_public_raw
from opportunities.errors import BadgeError

DID_V1 = "https://www.w3.org/ns/did/v1"


@dataclass(frozen=True)
class IssuerKey:
    """An issuer's signing key and the names it goes by."""

    private_key: Ed25519PrivateKey
    public_multibase: str  # "z6Mk…"
    did: str
    verification_method: str  # did + "#" + fragment

    @property
    def public_raw(self) -> bytes:
        """The 32 bytes of the public key."""
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def did_web_for(public_url: str) -> str:
    """The ``did:web`` of a deployment at ``public_url`` (host and port; a path becomes ``:``-parts)."""
    parts = urlsplit(public_url)
    did = "did:web:" + quote(parts.netloc, safe="")
    path = [quote(part, safe="") for part in parts.path.split("/") if part]
    return ":".join([did, *path])


def issuer_key(private_key: Ed25519PrivateKey, *, did_web: str | None = None) -> IssuerKey:
    """The :class:`IssuerKey` of ``private_key``: ``did:key`` unless ``did_web`` (a ``did:web:…``) is given."""
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    multibase = ed25519_public_multibase(raw)
    did = did_web or f"did:key:{multibase}"
    return IssuerKey(private_key, multibase, did, f"{did}#{multibase}")


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise BadgeError("bad_key_file", path=str(path), problem=error.strerror or type(error).__name__) from None
    except (ValueError, TypeError):
        raise BadgeError("bad_key_file", path=str(path), problem="not a PEM private key") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise BadgeError("bad_key_file", path=str(path), problem="not an Ed25519 key")
    return loaded


def _create_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once do not overwrite each other's key
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    except OSError as error:
        raise BadgeError("bad_key_file", path=str(path), problem=error.strerror or type(error).__name__) from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return key


def load_or_create_issuer_key(path: Path, *, did_web_host: str | None = None) -> IssuerKey:
    """The issuer key in ``path``, created there (0600, folder 0700) when it does not exist yet.

    ``did_web_host`` (``example.org`` or ``example.org%3A8443``, or a ``did:web:…`` whole) makes the
    issuer ``did:web``; otherwise it is the key's ``did:key``. ``BadgeError("bad_key_file")`` for a
    file that is not an Ed25519 private key or cannot be read or written.
    """
    path = path.expanduser()
    private_key = _read_key(path) if path.exists() else _create_key(path)
    if did_web_host is None:
        return issuer_key(private_key)
    did = did_web_host if did_web_host.startswith("did:web:") else f"did:web:{did_web_host}"
    return issuer_key(private_key, did_web=did)


def exposure(path: Path) -> str | None:
    """Why the key file at ``path`` is readable by more than its owner (``"mode 0644"``), or None."""
    try:
        file_mode = path.expanduser().stat().st_mode & 0o777
        folder_mode = path.expanduser().parent.stat().st_mode & 0o777
    except OSError:
        return None
    if file_mode & 0o077:
        return f"the file has mode {file_mode:04o}"
    if folder_mode & 0o022:
        return f"its folder can be written by others (mode {folder_mode:04o})"
    return None


def retired_key_paths(path: Path) -> list[Path]:
    """The retired keys kept beside ``path`` after rotations (``<name>.retired-<stamp>``), newest first."""
    path = path.expanduser()
    return sorted(path.parent.glob(f"{path.name}.retired-*"), reverse=True)


def load_issuer_keys(path: Path, *, did_web_host: str | None = None) -> tuple[IssuerKey, ...]:
    """The current key (created when missing) and then the retired ones: the ``known_keys`` of verification."""
    current = load_or_create_issuer_key(path, did_web_host=did_web_host)
    retired = [load_or_create_issuer_key(old, did_web_host=did_web_host) for old in retired_key_paths(path)]
    return (current, *retired)


def rotate_issuer_key(path: Path, *, stamp: str, did_web_host: str | None = None) -> IssuerKey:
    """Keep the current key as ``<name>.retired-<stamp>`` and create a new one in ``path``."""
    path = path.expanduser()
    if path.exists():
        os.replace(path, path.with_name(f"{path.name}.retired-{stamp}"))
    return load_or_create_issuer_key(path, did_web_host=did_web_host)


def did_document(key: IssuerKey | Sequence[IssuerKey]) -> dict[str, Any]:
    """The DID document of the issuer (for ``/.well-known/did.json`` with did:web): every key given,
    the first one current, all of them assertion methods, so credentials signed before a rotation
    keep verifying."""
    keys = [key] if isinstance(key, IssuerKey) else list(key)
    did = keys[0].did
    methods = [
        {"id": k.verification_method, "type": "Multikey", "controller": did, "publicKeyMultibase": k.public_multibase}
        for k in keys
    ]
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [k.verification_method for k in keys],
        "authentication": [keys[0].verification_method],
    }


def resolve_verification_method(vm: str, *, known: Sequence[IssuerKey]) -> bytes | None:
    """The raw Ed25519 public key of verification method ``vm``, or None when it cannot be resolved.

    ``did:key:z6Mk…#z6Mk…`` is resolved from the string itself (the fragment must be the key);
    any other method (``did:web``) only when it is one of ``known``: nothing is fetched.
    """
    for key in known:
        if key.verification_method == vm:
            return key.public_raw
    if not vm.startswith("did:key:"):
        return None
    did, _, fragment = vm.partition("#")
    multibase = did.removeprefix("did:key:")
    if fragment != multibase:
        return None
    try:
        return ed25519_public_raw(multibase)
    except ValueError:
        return None
