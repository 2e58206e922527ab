"""The badge routes (issue 18): public, no sign-in, JSON.

- ``GET /badges/status/{list_id}``: a status list credential (Bitstring Status List), cached
  briefly (``max-age=300``): a revocation shows within five minutes.
- ``GET /badges/achievements/{id}``: a published badge's OB 3.0 ``Achievement`` in the reader's
  language (``?lang=``, Accept-Language).
- ``POST /badges/claim``: ``{"code": "ABCDE-FGHJK" | "token": "…", "subject": "did:key:…"}``
  -> the signed credential. Limited against guessing per client and overall
  (:mod:`opportunities.badges.claims`, in the database: it holds across replicas).
- ``POST /badges/playlist-claim``: ``{"playlist": 7, "presentation": {…}}`` -> the playlist's
  signed credential.
- ``POST /badges/verify``: a credential (JSON) or a PNG/SVG with one baked in -> what
  verification found, its reasons in the reader's language.
- ``GET /.well-known/did.json``: the issuer's DID document, when BADGE_ISSUER_DID is ``web``.

A refusal is JSON ``{"error": reason id, "message": in the reader's language}`` with a status
that says what kind it is (400 bad input, 404/410 an unknown or spent code, 413 too large, 429
too many attempts with Retry-After). Bodies are read up to their cap, never further. No route
keeps the client's address: the limits store a hash of it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from opportunities.accounts.accounts import client_key
from opportunities.badges import achievements, awarding, issuance
from opportunities.badges.claims import CodeKind
from opportunities.badges.credentials import achievement_json
from opportunities.badges.keys import IssuerKey, did_document
from opportunities.badges.verification import MAX_BYTES
from opportunities.db.connection import create_db_engine
from opportunities.errors import BadgeError, Reason
from opportunities.i18n import explain, negotiate_language
from opportunities.settings import Settings, load_settings
from opportunities.vocabulary import Status

_LOG = logging.getLogger(__name__)
CLAIM_MAX_BYTES = 4 * 1024  # a code or token and a subject
PLAYLIST_MAX_BYTES = 2 * 1024 * 1024  # up to 60 credentials
STATUS_LIST_CACHE = "public, max-age=300"
ACHIEVEMENT_CACHE = "public, max-age=3600"
_NO_STORE = {"Cache-Control": "no-store"}
# Verifying costs CPU (canonicalisation) on the process that does it, so its limit is per process:
# a client may verify this many documents a minute here.
VERIFY_PER_MINUTE = 60
_STATUS = {
    "too_many_attempts": 429, "claims_busy": 429, "code_unknown": 404, "credential_unknown": 404, "achievement_unknown": 404,
    "code_expired": 410, "code_used": 410, "achievement_not_published": 409, "body_too_large": 413, "too_large": 413,
}  # fmt: skip


@functools.cache
def _engine(url: str, busy_timeout_s: float) -> Engine:
    return create_db_engine(url, busy_timeout_s=busy_timeout_s)


def _database(settings: Settings) -> Engine:
    return _engine(settings.database_url, settings.database_busy_timeout_s)


@functools.lru_cache(maxsize=4)
def _keys(path: str, mtime_ns: int, did: str, public_url: str, settings: Settings) -> tuple[IssuerKey, ...]:
    return issuance.issuer_keys(settings)


def _issuer_keys(settings: Settings) -> tuple[IssuerKey, ...]:
    """The issuer keys, read again when the key file changes (a rotation)."""
    path = settings.badge_key_file
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return _keys(str(path), mtime, settings.badge_issuer_did, settings.public_url, settings)


class ClientWindow:
    """At most ``limit`` requests per client in any ``window_s`` seconds, in this process (the
    clients known are bounded: the least recently seen are forgotten)."""

    def __init__(self, limit: int, window_s: float, max_clients: int = 10_000) -> None:
        self.limit, self.window_s, self.max_clients = limit, window_s, max_clients
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, client: str, now: float | None = None) -> int:
        """0 and the request counted, or the whole seconds to wait before the next one."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.pop(client, deque())
            while times and times[0] <= moment - self.window_s:
                times.popleft()
            self._seen[client] = times
            if len(self._seen) > self.max_clients:
                self._seen.popitem(last=False)
            if len(times) >= self.limit:
                return max(1, int(times[0] + self.window_s - moment) + 1)
            times.append(moment)
            return 0


