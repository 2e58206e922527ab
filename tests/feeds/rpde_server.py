"""A real RPDE publisher for the harvesting tests: a threaded HTTP server on 127.0.0.1.

Each path (with its query) answers what the test set: an RPDE page, a status with headers, or a
body written slowly (slow loris) or without end (a 1 GB page). Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "openactive" / "examples"


def example_item(name: str) -> dict[str, Any]:
    """The first item of one of OpenActive's example pages (tests/data/openactive/examples)."""
    page = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    item: dict[str, Any] = page["items"][0]
    return item


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    drip_s: float = 0.0  # seconds between two bytes of the body (slow loris)
    endless: bool = False  # a body that never ends, without Content-Length


class FeedServer:
    """Answers per path; ``requests`` lists the paths asked for, in order."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                answer = server.answers.get(self.path, Answer(404, b'{"error": "not found"}'))
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if not answer.endless:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._body(answer)

            def _body(self, answer: Answer) -> None:
                if answer.endless:
                    chunk = b" " * 65536
                    while True:
                        self.wfile.write(chunk)
                if answer.drip_s:
                    for byte in answer.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(answer.drip_s)
                    return
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, items: Sequence[dict[str, Any]], next_path: str, **extra: Any) -> None:
        """An RPDE page at ``path`` whose ``next`` is ``next_path`` (absolute)."""
        body = {"next": self.url(next_path), "items": list(items), "license": "https://creativecommons.org/licenses/by/4.0/"}
        self.answers[path] = Answer(body=json.dumps({**body, **extra}).encode())

    def last_page(self, path: str) -> None:
        """RPDE's last page: no items, ``next`` pointing at itself."""
        self.page(path, [], path)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def serve() -> Iterator[FeedServer]:
    server = FeedServer()
    try:
        yield server
    finally:
        server.close()
