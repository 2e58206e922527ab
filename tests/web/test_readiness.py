"""Ready before the first visitor (issue 16): the warm-up, ``/ready`` (503 until warm, then 200
with the search index's age) and ``/health`` (the database answers). Called as the ASGI server calls them."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from tests.web.asgi import in_own_thread
from tests.web.test_session_cookie import get
from web import readiness
from web.readiness import ROUTES, Warmup, ready_response


def test_ready_is_503_until_warm_then_200_with_the_index_age() -> None:
    release = threading.Event()

    def work() -> object:
        release.wait(10)
        return lambda: 12.34

    warmup = Warmup(work)  # type: ignore[arg-type]
    assert ready_response(warmup).status_code == 503
    warmup.start()
    response = ready_response(warmup)
    assert response.status_code == 503
    assert json.loads(bytes(response.body)) == {"ready": False, "status": "warming up"}
    release.set()
    assert warmup.wait(10)
    response = ready_response(warmup)
    assert response.status_code == 200
    assert json.loads(bytes(response.body)) == {"ready": True, "index_age_s": 12.3}
    assert response.headers["cache-control"] == "no-store"


def test_a_failed_warm_up_is_not_ready() -> None:
    def work() -> object:
        raise OSError("disk full")

    warmup = Warmup(work)  # type: ignore[arg-type]
    warmup.start()
    assert not warmup.wait(10)
    response = ready_response(warmup)
    assert response.status_code == 503
    assert json.loads(bytes(response.body))["status"] == "failed"


def test_routes_answer(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(readiness, "WARMUP", Warmup(lambda: lambda: 1.0))
    app = Starlette(routes=ROUTES)
    assert get(app, "/ready")[0] == 503
    readiness.WARMUP.start()
    readiness.WARMUP.wait(10)
    assert get(app, "/ready")[0] == 200
    assert get(app, "/health")[0] == 200


def test_health_is_503_when_the_database_does_not_answer(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    assert get(Starlette(routes=ROUTES), "/health")[0] == 503


def test_the_server_warms_up_as_it_starts() -> None:
    """server.py hands st.App the lifespan that starts the warm-up, and serves both routes."""
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "server.py").read_text()
    assert "lifespan=lifespan" in source and "READINESS_ROUTES" in source


def test_the_warm_up_imports_the_explore_pages_modules_and_survives_one_failing(caplog: pytest.LogCaptureFixture) -> None:
    """A fresh server's first visitor does not wait for the page's imports; the names are the page's own."""
    import ast
    import sys
    from pathlib import Path

    page = ast.parse((Path(__file__).resolve().parents[2] / "pages" / "explore.py").read_text())
    imports = [node for node in ast.walk(page) if isinstance(node, ast.ImportFrom) and node.module]
    imported = {node.module for node in imports} | {f"{node.module}.{alias.name}" for node in imports for alias in node.names}
    assert set(readiness.PAGE_MODULES) <= imported
    readiness.import_page_modules((*readiness.PAGE_MODULES, "opportunities.no_such_module"))
    assert all(name in sys.modules for name in readiness.PAGE_MODULES)
    assert "importing opportunities.no_such_module failed" in caplog.text


def test_the_warm_up_imports_no_streamlit_component() -> None:
    """A component declared in the warm-up's thread (outside a script run) is never registered: the
    map's frame answered 404 when the warm-up imported streamlit-folium."""
    import subprocess
    import sys

    check = (
        "import sys; from web.readiness import PAGE_MODULES, import_page_modules; import_page_modules(); "
        "print(sorted(m for m in sys.modules if m.startswith(('streamlit_folium', 'ui.'))))"
    )
    found = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=120)
    assert found.stdout.strip() == "[]", found.stdout


def _held_warmup() -> tuple[Warmup, threading.Event]:
    release = threading.Event()

    def work() -> object:
        release.wait(10)
        return lambda: 0.5

    return Warmup(work), release  # type: ignore[arg-type]


def test_the_lifespan_answers_nobody_before_the_warm_up_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server starts serving only once its lifespan has started: the warm-up comes first (WARMUP_WAIT_S)."""
    import asyncio

    warmup, release = _held_warmup()
    monkeypatch.setattr(readiness, "WARMUP", warmup)
    monkeypatch.setenv("WARMUP_WAIT_S", "30")
    monkeypatch.setenv("HARVEST_INTERVAL_S", "0")
    entered: list[bool] = []

    async def start() -> None:
        async with readiness.lifespan(None):
            entered.append(warmup.ready)

    async def scenario() -> None:
        task = asyncio.create_task(start())
        await asyncio.sleep(0.3)
        assert not entered and not task.done()  # still warming up: not serving yet
        release.set()
        await asyncio.wait_for(task, 10)

    in_own_thread(lambda: asyncio.run(scenario()))
    assert entered == [True]


@pytest.mark.parametrize(
    ("wait_s", "released", "expected"),
    [
        (0, False, False),  # 0: serve at once, warm up behind
        (0.2, False, False),  # past the wait: serve, the warm-up goes on
        (10, True, True),
    ],
)
def test_waiting_for_the_warm_up(wait_s: float, released: bool, expected: bool) -> None:
    import asyncio

    warmup, release = _held_warmup()
    warmup.start()
    if released:
        release.set()
    assert in_own_thread(lambda: asyncio.run(readiness.wait_for_warmup(warmup, wait_s))) is expected
    release.set()
    assert warmup.wait(10)


def test_a_failed_warm_up_opens_the_port_at_once() -> None:
    import asyncio
    import time

    def work() -> object:
        raise OSError("database down")

    warmup = Warmup(work)  # type: ignore[arg-type]
    warmup.start()
    started = time.monotonic()
    assert in_own_thread(lambda: asyncio.run(readiness.wait_for_warmup(warmup, 30))) is False
    assert time.monotonic() - started < 5
