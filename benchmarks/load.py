"""Concurrent visitors on the Explore page, without a browser per visitor.

Each visitor is a websocket session speaking Streamlit's own protocol (``/_stcore/stream``,
``BackMsg``/``ForwardMsg`` protobufs), as the browser does: it asks for a run of the page with the
query string and page hash, reads the page's widgets from the deltas of that first run, then,
every few seconds (think time, jittered), changes a filter ("Free only", or the city) by sending a
rerun with that widget's new state and waits for the ``script_finished`` of the rerun.

Measured per interaction: the time from sending the rerun to its ``script_finished``, the bytes
received meanwhile; from the server process (``/proc/<pid>/stat`` and ``status``), its CPU time
over the steady phase, less what it spends idle, divided by the interactions in it, and its RSS before and with the sessions
open. What a browser adds is not measured: drawing the map in its iframe, and the rerun the map
component asks for when it reports its bounds after a redraw (see ``docs/development/speed.md``).

The server is started here (``streamlit run server.py`` on the map benchmark's database of the
size asked for), or an already running one is measured (``url`` and ``pid``).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from opportunities.settings import PROJECT_ROOT

STREAM_PATH = "/_stcore/stream"
SUBPROTOCOL = "streamlit"  # the first entry the browser sends; the second would be its XSRF token
FREE_LABEL = "Free only"
CITY_LABEL = "City"
MAP_COMPONENT = "streamlit_folium.st_folium"
# What the map reports once drawn in a 1400×1000 window on the whole network (Chromium, demo view):
# the browser sends it with every later rerun, and the page draws the layer for these bounds.
MAP_REPORT = (
    '{"bounds":{"_southWest":{"lat":37.71859032558816,"lng":-24.2578125},'
    '"_northEast":{"lat":66.51326044311188,"lng":58.359375}},"zoom":4}'
)
RUN_TIMEOUT_S = 120.0
IDLE_SAMPLE_S = 3.0
FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the protocol, as pure functions -------------------------------------------------------------


def rerun_message(
    query_string: str,
    page_script_hash: str,
    widgets: Iterable[WidgetState] = (),
    cached: Iterable[str] = (),
    fragment_id: str = "",
) -> bytes:
    """The ``BackMsg`` a browser sends to run the page: its URL's query, the page, its widgets' values;
    with ``fragment_id`` (a changed widget's fragment), a rerun of that fragment only."""
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query_string
    state.page_script_hash = page_script_hash
    state.fragment_id = fragment_id
    state.widget_states.widgets.extend(widgets)
    state.cached_message_hashes.extend(sorted(cached))
    return bytes(msg.SerializeToString())


@dataclass
class Widget:
    """A widget of the page, as its delta describes it."""

    kind: str  # the element's type in the proto: "checkbox", "selectbox", …
    id: str
    label: str
    options: tuple[str, ...] = ()
    value: bool | str | None = None
    fragment_id: str = ""  # the fragment that drew it: a change reruns that fragment only, as in a browser


@dataclass
class RunState:
    """What a session learns from the server's messages: the page, the URL, the widgets, the cache."""

    page_script_hash: str = ""
    query_string: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)  # by label
    cached: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def read_message(data: bytes, state: RunState) -> int | None:
    """Parse one ``ForwardMsg`` into ``state``; its ``script_finished`` status, or None for any other message."""
    msg = ForwardMsg()
    msg.ParseFromString(data)
    if msg.metadata.cacheable and msg.hash:
        state.cached.add(msg.hash)  # a browser keeps these and names them in its next rerun
    kind = msg.WhichOneof("type")
    if kind == "new_session":
        state.page_script_hash = msg.new_session.page_script_hash or state.page_script_hash
    elif kind == "navigation":
        state.page_script_hash = msg.navigation.page_script_hash or state.page_script_hash
    elif kind == "page_info_changed":
        state.query_string = msg.page_info_changed.query_string
    elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        element = msg.delta.new_element
        element_type = element.WhichOneof("type")
        fragment = msg.delta.fragment_id
        if element_type == "checkbox":
            box = element.checkbox
            value = box.value if box.set_value else box.default
            state.widgets[box.label] = Widget("checkbox", box.id, box.label, value=value, fragment_id=fragment)
        elif element_type == "selectbox":
            select = element.selectbox
            state.widgets[select.label] = Widget(
                "selectbox", select.id, select.label, tuple(select.options), fragment_id=fragment
            )
        elif element_type == "component_instance" and element.component_instance.component_name == MAP_COMPONENT:
            state.widgets[MAP_COMPONENT] = Widget("component", element.component_instance.id, MAP_COMPONENT)
        elif element_type == "exception":
            state.errors.append(element.exception.message)
    elif kind == "script_finished":
        return int(msg.script_finished)
    return None


