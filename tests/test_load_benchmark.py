"""The load benchmark's pure parts: the messages it sends and reads, /proc parsing, its statistics."""

from __future__ import annotations

import cProfile
import hashlib
import hmac
import json
import math
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks import load
from benchmarks.__main__ import _ports
from benchmarks.load import (
    AFFINITY_COOKIE,
    CLOCK_TICKS,
    MAP_COMPONENT,
    MAP_REPORT,
    Interaction,
    RunState,
    Target,
    Widget,
    _database_url,
    affinity,
    affinity_cookie,
    caddyfile,
    capacities,
    capacity,
    capacity_ratios,
    capacity_text,
    cookie_value,
    cpu_seconds,
    finished_status,
    measure,
    percentile,
    port_from,
    profile_summary,
    read_message,
    rerun_message,
    rss_bytes,
    sample,
    sample_all,
    spread,
    summarise,
    summed,
    table,
    widget_state,
    within,
)
from opportunities.db.connection import open_database
from opportunities.db.schema import opportunities
from tests.web.asgi import in_own_thread


def _forward(**fields: object) -> ForwardMsg:
    msg = ForwardMsg()
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


def test_rerun_message_carries_the_query_page_widgets_and_cache() -> None:
    box = Widget("checkbox", "$$ID-free", "Free only")
    data = rerun_message("city=Kranj", "abc", [widget_state(box, True)], {"h2", "h1"})
    msg = BackMsg()
    msg.ParseFromString(data)
    assert msg.WhichOneof("type") == "rerun_script"
    state = msg.rerun_script
    assert (state.query_string, state.page_script_hash) == ("city=Kranj", "abc")
    assert [(w.id, w.WhichOneof("value"), w.bool_value) for w in state.widget_states.widgets] == [
        ("$$ID-free", "bool_value", True)
    ]
    assert list(state.cached_message_hashes) == ["h1", "h2"]
    assert state.fragment_id == ""  # the whole page
    fragment = BackMsg()
    fragment.ParseFromString(rerun_message("", "abc", [widget_state(box, True)], fragment_id="f1"))
    assert fragment.rerun_script.fragment_id == "f1"  # that fragment only, as a browser asks when its widget changes


def test_a_selectbox_is_set_by_its_option_as_shown() -> None:
    state = widget_state(Widget("selectbox", "$$ID-city", "City", ("", "Kranj")), "Kranj")
    assert (state.WhichOneof("value"), state.string_value) == ("string_value", "Kranj")


def test_read_message_learns_the_page_the_url_the_widgets_and_the_end_of_a_run() -> None:
    state = RunState()
    nav = ForwardMsg()
    nav.navigation.page_script_hash = "page1"
    assert read_message(nav.SerializeToString(), state) is None
    info = ForwardMsg()
    info.page_info_changed.query_string = "free=1"
    read_message(info.SerializeToString(), state)
    box = ForwardMsg(hash="h", metadata={"cacheable": True})
    box.delta.new_element.checkbox.id = "$$ID-free"
    box.delta.new_element.checkbox.label = "Free only"
    box.delta.new_element.checkbox.default = True
    read_message(box.SerializeToString(), state)
    select = ForwardMsg()
    select.delta.new_element.selectbox.id = "$$ID-city"
    select.delta.new_element.selectbox.label = "City"
    select.delta.new_element.selectbox.options.extend(["", "Kranj"])
    select.delta.fragment_id = "f1"
    read_message(select.SerializeToString(), state)
    failed = ForwardMsg()
    failed.delta.new_element.exception.message = "boom"
    read_message(failed.SerializeToString(), state)
    finished = _forward(script_finished=ForwardMsg.FINISHED_SUCCESSFULLY)
    assert read_message(finished.SerializeToString(), state) == ForwardMsg.FINISHED_SUCCESSFULLY
    assert (state.page_script_hash, state.query_string, state.cached, state.errors) == ("page1", "free=1", {"h"}, ["boom"])
    assert state.widgets["Free only"] == Widget("checkbox", "$$ID-free", "Free only", value=True)
    assert (state.widgets["City"].options, state.widgets["City"].fragment_id) == (("", "Kranj"), "f1")


