"""The page benchmark's breakdown of a first load, from what the page and the map's frame recorded."""

from __future__ import annotations

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.page import STEPS, _median_steps, _message_kind, breakdown

ORIGIN = 1_000_000.0


def recorded() -> tuple[dict[str, object], dict[str, object]]:
    main = {
        "origin": ORIGIN,
        "marks": {"websocket_open": ORIGIN + 900, "title": ORIGIN + 1300, "iframe": ORIGIN + 1700},
        "messages": [[ORIGIN + 1000, 400], [ORIGIN + 1100, 18_000], [ORIGIN + 1200, 44]],
        "nav": [{"responseEnd": 40.4, "dom": 800.0, "transfer": 8_000}],
        "resources": [{"name": "http://x/static/js/index.js", "end": 300.0, "transfer": 130_000, "decoded": 480_000}],
    }
    inner = {
        "origin": ORIGIN + 1650,
        "marks": {"features": ORIGIN + 2400},
        "resources": [
            {"name": "http://x/app/static/vendor/leaflet-1.9.4/leaflet.js", "end": 500.0, "transfer": 43_000, "decoded": 147_000},
            {"name": "http://x/app/static/vendor/leaflet-1.9.4/leaflet.css", "end": 560.0, "transfer": 4_000, "decoded": 15_000},
        ],
    }
    return main, inner


def test_each_step_is_measured_from_the_navigation() -> None:
    main, inner = recorded()
    seen = breakdown(main, inner, ["new_session", "delta", "script_finished"])
    assert list(seen["steps_ms"]) == list(STEPS)
    assert seen["steps_ms"] == {"html": 40, "bundle_run": 800, "websocket_open": 900, "first_message": 1000,
                                "script_finished": 1200, "title": 1300, "map_iframe": 1700,
                                "leaflet_loaded": 2150, "features": 2400}  # fmt: skip
    assert seen["http_bytes"] == 8_000 + 130_000 + 43_000 + 4_000
    assert seen["http_bytes_uncompressed"] == 480_000 + 147_000 + 15_000
    assert seen["websocket_bytes"] == 18_444


def test_a_step_not_seen_is_none_not_a_guess() -> None:
    main, _inner = recorded()
    main["marks"] = {}
    seen = breakdown(main, {"origin": ORIGIN, "marks": None, "resources": []}, ["new_session"])
    assert seen["steps_ms"]["script_finished"] is None and seen["steps_ms"]["features"] is None
    main["features_fallback_ms"] = 2_511.4  # timed by Playwright when the frame's observer saw nothing
    assert breakdown(main, {"origin": ORIGIN, "marks": {}, "resources": []}, [])["steps_ms"]["features"] == 2_511
    assert seen["steps_ms"]["websocket_open"] is None and seen["steps_ms"]["html"] == 40
    medians = _median_steps([seen, breakdown(*recorded(), ["a", "b", "script_finished"])])
    assert medians["script_finished"] == 1200 and medians["html"] == 40


def test_messages_are_named_by_their_type() -> None:
    done = ForwardMsg()
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    assert _message_kind(done.SerializeToString()) == "script_finished"
    assert _message_kind("text") == "text"