def widget_state(widget: Widget, value: bool | str) -> WidgetState:
    """The state a browser sends for ``widget`` set to ``value``."""
    state = WidgetState(id=widget.id)
    if widget.kind == "checkbox":
        state.bool_value = bool(value)
    elif widget.kind == "component":
        state.json_value = str(value)  # a component's value is JSON
    else:
        state.string_value = str(value)  # a selectbox's value is its option as shown
    return state


# --- the server process, from /proc --------------------------------------------------------------


def cpu_seconds(stat: str) -> float:
    """User plus system CPU seconds of a process, from the text of ``/proc/<pid>/stat``."""
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15


def rss_bytes(status: str) -> int:
    """Resident memory of a process, from the text of ``/proc/<pid>/status``."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no VmRSS line")


def sample(pid: int) -> tuple[float, int]:
    """CPU seconds and RSS bytes of process ``pid`` now."""
    return (
        cpu_seconds(Path(f"/proc/{pid}/stat").read_text(encoding="ascii")),
        rss_bytes(Path(f"/proc/{pid}/status").read_text(encoding="ascii")),
    )


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Interaction:
    started: float  # time.monotonic() when the rerun was sent
    seconds: float
    received_bytes: int
    ok: bool
    messages: int = 0  # ForwardMsgs received for it (each delta is one: every element the run draws)


def summarise(
    interactions: Sequence[Interaction],
    first_loads: Sequence[float],
    errors: int,
    cpu_s: float,
    rss: tuple[int, int, int],
    visitors: int,
) -> dict[str, Any]:
    """Per N: latency (median, p95, max), errors, bytes and server CPU per interaction, RSS."""
    done = [i for i in interactions if i.ok]
    seconds = [i.seconds for i in done]
    base, with_sessions, peak = rss
    return {
        "visitors": visitors,
        "interactions": len(done),
        "errors": errors + sum(1 for i in interactions if not i.ok),
        "median_s": statistics.median(seconds) if seconds else float("nan"),
        "p95_s": percentile(seconds, 95),
        "max_s": max(seconds, default=float("nan")),
        "bytes_per_interaction": statistics.median([i.received_bytes for i in done]) if done else 0,
        "messages_per_interaction": statistics.median([i.messages for i in done]) if done else 0,
        "cpu_ms_per_interaction": 1000 * cpu_s / len(done) if done else float("nan"),
        "first_load_median_s": statistics.median(first_loads) if first_loads else float("nan"),
        "first_load_p95_s": percentile(first_loads, 95),
        "rss_base_mb": base / 2**20,
        "rss_mb": with_sessions / 2**20,
        "rss_peak_mb": peak / 2**20,
        "rss_per_session_mb": (with_sessions - base) / 2**20 / visitors,
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The curve as a Markdown table (the code measured, when a baseline was measured too)."""
    lines = [
        "| code | published | visitors | interactions | errors | median | p95 | bytes/interaction | messages/interaction "
        "| server CPU/interaction | RSS (per session) | load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.get('code', 'this')} | {r['published']:,} | {r['visitors']} | {r['interactions']} | {r['errors']} "
            f"| {r['median_s']:.2f} s | {r['p95_s']:.2f} s | {r['bytes_per_interaction'] / 1000:.0f} KB | {r.get('messages_per_interaction', 0):.0f} "
            f"| {r['cpu_ms_per_interaction']:.0f} ms | {r['rss_mb']:.0f} MB ({r['rss_per_session_mb']:.1f} MB) "
            f"| {r.get('load_average', float('nan')):.1f} |"
        )
    return "\n".join(lines)


