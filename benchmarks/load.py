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
size asked for), or an already running one is measured (``url`` and ``pid``). With ``replicas``,
K app processes on the same database, with the same cookie secret, behind Caddy (``lb_policy
cookie``, as ``docs/operating/replicas.md``): each visitor is one websocket, so it stays on the
replica Caddy chose for it; their CPU and RSS are summed, Caddy's CPU is reported apart. Without
Caddy, the visitors are spread round robin over the replicas' own addresses. With ``find_p95``,
the visitor counts are steps: per replica count, the largest whose p95 stays within the target,
and the ratio of those counts (how many more visitors K replicas serve at the same p95).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
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
CADDY = "/usr/bin/caddy"
AFFINITY_COOKIE = "col_replica"
AFFINITY_SECRET = "load-benchmark"  # keys Caddy's affinity cookie: the HMAC-SHA256 of the upstream's address
COOKIE_SECRET = "load-benchmark-cookie-secret"  # Streamlit's server.cookieSecret, the same in every replica


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


def summed(samples: Iterable[tuple[float, int]]) -> tuple[float, int]:
    """CPU seconds and RSS bytes of several processes, added up."""
    cpu, rss = 0.0, 0
    for one_cpu, one_rss in samples:
        cpu, rss = cpu + one_cpu, rss + one_rss
    return cpu, rss


def sample_all(pids: Sequence[int]) -> tuple[float, int]:
    """CPU seconds and RSS bytes of the processes ``pids`` together, now (nothing for none)."""
    return summed(sample(pid) for pid in pids)


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
        "| code | published | replicas | visitors | interactions | errors | median | p95 | bytes/interaction "
        "| messages/interaction | server CPU/interaction | proxy CPU/interaction | RSS (per session) | load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        replicas = f"{r.get('replicas', 1)}"
        if r.get("visitors_per_replica") and len(r["visitors_per_replica"]) > 1:
            replicas += f" ({'+'.join(str(n) for n in r['visitors_per_replica'])})"
        if r.get("proxy") == "round-robin":
            replicas += ", no proxy"
        proxy = r.get("proxy_cpu_ms_per_interaction")
        lines.append(
            f"| {r.get('code', 'this')} | {r['published']:,} | {replicas} | {r['visitors']} | {r['interactions']} "
            f"| {r['errors']} | {r['median_s']:.2f} s | {r['p95_s']:.2f} s | {r['bytes_per_interaction'] / 1000:.0f} KB "
            f"| {r.get('messages_per_interaction', 0):.0f} "
            f"| {r['cpu_ms_per_interaction']:.0f} ms | {'—' if proxy is None else f'{proxy:.1f} ms'} "
            f"| {r['rss_mb']:.0f} MB ({r['rss_per_session_mb']:.1f} MB) | {r.get('load_average', float('nan')):.1f} |"
        )
    return "\n".join(lines)


# --- replicas behind a proxy --------------------------------------------------------------------


def caddyfile(port: int, upstreams: Sequence[str], secret: str = AFFINITY_SECRET) -> str:
    """Caddy's configuration: docs/operating/replicas.md's recipe on loopback, plain HTTP, no admin port."""
    return f"""{{
\tadmin off
\tauto_https off
}}
http://127.0.0.1:{port} {{
\treverse_proxy {" ".join(upstreams)} {{
\t\tlb_policy cookie {AFFINITY_COOKIE} {secret}
\t\tlb_try_duration 10s
\t\thealth_uri /_stcore/health
\t\thealth_interval 5s
\t\thealth_timeout 2s
\t}}
}}
"""


def affinity_cookie(upstream: str, secret: str = AFFINITY_SECRET) -> str:
    """The value of Caddy's affinity cookie for ``upstream`` (``host:port``): HMAC-SHA256, hex."""
    return hmac.new(secret.encode(), upstream.encode(), hashlib.sha256).hexdigest()


def cookie_value(set_cookies: Iterable[str], name: str = AFFINITY_COOKIE) -> str | None:
    """The value ``Set-Cookie`` headers give the cookie ``name``, or None."""
    for header in set_cookies:
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0].strip()
    return None


