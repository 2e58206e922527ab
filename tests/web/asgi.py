"""One GET through an ASGI app, as the web server makes it: what the route tests call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, list[str]]  # each name, lower case, with its values in order
    body: bytes


def in_own_thread(call: Callable[[], T]) -> T:
    """``call()`` in a thread of its own: after the browser tests, Playwright's event loop runs in
    this one, and ``asyncio.run`` refuses to start a second loop in a thread that runs one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def get(app: Any, path: str, query: str = "", headers: dict[str, str] | None = None, client: str = "127.0.0.1") -> Answer:
    """GET ``path`` with ``query`` from the ASGI app, from ``client``."""
    raw = [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": raw, "client": (client, 5000), "server": ("127.0.0.1", 8501)}  # fmt: skip
    sent: list[dict[str, Any]] = []
    asked: list[bool] = []

    async def receive() -> dict[str, object]:
        if asked:  # the request was read: like a browser that stays, wait (a file response listens for it leaving)
            await asyncio.Event().wait()
        asked.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    in_own_thread(lambda: asyncio.run(app(scope, receive, send)))
    start = next(m for m in sent if m["type"] == "http.response.start")
    found: dict[str, list[str]] = {}
    for name, value in start["headers"]:
        found.setdefault(name.decode().lower(), []).append(value.decode())
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(int(start["status"]), found, body)