# --- a visitor -----------------------------------------------------------------------------------


class Visitor:
    """One browser tab on Explore, as the server sees it."""

    def __init__(self, url: str, think_s: float, action: str, rng: random.Random) -> None:
        self.url, self.think_s, self.action, self.rng = url, think_s, action, rng
        self.state = RunState()
        self.values: dict[str, WidgetState] = {}  # what this visitor has set, sent with every rerun
        self.first_load: float | None = None
        self.interactions: list[Interaction] = []
        self.errors = 0
        self.turn = 0
        self.sent = 0.0

    async def _run(self, ws: Any, message: bytes) -> tuple[float, int, int, bool]:
        """Send one rerun; seconds to its ``script_finished``, bytes and messages received, whether it ended well."""
        received = 0
        messages = 0
        errors_before = len(self.state.errors)
        self.sent = time.monotonic()
        start = time.perf_counter()
        await ws.send(message)
        async with asyncio.timeout(RUN_TIMEOUT_S):
            while True:
                data = await ws.recv()
                received += len(data)
                messages += 1
                status = read_message(data, self.state)
                if status is not None and status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    # an early finish means the page called st.rerun: its next run follows
                    ok = status in FINISHED and len(self.state.errors) == errors_before
                    return time.perf_counter() - start, received, messages, ok

    def _change(self) -> tuple[WidgetState, str]:
        """The next filter change: "Free only" toggled, or another city; and the widget's fragment."""
        self.turn += 1
        use_city = self.action == "city" or (self.action == "both" and self.turn % 2 == 0)
        if use_city:
            select = self.state.widgets[CITY_LABEL]
            return widget_state(select, self.rng.choice(select.options)), select.fragment_id
        box = self.state.widgets[FREE_LABEL]
        sent = self.values.get(box.id)  # the page shows its default until this visitor has set it
        return widget_state(box, not (sent.bool_value if sent is not None else box.value)), box.fragment_id

    async def visit(self, until: float) -> None:
        from websockets.asyncio.client import connect

        try:
            async with connect(self.url, subprotocols=[SUBPROTOCOL], max_size=None, compression=None,  # type: ignore[list-item]
                               open_timeout=RUN_TIMEOUT_S, ping_interval=None) as ws:  # fmt: skip
                seconds, _, _, ok = await self._run(ws, rerun_message("", ""))
                self.first_load = seconds
                if not ok or FREE_LABEL not in self.state.widgets:
                    self.errors += 1
                    return
                if MAP_COMPONENT in self.state.widgets:  # the map reports its bounds, as in a browser
                    report = widget_state(self.state.widgets[MAP_COMPONENT], MAP_REPORT)
                    self.values[report.id] = report
                while True:
                    await asyncio.sleep(self.think_s * self.rng.uniform(0.5, 1.5))
                    if time.monotonic() >= until:
                        return
                    change, fragment = self._change()
                    self.values[change.id] = change
                    message = rerun_message(
                        self.state.query_string, self.state.page_script_hash, self.values.values(), self.state.cached, fragment
                    )
                    seconds, received, messages, ok = await self._run(ws, message)
                    self.interactions.append(Interaction(self.sent, seconds, received, ok, messages))
        except Exception as exc:  # refused, closed under it, a run past RUN_TIMEOUT_S, a widget missing
            self.errors += 1
            print(f"load: a visitor failed: {exc!r}", flush=True)