def spread(landed: Iterable[str | None], keys: Sequence[str]) -> list[int]:
    """Visitors per replica: how many of ``landed`` (what names a visitor's replica: its affinity
    cookie, or the address it was sent to) match each of ``keys``; the unknown ones are left out."""
    counts = dict.fromkeys(keys, 0)
    for key in landed:
        if key in counts:
            counts[key] += 1
    return [counts[key] for key in keys]


def within(row: dict[str, Any], target_p95: float) -> bool:
    """A measurement within the target: p95 at most ``target_p95``, some changes answered, no errors."""
    return bool(row["interactions"] > 0 and row["errors"] == 0 and row["p95_s"] <= target_p95)


def capacity(rows: Iterable[dict[str, Any]], target_p95: float) -> dict[str, Any]:
    """The largest visitor count whose p95 stays within ``target_p95``, stepping up: the counts
    measured in increasing order, up to the first one beyond the target (a larger count that came
    within after it is not counted). A count measured more than once (tried again when beyond) is
    within if any of its measurements is. ``bounded`` says whether a count beyond the target was
    reached: if not, the capacity is at least ``visitors`` (the largest step)."""
    by_count: dict[int, bool] = {}
    for row in rows:
        by_count[row["visitors"]] = by_count.get(row["visitors"], False) or within(row, target_p95)
    largest: int | None = None
    for visitors, ok in sorted(by_count.items()):
        if not ok:
            return {"visitors": largest, "bounded": True, "first_beyond": visitors}
        largest = visitors
    return {"visitors": largest, "bounded": False, "first_beyond": None}