def test_proc_parsing() -> None:
    # A command name with spaces and a parenthesis; utime 250 and stime 50 ticks (fields 14 and 15).
    stat = "4242 (python -m (x)) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 9 0 1 2 3"
    assert cpu_seconds(stat) == pytest.approx(300 / CLOCK_TICKS)
    assert rss_bytes("Name:\tpython\nVmRSS:\t  230400 kB\nThreads:\t9\n") == 230400 * 1024
    with pytest.raises(ValueError, match="VmRSS"):
        rss_bytes("Name:\tzombie\n")


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([1.0], 95, 1.0), ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0), ([1.0, 2.0, 3.0, 4.0, 5.0], 95, 4.8), ([5.0, 1.0], 100, 5.0)],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_summarise_counts_failed_runs_as_errors_and_divides_cpu_and_memory() -> None:
    done = [Interaction(0, s, 1000, True, messages) for s, messages in ((0.1, 100), (0.2, 104), (0.3, 124))]
    row = summarise([*done, Interaction(0, 9.0, 0, False)], [1.0, 2.0], 1, 0.3, (100 * 2**20, 120 * 2**20, 130 * 2**20), 10)
    assert (row["interactions"], row["errors"], row["median_s"]) == (3, 2, pytest.approx(0.2))
    assert row["messages_per_interaction"] == 104  # the median, of the answered changes only
    assert row["cpu_ms_per_interaction"] == pytest.approx(100)
    assert (row["rss_mb"], row["rss_per_session_mb"], row["rss_peak_mb"]) == (120, 2, 130)
    assert math.isnan(summarise([], [], 0, 0, (0, 0, 0), 1)["median_s"])


def test_the_map_component_is_found_and_reports_its_bounds_as_json() -> None:
    state = RunState()
    msg = ForwardMsg()
    msg.delta.new_element.component_instance.id = "$$ID-map"
    msg.delta.new_element.component_instance.component_name = MAP_COMPONENT
    read_message(msg.SerializeToString(), state)
    report = widget_state(state.widgets[MAP_COMPONENT], MAP_REPORT)
    assert (report.id, report.WhichOneof("value"), report.json_value) == ("$$ID-map", "json_value", MAP_REPORT)


def test_finished_status_of_a_frame() -> None:
    finished = _forward(script_finished=ForwardMsg.FINISHED_EARLY_FOR_RERUN)
    assert finished_status(finished.SerializeToString()) == ForwardMsg.FINISHED_EARLY_FOR_RERUN
    assert finished_status(_forward(ref_hash="h").SerializeToString()) is None
    assert finished_status("text frame") is None


def test_profile_summary_adds_up_the_profiles_per_interaction(tmp_path: Path) -> None:
    assert profile_summary(tmp_path) == {"interactions": 0}

    def show_list() -> int:
        return sum(range(10_000))

    for n in (1, 2):
        profile = cProfile.Profile()
        profile.runcall(show_list)
        profile.dump_stats(tmp_path / f"{n}.pstats")
    summary = profile_summary(tmp_path, top=3)
    assert summary["interactions"] == 2
    assert summary["ms_per_interaction"]["the list (show_list)"] > 0
    assert summary["ms_per_interaction"]["the index query (mask)"] == 0
    assert any("show_list" in name for name, _ in summary["top_cumulative_ms"])


