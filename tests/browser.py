"""Headless Chromium for the browser tests: where it is, how it starts, which requests a page may make.

Debian's chromium is used (``apt-get install -y chromium``), never a browser downloaded by
``playwright install``. Every test keeps its traffic on this machine: tiles point at an
unroutable local port, so any request to another host is a regression.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# Nothing listens on port 9 (discard): tile requests fail at once and stay on this machine.
LOCAL_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
SCREENSHOTS = Path("/tmp/screens")
# The front page's pictures of each user journey; journey_screenshot() renews them on request.
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
UPDATE_DOCS_SCREENSHOTS = "UPDATE_DOCS_SCREENSHOTS"
# axe-core, the accessibility checker, from the project's package.json (`npm ci` installs it).
AXE_SCRIPT = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def require_chromium() -> None:
    """Skip the calling test when chromium is missing; on CI (env CI set) fail instead."""
    if CHROMIUM.exists():
        return
    reason = f"headless browser tests need {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def require_axe() -> Path:
    """The axe-core script; skip the calling test when it is not installed, on CI (env CI set) fail."""
    if AXE_SCRIPT.exists():
        return AXE_SCRIPT
    reason = f"this browser test runs axe-core, which needs {AXE_SCRIPT} (run `npm ci` in the project folder)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def outside_requests(urls: Iterable[str]) -> list[str]:
    """The URLs that leave the machine: any host but 127.0.0.1/localhost (file: and data: stay)."""
    outside = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("file", "data", "blob", "about"):
            continue
        if parts.hostname not in LOCAL_HOSTS:
            outside.append(url)
    return outside


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed afterwards."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def journey_screenshot(page: Page, name: str, *, height: int = 900) -> Path:
    """The top ``height`` pixels of the window (what a visitor sees first) in /tmp/screens/journey-NAME.png.

    With ``UPDATE_DOCS_SCREENSHOTS=1`` it is also copied to ``docs/images/NAME.png``: the README and
    the documentation show each user journey with these, so they stay what the app looks like today.
    """
    path = screenshot_path(f"journey-{name}")
    width = page.viewport_size["width"] if page.viewport_size else 1280
    page.screenshot(path=path, clip={"x": 0, "y": 0, "width": width, "height": height}, animations="disabled", caret="hide")
    if os.environ.get(UPDATE_DOCS_SCREENSHOTS) == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / f"{name}.png")
    return path