async def crowd(
    url: str, pid: int | None, visitors: int, seconds: float, think_s: float, action: str, seed: int = 1
) -> dict[str, Any]:
    """``visitors`` sessions arriving within a few seconds, each changing a filter until ``seconds`` of steady load have passed.

    Besides the server's figures, the generator's own CPU over the steady phase
    (``generator_cpu_ms_per_s``): near 1000 it competes with the server for the cores.
    """
    rng = random.Random(seed)
    base = sample(pid) if pid else (0.0, 0)
    if pid:  # what the server spends with no visitor (polling the database for changes): not theirs
        await asyncio.sleep(IDLE_SAMPLE_S)
        idle_cpu_per_s = (sample(pid)[0] - base[0]) / IDLE_SAMPLE_S
    crowd = [Visitor(url, think_s, action, random.Random(rng.random())) for _ in range(visitors)]
    arrive_s = min(think_s, 0.05 * visitors)  # a class opening the link at once: within a few seconds

    async def arrive(visitor: Visitor, delay: float, until: float) -> None:
        await asyncio.sleep(delay)
        await visitor.visit(until)

    start = time.monotonic()
    steady_from = start + arrive_s + think_s * 2  # by then the first loads are (mostly) done
    until = steady_from + seconds
    tasks = [asyncio.create_task(arrive(v, rng.uniform(0, arrive_s), until)) for v in crowd]
    rss_peak = base[1]
    cpu_steady: float | None = None
    own_steady = 0.0
    rss_sessions = base[1]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.25)
        if pid:
            cpu, rss = sample(pid)
            rss_peak = max(rss_peak, rss)
            if cpu_steady is None and time.monotonic() >= steady_from:
                cpu_steady, rss_sessions = cpu, rss
                own_steady = time.process_time()
    end_cpu = sample(pid)[0] if pid else 0.0
    own_cpu_s = time.process_time() - own_steady if cpu_steady is not None else 0.0
    steady = [i for v in crowd for i in v.interactions if i.started >= steady_from]
    cpu_s = end_cpu - cpu_steady if cpu_steady is not None else 0.0
    if pid:
        cpu_s = max(0.0, cpu_s - idle_cpu_per_s * (time.monotonic() - steady_from))
    row = summarise(
        steady,
        [v.first_load for v in crowd if v.first_load is not None],
        sum(v.errors for v in crowd),
        cpu_s,
        (base[1], rss_sessions, rss_peak),
        visitors,
    )
    return {
        **row,
        "load_average": os.getloadavg()[0],  # the machine's, over the last minute: others' work shows here
        "idle_cpu_ms_per_s": 1000 * idle_cpu_per_s if pid else float("nan"),
        "generator_cpu_ms_per_s": 1000 * own_cpu_s / max(1e-9, time.monotonic() - steady_from),
    }


# --- the same interaction in Chromium, to validate the figures ----------------------------------


def finished_status(data: bytes | str) -> int | None:
    """The ``script_finished`` status of a websocket frame, or None for any other frame."""
    if isinstance(data, str):
        return None
    msg = ForwardMsg()
    msg.ParseFromString(data)
    return int(msg.script_finished) if msg.WhichOneof("type") == "script_finished" else None


def in_chromium(url: str, changes: int = 10, think_s: float = 2.0, settle_s: float = 2.5) -> dict[str, Any]:
    """ "Free only" clicked ``changes`` times by one visitor in headless Chromium, timed on the page's websocket.

    Per click: from the rerun frame the page sends to the first ``script_finished`` frame (what the
    load generator times), and to the last one within ``settle_s`` (a rerun the map component asks
    for after it redrew, when it reports its bounds, comes on top); bytes received meanwhile.
    """
    from playwright.sync_api import WebSocket, sync_playwright

    from benchmarks.page import ARGS, CHROMIUM

    events: list[tuple[float, str, int, int | None]] = []  # (time, sent/received, bytes, finished status)

    def watch(ws: WebSocket) -> None:
        if ws.url.endswith(STREAM_PATH):
            ws.on("framesent", lambda data: events.append((time.perf_counter(), "sent", len(data), None)))
            ws.on(
                "framereceived", lambda data: events.append((time.perf_counter(), "received", len(data), finished_status(data)))
            )

    first: list[float] = []
    last: list[float] = []
    received: list[int] = []
    reruns: list[int] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.on("websocket", watch)
        page.goto(url)
        page.frame_locator('iframe[title="streamlit_folium.st_folium"]').locator(".col-cluster, .col-pin").first.wait_for(
            timeout=180_000
        )
        page.wait_for_timeout(settle_s * 1000)
        label = page.get_by_test_id("stSidebar").get_by_text(FREE_LABEL, exact=True)
        for _ in range(changes):
            events.clear()
            clicked = time.perf_counter()
            label.click()
            page.wait_for_timeout(settle_s * 1000)  # Playwright delivers the frames while it waits
            sent = next((t for t, kind, _, _ in events if kind == "sent" and t >= clicked), None)
            done = [t for t, kind, _, status in events if status is not None and status != ForwardMsg.FINISHED_EARLY_FOR_RERUN]
            if sent is None or not done:
                continue
            first.append(done[0] - sent)
            last.append(done[-1] - sent)
            received.append(sum(n for _, kind, n, _ in events if kind == "received"))
            reruns.append(sum(1 for _, kind, _, _ in events if kind == "sent"))
            page.wait_for_timeout(think_s * 1000)
        browser.close()
    return {
        "changes": len(first),
        "median_s": statistics.median(first) if first else float("nan"),
        "p95_s": percentile(first, 95),
        "median_to_last_rerun_s": statistics.median(last) if last else float("nan"),
        "bytes_per_interaction": statistics.median(received) if received else 0,
        "messages_sent_per_click": reruns,
    }


