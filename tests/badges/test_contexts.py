"""The bundled contexts: the copies the product stands behind, served by URL, nothing else fetched."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from opportunities.badges.contexts import CONTEXT_FILES, CONTEXTS_DIR, OB_V3P0, context_document, document_loader
from opportunities.badges.status_lists import status_list_credential
from opportunities.errors import BadgeError
from tests.badges.conftest import LIST_URL, Issued


@pytest.mark.parametrize("url", sorted(CONTEXT_FILES))
def test_each_bundled_context_is_served_under_its_url(url: str) -> None:
    answer = document_loader(url)
    assert answer["documentUrl"] == url and answer["tag"] == "static"
    assert "@context" in answer["document"]
    assert document_loader(url)["document"] is answer["document"]  # parsed once


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/context.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "https://www.w3.org/2018/credentials/v1",
        "file:///etc/passwd",
        "",
    ],
)
def test_any_other_url_is_refused_not_fetched(url: str) -> None:
    with pytest.raises(BadgeError) as raised:
        document_loader(url)
    assert raised.value.code == "unknown_context"


def test_the_ob_context_is_1edtechs_copy_not_openbadgeslibs() -> None:
    terms = context_document(OB_V3P0)["@context"]
    assert "endorsementJwt" not in json.dumps(terms) and "jti" not in terms
    assert "OpenBadgeCredential" in terms and "Achievement" in terms


def test_only_the_listed_files_are_bundled() -> None:
    assert sorted(path.name for path in CONTEXTS_DIR.iterdir()) == sorted(CONTEXT_FILES.values())
    for name in CONTEXT_FILES.values():
        assert hashlib.sha256((CONTEXTS_DIR / name).read_bytes()).hexdigest()  # readable


def test_a_status_list_credential_is_the_same_for_the_same_inputs(issued: Issued) -> None:
    moment = datetime(2026, 12, 6, tzinfo=UTC)
    first = status_list_credential(list_url=LIST_URL, revoked=[5, 1], issuer=issued.key, issued=moment)
    again = status_list_credential(list_url=LIST_URL, revoked=[1, 5], issuer=issued.key, issued=moment)
    assert json.dumps(first) == json.dumps(again)
