"""Issuer keys (file, permissions, did:key and did:web, rotation), multibase, status lists, baking."""

from __future__ import annotations

import gzip
import io
import json
import stat
from pathlib import Path

import pytest
import segno
from PIL import Image

from opportunities.badges.baking import bake_png, bake_svg, unbake, unbake_png, unbake_svg
from opportunities.badges.keys import (
    did_document,
    did_web_for,
    load_issuer_keys,
    load_or_create_issuer_key,
    resolve_verification_method,
    rotate_issuer_key,
)
from opportunities.badges.multibase import base58btc_decode, base58btc_encode, decode_u, ed25519_public_raw
from opportunities.badges.status_lists import LIST_SIZE, StatusEntry, decode, encode, revoked_in
from opportunities.errors import BadgeError
from tests.badges.conftest import LIST_URL, REVOKED_INDEX, Issued


def test_the_key_file_is_created_once_private(key_path: Path) -> None:
    key = load_or_create_issuer_key(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    again = load_or_create_issuer_key(key_path)
    assert again.did == key.did and again.did.startswith("did:key:z6Mk")
    assert key.verification_method == f"{key.did}#{key.public_multibase}"
    assert ed25519_public_raw(key.public_multibase) == key.public_raw


def test_did_web_names_the_same_key(key_path: Path) -> None:
    plain = load_or_create_issuer_key(key_path)
    web = load_or_create_issuer_key(key_path, did_web_host=did_web_for("https://map.example.org:8443/cities"))
    assert web.did == "did:web:map.example.org%3A8443:cities"
    assert web.public_multibase == plain.public_multibase
    document = did_document(web)
    assert document["id"] == web.did
    assert document["assertionMethod"] == [web.verification_method]
    assert document["verificationMethod"][0]["publicKeyMultibase"] == web.public_multibase
    assert resolve_verification_method(web.verification_method, known=[web]) == web.public_raw
    assert resolve_verification_method(web.verification_method, known=[]) is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"not a key", "not a PEM private key"), (None, "not an Ed25519 key")],
)
def test_a_key_file_that_is_not_an_ed25519_key(key_path: Path, content: bytes | None, problem: str) -> None:
    key_path.parent.mkdir(parents=True)
    if content is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        content = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    key_path.write_bytes(content)
    with pytest.raises(BadgeError) as raised:
        load_or_create_issuer_key(key_path)
    assert raised.value.code == "bad_key_file" and problem in str(raised.value)


def test_an_unreadable_key_file(key_path: Path) -> None:
    key_path.mkdir(parents=True)  # a folder where the file should be: reading it fails
    with pytest.raises(BadgeError, match="cannot be used"):
        load_or_create_issuer_key(key_path)


def test_rotation_keeps_the_old_key_for_verifying(key_path: Path) -> None:
    old = load_or_create_issuer_key(key_path)
    new = rotate_issuer_key(key_path, stamp="20261206T120000Z")
    assert new.did != old.did
    keys = load_issuer_keys(key_path)
    assert [k.did for k in keys] == [new.did, old.did]
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("method", "resolved"),
    [
        ("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", True),
        ("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#key-1", False),
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme#zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", False),
        ("did:key:z0#z0", False),
        ("did:web:example.org#key-1", False),
        ("https://example.org/keys/1", False),
    ],
)
def test_verification_methods_resolved_offline(method: str, resolved: bool) -> None:
    assert (resolve_verification_method(method, known=[]) is not None) == resolved


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"", ""), (b"\0", "1"), (b"\0\0\x01", "112"), (b"hello world", "StV1DL6CwTryKyV"), (bytes(range(256)), None)],
)
def test_base58btc_round_trip(data: bytes, text: str | None) -> None:
    if text is not None:
        assert base58btc_encode(data) == text
    assert base58btc_decode(base58btc_encode(data)) == data


@pytest.mark.parametrize("revoked", [[], [0], [7, 8, 131071], list(range(0, LIST_SIZE, 997))])
def test_status_lists_round_trip_left_to_right(revoked: list[int]) -> None:
    encoded = encode(revoked)
    assert encoded.startswith("u")
    raw = gzip.decompress(decode_u(encoded))
    assert len(raw) * 8 == LIST_SIZE
    bits = decode(encoded)
    assert [i for i in range(LIST_SIZE) if bits[i]] == sorted(revoked)
    if 0 in revoked:
        assert raw[0] & 0x80  # index 0 is the left-most bit of the first byte


@pytest.mark.parametrize(
    ("encoded", "problem"),
    [
        ("zabc", "must start with u"),
        ("u!!!", "not base64url"),
        ("u" + "A" * 40, "GZIP"),
        ("uH4sIAAAAAAAA_w", "cut off"),
    ],
)
def test_damaged_status_lists(encoded: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode(encoded)


def test_a_status_list_that_unpacks_into_gigabytes_is_refused() -> None:
    from opportunities.badges.multibase import encode_u

    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024), mtime=0)
    with pytest.raises(ValueError, match="too long"):
        decode(encode_u(bomb))


@pytest.mark.parametrize(("size", "index"), [(LIST_SIZE - 8, 0), (LIST_SIZE, LIST_SIZE), (LIST_SIZE, -1)])
def test_lists_too_small_or_indexes_outside(size: int, index: int) -> None:
    with pytest.raises(ValueError, match=r"multiple of 8|outside"):
        encode([index], size)


def test_the_status_list_credential(issued: Issued) -> None:
    listed = issued.status_lists[LIST_URL]
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert listed["credentialSubject"]["statusPurpose"] == "revocation"
    assert revoked_in(listed, index=REVOKED_INDEX) and not revoked_in(listed, index=1)
    assert StatusEntry(LIST_URL, 12).as_json()["statusListIndex"] == "12"


def _png() -> bytes:
    buffer = io.BytesIO()
    segno.make("badge").save(buffer, kind="png", scale=4)
    return buffer.getvalue()


def test_png_baking_is_a_valid_png_with_one_itxt(issued: Issued) -> None:
    credential = issued.credentials["activity badge"]
    baked = bake_png(bake_png(_png(), issued.credentials["expired"]), credential)
    assert baked.count(b"openbadgecredential") == 1
    assert json.loads(unbake_png(baked)) == credential
    image = Image.open(io.BytesIO(baked))
    image.load()
    assert image.text["openbadgecredential"] == json.dumps(credential, ensure_ascii=False)  # Pillow reads the iTXt


def test_a_compressed_itxt_is_read() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("openbadgecredential", '{"id": "urn:x"}', zip=True)
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, "PNG", pnginfo=info)
    assert json.loads(unbake(buffer.getvalue())) == {"id": "urn:x"}


@pytest.mark.parametrize(
    "svg",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>',
        '<?xml version="1.0"?>\n<svg\n  xmlns="http://www.w3.org/2000/svg" width="9">text ]]&gt;</svg>',
    ],
)
def test_svg_baking(svg: str) -> None:
    credential = {"name": "a ]]> b <c> & d", "id": "urn:x"}
    baked = bake_svg(bake_svg(svg, {"old": True}), credential)
    assert baked.count("<openbadges:credential>") == 1
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert json.loads(unbake_svg(baked)) == credential
    from xml.etree import ElementTree

    ElementTree.fromstring(baked.encode())  # still well-formed XML


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n", b"<svg/>", b"<svg><openbadges:credential></openbadges:credential></svg>", b"\x89PNG\r\n\x1a\nxxxx"],
)
def test_images_without_a_credential(data: bytes) -> None:
    with pytest.raises(BadgeError) as raised:
        unbake(data)
    assert raised.value.code == "no_baked_credential"