# --- the profile of one interaction --------------------------------------------------------------

# Where a change's time may go, each a predicate on cProfile's (file, line, function) key.
PROFILE_PARTS: dict[str, Any] = {
    "the whole run in the script thread": lambda f, fn: fn == "_run_script" and f.endswith("script_runner.py"),
    "Streamlit's garbage collection after the run": lambda f, fn: "gc.collect" in fn,
    "the page script (pages/explore.py main)": lambda f, fn: fn == "main" and f.endswith("pages/explore.py"),
    "the filters and results fragment (search_and_results)": lambda f, fn: fn == "search_and_results",
    "the map (show_map)": lambda f, fn: fn == "show_map",
    "st_folium (folium/branca render)": lambda f, fn: fn == "st_folium",
    "Jinja templates compiled": lambda f, fn: fn == "from_string" and "jinja2" in f,
    "the base map": lambda f, fn: fn == "base_map",
    "the map layer (overview_layer)": lambda f, fn: fn == "overview_layer",
    "the list (show_list)": lambda f, fn: fn == "show_list",
    "the filters (filter_sidebar)": lambda f, fn: fn == "filter_sidebar",
    "the index query (mask)": lambda f, fn: fn == "mask" and f.endswith("explore/index.py"),
    "opportunities loaded (get_opportunities)": lambda f, fn: fn == "get_opportunities",
    "Streamlit's delta enqueueing": lambda f, fn: fn == "_enqueue" and f.endswith("delta_generator.py"),
}


def profile_summary(folder: Path, top: int = 30) -> dict[str, Any]:
    """The profiles in ``folder`` added up: ms per interaction for each of ``PROFILE_PARTS``, and the top functions."""
    import pstats

    files = sorted(folder.glob("*.pstats"))
    if not files:
        return {"interactions": 0}
    stats = pstats.Stats(str(files[0]))
    for extra in files[1:]:
        stats.add(str(extra))
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    n = len(files)
    parts = {name: 1000 * sum(v[3] for k, v in entries.items() if test(k[0], k[2])) / n for name, test in PROFILE_PARTS.items()}
    ranked = sorted(entries.items(), key=lambda kv: -kv[1][3])[:top]
    functions = [(f"{Path(k[0]).name}:{k[1]}({k[2]})", round(1000 * v[3] / n, 1)) for k, v in ranked]
    return {"interactions": n, "ms_per_interaction": parts, "top_cumulative_ms": functions}


# --- the benchmark -------------------------------------------------------------------------------


