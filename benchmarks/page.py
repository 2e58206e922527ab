"""The Explore page's first load in headless Chromium: from navigation to the first map features.

Runs the real app (``streamlit run server.py``) on the map benchmark's databases, in a browser that
is already running (a visitor's browser is not started with the server), and measures (issue 16):

- **a fresh server's first visitor**: the server started, the page opened as soon as its port
  answers (``/_stcore/health``), whether or not ``/ready`` says the warm-up has finished (the result
  says which it was at that moment), ``FRESH_STARTS`` times;
- **warm first loads**: a new browser context per visit (no cache), as a new visitor;
- **returning visits**: a second visit in the same context (Streamlit's bundle and the map's files
  in the browser's cache);
- **the breakdown** of the warm first loads (medians, milliseconds from navigation): the page's
  HTML, the bundle run (DOMContentLoaded), the websocket open, the page script's first message and
  its ``script_finished``, the title drawn, the map's iframe created, Leaflet loaded in it, the first
  features drawn; and the bytes the browser received (its HTTP transfer sizes, plus the websocket's).

With ``baseline`` (another checkout, such as a worktree of main), its app is measured the same way
in the same run, each round alternating between the two, and the ratios are reported.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opportunities.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
VISITS = 5
FRESH_STARTS = 2
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
FEATURES = ".col-cluster, .col-pin"
# In every frame, before the page's own scripts: when the title, the map's iframe and the first
# features appear, and when the websocket opens and each of its messages arrives.
MARKS_SCRIPT = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const marks = (window.__colMarks = {});
  const messages = (window.__colMessages = []);
  const mark = (name) => { if (!(name in marks)) marks[name] = now(); };
  new MutationObserver(() => {
    if (document.querySelector('.col-cluster, .col-pin')) mark('features');
    if (document.querySelector('iframe[title="streamlit_folium.st_folium"]')) mark('iframe');
    if (document.querySelector('h1')) mark('title');
  }).observe(document, {subtree: true, childList: true});
  const Native = window.WebSocket;
  function Watched(...args) {
    const ws = new Native(...args);
    ws.addEventListener('open', () => mark('websocket_open'));
    ws.addEventListener('message', (e) => messages.push([now(), e.data.byteLength ?? e.data.size ?? e.data.length]));
    return ws;
  }
  Watched.prototype = Native.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Watched[k] = Native[k];
  window.WebSocket = Watched;
})();
"""
READ_MAIN = """() => ({origin: performance.timeOrigin, marks: window.__colMarks, messages: window.__colMessages,
  nav: performance.getEntriesByType('navigation').map(e => ({responseEnd: e.responseEnd, dom: e.domContentLoadedEventEnd, transfer: e.transferSize})),
  resources: performance.getEntriesByType('resource').map(e => ({name: e.name, end: e.responseEnd, transfer: e.transferSize, decoded: e.decodedBodySize}))})"""  # fmt: skip
READ_FRAME = """() => ({origin: performance.timeOrigin, marks: window.__colMarks,
  resources: performance.getEntriesByType('resource').map(e => ({name: e.name, end: e.responseEnd, transfer: e.transferSize, decoded: e.decodedBodySize}))})"""  # fmt: skip
# The breakdown's steps, in the order they happen.
STEPS = ("html", "bundle_run", "websocket_open", "first_message", "script_finished", "title", "map_iframe",
         "leaflet_loaded", "features")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(port: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not _is_ready(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app on port {port} did not become ready")
        time.sleep(0.2)


def _message_kind(data: bytes | str) -> str:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    if isinstance(data, str):
        return "text"
    msg = ForwardMsg()
    msg.ParseFromString(data)
    return str(msg.WhichOneof("type"))


def visit(context: Any, url: str) -> dict[str, Any]:
    """One visit in ``context``: seconds to the first features, the breakdown (ms from navigation) and bytes."""
    page = context.new_page()
    kinds: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: kinds.append(_message_kind(data))))
    start, started_at_ms = time.perf_counter(), time.time() * 1000
    page.goto(url)
    page.frame_locator(MAP_FRAME).locator(FEATURES).first.wait_for(timeout=180_000)
    seconds = time.perf_counter() - start
    main = page.main_frame.evaluate(READ_MAIN)
    # The map's frame may replace its document (the observer goes with it): then the features are
    # timed here, from the navigation (the page's time origin, on the same clock).
    main["features_fallback_ms"] = seconds * 1000 - (main["origin"] - started_at_ms)
    frame = next((f for f in page.frames if "streamlit_folium" in f.url), None)
    inner = frame.evaluate(READ_FRAME) if frame is not None else {"origin": main["origin"], "marks": {}, "resources": []}
    page.close()
    return {"seconds": seconds, **breakdown(main, inner, kinds)}


def breakdown(main: dict[str, Any], inner: dict[str, Any], kinds: Sequence[str]) -> dict[str, Any]:
    """The steps of a visit (ms from navigation) from what the page and the map's frame recorded."""
    origin, marks = main["origin"], main["marks"] or {}
    nav = main["nav"][0] if main["nav"] else {}
    steps: dict[str, float | None] = {"html": nav.get("responseEnd"), "bundle_run": nav.get("dom")}
    steps["websocket_open"] = marks["websocket_open"] - origin if "websocket_open" in marks else None
    messages = main["messages"] or []
    steps["first_message"] = messages[0][0] - origin if messages else None
    # The messages as Playwright decoded them, in the order the page received them.
    finished = [i for i, kind in enumerate(kinds) if kind == "script_finished"]
    steps["script_finished"] = messages[finished[0]][0] - origin if finished and finished[0] < len(messages) else None
    steps["title"] = marks["title"] - origin if "title" in marks else None
    steps["map_iframe"] = marks["iframe"] - origin if "iframe" in marks else None
    leaflet = [r["end"] for r in inner["resources"] if "leaflet" in r["name"] and r["name"].endswith(".js")]
    steps["leaflet_loaded"] = inner["origin"] + max(leaflet) - origin if leaflet else None
    features = (inner["marks"] or {}).get("features")
    steps["features"] = features - origin if features else main.get("features_fallback_ms")
    resources = [*main["resources"], *inner["resources"]]
    http_bytes = nav.get("transfer", 0) + sum(r["transfer"] for r in resources)
    return {
        "steps_ms": {k: round(v) if v is not None else None for k, v in steps.items()},
        "http_bytes": http_bytes,
        "http_bytes_uncompressed": sum(r["decoded"] for r in resources),
        "websocket_bytes": sum(size for _, size in messages),
    }


