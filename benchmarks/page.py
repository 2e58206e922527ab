"""The Explore page's first load in headless Chromium: from navigation to the first map features.

Runs the real app (``streamlit run server.py``) on the map benchmark's databases and opens it in a
fresh browser context each time, as a new visitor would. The first visit after a data change
also builds the search index; later visits (and every visitor after an import, which builds it)
read the snapshot.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opportunities.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
VISITS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(database: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png"}
    command = [sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless", "true", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]  # fmt: skip
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"the app did not start: see {log}")


def first_loads(url: str, visits: int = VISITS) -> list[float]:
    """Seconds from navigation to the first cluster or pin on the map, one fresh context per visit."""
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(visits):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url)
            frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
            frame.locator(".col-cluster, .col-pin").first.wait_for(timeout=180_000)
            seconds.append(time.perf_counter() - start)
            context.close()
        browser.close()
    return seconds


def run(directory: Path, sizes: Sequence[int]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        database = directory / f"map-{size}.db"
        if not database.exists():
            print(f"page {size}: no database; run the map benchmark first", flush=True)
            continue
        port = _free_port()
        process = _serve(database, port, directory / f"page-{size}.log")
        try:
            loads = first_loads(f"http://127.0.0.1:{port}/")
        finally:
            process.terminate()
            process.wait(timeout=20)
        results[str(size)] = {"first_visit_s": loads[0], "later_visits_median_s": statistics.median(loads[1:]), "visits_s": loads}
        print(f"page {size}", results[str(size)], flush=True)
    return results
