"""The independent check: Digital Bazaar's JavaScript libraries (@digitalbazaar/vc 7,
data-integrity, eddsa-rdfc-2022-cryptosuite, ed25519-multikey, did-method-key,
vc-bitstring-status-list, pinned in package-lock.json) verify every kind of credential we issue, offline,
and sign one that our Python verifies. Skipped only where node is missing (CI has it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from opportunities.badges.contexts import CONTEXT_FILES
from opportunities.badges.jose import to_vc_jwt
from opportunities.badges.verification import verify
from opportunities.settings import PROJECT_ROOT
from tests.badges.conftest import NOW, SUBJECT, Issued
from tests.badges.test_jose import _tampered_payload

SCRIPT = PROJECT_ROOT / "tests" / "badges" / "crosscheck.mjs"
# Skipped where node is missing, except in CI (CI set), where that is a failure, as for axe-core.
pytestmark = pytest.mark.skipif(shutil.which("node") is None and not os.environ.get("CI"), reason="the cross-check needs node")

# kind -> (proof valid in JS, whole credential verified in JS, revoked in JS)
EXPECTED = {
    "activity badge": (True, True, False),
    "activity badge in Swedish": (True, True, False),
    "playlist badge": (True, True, False),
    "badge with optional fields": (True, True, False),
    "revoked": (True, True, True),  # vc verifies; the status check reports the bit set
    "expired": (True, False, None),  # validUntil passed: vc refuses before checking status
    "tampered": (False, False, None),
}


@pytest.fixture(scope="module")
def javascript(issued: Issued) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.fail("the cross-check needs node (CI is set)")
    if not (PROJECT_ROOT / "node_modules" / "@digitalbazaar" / "vc").exists():
        pytest.fail("node_modules lacks @digitalbazaar/vc: run npm ci")
    payload = {
        "contexts": dict(CONTEXT_FILES),
        "verify": [
            {"name": name, "credential": credential, "now": NOW.isoformat().replace("+00:00", "Z")}
            for name, credential in issued.credentials.items()
        ],
        "statusLists": issued.status_lists,
        "jwts": {
            "activity badge": to_vc_jwt(issued.credentials["activity badge"], issued.key),
            "playlist badge": to_vc_jwt(issued.credentials["playlist badge"], issued.key),
            "tampered": _tampered_payload(to_vc_jwt(issued.credentials["activity badge"], issued.key)),
        },
        "sign": {
            name: value
            for name, value in issued.credentials["activity badge"].items()
            if name not in ("proof", "credentialStatus")
        },
    }
    done = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(payload), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_javascript_verifies_what_we_issue(javascript: dict[str, Any], kind: str) -> None:
    found = javascript["results"][kind]
    proof, whole, revoked = EXPECTED[kind]
    assert (found["proof"], found["credential"], found["revoked"]) == (proof, whole, revoked), found["errors"]


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        ("activity badge", "valid"),
        ("activity badge in Swedish", "valid"),
        ("playlist badge", "valid"),
        ("badge with optional fields", "valid"),
        ("revoked", "revoked"),
        ("expired", "expired"),
        ("tampered", "invalid"),
    ],
)
def test_python_agrees_with_javascript(issued: Issued, kind: str, state: str) -> None:
    result = verify(issued.credentials[kind], known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert result.state == state


def test_a_credential_signed_in_javascript_verifies_in_python(javascript: dict[str, Any], issued: Issued) -> None:
    signed = javascript["signed"]
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert signed["issuer"]["id"] != issued.key.did  # a key of its own, resolved from its did:key
    result = verify(signed, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert (result.state, result.subject, result.issued_here) == ("valid", SUBJECT, False)


def test_a_credential_signed_in_javascript_and_then_changed_fails_in_python(javascript: dict[str, Any], issued: Issued) -> None:
    changed = json.loads(json.dumps(javascript["signed"]))
    changed["credentialSubject"]["id"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    result = verify(changed, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert (result.state, result.codes) == ("invalid", ("forged",))


def test_node_verifies_our_vc_jose_jwts(javascript: dict[str, Any]) -> None:
    assert javascript["jwts"] == {"activity badge": True, "playlist badge": True, "tampered": False}