def capacity_ratios(capacities: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per replica count, its capacity against the fewest replicas measured: the ratio of visitors
    served at the same p95, None when either has none; ``at_least`` when this count was never
    beyond the target (the ratio is then a lower bound) and the fewest's was."""
    if not capacities:
        return {}
    fewest = capacities[min(capacities)]
    out: dict[int, dict[str, Any]] = {}
    for replicas, cap in sorted(capacities.items()):
        ratio = cap["visitors"] / fewest["visitors"] if cap["visitors"] and fewest["visitors"] else None
        out[replicas] = {**cap, "ratio": ratio, "at_least": ratio is not None and not cap["bounded"]}
    if not fewest["bounded"]:  # the fewest never reached its limit: how many more the others serve is not known
        for replicas, cap in out.items():
            if replicas != min(out):
                cap["ratio"], cap["at_least"] = None, False
    return out


def capacity_text(code: str, published: int, target_p95: float, ratios: dict[int, dict[str, Any]]) -> str:
    """One line per replica count: the visitors it serves within the target, and the ratio against the fewest."""
    fewest = min(ratios, default=1)
    lines = []
    for replicas, cap in sorted(ratios.items()):
        if cap["visitors"] is None:
            served = f"not even {cap['first_beyond']} visitors" if cap["first_beyond"] else "no measurement"
        else:
            served = f"{'' if cap['bounded'] else 'at least '}{cap['visitors']} visitors"
        ratio = ""
        if replicas != fewest:
            ratio = ", ratio unknown" if cap["ratio"] is None else f", ×{cap['ratio']:.2f}{' or more' if cap['at_least'] else ''}"
            ratio += f" against {fewest}"
        lines.append(f"capacity {code} {published:,}: {replicas} replica(s): {served} with p95 ≤ {target_p95:g} s{ratio}")
    return "\n".join(lines)


# --- a visitor -----------------------------------------------------------------------------------


class Visitor:
    """One browser tab on Explore, as the server sees it."""

    def __init__(self, url: str, think_s: float, action: str, rng: random.Random, affinity: str | None = None) -> None:
        self.url, self.think_s, self.action, self.rng = url, think_s, action, rng
        self.affinity = affinity  # an affinity cookie it already holds (an even spread), or None: Caddy chooses
        self.state = RunState()
        self.values: dict[str, WidgetState] = {}  # what this visitor has set, sent with every rerun
        self.first_load: float | None = None
        self.interactions: list[Interaction] = []
        self.errors = 0
        self.turn = 0
        self.sent = 0.0
        self.landed: str | None = None  # its replica: Caddy's affinity cookie, or the address it was sent to

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
            headers = {"Cookie": f"{AFFINITY_COOKIE}={self.affinity}"} if self.affinity else None
            async with connect(self.url, subprotocols=[SUBPROTOCOL], max_size=None, compression=None,  # type: ignore[list-item]
                               open_timeout=RUN_TIMEOUT_S, ping_interval=None, additional_headers=headers) as ws:  # fmt: skip
                cookie = cookie_value(ws.response.headers.get_all("Set-Cookie")) if ws.response else None
                self.landed = cookie or self.affinity or self.url  # Caddy sets a new cookie when it chose
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


@dataclass
class Target:
    """What a crowd is pointed at: one app, or replicas behind a proxy (or spread round robin)."""

    code: str  # "this", or "baseline" (another checkout)
    urls: list[str]  # websocket addresses: the proxy's, the app's, or each replica's (visitors spread round robin)
    pids: list[int] = field(default_factory=list)  # the app processes serving it: their CPU and RSS are summed
    proxy_pid: int | None = None
    keys: list[str] = field(default_factory=list)  # per replica, what names it in a visitor's ``landed``
    proxy: str = "none"  # "caddy", "round-robin" or "none" (one app, directly)
    even: bool = False  # behind Caddy: each visitor holds the affinity cookie of replica i mod K, not Caddy's choice
    upstreams: list[str] = field(default_factory=list)  # the replicas' host:port, in the order of ``pids``

    @property
    def replicas(self) -> int:
        return max(1, len(self.keys))


def affinity(target: Target, visitor: int) -> str | None:
    """The affinity cookie visitor number ``visitor`` presents: replica i mod K's for an even spread behind Caddy."""
    return target.keys[visitor % len(target.keys)] if target.even and target.proxy == "caddy" and target.keys else None


def one_app(url: str, pid: int | None, code: str = "this") -> Target:
    """An app at the websocket address ``url``, process ``pid`` (if known), visited directly."""
    return Target(code, [url], [pid] if pid else [], keys=[url])


async def crowd(target: Target, visitors: int, seconds: float, think_s: float, action: str, seed: int = 1) -> dict[str, Any]:
    """``visitors`` sessions arriving within a few seconds, each changing a filter until ``seconds`` of steady load have passed.

    Besides the servers' figures (summed over the target's app processes), the proxy's CPU per
    interaction, the visitors per replica, and the generator's own CPU over the steady phase
    (``generator_cpu_ms_per_s``): near 1000 it competes with the servers for the cores.
    """
    rng = random.Random(seed)
    pids, proxy = target.pids, target.proxy_pid
    base = sample_all(pids)
    idle_cpu_per_s = 0.0
    if pids:  # what the servers spend with no visitor (polling the database for changes): not theirs
        await asyncio.sleep(IDLE_SAMPLE_S)
        idle_cpu_per_s = (sample_all(pids)[0] - base[0]) / IDLE_SAMPLE_S
    crowd = [
        Visitor(target.urls[i % len(target.urls)], think_s, action, random.Random(rng.random()), affinity(target, i))
        for i in range(visitors)
    ]
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
    proxy_steady = 0.0
    own_steady = 0.0
    rss_sessions = base[1]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.25)
        if pids:
            cpu, rss = sample_all(pids)
            rss_peak = max(rss_peak, rss)
            if cpu_steady is None and time.monotonic() >= steady_from:
                cpu_steady, rss_sessions = cpu, rss
                proxy_steady = sample(proxy)[0] if proxy else 0.0
                own_steady = time.process_time()
    end_cpu = sample_all(pids)[0]
    proxy_cpu_s = sample(proxy)[0] - proxy_steady if proxy and cpu_steady is not None else 0.0
    own_cpu_s = time.process_time() - own_steady if cpu_steady is not None else 0.0
    steady = [i for v in crowd for i in v.interactions if i.started >= steady_from]
    cpu_s = end_cpu - cpu_steady if cpu_steady is not None else 0.0
    if pids:
        cpu_s = max(0.0, cpu_s - idle_cpu_per_s * (time.monotonic() - steady_from))
    row = summarise(
        steady,
        [v.first_load for v in crowd if v.first_load is not None],
        sum(v.errors for v in crowd),
        cpu_s,
        (base[1], rss_sessions, rss_peak),
        visitors,
    )
    answered = row["interactions"]
    return {
        **row,
        "replicas": target.replicas,
        "proxy": target.proxy,
        "visitors_per_replica": spread((v.landed for v in crowd), target.keys),
        "proxy_cpu_ms_per_interaction": 1000 * proxy_cpu_s / answered if proxy and answered else None,
        "load_average": os.getloadavg()[0],  # the machine's, over the last minute: others' work shows here
        "idle_cpu_ms_per_s": 1000 * idle_cpu_per_s if pids else float("nan"),
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
    database_url: str,
    port: int,
    log: Path,
    options: Sequence[str] = (),
    profile_dir: Path | None = None,
    root: Path = PROJECT_ROOT,
) -> subprocess.Popen[bytes]:
    """``streamlit run server.py`` on ``database_url``, with extra Streamlit ``options`` (``runner.postScriptGC=false``),
    each interaction profiled into ``profile_dir`` when given (``benchmarks/profiled_server.py``).

    ``root``: the checkout whose app is started (another one, a baseline, uses this one's cache
    folder: the gazetteer, and the search index's snapshot of the same database). Every app started
    here has the same cookie secret, as replicas must.
    """  # fmt: skip
    env = {**os.environ, "DATABASE_URL": database_url, "TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
           "STREAMLIT_SERVER_COOKIE_SECRET": COOKIE_SECRET}  # fmt: skip
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
    _wait_healthy(f"http://127.0.0.1:{port}", process, log, 60)
    return process


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float, name: str = "the app") -> None:
    """Wait for ``url``'s health endpoint to answer; stop ``process`` and fail if it does not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{name} did not start: see {log}")


def start_caddy(folder: Path, port: int, upstreams: Sequence[str], binary: str = CADDY) -> subprocess.Popen[bytes]:
    """Caddy on 127.0.0.1:``port`` in front of ``upstreams``, its configuration and log in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "Caddyfile"
    config.write_text(caddyfile(port, upstreams), encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config")}
    log = folder / "caddy.log"
    process = subprocess.Popen([binary, "run", "--config", str(config), "--adapter", "caddyfile"], env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip
    _wait_healthy(f"http://127.0.0.1:{port}", process, log, 30, "caddy")
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _database(directory: Path, size: int) -> Path:
    """The map benchmark's database of ``size`` published opportunities, built when missing."""
    database = directory / f"map-{size}.db"
    if not database.exists():
        from benchmarks.map import bench_database
        from opportunities.places.geocoding import open_geocoder
        from opportunities.settings import load_settings

        bench_database(directory, size, open_geocoder(load_settings().cache_dir)).dispose()
    return database


def _database_url(directory: Path, size: int, database_url: str | None) -> str:
    """The database the apps serve: the map benchmark's SQLite file of ``size``, or ``database_url``
    (PostgreSQL), filled with the same synthetic opportunities when it holds none; one that holds
    another number of published opportunities is refused rather than mixed."""
    if database_url is None:
        return f"sqlite:///{_database(directory, size)}"
    from sqlalchemy import func, select

    from benchmarks.map import fill
    from opportunities.db.connection import open_database
    from opportunities.db.schema import opportunities
    from opportunities.places.geocoding import open_geocoder
    from opportunities.settings import load_settings

    engine = open_database(database_url)
    try:
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(opportunities)).scalar_one()
            published = conn.execute(
                select(func.count()).select_from(opportunities).where(opportunities.c.status == "published")
            ).scalar_one()
        if total == 0:
            geocoder = open_geocoder(load_settings().cache_dir)
            fill(engine, size, geocoder)  # as the SQLite file is built
        elif published != size:
            raise RuntimeError(
                f"{database_url} holds {published:,} published opportunities, not {size:,}: give an empty database"
            )
    finally:
        engine.dispose()
    return database_url


def port_from(ports: Sequence[int] | None, taken: set[int]) -> int:
    """A free port on 127.0.0.1: the first of ``ports`` not ``taken`` that can be bound, or any (none given)."""
    from benchmarks.page import _free_port

    if not ports:
        return _free_port()
    for port in ports:
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError(f"no free port among {ports[0]}–{ports[-1]}")


@dataclass
class Setup:
    """What ``run`` starts for one size: the apps of each code, and a target per code and replica count."""

    directory: Path
    database_url: str
    server_options: Sequence[str] = ()
    ports: Sequence[int] | None = None
    even: bool = False  # behind Caddy, the visitors spread evenly over the replicas rather than as Caddy chooses
    taken: set[int] = field(default_factory=set)

    def targets(
        self, stack: ExitStack, size: int, codes: Sequence[tuple[str, Path]], replica_counts: Sequence[int],
        profile_dir: Path | None,
    ) -> list[Target]:  # fmt: skip
        """Per code, max(``replica_counts``) apps; per replica count, a Caddy in front of that many
        (the proxy even for one, when several are measured, so the counts compare like with like)."""
        caddy = CADDY if Path(CADDY).exists() else shutil.which("caddy")
        proxied = max(replica_counts) > 1
        targets: list[Target] = []
        for code, root in codes:
            apps: list[tuple[str, int]] = []  # host:port, pid
            for k in range(max(replica_counts)):
                port = port_from(self.ports, self.taken)
                suffix = ("-baseline" if code == "baseline" else "") + (f"-replica{k + 1}" if proxied else "")
                log = self.directory / f"load-{size}{suffix}.log"
                process = serve(self.database_url, port, log, self.server_options, profile_dir if code == "this" else None, root)
                stack.callback(_stop, process)
                apps.append((f"127.0.0.1:{port}", process.pid))
            for count in replica_counts:
                upstreams, pids = [a for a, _ in apps[:count]], [p for _, p in apps[:count]]
                direct = [f"ws://{a}{STREAM_PATH}" for a in upstreams]
                if not proxied:
                    targets.append(Target(code, direct, pids, keys=direct, upstreams=upstreams))
                elif caddy is None:
                    targets.append(Target(code, direct, pids, keys=direct, proxy="round-robin", upstreams=upstreams))
                else:
                    port = port_from(self.ports, self.taken)
                    proxy = start_caddy(self.directory / f"load-caddy-{code}-{count}", port, upstreams, caddy)
                    stack.callback(_stop, proxy)
                    keys = [affinity_cookie(a) for a in upstreams]
                    proxy_url = f"ws://127.0.0.1:{port}{STREAM_PATH}"
                    targets.append(Target(code, [proxy_url], pids, proxy.pid, keys, "caddy", self.even, upstreams))
        if proxied and caddy is None:
            print("load: Caddy is missing (apt-get install caddy): visitors spread round robin over the replicas", flush=True)
        return targets


def _warm(targets: Sequence[Target], think_s: float, action: str) -> None:
    """One visitor on each app process, directly: its index, caches and first run."""
    seen: set[str] = set()
    for target in targets:
        if not target.upstreams:  # an app running elsewhere (``url``)
            asyncio.run(crowd(target, 1, think_s, think_s, action))
        for upstream, pid in zip(target.upstreams, target.pids, strict=True):
            if upstream not in seen:
                seen.add(upstream)
                asyncio.run(crowd(one_app(f"ws://{upstream}{STREAM_PATH}", pid), 1, think_s, think_s, action))


def measure(
    targets: Sequence[Target],
    size: int,
    visitor_counts: Sequence[int],
    seconds: float,
    think_s: float,
    action: str,
    find_p95: float | None = None,
    tries: int = 2,
) -> list[dict[str, Any]]:
    """Each visitor count on every target, back to back; with ``find_p95``, the counts in increasing
    order, a count beyond the target tried again (up to ``tries`` in all: one noisy moment on a
    shared machine does not end the search), a target dropping out after a count beyond it every time."""
    rows: list[dict[str, Any]] = []
    beyond: set[int] = set()  # targets (by position) past their capacity
    counts = sorted(visitor_counts) if find_p95 is not None else visitor_counts
    for n in counts:
        for position, target in enumerate(targets):
            for attempt in range(1, max(1, tries) + 1 if find_p95 is not None else 2):
                if position in beyond:
                    break
                row = {"code": target.code, "published": size, **asyncio.run(crowd(target, n, seconds, think_s, action))}
                rows.append(row)
                print(f"load {size} {n} {target.code} replicas={target.replicas} try={attempt}", row, flush=True)
                if find_p95 is None or within(row, find_p95):
                    break
                if attempt >= tries:
                    beyond.add(position)
        if find_p95 is not None and len(beyond) == len(targets):
            break
    return rows


def capacities(rows: Sequence[dict[str, Any]], size: int, find_p95: float) -> dict[str, Any]:
    """Per code, the capacity of each replica count within ``find_p95`` and the ratios; printed."""
    out: dict[str, Any] = {}
    for code in dict.fromkeys(r["code"] for r in rows):
        mine = [r for r in rows if r["code"] == code]
        by_count = {k: capacity([r for r in mine if r["replicas"] == k], find_p95) for k in sorted({r["replicas"] for r in mine})}
        ratios = capacity_ratios(by_count)
        print(capacity_text(code, size, find_p95, ratios), flush=True)
        out[code] = {str(k): v for k, v in ratios.items()}
    return out


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
    replicas: Sequence[int] = (1,),
    find_p95: float | None = None,
    tries: int = 2,
    database_url: str | None = None,
    ports: Sequence[int] | None = None,
    even: bool = False,
) -> dict[str, Any]:
    """The curve (visitors against latency, CPU and RSS) at each size, on apps started here or at ``url``.

    With ``baseline`` (another checkout, such as a worktree of the main branch), its app is started
    beside this one on the same database and each visitor count is measured on both, back to back.
    With ``replicas`` (say 1 and 2), that many apps per code, behind Caddy, each count measured on
    each, back to back; with ``find_p95``, the largest count within it per replica count, and the ratio.
    With ``even``, each visitor presents the affinity cookie of replica i mod K (as if Caddy had spread
    them evenly) instead of letting Caddy choose at random.
    """
    results: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for size in sizes:
        profile_dir = directory / f"load-profile-{size}" if profile and url is None else None  # only an app started here
        with ExitStack() as stack:
            if url is not None:
                targets = [one_app(url.replace("http", "ws", 1).rstrip("/") + STREAM_PATH, pid)]
            else:
                setup = Setup(directory, _database_url(directory, size, database_url), server_options, ports, even)
                codes = [*([("baseline", baseline)] if baseline is not None else []), ("this", PROJECT_ROOT)]
                targets = setup.targets(stack, size, codes, replicas if profile_dir is None else (1,), profile_dir)
            _warm(targets, think_s, action)
            target = next(t for t in targets if t.code == "this")
            if chromium:  # the same interaction in a browser, before the crowd
                page_url = target.urls[0].replace("ws", "http", 1).removesuffix(STREAM_PATH) + "/"
                results[f"{size}/chromium"] = in_chromium(page_url)
                print(f"load {size} chromium", results[f"{size}/chromium"], flush=True)
            if profile_dir is not None:  # one visitor's changes, profiled; no crowd
                asyncio.run(crowd(target, 1, seconds, think_s, action))
                results[f"{size}/profile"] = summary = profile_summary(profile_dir)
                for name, ms in summary.get("ms_per_interaction", {}).items():
                    print(f"load {size} profile: {ms:7.1f} ms  {name}", flush=True)
                continue
            measured = measure(targets, size, visitor_counts, seconds, think_s, action, find_p95, tries)
        rows += measured
        several = len({r["replicas"] for r in measured}) > 1
        for row in measured:
            key = f"{size}/{row['visitors']}" + (f"/replicas-{row['replicas']}" if several else "")
            results[key + ("/baseline" if row["code"] == "baseline" else "")] = row
        if find_p95 is not None:
            results[f"{size}/capacity"] = {"target_p95_s": find_p95, **capacities(measured, size, find_p95)}
    print(table(rows), flush=True)
    return results
