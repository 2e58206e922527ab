"""Verification, as tables: every kind of credential we issue, and every way one can be broken."""

from __future__ import annotations

import copy
import io
import json
from datetime import timedelta
from typing import Any

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opportunities.badges.baking import bake_png, bake_svg
from opportunities.badges.contexts import OB_V3P0, VC_V2
from opportunities.badges.keys import issuer_key
from opportunities.badges.proofs import sign
from opportunities.badges.status_lists import status_list_credential
from opportunities.badges.verification import MAX_BYTES, verify
from opportunities.i18n import translator
from tests.badges.conftest import ISSUED, LIST_URL, NOW, REVOKED_INDEX, Issued


def _png() -> bytes:
    buffer = io.BytesIO()
    segno.make("badge").save(buffer, kind="png")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kind", "state", "codes", "name"),
    [
        ("activity badge", "valid", (), "Robotics club"),
        ("activity badge in Swedish", "valid", (), "Robotklubben"),
        ("playlist badge", "valid", (), "City Explorer"),
        ("revoked", "revoked", ("revoked",), "Robotics club"),
        ("expired", "expired", ("expired",), "Robotics club"),
        ("tampered", "invalid", ("forged",), "Robotics club (champion)"),
    ],
)
def test_every_kind_we_issue(issued: Issued, kind: str, state: str, codes: tuple[str, ...], name: str) -> None:
    result = verify(issued.credentials[kind], known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert (result.state, result.valid, result.codes, result.achievement_name) == (state, state == "valid", codes, name)
    assert result.issuer == issued.key.did
    assert result.issued == ISSUED
    assert result.issued_here == (state != "invalid")


def _set(path: str, value: Any) -> Any:
    def change(credential: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = credential
        for part in parents:
            target = target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()
OTHER_KEY = issuer_key(Ed25519PrivateKey.generate())


def _resigned_by_other(credential: dict[str, Any]) -> None:
    signed = sign(credential, OTHER_KEY, created=ISSUED)
    credential["proof"] = signed["proof"]


BROKEN = [
    ("a name changed", _set("name", "Something else"), "forged"),
    ("the subject swapped", _set("credentialSubject.id", "urn:uuid:00000000-0000-4000-8000-000000000000"), "forged"),
    ("validUntil added", _set("validUntil", "2099-01-01T00:00:00Z"), "forged"),
    ("status removed", _set("credentialStatus", _DELETE), "forged"),
    ("signature damaged", _set("proof.proofValue", "z3" + "1" * 80), "forged"),
    ("signature not base58", _set("proof.proofValue", "z0OIl"), "forged"),
    ("proof created changed", _set("proof.created", "2026-11-03T10:30:00Z"), "forged"),
    ("proof removed", _set("proof", _DELETE), "no_proof"),
    ("proof of another suite", _set("proof.cryptosuite", "ecdsa-rdfc-2019"), "unsupported_proof"),
    ("proof purpose other", _set("proof.proofPurpose", "authentication"), "malformed"),
    ("proof created not a date", _set("proof.created", "yesterday"), "malformed"),
    ("a did:web key we do not hold", _set("proof.verificationMethod", "did:web:evil.example#key-1"), "unknown_issuer"),
    ("a did:key fragment not the key", _set("proof.verificationMethod", OTHER_KEY.did + "#key-1"), "unknown_issuer"),
    ("signed by a key not the issuer's", _resigned_by_other, "issuer_mismatch"),
    ("contexts swapped", _set("@context", [OB_V3P0, VC_V2]), "wrong_context"),
    ("OB context missing", _set("@context", [VC_V2]), "wrong_context"),
    ("an unknown context", _set("@context", [VC_V2, "https://evil.example/context.json"]), "unknown_context"),
    (
        "an older OB context",
        _set("@context", [VC_V2, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"]),
        "unknown_context",
    ),
    ("an inline context", _set("@context", [VC_V2, OB_V3P0, {"evil": "https://evil.example/evil"}]), "wrong_context"),
    ("a term no context defines", _set("credentialSubject.nickname", "Ada"), "undefined_term"),
    ("a relative id", _set("credentialSubject.achievement.image.id", "robot.png"), "undefined_term"),
    ("no OpenBadgeCredential type", _set("type", ["VerifiableCredential"]), "not_a_credential"),
    ("type not a list", _set("type", 7), "not_a_credential"),
    ("issuer missing", _set("issuer", _DELETE), "malformed"),
    ("issuer without id", _set("issuer", {"name": "x"}), "malformed"),
    ("validFrom not a date", _set("validFrom", "last week"), "malformed"),
    ("validFrom in the future", _set("validFrom", "2027-06-01T00:00:00Z"), "forged"),
    ("status index not a number", _set("credentialStatus.statusListIndex", "three"), "forged"),
]


@pytest.mark.parametrize(("case", "change", "code"), BROKEN, ids=[case for case, _, _ in BROKEN])
def test_broken_credentials_are_invalid_with_their_reason(issued: Issued, case: str, change: Any, code: str) -> None:
    credential = copy.deepcopy(issued.credentials["activity badge"])
    change(credential)
    result = verify(credential, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert (result.valid, result.state, result.codes) == (False, "invalid", (code,))
    assert len(result.reasons) == 1
    for language in ("en", "sv", "sl", "pl"):
        assert result.reasons[0].render(translator(language).gettext)


def test_a_credential_signed_for_a_future_day_is_not_yet_valid(issued: Issued) -> None:
    credential = copy.deepcopy(issued.credentials["activity badge"])
    credential["validFrom"] = "2027-06-01T00:00:00Z"
    resigned = sign(credential, issued.key, created=ISSUED)
    result = verify(resigned, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert result.codes == ("not_yet_valid",)


def _status_source(issued: Issued, replacement: Any) -> Any:
    return lambda url: replacement(issued) if url == LIST_URL else None


def _list_tampered(issued: Issued) -> dict[str, Any]:
    listed = issued.status_list(LIST_URL)
    assert listed is not None
    listed["credentialSubject"]["encodedList"] = status_list_credential(
        list_url=LIST_URL, revoked=[], issuer=issued.key, issued=ISSUED
    )["credentialSubject"]["encodedList"]
    return listed


def _list_expired(issued: Issued) -> dict[str, Any]:
    return status_list_credential(list_url=LIST_URL, revoked=[], issuer=issued.key, issued=ISSUED, valid_for=timedelta(days=1))


def _list_of_another_issuer(issued: Issued) -> dict[str, Any]:
    return status_list_credential(list_url=LIST_URL, revoked=[], issuer=OTHER_KEY, issued=ISSUED)


def _list_for_another_url(issued: Issued) -> dict[str, Any]:
    return status_list_credential(list_url=LIST_URL + "0", revoked=[], issuer=issued.key, issued=ISSUED)


def _list_failing(issued: Issued) -> dict[str, Any]:
    raise OSError("database gone")


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (lambda issued: None, "status_unavailable"),
        (_list_failing, "status_unavailable"),
        (_list_tampered, "bad_status_list"),
        (_list_expired, "bad_status_list"),
        (_list_of_another_issuer, "bad_status_list"),
        (_list_for_another_url, "bad_status_list"),
        (lambda issued: {"not": "a list"}, "bad_status_list"),
    ],
)
def test_a_status_list_that_cannot_be_trusted_makes_the_credential_invalid(issued: Issued, source: Any, code: str) -> None:
    result = verify(
        issued.credentials["activity badge"], known_keys=[issued.key], status_list=_status_source(issued, source), now=NOW
    )
    assert (result.state, result.codes) == ("invalid", (code,))


def test_revoked_and_expired_says_both_revoked_first(issued: Issued) -> None:
    result = verify(
        issued.credentials["revoked"], known_keys=[issued.key], status_list=issued.status_list, now=NOW + timedelta(days=9000)
    )
    assert result.state == "revoked"
    result = verify(issued.credentials["expired"], known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert result.reasons[0].values["day"] == (NOW - timedelta(days=1)).date()
    assert REVOKED_INDEX != 5


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "not_json"),
        (b'{"@context": ["https://www.w3.org/ns/credentials/v2"', "not_json"),
        (b"\xff\xfe not utf-8", "not_json"),
        (b"[1, 2, 3]", "not_a_credential"),
        (b'"a string"', "not_a_credential"),
        (b"[" * 100_000, "not_json"),
        (b"{" + b" " * (MAX_BYTES + 1) + b"}", "too_large"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "no_baked_credential"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "no_baked_credential"),
    ],
    ids=["empty", "truncated", "not utf-8", "a list", "a string", "deep nesting", "over 1 MB", "svg without", "bad png"],
)
def test_files_that_are_not_credentials(issued: Issued, data: bytes, code: str) -> None:
    result = verify(data, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert (result.state, result.codes) == ("invalid", (code,))


def test_truncated_json_of_a_real_credential(issued: Issued) -> None:
    data = json.dumps(issued.credentials["activity badge"]).encode()
    result = verify(data[: len(data) // 2], known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert result.codes == ("not_json",)


def test_an_oversized_parsed_credential_is_refused(issued: Issued) -> None:
    credential = copy.deepcopy(issued.credentials["activity badge"])
    credential["credentialSubject"]["achievement"]["description"] = "x" * MAX_BYTES
    result = verify(credential, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert result.codes == ("too_large",)


@pytest.mark.parametrize("form", ["json", "png", "svg"])
def test_files_json_and_baked_images_verify(issued: Issued, form: str) -> None:
    credential = issued.credentials["activity badge"]
    data = {
        "json": json.dumps(credential).encode(),
        "png": bake_png(_png(), credential),
        "svg": bake_svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect/></svg>', credential).encode(),
    }[form]
    result = verify(data, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    assert result.state == "valid"
    # the PNG's chunk has a checksum: rebake the changed credential rather than edit bytes
    tampered_data = (
        bake_png(_png(), credential | {"name": "Robotics clux"})
        if form == "png"
        else data.replace(b"Robotics club", b"Robotics clux")
    )
    assert verify(tampered_data, known_keys=[issued.key], status_list=issued.status_list, now=NOW).codes == ("forged",)


@pytest.mark.parametrize("language", ["sv", "sl", "pl"])
def test_every_badge_reason_is_worded_in_every_language(language: str) -> None:
    from opportunities.errors import BADGE_REASONS

    gettext = translator(language).gettext
    untranslated = [code for code, text in BADGE_REASONS.items() if gettext(text) == text]
    assert untranslated == []


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for name, item in value.items():
            found += _paths(item, (*prefix, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def test_any_field_of_any_type_gives_a_verdict_never_an_exception(issued: Issued, caplog: pytest.LogCaptureFixture) -> None:
    """Every field of a signed badge replaced by every JSON type: ``verify`` says invalid, and why."""
    original = issued.credentials["activity badge"]
    replacements: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], [None], {}, {"id": 5}, {"@context": "x"}]
    seen: set[str] = set()
    for path in _paths(original):
        for replacement in replacements:
            credential = copy.deepcopy(original)
            target = credential
            for part in path[:-1]:
                target = target[part]
            if target[path[-1]] == replacement:
                continue
            target[path[-1]] = replacement
            result = verify(credential, known_keys=[issued.key], status_list=issued.status_list, now=NOW)
            assert (result.valid, result.state) == (False, "invalid"), (path, replacement)
            assert len(result.codes) == len(result.reasons) == 1
            seen.update(result.codes)
    assert {"forged", "malformed", "wrong_context", "not_a_credential", "undefined_term"} <= seen
    assert not [record for record in caplog.records if record.levelname == "ERROR"]  # no defect caught by the last resort


def test_any_field_of_the_revocation_list_of_any_type_makes_it_untrusted(
    issued: Issued, caplog: pytest.LogCaptureFixture
) -> None:
    listed = issued.status_lists[LIST_URL]
    for path in _paths(listed):
        for replacement in [None, 0, "", "x", [], {}, {"id": 5}]:
            changed = copy.deepcopy(listed)
            target = changed
            for part in path[:-1]:
                target = target[part]
            if target[path[-1]] == replacement:
                continue
            target[path[-1]] = replacement
            result = verify(
                issued.credentials["activity badge"],
                known_keys=[issued.key],
                status_list=lambda url, changed=changed: changed,
                now=NOW,
            )
            assert (result.state, result.codes) == ("invalid", ("bad_status_list",)), (path, replacement)
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_every_truncation_of_a_file_gives_a_verdict(issued: Issued, caplog: pytest.LogCaptureFixture) -> None:
    data = json.dumps(issued.credentials["activity badge"]).encode()
    png = bake_png(_png(), issued.credentials["activity badge"])
    credential_end = png.index(b"IEND") - 4  # the chunk before IEND is the credential's
    for whole, whole_until in ((data, len(data)), (png, credential_end)):
        for end in range(0, len(whole), 37):
            result = verify(whole[:end], known_keys=[issued.key], status_list=issued.status_list, now=NOW)
            # a PNG cut after its credential chunk still holds the whole signed credential
            assert result.state == ("invalid" if end < whole_until else "valid"), end
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


@pytest.mark.parametrize(
    ("language", "word"), [("en", "revoked"), ("sv", "återkallat"), ("sl", "preklical"), ("pl", "unieważnił")]
)
def test_the_verdict_as_json_in_the_readers_language(issued: Issued, language: str, word: str) -> None:
    result = verify(issued.credentials["revoked"], known_keys=[issued.key], status_list=issued.status_list, now=NOW)
    shown = result.as_json(translator(language).gettext)
    assert shown["state"] == "revoked" and shown["codes"] == ["revoked"]
    assert word in shown["reasons"][0]
    assert json.loads(json.dumps(shown)) == shown


def test_now_without_a_time_zone_is_utc(issued: Issued) -> None:
    naive_now = NOW.replace(tzinfo=None)
    result = verify(issued.credentials["expired"], known_keys=[issued.key], status_list=issued.status_list, now=naive_now)
    assert result.state == "expired"
