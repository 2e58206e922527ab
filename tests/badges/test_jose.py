"""The VC-JOSE download (``application/vc+jwt``): the same verdicts as the Data Integrity form."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from opportunities.badges.baking import bake_png
from opportunities.badges.jose import from_vc_jwt, to_vc_jwt
from opportunities.badges.verification import verify
from tests.badges.conftest import NOW, OTHER_ISSUER_KEY, Issued
from tests.badges.test_verification import _png


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("kind", "state"), [("activity badge", "valid"), ("playlist badge", "valid"), ("revoked", "revoked"), ("expired", "expired")]
)
def test_a_jwt_of_each_kind_gets_the_same_verdict(issued: Issued, kind: str, state: str) -> None:
    token = to_vc_jwt(issued.credentials[kind], issued.key)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": issued.key.verification_method}
    credential, kid = from_vc_jwt(token, known_keys=[issued.key])
    assert "proof" not in credential and kid == issued.key.verification_method
    result = verify(token.encode(), known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert (result.state, result.issued_here) == (state, True)


def _tampered_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["name"] = "Something else"
    return f"{header}.{_b64(claims)}.{signature}"


def _alg_none(token: str) -> str:
    _, payload, _ = token.split(".")
    return f"{_b64({'alg': 'none', 'typ': 'vc+jwt'})}.{payload}.AA"


def _unknown_kid(token: str) -> str:
    _, payload, signature = token.split(".")
    return f"{_b64({'alg': 'EdDSA', 'kid': 'did:web:evil.example#k'})}.{payload}.{signature}"


def _other_signer(token: str) -> str:
    _, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return to_vc_jwt(claims, OTHER_ISSUER_KEY)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_tampered_payload, "forged"),
        (_alg_none, "unsupported_proof"),
        (_unknown_kid, "unknown_issuer"),
        (_other_signer, "issuer_mismatch"),
        (lambda token: token[:-4], "forged"),
        (lambda token: token.replace(".", "..", 1), "not_json"),
    ],
)
def test_broken_jwts(issued: Issued, change: Any, code: str) -> None:
    token = change(to_vc_jwt(issued.credentials["activity badge"], issued.key))
    result = verify(token.encode(), known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert (result.state, result.codes) == ("invalid", (code,))


def test_a_jwt_baked_in_a_png(issued: Issued) -> None:
    token = to_vc_jwt(issued.credentials["activity badge"], issued.key)
    result = verify(bake_png(_png(), token), known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert result.state == "valid"