def serve(
    database: Path,
    port: int,
    log: Path,
    options: Sequence[str] = (),
    profile_dir: Path | None = None,
    root: Path = PROJECT_ROOT,
) -> subprocess.Popen[bytes]:
    """``streamlit run server.py`` on ``database``, with extra Streamlit ``options`` (``runner.postScriptGC=false``),
    each interaction profiled into ``profile_dir`` when given (``benchmarks/profiled_server.py``).

    ``root``: the checkout whose app is started (another one, a baseline, uses this one's cache
    folder: the gazetteer, and the search index's snapshot of the same database).
    """  # fmt: skip
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png"}
    if root != PROJECT_ROOT:
        from opportunities.settings import load_settings

        env["CACHE_DIR"] = str(load_settings().cache_dir)
    launcher = ["streamlit"] if profile_dir is None else ["benchmarks.profiled_server", str(profile_dir)]
    command = [sys.executable, "-m", *launcher, "run", "server.py", "--server.headless", "true", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    for option in options:
        name, _, value = option.partition("=")
        command += [f"--{name}", value]
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"the app did not start: see {log}")


def _database(directory: Path, size: int) -> Path:
    """The map benchmark's database of ``size`` published opportunities, built when missing."""
    database = directory / f"map-{size}.db"
    if not database.exists():
        from benchmarks.map import bench_database
        from opportunities.places.geocoding import open_geocoder
        from opportunities.settings import load_settings

        bench_database(directory, size, open_geocoder(load_settings().cache_dir)).dispose()
    return database


def run(
    directory: Path,
    sizes: Sequence[int],
    visitor_counts: Sequence[int],
    seconds: float,
    think_s: float,
    action: str = "free",
    url: str | None = None,
    pid: int | None = None,
    chromium: bool = False,
    server_options: Sequence[str] = (),
    profile: bool = False,
    baseline: Path | None = None,
) -> dict[str, Any]:
    """The curve (visitors against latency, CPU and RSS) at each size, on a server started here or at ``url``.

    With ``baseline`` (another checkout, such as a worktree of the main branch), its app is started
    beside this one on the same database and each visitor count is measured on both, back to back.
    """
    from benchmarks.page import _free_port

    results: dict[str, Any] = {}
    rows = []
    for size in sizes:
        servers: list[tuple[str, str, int | None, subprocess.Popen[bytes] | None]] = []  # code, target, pid, process
        profile_dir = directory / f"load-profile-{size}" if profile and url is None else None  # only an app started here
        try:
            if url is not None:
                servers.append(("this", url.replace("http", "ws", 1).rstrip("/") + STREAM_PATH, pid, None))
            else:
                database = _database(directory, size)
                for code, root in [*([("baseline", baseline)] if baseline is not None else []), ("this", PROJECT_ROOT)]:
                    port = _free_port()
                    log = directory / f"load-{size}{'-baseline' if code == 'baseline' else ''}.log"
                    process = serve(database, port, log, server_options, profile_dir if code == "this" else None, root)
                    servers.append((code, f"ws://127.0.0.1:{port}{STREAM_PATH}", process.pid, process))
            for _, target, server_pid, _ in servers:
                asyncio.run(crowd(target, server_pid, 1, think_s, think_s, action))  # warm: index, caches, first run
            _, target, server_pid, _ = servers[-1]
            if chromium:  # the same interaction in a browser, before the crowd
                page_url = target.replace("ws", "http", 1).removesuffix(STREAM_PATH) + "/"
                results[f"{size}/chromium"] = in_chromium(page_url)
                print(f"load {size} chromium", results[f"{size}/chromium"], flush=True)
            if profile_dir is not None:  # one visitor's changes, profiled; no crowd
                asyncio.run(crowd(target, server_pid, 1, seconds, think_s, action))
                results[f"{size}/profile"] = summary = profile_summary(profile_dir)
                for name, ms in summary.get("ms_per_interaction", {}).items():
                    print(f"load {size} profile: {ms:7.1f} ms  {name}", flush=True)
                continue
            for n in visitor_counts:
                for code, target, server_pid, _ in servers:
                    row = {"code": code, "published": size, **asyncio.run(crowd(target, server_pid, n, seconds, think_s, action))}
                    rows.append(row)
                    results[f"{size}/{n}" + ("/baseline" if code == "baseline" else "")] = row
                    print(f"load {size} {n} {code}", row, flush=True)
        finally:
            for *_, process in servers:
                if process is not None:
                    process.terminate()
                    process.wait(timeout=20)
    print(table(rows), flush=True)
    return results