def test_the_table_names_the_code_measured_and_the_load_average() -> None:
    row = summarise([Interaction(0, 0.1, 1000, True)], [1.0], 0, 0.05, (100 * 2**20, 110 * 2**20, 120 * 2**20), 10)
    rows = [
        {**row, "published": 10_000, "code": code, "load_average": load} for code, load in (("baseline", 3.25), ("this", 7.0))
    ]
    rows.append({**rows[1], "replicas": 2, "visitors_per_replica": [6, 4], "proxy_cpu_ms_per_interaction": 2.25})
    lines = table(rows).splitlines()
    assert lines[0].startswith("| code | published | replicas |") and lines[0].endswith("| load average |")
    assert lines[2].startswith("| baseline | 10,000 | 1 | 10 | 1 | 0 | 0.10 s |") and lines[2].endswith("| 3.2 |")
    assert lines[3].startswith("| this |") and "| 50 ms | — |" in lines[3]
    assert lines[4].startswith("| this | 10,000 | 2 (6+4) | 10 |") and "| 50 ms | 2.2 ms |" in lines[4]
    spread_by_us = table([{**rows[2], "proxy": "round-robin", "proxy_cpu_ms_per_interaction": None}]).splitlines()[2]
    assert spread_by_us.startswith("| this | 10,000 | 2 (6+4), no proxy | 10 |") and "| 50 ms | — |" in spread_by_us


# --- replicas behind a proxy ---------------------------------------------------------------------