_VERIFICATIONS = ClientWindow(VERIFY_PER_MINUTE, 60.0)


def language_of(request: Request) -> str:
    """``?lang=`` first, then Accept-Language, among the app's languages; else English."""
    return negotiate_language([request.query_params.get("lang", ""), request.headers.get("accept-language", "")])


def refusal(
    code: str, reason: Reason, language: str, *, status: int | None = None, retry_after: int | None = None
) -> JSONResponse:
    headers = {**_NO_STORE, "Content-Language": language}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse({"error": code, "message": explain(reason, language)}, status_code=status or _STATUS.get(code, 400),
                        headers=headers)  # fmt: skip


def _refused(error: BadgeError, language: str) -> JSONResponse:
    minutes = error.reason.values.get("minutes")
    retry = int(minutes) * 60 if error.code in ("too_many_attempts", "claims_busy") and isinstance(minutes, int) else None
    return refusal(error.code, error.reason, language, retry_after=retry)


def _unavailable(language: str) -> JSONResponse:
    return refusal("unavailable", BadgeError("unavailable").reason, language, status=503, retry_after=60)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes: ``BadgeError("body_too_large")`` beyond, read no further."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadgeError("body_too_large", limit=limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadgeError("body_too_large", limit=limit)
    return bytes(body)


