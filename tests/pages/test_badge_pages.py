"""The badge pages (Claim, My badges, Verify, Badges) for each role and signed out (AppTest).

Claim and My badges are the browser's work (``ui/badge_wallet.js``, tested in
tests/e2e/test_badges.py); here: each page opens for everyone in their language, sends the
browser its texts, and a claim link's code reaches the form only when it looks like a code.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT, World, page

ROLES = ["nobody", "admin", "lead_gbg", "librarian"]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "warning", "error", "info", "success")
             for e in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def component_data(at: AppTest, view: str) -> dict[str, object]:
    """The data the wallet component was mounted with for ``view`` ("claim" or "wallet") on the last run."""
    for element in at.get("bidi_component"):
        if element.proto.component_name == "col_badge_wallet":
            data = dict(json.loads(element.proto.json))
            if data["view"] == view:
                return data
    raise AssertionError(f"no {view} component")


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(("name", "title"), [("claim", "Claim a badge"), ("my_badges", "My badges")])
def test_the_wallet_pages_open_for_everyone(signed_in: World, who: str, name: str, title: str) -> None:
    at = page(name, None if who == "nobody" else getattr(signed_in, who), signed_in)
    assert not at.exception
    assert at.title[0].value == title
    assert "Sign in" not in texts(at)


@pytest.mark.parametrize(("language", "title", "label"), [("sv", "Hämta ett märke", "Märkeskod"), ("sl", "Prevzemi značko", "Koda značke"),
                                                          ("pl", "Odbierz odznakę", "Kod odznaki")])  # fmt: skip
def test_the_claim_form_speaks_the_visitors_language(signed_in: World, language: str, title: str, label: str) -> None:
    at = page("claim", None, signed_in, language)
    assert at.title[0].value == title
    data = component_data(at, "claim")
    assert data["lang"] == language
    assert data["texts"]["codeLabel"] == label  # type: ignore[index]


@pytest.mark.parametrize(("code", "sent"), [("K7Q-M2X-9PD", "K7Q-M2X-9PD"), ("<script>", ""), ("x" * 65, "")])
def test_a_claim_links_code_reaches_the_form_only_when_it_looks_like_one(signed_in: World, code: str, sent: str) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "claim.py"), default_timeout=60)
    at.query_params["code"] = code
    at.run()
    assert not at.exception
    assert component_data(at, "claim")["code"] == sent


def test_the_wallet_says_clearing_the_browser_loses_the_badges(signed_in: World) -> None:
    at = page("my_badges", None, signed_in, "pl")
    data = component_data(at, "wallet")
    assert data["view"] == "wallet"
    assert "przeglądarce" in data["texts"]["clearingLoses"]  # type: ignore[index]
