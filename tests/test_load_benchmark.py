"""The load benchmark's pure parts: the messages it sends and reads, /proc parsing, its statistics."""

from __future__ import annotations

import cProfile
import math
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.load import (
    CLOCK_TICKS,
    MAP_COMPONENT,
    MAP_REPORT,
    Interaction,
    RunState,
    Widget,
    cpu_seconds,
    finished_status,
    percentile,
    profile_summary,
    read_message,
    rerun_message,
    rss_bytes,
    summarise,
    table,
    widget_state,
)


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
    lines = table(rows).splitlines()
    assert lines[0].startswith("| code | published |") and lines[0].endswith("| load average |")
    assert lines[2].startswith("| baseline | 10,000 | 10 | 1 | 0 | 0.10 s |") and lines[2].endswith("| 3.2 |")
    assert lines[3].startswith("| this |") and "| 50 ms |" in lines[3]
