"""The cryptosuite against the specification's own test vector, and canonicalisation's edges."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opportunities.badges.canonical import canonize
from opportunities.badges.contexts import document_loader
from opportunities.badges.keys import IssuerKey
from opportunities.badges.multibase import decode_z, ed25519_public_multibase
from opportunities.badges.proofs import check_proof, sign, xsd_datetime
from opportunities.errors import BadgeError
from tests.badges.conftest import Issued

DATA = Path(__file__).resolve().parent.parent / "data" / "credentials"
VECTOR = json.loads((DATA / "eddsa-rdfc-2022-vector.json").read_text(encoding="utf-8"))
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


def _loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if url == EXAMPLES_V2:
        document = json.loads((DATA / "examples-v2.jsonld").read_text(encoding="utf-8"))
        return {"contextUrl": None, "documentUrl": url, "document": document}
    return document_loader(url, options)


def _vector_key() -> IssuerKey:
    secret = decode_z(VECTOR["keyPair"]["privateKeyMultibase"])
    assert secret[:2] == b"\x80\x26"  # the multicodec header of ed25519-priv
    private = Ed25519PrivateKey.from_private_bytes(secret[2:])
    key = IssuerKey(private, "", "https://vc.example/issuers/5678", VECTOR["signed"]["proof"]["verificationMethod"])
    assert ed25519_public_multibase(key.public_raw) == VECTOR["keyPair"]["publicKeyMultibase"]
    return key


def test_the_w3c_test_vector_is_signed_byte_for_byte() -> None:
    signed = VECTOR["signed"]
    unsigned = {name: value for name, value in signed.items() if name != "proof"}
    ours = sign(unsigned, _vector_key(), created=datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC), loader=_loader)
    assert ours["proof"] == signed["proof"]


def test_the_w3c_test_vector_proof_configuration_canonical_form() -> None:
    proof = {k: v for k, v in VECTOR["signed"]["proof"].items() if k != "proofValue"}
    assert canonize({"@context": VECTOR["signed"]["@context"], **proof}, loader=_loader) == VECTOR["proofCanonical"]


def test_the_w3c_test_vector_verifies_and_a_change_does_not() -> None:
    key = _vector_key()
    assert check_proof(VECTOR["signed"], known_keys=[key], loader=_loader) == key.verification_method
    changed = copy.deepcopy(VECTOR["signed"])
    changed["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    with pytest.raises(BadgeError) as raised:
        check_proof(changed, known_keys=[key], loader=_loader)
    assert raised.value.code == "forged"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 6, 12, 0, 0, 999_999, tzinfo=UTC), "2026-12-06T12:00:00Z"),
        (datetime.fromisoformat("2026-12-06T13:30:00+01:00"), "2026-12-06T12:30:00Z"),
    ],
)
def test_created_is_an_xml_schema_datetime_in_utc(moment: datetime, text: str) -> None:
    assert xsd_datetime(moment) == text


def test_a_moment_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        xsd_datetime(datetime(2026, 12, 6))


@pytest.mark.parametrize(
    "text",
    ['quote " backslash \\ newline \n tab \t return \r', "ü ł č å 中文 🙂", "]]> <script>alert(1)</script> &amp;"],
)
def test_texts_round_trip_through_signing(issued: Issued, text: str) -> None:
    credential = copy.deepcopy(issued.credentials["activity badge"])
    credential["credentialSubject"]["achievement"]["description"] = text
    resigned = sign(credential, issued.key, created=datetime(2026, 12, 6, tzinfo=UTC))
    assert check_proof(resigned, known_keys=[issued.key]) == issued.key.verification_method


@pytest.mark.parametrize("control", ["\x00", "\x08", "\x0b", "\x0c", "\x1f", "\x7f"])
def test_control_characters_other_verifiers_write_differently_are_refused(issued: Issued, control: str) -> None:
    credential = copy.deepcopy(issued.credentials["activity badge"])
    credential["name"] = f"bad{control}name"
    with pytest.raises(BadgeError) as raised:
        canonize(credential)
    assert raised.value.code == "malformed"


def test_the_credential_builder_drops_control_characters(issued: Issued) -> None:
    from opportunities.badges.credentials import AchievementDefinition, AchievementText, build_credential
    from tests.badges.conftest import ISSUED, SUBJECT

    achievement = AchievementDefinition(
        id="https://map.example.org/a/1", texts={"en": AchievementText("A\x00B\x1b", "d\x7f", "c")}
    )
    credential = build_credential(
        achievement=achievement, subject_id=SUBJECT, issuer=issued.key, issuer_name="X", issued=ISSUED,
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000001", status=None,
    )  # fmt: skip
    assert credential["name"] == "AB"
    assert canonize(credential)


@pytest.mark.parametrize(
    "subject", ["ada@example.org", "Ada Lovelace", "did:web:example.org", "urn:uuid:not-a-uuid", "did:key:z6Mk"]
)
def test_a_subject_must_be_pseudonymous(issued: Issued, subject: str) -> None:
    from opportunities.badges.credentials import build_credential
    from tests.badges.conftest import ACTIVITY, ISSUED

    with pytest.raises(ValueError, match="did:key or urn:uuid"):
        build_credential(
            achievement=ACTIVITY, subject_id=subject, issuer=issued.key, issuer_name="X", issued=ISSUED,
            credential_id="urn:uuid:00000000-0000-4000-8000-000000000001", status=None,
        )  # fmt: skip