def _median_steps(visits: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for step in STEPS:
        values = [v["steps_ms"][step] for v in visits if v["steps_ms"].get(step) is not None]
        out[step] = round(statistics.median(values)) if values else None
    return out


def _summary(fresh: list[dict[str, Any]], warm: list[dict[str, Any]], returning: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "fresh_server_first_visit_s": [round(f["seconds"], 2) for f in fresh],
        "fresh_server_ready_at_navigation": [f["ready_at_navigation"] for f in fresh],
        "fresh_server_started_s": [round(f["started_s"], 2) for f in fresh],
        "warm_first_load_median_s": round(statistics.median(v["seconds"] for v in warm), 2),
        "warm_first_loads_s": [round(v["seconds"], 2) for v in warm],
        "returning_visit_median_s": round(statistics.median(v["seconds"] for v in returning), 2),
        "warm_breakdown_ms": _median_steps(warm),
        "returning_breakdown_ms": _median_steps(returning),
        "warm_http_bytes": statistics.median(v["http_bytes"] for v in warm),
        "warm_http_bytes_uncompressed": statistics.median(v["http_bytes_uncompressed"] for v in warm),
        "returning_http_bytes": statistics.median(v["http_bytes"] for v in returning),
        "websocket_bytes": statistics.median(v["websocket_bytes"] for v in warm),
        "load_average": os.getloadavg()[0],
    }


def run(directory: Path, sizes: Sequence[int], baseline: Path | None = None, visits: int = VISITS) -> dict[str, Any]:
    """Each size: a fresh server's first visitor, warm first loads and returning visits, with ``baseline`` beside."""
    from playwright.sync_api import sync_playwright

    from benchmarks.load import serve

    codes = [*([("baseline", baseline)] if baseline is not None else []), ("this", PROJECT_ROOT)]
    results: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        browser.new_page().goto("about:blank")  # the visitor's browser is running already

        def new_context() -> Any:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(MARKS_SCRIPT)
            return context

        def one(url: str) -> dict[str, Any]:
            context = new_context()
            try:
                return visit(context, url)
            finally:
                context.close()

        for size in sizes:
            database = directory / f"map-{size}.db"
            if not database.exists():
                print(f"page {size}: no database; run the map benchmark first", flush=True)
                continue
            fresh: dict[str, list[dict[str, Any]]] = {code: [] for code, _ in codes}
            servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
            try:
                for start in range(FRESH_STARTS):
                    for code, root in codes:
                        if code in servers:
                            old = servers.pop(code)[1]
                            old.terminate()
                            old.wait(timeout=20)
                        port = _free_port()
                        log = directory / f"page-{size}{'-baseline' if code == 'baseline' else ''}.log"
                        began = time.monotonic()
                        servers[code] = (
                            port,
                            serve(f"sqlite:///{database}", port, log, root=root),
                        )  # returns once the port answers
                        started_s = time.monotonic() - began
                        ready = _is_ready(port)
                        seen = one(f"http://127.0.0.1:{port}/")
                        fresh[code].append({**seen, "ready_at_navigation": ready, "started_s": started_s})
                        print(
                            f"page {size} {code}: fresh server {start + 1}: {seen['seconds']:.2f} s (ready: {ready})", flush=True
                        )
                warm: dict[str, list[dict[str, Any]]] = {code: [] for code, _ in codes}
                returning: dict[str, list[dict[str, Any]]] = {code: [] for code, _ in codes}
                for code, _root in codes:
                    _wait_ready(servers[code][0])
                for _ in range(visits):
                    for code, _root in codes:
                        url = f"http://127.0.0.1:{servers[code][0]}/"
                        warm[code].append(one(url))
                        context = new_context()
                        try:
                            visit(context, url)
                            returning[code].append(visit(context, url))
                        finally:
                            context.close()
            finally:
                for _port, process in servers.values():
                    process.terminate()
                    process.wait(timeout=20)
            for code, _root in codes:
                summary = _summary(fresh[code], warm[code], returning[code])
                results[f"{size}" + ("/baseline" if code == "baseline" else "")] = summary
                print(f"page {size} {code}", summary, flush=True)
            if baseline is not None:
                ours, theirs = results[str(size)], results[f"{size}/baseline"]
                results[f"{size}/ratios"] = ratios = {
                    name: round(theirs[name] / ours[name], 2)
                    for name in ("warm_first_load_median_s", "returning_visit_median_s", "warm_http_bytes")
                    if ours[name]
                } | {
                    "fresh_server_first_visit_s": round(
                        statistics.median(theirs["fresh_server_first_visit_s"])
                        / statistics.median(ours["fresh_server_first_visit_s"]),
                        2,
                    )
                }
                print(f"page {size} baseline/this (above 1: this is faster or smaller)", ratios, flush=True)
        browser.close()
    return results