def _json_fields(body: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object with ``fields`` (all present); ``BadgeError("body_invalid")`` otherwise."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict) or any(name not in parsed for name in fields):
        raise BadgeError("body_invalid", fields=", ".join(fields))
    return parsed


def _client(request: Request) -> str:
    """A hash of the client's address (uvicorn takes it from X-Forwarded-For behind TRUSTED_PROXIES)."""
    return client_key(request.client.host) if request.client is not None and request.client.host else ""


# --- GET ------------------------------------------------------------------------------------------


async def status_list(request: Request) -> Response:
    language = language_of(request)
    settings = load_settings()

    def read() -> dict[str, Any] | None:
        with _database(settings).connect() as conn:
            return issuance.status_list_document(conn, int(request.path_params["list_id"]), keys=_issuer_keys(settings),
                                                 public_url=settings.public_url)  # fmt: skip

    try:
        document = await run_in_threadpool(read)
    except SQLAlchemyError:
        _LOG.exception("a status list could not be read")
        return _unavailable(language)
    if document is None:
        return refusal("status_list_unknown", BadgeError("status_list_unknown").reason, language, status=404)
    return JSONResponse(document, headers={"Cache-Control": STATUS_LIST_CACHE}, media_type="application/vc+ld+json")


async def achievement(request: Request) -> Response:
    language = language_of(request)
    settings = load_settings()
    achievement_id = int(request.path_params["achievement_id"])

    def read() -> achievements.Achievement:
        with _database(settings).connect() as conn:
            return achievements.get_achievement(conn, achievement_id)

    try:
        found = await run_in_threadpool(read)
    except BadgeError as error:
        return _refused(error, language)
    except SQLAlchemyError:
        return _unavailable(language)
    if found.status is not Status.PUBLISHED:  # a badge under review is not public yet
        return _refused(BadgeError("achievement_unknown", id=str(achievement_id)), language)
    definition = achievements.definition(found, public_url=settings.public_url, issuer_name=settings.feed_publisher)
    headers = {"Cache-Control": ACHIEVEMENT_CACHE, "Content-Language": language, "Vary": "Accept-Language"}
    return JSONResponse(achievement_json(definition, language=language), headers=headers)


async def did_json(request: Request) -> Response:
    settings = load_settings()
    if settings.badge_issuer_did != "web":
        return refusal("not_did_web", BadgeError("not_did_web").reason, language_of(request), status=404)
    keys = await run_in_threadpool(_issuer_keys, settings)
    return JSONResponse(did_document(keys), headers={"Cache-Control": "public, max-age=3600"}, media_type="application/did+json")


# --- POST -----------------------------------------------------------------------------------------


async def claim(request: Request) -> Response:
    language = language_of(request)
    settings = load_settings()
    try:
        body = _json_fields(await read_body(request, CLAIM_MAX_BYTES), ("subject",))
        secret, kind = (body.get("code"), CodeKind.CODE) if "code" in body else (body.get("token"), CodeKind.LINK)
        if not isinstance(secret, str) or not isinstance(body["subject"], str):
            raise BadgeError("body_invalid", fields="code (or token), subject")
        claimed = await run_in_threadpool(
            awarding.claim, _database(settings), secret, body["subject"], kind=kind, client=_client(request), now=datetime.now(UTC),
            settings=settings, signer=issuance.signer_for(settings, language=language, key=_issuer_keys(settings)[0]),
        )  # fmt: skip
    except BadgeError as error:
        return _refused(error, language)
    except SQLAlchemyError:
        _LOG.exception("a claim could not be stored")
        return _unavailable(language)
    return JSONResponse(claimed.credential, status_code=201, headers=_NO_STORE, media_type="application/vc+ld+json")


async def playlist_claim(request: Request) -> Response:
    language = language_of(request)
    settings = load_settings()
    engine = _database(settings)
    client = _client(request)
    now = datetime.now(UTC)
    try:
        body = _json_fields(await read_body(request, PLAYLIST_MAX_BYTES), ("playlist", "presentation"))
        if not isinstance(body["playlist"], int) or isinstance(body["playlist"], bool):
            raise BadgeError("body_invalid", fields="playlist (a number), presentation")

        def run() -> awarding.Claimed:
            from opportunities.badges import claims
            from opportunities.db.connection import writing

            with writing(engine) as conn:  # the claims' limits hold for presentations too: each costs work
                claims.check_limits(conn, client, now, settings)
            keys = _issuer_keys(settings)
            try:
                return awarding.claim_playlist(engine, body["playlist"], body["presentation"], now=now,
                                               verify=awarding.verifier(engine, settings, now=now),
                                               signer=issuance.signer_for(settings, language=language, key=keys[0]))  # fmt: skip
            except BadgeError:
                with writing(engine) as conn:
                    claims.record_failure(conn, client, now, settings)
                raise

        claimed = await run_in_threadpool(run)
    except BadgeError as error:
        return _refused(error, language)
    except SQLAlchemyError:
        _LOG.exception("a playlist claim could not be stored")
        return _unavailable(language)
    return JSONResponse(claimed.credential, status_code=201, headers=_NO_STORE, media_type="application/vc+ld+json")


async def verify_route(request: Request) -> Response:
    language = language_of(request)
    settings = load_settings()
    # Counted by a hash of the address, never the address (as web/public.py's limits are).
    wait = _VERIFICATIONS.wait_s(hashlib.blake2b((_client(request) or "unknown").encode(), digest_size=16).hexdigest())
    if wait:
        return refusal("too_many_requests", BadgeError("too_many_requests", seconds=wait).reason, language, status=429,
                       retry_after=wait)  # fmt: skip
    try:
        body = await read_body(request, MAX_BYTES)
    except BadgeError as error:
        return _refused(error, language)
    now = datetime.now(UTC)
    try:
        found = await run_in_threadpool(lambda: awarding.verifier(_database(settings), settings, now=now)(body))
    except SQLAlchemyError:
        return _unavailable(language)
    shown = {
        "valid": found.valid, "state": found.state, "codes": list(found.codes),
        "reasons": [explain(reason, language) for reason in found.reasons], "issuer": found.issuer,
        "issuer_name": found.issuer_name, "issued_here": found.issued_here, "achievement": found.achievement_name,
        "achievement_id": found.achievement_id, "subject": found.subject, "credential_id": found.credential_id,
        "issued": found.issued.isoformat() if found.issued else None,
        "valid_until": found.valid_until.isoformat() if found.valid_until else None,
    }  # fmt: skip
    return JSONResponse(shown, headers={**_NO_STORE, "Content-Language": language})


ROUTES = [
    Route("/badges/status/{list_id:int}", status_list, methods=["GET"]),
    Route("/badges/achievements/{achievement_id:int}", achievement, methods=["GET"]),
    Route("/badges/claim", claim, methods=["POST"]),
    Route("/badges/playlist-claim", playlist_claim, methods=["POST"]),
    Route("/badges/verify", verify_route, methods=["POST"]),
    Route("/.well-known/did.json", did_json, methods=["GET"]),
]