def test_the_caddyfile_is_the_recipe_on_loopback_and_caddy_reads_it(tmp_path: Path) -> None:
    text = caddyfile(8790, ["127.0.0.1:8750", "127.0.0.1:8751"], "s3cret")
    assert "http://127.0.0.1:8790 {" in text
    assert "reverse_proxy 127.0.0.1:8750 127.0.0.1:8751 {" in text
    assert f"lb_policy cookie {AFFINITY_COOKIE} s3cret" in text
    assert "health_uri /_stcore/health" in text and "admin off" in text
    binary = shutil.which("caddy")
    if binary is None:
        pytest.skip("Caddy is not installed: its reading of the text is not checked")
    (tmp_path / "Caddyfile").write_text(text, encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    adapted = subprocess.run([binary, "adapt", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
                             capture_output=True, check=True, env=env)  # fmt: skip
    config = json.loads(adapted.stdout)
    handler = config["apps"]["http"]["servers"]["srv0"]["routes"][0]["handle"][0]["routes"][0]["handle"][0]
    assert handler["handler"] == "reverse_proxy"
    assert [u["dial"] for u in handler["upstreams"]] == ["127.0.0.1:8750", "127.0.0.1:8751"]
    policy = handler["load_balancing"]["selection_policy"]
    assert (policy["policy"], policy["name"], policy["secret"]) == ("cookie", AFFINITY_COOKIE, "s3cret")


def test_the_affinity_cookie_names_the_upstream_and_is_read_from_set_cookie() -> None:
    value = affinity_cookie("127.0.0.1:8750", "k")
    assert value == hmac.new(b"k", b"127.0.0.1:8750", hashlib.sha256).hexdigest()
    assert value != affinity_cookie("127.0.0.1:8751", "k") != affinity_cookie("127.0.0.1:8751", "other")
    headers = ["_streamlit_xsrf=abc; Path=/", f"{AFFINITY_COOKIE}={value}; Path=/", "x=y"]
    assert cookie_value(headers) == value
    assert cookie_value(["other=1"]) is None
    assert cookie_value([]) is None


def test_an_even_spread_gives_visitor_i_the_cookie_of_replica_i_mod_k() -> None:
    behind_caddy = Target("this", ["ws://proxy"], keys=["a", "b"], proxy="caddy", even=True)
    assert [affinity(behind_caddy, i) for i in range(5)] == ["a", "b", "a", "b", "a"]
    assert affinity(Target("this", ["ws://proxy"], keys=["a", "b"], proxy="caddy"), 1) is None  # Caddy chooses
    assert affinity(Target("this", ["ws://a", "ws://b"], keys=["a", "b"], proxy="round-robin", even=True), 1) is None


def test_spread_counts_the_visitors_per_replica_and_leaves_out_the_unknown() -> None:
    assert spread(["a", "b", "a", None, "c", "a"], ["a", "b"]) == [3, 1]
    assert spread([], ["a"]) == [0]


def test_cpu_and_memory_are_summed_over_the_processes() -> None:
    assert summed([(1.5, 100), (0.25, 50)]) == (1.75, 150)
    assert summed([]) == (0.0, 0)
    assert sample_all([]) == (0.0, 0)
    one_cpu, one_rss = sample(os.getpid())
    both_cpu, both_rss = sample_all([os.getpid(), os.getpid()])
    assert both_cpu >= 2 * one_cpu
    assert both_rss == pytest.approx(2 * one_rss, rel=0.05)


def _row(visitors: int, p95: float, errors: int = 0, replicas: int = 1, interactions: int = 10) -> dict[str, Any]:
    return {"visitors": visitors, "p95_s": p95, "errors": errors, "replicas": replicas, "interactions": interactions}


@pytest.mark.parametrize(
    ("row", "expected"),
    [(_row(50, 0.8), True), (_row(50, 1.0), True), (_row(50, 1.01), False), (_row(50, 0.5, errors=1), False),
     (_row(50, float("nan"), interactions=0), False)],
)  # fmt: skip
def test_within_the_target(row: dict[str, Any], expected: bool) -> None:
    assert within(row, 1.0) is expected


@pytest.mark.parametrize(
    ("p95s", "expected"),
    [
        (
            {50: 0.4, 100: 0.7, 150: 1.4, 200: 0.9},
            {"visitors": 100, "bounded": True, "first_beyond": 150},
        ),  # 200 came after the limit
        ({100: 0.7, 50: 0.4}, {"visitors": 100, "bounded": False, "first_beyond": None}),  # never beyond: at least 100
        ({50: 1.2, 100: 2.0}, {"visitors": None, "bounded": True, "first_beyond": 50}),
        ({}, {"visitors": None, "bounded": False, "first_beyond": None}),
    ],
)
def test_capacity_is_the_largest_count_before_the_first_beyond_the_target(
    p95s: dict[int, float], expected: dict[str, Any]
) -> None:
    assert capacity([_row(n, p95) for n, p95 in p95s.items()], 1.0) == expected


def _cap(visitors: int | None, bounded: bool = True) -> dict[str, Any]:
    return {"visitors": visitors, "bounded": bounded, "first_beyond": None}


@pytest.mark.parametrize(
    ("caps", "ratio", "at_least"),
    [
        ({1: _cap(100), 2: _cap(200)}, 2.0, False),
        ({1: _cap(100), 2: _cap(150)}, 1.5, False),
        ({1: _cap(100), 2: _cap(300, bounded=False)}, 3.0, True),  # two replicas never reached their limit
        ({1: _cap(None), 2: _cap(100)}, None, False),  # one replica served none of the steps
        ({1: _cap(300, bounded=False), 2: _cap(300, bounded=False)}, None, False),  # neither reached its limit
    ],
)
def test_the_ratio_of_visitors_at_the_same_p95(caps: dict[int, dict[str, Any]], ratio: float | None, at_least: bool) -> None:
    out = capacity_ratios(caps)
    assert out[2]["ratio"] == (pytest.approx(ratio) if ratio is not None else None)
    assert out[2]["at_least"] is at_least
    assert capacity_ratios({}) == {}


def test_the_capacity_lines_say_the_visitors_and_the_ratio() -> None:
    ratios = capacity_ratios({1: _cap(100), 2: _cap(200, bounded=False)})
    lines = capacity_text("this", 10_000, 1.0, ratios).splitlines()
    assert lines == [
        "capacity this 10,000: 1 replica(s): 100 visitors with p95 ≤ 1 s",
        "capacity this 10,000: 2 replica(s): at least 200 visitors with p95 ≤ 1 s, ×2.00 or more against 1",
    ]
    none = capacity_text("this", 10_000, 0.5, {1: {**_cap(None), "first_beyond": 50, "ratio": None, "at_least": False}})
    assert none == "capacity this 10,000: 1 replica(s): not even 50 visitors with p95 ≤ 0.5 s"


def test_finding_capacity_steps_up_back_to_back_and_drops_a_target_past_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # One replica keeps within 1 s up to 100 visitors, two up to 200: the calls show the order.
    limits = {1: 100, 2: 200}
    calls: list[tuple[int, int]] = []

    async def fake_crowd(target: Target, visitors: int, *args: object) -> dict[str, Any]:
        calls.append((target.replicas, visitors))
        p95 = 0.5 if visitors <= limits[target.replicas] else 3.0
        return {**_row(visitors, p95, replicas=target.replicas)}

    monkeypatch.setattr(load, "crowd", fake_crowd)
    targets = [Target("this", ["ws://p1"], keys=["a"]), Target("this", ["ws://p2"], keys=["a", "b"])]
    # measure() runs each crowd with asyncio.run: in a thread of its own, as after the browser tests
    rows = in_own_thread(lambda: measure(targets, 10_000, [200, 50, 100, 150, 300], 1, 1, "free", find_p95=1.0))
    # A count beyond the target is tried once more before its replica count stops.
    assert calls == [(1, 50), (2, 50), (1, 100), (2, 100), (1, 150), (1, 150), (2, 150), (2, 200), (2, 300), (2, 300)]
    assert len(rows) == len(calls)
    found = capacities(rows, 10_000, 1.0)["this"]
    assert (found["1"]["visitors"], found["2"]["visitors"], found["2"]["ratio"]) == (100, 200, 2.0)
    calls.clear()
    in_own_thread(
        lambda: measure(targets[:1], 10_000, [300, 50], 1, 1, "free")
    )  # without a target: every count once, in the order given
    assert calls == [(1, 300), (1, 50)]
    calls.clear()
    in_own_thread(lambda: measure(targets[:1], 10_000, [150, 200], 1, 1, "free", find_p95=1.0, tries=1))
    assert calls == [(1, 150)]


def test_a_count_beyond_the_target_once_but_within_on_its_second_try_counts_as_within() -> None:
    rows = [_row(50, 0.5), _row(100, 1.6), _row(100, 0.9), _row(150, 1.5), _row(150, 1.7)]
    assert capacity(rows, 1.0) == {"visitors": 100, "bounded": True, "first_beyond": 150}


def test_ports_come_from_the_range_given_skipping_taken_and_bound_ones() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        busy = held.getsockname()[1]
        taken: set[int] = set()
        free = port_from([busy, busy + 1, busy + 2], taken) if busy + 2 < 65536 else None
        if free is not None:
            assert free in (busy + 1, busy + 2) and free in taken
            assert port_from([free, busy, busy + 1, busy + 2], taken) not in (free, busy)
        with pytest.raises(RuntimeError, match="no free port"):
            port_from([busy], set())
    assert isinstance(port_from(None, set()), int)
    assert _ports("8750-8752") == [8750, 8751, 8752]
    assert _ports("8750") == [8750]
    assert _ports(None) is None


def test_a_database_by_url_is_filled_once_and_one_holding_another_number_is_refused(database_url: str, tmp_path: Path) -> None:
    # SQLite here, PostgreSQL with TEST_DATABASE_URL: what --database-url gives the load benchmark's apps.
    assert _database_url(tmp_path, 30, database_url) == database_url
    engine = open_database(database_url)
    with engine.connect() as conn:
        published = conn.execute(select(func.count()).select_from(opportunities).where(opportunities.c.status == "published"))
        assert published.scalar_one() == 30
    engine.dispose()
    assert _database_url(tmp_path, 30, database_url) == database_url  # already filled: used as it is
    with pytest.raises(RuntimeError, match="holds 30 published opportunities, not 40"):
        _database_url(tmp_path, 40, database_url)
