"""The badge routes through the ASGI app: claims, refusals with reason ids in the reader's
language, capped bodies, limits, status lists, achievements, verification, the DID document."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from opportunities.badges import claims
from opportunities.db.connection import writing
from tests.badges.store import SUBJECT, Badges, make_badges
from tests.conftest import World
from web.badges import CLAIM_MAX_BYTES, ROUTES

PUBLIC = "https://map.example.org"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(app: Any, method: str, path: str, body: bytes = b"", *, headers: dict[str, str] | None = None, client: str = "192.0.2.1",
         chunks: int = 1) -> Answer:  # fmt: skip
    raw = [(b"host", b"map.example.org"), *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "https", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw, "client": (client, 5000),
             "server": ("127.0.0.1", 8501)}  # fmt: skip
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, object]:
        part = parts.pop(0) if parts else b""
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    found = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return Answer(int(start["status"]), found, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


@pytest.fixture
def served(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Badges, Starlette]:
    badges = make_badges(world, tmp_path)
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("BADGE_KEY_FILE", str(tmp_path / "keys" / "badge-issuer.key"))
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    return badges, Starlette(routes=ROUTES)


def _code(b: Badges, achievement_id: int, *, uses: int = 1) -> str:
    with writing(b.engine) as conn:
        return claims.create_code(conn, b.world.librarian if achievement_id != b.robotics else b.world.admin, achievement_id,
                                  valid_for=timedelta(hours=1), max_uses=uses, now=claims_now()).code  # fmt: skip


def claims_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _post(app: Starlette, path: str, document: object, **kwargs: Any) -> Answer:
    return call(app, "POST", path, json.dumps(document).encode(), headers={"content-type": "application/json", **kwargs.pop("headers", {})},
                **kwargs)  # fmt: skip


def test_a_claim_returns_the_signed_badge_in_the_readers_language_and_the_status_list_serves_it(
    served: tuple[Badges, Starlette],
) -> None:
    badges, app = served
    answer = _post(app, "/badges/claim", {"code": _code(badges, badges.code_club), "subject": SUBJECT},
                   headers={"accept-language": "sv-SE,sv;q=0.9"})  # fmt: skip
    assert answer.status == 201 and answer.headers["cache-control"] == "no-store"
    credential = answer.json()
    assert (
        credential["credentialSubject"]["achievement"]["name"] == "Kodklubben"
        and credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    )
    listed = call(app, "GET", credential["credentialStatus"]["statusListCredential"].removeprefix(PUBLIC))
    assert listed.status == 200 and listed.headers["cache-control"] == "public, max-age=300"
    assert listed.json()["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    verified = call(app, "POST", "/badges/verify", answer.body, headers={"accept-language": "pl"})
    assert verified.json()["state"] == "valid" and verified.json()["issued_here"] is True
    badge = call(app, "GET", f"/badges/achievements/{badges.code_club}", headers={"accept-language": "sv"})
    assert badge.json()["name"] == "Kodklubben" and badge.json()["id"] == f"{PUBLIC}/badges/achievements/{badges.code_club}"


@pytest.mark.parametrize(
    ("body", "status", "error", "language", "words"),
    [
        ({"code": "ABCDE-FGHJK", "subject": SUBJECT}, 404, "code_unknown", "en", "not valid"),
        ({"code": "ABCDE-FGHJK", "subject": SUBJECT}, 404, "code_unknown", "sv", "giltig"),
        ({"code": "nope", "subject": SUBJECT}, 400, "code_malformed", "pl", "ABCDE-FGHJK"),
        ({"code": "ABCDE-FGHJK", "subject": "Ana Novak"}, 400, "subject_invalid", "sl", "did:key"),
        ({"subject": SUBJECT, "code": 12}, 400, "body_invalid", "en", "subject"),
        ({"code": "ABCDE-FGHJK"}, 400, "body_invalid", "en", "subject"),
        ([1, 2], 400, "body_invalid", "en", "subject"),
    ],
)
def test_a_refused_claim_says_why_in_the_readers_language(served: tuple[Badges, Starlette], body: object, status: int, error: str,
                                                          language: str, words: str) -> None:  # fmt: skip
    answer = _post(served[1], "/badges/claim", body, headers={"accept-language": language})
    assert (answer.status, answer.json()["error"]) == (status, error)
    assert words in answer.json()["message"] and answer.headers["content-language"] == language


def test_a_spent_code_is_gone_and_a_guessing_client_is_told_when_to_come_back(served: tuple[Badges, Starlette]) -> None:
    badges, app = served
    code = _code(badges, badges.code_club)
    assert _post(app, "/badges/claim", {"code": code, "subject": SUBJECT}).status == 201
    spent = _post(app, "/badges/claim", {"code": code, "subject": SUBJECT})
    assert (spent.status, spent.json()["error"]) == (410, "code_used")
    for _ in range(badges.world.settings.badge_claim_max_failures_per_client):
        _post(app, "/badges/claim", {"code": "ABCDE-FGHJK", "subject": SUBJECT}, client="198.51.100.9")
    stopped = _post(app, "/badges/claim", {"code": _code(badges, badges.chess), "subject": SUBJECT}, client="198.51.100.9")
    assert (stopped.status, stopped.json()["error"]) == (429, "too_many_attempts") and int(stopped.headers["retry-after"]) >= 60
    assert (
        _post(app, "/badges/claim", {"code": _code(badges, badges.chess), "subject": SUBJECT}, client="198.51.100.10").status
        == 201
    )


@pytest.mark.parametrize("chunks", [1, 7])
def test_bodies_are_capped(served: tuple[Badges, Starlette], chunks: int) -> None:
    big = json.dumps({"code": "A" * CLAIM_MAX_BYTES, "subject": SUBJECT}).encode()
    answer = call(served[1], "POST", "/badges/claim", big, chunks=chunks)  # no Content-Length: read until the cap
    assert (answer.status, answer.json()["error"]) == (413, "body_too_large")
    declared = call(served[1], "POST", "/badges/claim", b"{}", headers={"content-length": str(10**9)})
    assert declared.status == 413


def test_a_playlist_claim_over_http(served: tuple[Badges, Starlette]) -> None:
    from opportunities.badges import playlists

    badges, app = served
    with writing(badges.engine) as conn:
        playlist = playlists.create_playlist(conn, badges.world.lead_gbg, city_id=badges.world.gbg, rule=playlists.Rule.any_n(2),
                                             members=[badges.code_club, badges.chess], now=claims_now(),
                                             texts={"en": {"name": "Both", "description": "Both clubs.", "criteria": "Both."}})  # fmt: skip
    earned = [
        _post(app, "/badges/claim", {"code": _code(badges, b), "subject": SUBJECT}).json()
        for b in (badges.code_club, badges.chess)
    ]
    short = _post(app, "/badges/playlist-claim", {"playlist": playlist.id, "presentation": {"verifiableCredential": earned[:1]}})
    assert (short.status, short.json()["error"]) == (400, "rule_not_met") and "1" in short.json()["message"]
    done = _post(app, "/badges/playlist-claim", {"playlist": playlist.id, "presentation": {"verifiableCredential": earned}})
    assert done.status == 201 and done.json()["credentialSubject"]["achievement"]["name"] == "Both"
    unknown = _post(app, "/badges/playlist-claim", {"playlist": 999, "presentation": {"verifiableCredential": earned}})
    assert unknown.status == 404


def test_unknown_or_unpublished_things_are_404_and_verify_explains(served: tuple[Badges, Starlette]) -> None:
    app = served[1]
    assert call(app, "GET", "/badges/status/999").status == 404
    assert call(app, "GET", "/badges/achievements/999").json()["error"] == "achievement_unknown"
    assert call(app, "GET", "/.well-known/did.json").status == 404  # did:key by default
    broken = call(app, "POST", "/badges/verify", b"{not json", headers={"accept-language": "sl"})
    assert broken.status == 200 and broken.json()["state"] == "invalid" and broken.json()["codes"] == ["not_json"]


@pytest.mark.parametrize(
    ("moments", "waits"),
    [
        ([0, 1, 2, 3], [0, 0, 0, 58]),  # the fourth within the minute waits until the first is a minute old
        ([0, 1, 2, 60.5, 61], [0, 0, 0, 0, 0]),
        ([0, 0, 0, 0, 0, 30], [0, 0, 0, 61, 61, 31]),
    ],
)
def test_a_clients_window(moments: list[float], waits: list[int]) -> None:
    from web.badges import ClientWindow

    window = ClientWindow(3, 60.0)
    assert [window.wait_s("a", now=m) for m in moments] == waits
    assert window.wait_s("b", now=moments[-1]) == 0  # another client is not held back


def test_verification_is_limited_per_client(served: tuple[Badges, Starlette], monkeypatch: pytest.MonkeyPatch) -> None:
    from web import badges as routes

    monkeypatch.setattr(routes, "_VERIFICATIONS", routes.ClientWindow(2, 60.0))
    answers = [call(served[1], "POST", "/badges/verify", b"{}", headers={"accept-language": "sv"}) for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"] == "too_many_requests" and "sekunder" in answers[2].json()["message"]
    assert int(answers[2].headers["retry-after"]) > 0
    assert call(served[1], "POST", "/badges/verify", b"{}", client="192.0.2.77").status == 200


def test_the_did_document_is_served_for_did_web(
    served: tuple[Badges, Starlette], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BADGE_ISSUER_DID", "web")
    monkeypatch.setenv("BADGE_KEY_FILE", str(tmp_path / "web-keys" / "badge-issuer.key"))
    answer = call(served[1], "GET", "/.well-known/did.json")
    assert answer.status == 200 and answer.json()["id"] == "did:web:map.example.org"
