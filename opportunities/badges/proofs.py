"""Data Integrity proofs, cryptosuite ``eddsa-rdfc-2022`` (W3C Data Integrity EdDSA Cryptosuites v1.0).

Signing (§3.3.1 Create Proof): the proof configuration (type, cryptosuite, created, verification
method, purpose, and the document's ``@context``) and the document without its proof are each
canonicalised (RDFC-1.0) and hashed with SHA-256; the signature is Ed25519 over
``hash(proof configuration) ‖ hash(document)``, written as base58btc multibase (``z…``) in
``proofValue``. Verification (§3.3.2) rebuilds the same bytes from the received document.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from opportunities.badges.canonical import Loader, canonize
from opportunities.badges.contexts import document_loader
from opportunities.badges.keys import IssuerKey, resolve_verification_method
from opportunities.badges.multibase import decode_z, encode_z
from opportunities.errors import BadgeError

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def xsd_datetime(moment: datetime) -> str:
    """``moment`` as an XML Schema dateTime in UTC, whole seconds: ``2026-12-06T13:00:00Z``."""
    if moment.tzinfo is None:
        raise ValueError("a moment with a time zone is needed")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(proof_config: Mapping[str, Any], document: Mapping[str, Any], loader: Loader) -> bytes:
    config_hash = hashlib.sha256(canonize(proof_config, loader=loader).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonize(document, loader=loader).encode("utf-8")).digest()
    return config_hash + document_hash


def sign(document: dict[str, Any], key: IssuerKey, *, created: datetime, loader: Loader = document_loader) -> dict[str, Any]:
    """``document`` (without a proof) with a ``DataIntegrityProof`` by ``key``, a new dict."""
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xsd_datetime(created),
        "verificationMethod": key.verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    config = {"@context": unsecured["@context"], **proof}
    signature = key.private_key.sign(_hash_data(config, unsecured, loader))
    return {**unsecured, "proof": {**proof, "proofValue": encode_z(signature)}}


def _the_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    proof = document.get("proof")
    if proof is None:
        raise BadgeError("no_proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise BadgeError("unsupported_proof", kind=f"{len(proof)} proofs")
        proof = proof[0]
    if not isinstance(proof, dict):
        raise BadgeError("malformed", field="proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        kind = f"{proof.get('type')} {proof.get('cryptosuite') or ''}".strip()
        raise BadgeError("unsupported_proof", kind=kind[:100])
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        raise BadgeError("malformed", field="proof.proofPurpose")
    for name in ("verificationMethod", "proofValue", "created"):
        if not isinstance(proof.get(name), str):
            raise BadgeError("malformed", field=f"proof.{name}")
    if not _DATETIME.fullmatch(proof["created"]):
        raise BadgeError("malformed", field="proof.created")
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise BadgeError("wrong_context")
    return proof


def check_proof(document: Mapping[str, Any], *, known_keys: Sequence[IssuerKey], loader: Loader = document_loader) -> str:
    """Raise ``BadgeError`` unless ``document`` carries a valid ``eddsa-rdfc-2022`` proof; return its
    verification method. Reasons: ``no_proof``, ``unsupported_proof``, ``malformed``,
    ``unknown_issuer`` (a key that cannot be resolved offline), ``forged``, and those of
    canonicalisation (``undefined_term``, ``unknown_context``)."""
    proof = _the_proof(document)
    method: str = proof["verificationMethod"]
    public = resolve_verification_method(method, known=known_keys)
    if public is None:
        raise BadgeError("unknown_issuer", key=method[:200])
    try:
        signature = decode_z(proof["proofValue"])
    except ValueError:
        raise BadgeError("forged") from None
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    options = {name: value for name, value in proof.items() if name not in ("proofValue", "@context")}
    config = {"@context": unsecured.get("@context"), **options}
    data = _hash_data(config, unsecured, loader)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except InvalidSignature:
        raise BadgeError("forged") from None
    return method
