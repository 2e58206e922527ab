"""The app in a real browser: one Streamlit server per test session, one fresh browser context per test.

The server runs ``streamlit run server.py`` on a free local port with its own SQLite file (the app
loads the demo data into the empty database on the first visit) and tiles pointed at an
unroutable local port, so no request leaves the machine; a test fails if the page asks any
other host for anything.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Route

from tests.browser import LOCAL_TILE_URL, outside_requests, require_chromium, screenshot_path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 60
# The first visit opens the database and loads the demo data; later ones are much quicker.
FIRST_LOAD_TIMEOUT_MS = 60_000


@dataclass
class AppServer:
    """A running ``streamlit run server.py``."""

    url: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class PageRecord:
    """What a page did during a test."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A browser test that fails runs once more before it counts as failed.

    A real browser against a live websocket has timing a test cannot always wait out (a rerun of
    the app's own arriving as a list opens). The rerun is reported ("R" and "rerun" in the
    summary), and a test that fails twice fails.
    """
    if not config.pluginmanager.hasplugin("rerunfailures"):  # -p no:rerunfailures: one run each
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def serve(folder: Path, *, database_url: str | None = None, environment: Mapping[str, str] | None = None) -> Iterator[AppServer]:
    """``streamlit run server.py`` on a free port, until the block ends, on ``database_url`` (default:
    a database of its own in ``folder``), with more variables in its ``environment``."""
    port = _free_port()
    database_url = database_url or f"sqlite:///{folder / 'e2e.db'}"
    env = {**os.environ, "DATABASE_URL": database_url, "TILE_URL": LOCAL_TILE_URL, **(environment or {})}
    command = [
        sys.executable, "-m", "streamlit", "run", "server.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        # Others edit the source while the suite runs: no watcher, so no module is reloaded mid-test.
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log_path = folder / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(f"http://127.0.0.1:{port}", database_url, log_path, process)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _healthy(server.url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with code {process.returncode}:\n{server.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer within {SERVER_START_TIMEOUT_S} s:\n{server.log()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    require_chromium()  # no point starting a server that no browser will visit
    with serve(tmp_path_factory.mktemp("e2e")) as server:
        yield server


def _router(record: PageRecord) -> Callable[[Route], None]:
    def handle(route: Route) -> None:
        url = route.request.url
        record.requests.append(url)
        if outside_requests([url]):
            route.abort()  # recorded (the test fails), and kept from leaving the machine
        else:
            route.continue_()

    return handle


def _dialog_handler(record: PageRecord) -> Callable[[Dialog], None]:
    def handle(dialog: Dialog) -> None:
        record.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    return handle


@pytest.fixture
def page_record() -> PageRecord:
    """Requests, dialogs and script errors of the test's page, for tests that look closer."""
    return PageRecord()


@pytest.fixture
def viewport() -> dict[str, int]:
    """The browser window; a test may override it with ``@pytest.mark.parametrize("viewport", [...])``."""
    return {"width": 1280, "height": 900}


@pytest.fixture
def color_scheme() -> str:
    """The system theme the browser reports (Streamlit follows it); override like ``viewport``."""
    return "light"


@pytest.fixture
def has_touch() -> bool:
    """Whether the browser has a touch screen (a phone: coarse pointer); override like ``viewport``."""
    return False


@pytest.fixture
def page(
    browser: Browser,
    app_server: AppServer,
    page_record: PageRecord,
    viewport: dict[str, int],
    color_scheme: str,
    has_touch: bool,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    """A fresh page (own session) that fails the test on an outside request, a JS dialog or an app error.

    A screenshot of the page at the end of each test goes to /tmp/screens/e2e-TEST.png.
    """
    context = browser.new_context(viewport=viewport, color_scheme=color_scheme, has_touch=has_touch)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    context.route("**/*", _router(page_record))
    page = context.new_page()
    page.on("dialog", _dialog_handler(page_record))
    page.on("pageerror", lambda error: page_record.errors.append(str(error)))
    log_start = len(app_server.log())
    yield page
    name = re.sub(r"\W+", "-", request.node.name).strip("-")
    try:
        page.screenshot(path=screenshot_path(f"e2e-{name}"), full_page=True)
        exceptions = page.get_by_test_id("stException").count()
    finally:
        context.close()
    server_errors = app_server.log()[log_start:]
    problems = []
    if outside := outside_requests(page_record.requests):
        problems.append(f"requests left the machine: {outside[:5]}")
    if page_record.dialogs:
        problems.append(f"JavaScript dialogs opened: {page_record.dialogs}")
    if page_record.errors:
        problems.append(f"JavaScript errors: {page_record.errors}")
    if exceptions:
        problems.append(f"the page shows {exceptions} exception(s)")
    if "Traceback" in server_errors:
        problems.append(f"the server logged an error:\n{server_errors}")
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture(scope="module")
def lead_token(browser: Browser, app_server: AppServer) -> str:
    """A sign-in token of the city lead of Warszawa, for a ``col_session`` cookie."""
    from opportunities.accounts import accounts
    from opportunities.accounts.identity import Role
    from opportunities.db import queries
    from opportunities.db.connection import open_database, writing
    from opportunities.settings import load_settings
    from tests.e2e.test_explore import open_explore

    # The server's first session starts at app.py (the demo data is loaded there).
    first = browser.new_context()
    open_explore(first.new_page(), app_server)
    first.close()
    settings = load_settings({"DATABASE_URL": app_server.database_url})
    engine = open_database(app_server.database_url)
    now = accounts.now_utc()
    with writing(engine) as conn:
        city = queries.find_city(conn, "Warszawa", "PL")
        assert city is not None and city.id is not None
        lead = accounts.find_user(conn, "lead@warszawa.example") or accounts.add_user(
            conn, "lead@warszawa.example", role=Role.CITY_LEAD, password=None, settings=settings, now=now, city_ids=(city.id,)
        )
        token = accounts.start_session(conn, lead.id, now, settings=settings)
    engine.dispose()
    return token
