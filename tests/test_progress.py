"""Long steps say how far they are: a bar on a terminal, plain lines in a log, every step named."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from opportunities.places import gazetteer as gazetteer_module
from opportunities.progress import GAZETTEER_PLACES, GAZETTEER_POSTCODES, TerminalProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_line_when_a_step_starts_and_one_when_it_ends() -> None:
    log = io.StringIO()
    progress = TerminalProgress(log)
    for done in range(0, 101, 10):
        progress("Importing", done, 100)
    progress("Indexing", 0, 0)
    progress.finish()
    progress.finish()  # nothing more to end
    lines = log.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Importing…", "Importing", "Indexing…", "Indexing"]
    assert lines[1].startswith("Importing: 100/100, done in ") and lines[1].endswith(" s")
    assert lines[3].startswith("Indexing: done in ")  # nothing counted: no count
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()


def test_a_terminal_gets_a_bar_redrawn_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TerminalProgress, "REDRAW_S", 0.0)
    screen = Terminal()
    progress = TerminalProgress(screen)
    assert progress._bar  # the stream is a terminal
    progress("Importing", 0, 4)
    progress("Importing", 2, 4)
    progress("Importing", 4, 4)
    progress("Reading", 1234, 0)  # no total known: a count
    progress.finish()
    frames = screen.getvalue().split("\r")
    assert "Importing [" + "#" * 14 + "." * 14 + "]  50%\x1b[K" in frames
    assert "Importing [" + "#" * 28 + "] 100%\x1b[K" in frames
    assert any(frame.startswith("Importing: 4/4, done in ") for frame in frames)
    assert "Reading 1,234\x1b[K" in frames
    assert screen.getvalue().endswith("\n")


def test_a_terminal_is_not_redrawn_more_than_ten_times_a_second() -> None:
    screen = Terminal()
    progress = TerminalProgress(screen)
    for done in range(10_000):
        progress("Importing", done, 10_000)
    assert screen.getvalue().count("\r") < 20


@pytest.fixture
def small_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gazetteer built from three places and three postcodes, in a fraction of a second."""
    places = {
        str(gid): {"geonameid": gid, "name": name, "alternatenames": alternates, "latitude": lat, "longitude": lon,
                   "countrycode": cc, "population": pop, "timezone": tz}
        for gid, name, alternates, lat, lon, cc, pop, tz in (
            (3197378, "Kranj", ["Krainburg"], 46.23887, 14.35561, "SI", 37941, "Europe/Ljubljana"),
            (756135, "Warszawa", ["Warsaw", "Варшава"], 52.22977, 21.01178, "PL", 1702139, "Europe/Warsaw"),
            (2673730, "Stockholm", [], 59.32938, 18.06871, "SE", 1515017, "Europe/Stockholm"),
        )
    }  # fmt: skip
    (tmp_path / "places.json").write_text(json.dumps(places), encoding="utf-8")
    (tmp_path / "postcodes.tsv").write_text(
        "SI\t4000\tKranj\t\t\t\t\t\t\t46.2389\t14.3556\t4\n"
        "PL\t00-001\tWarszawa\t\t\t\t\t\t\t52.2297\t21.0118\t4\n"
        "SE\t111 20\tStockholm\t\t\t\t\t\t\t59.3293\t18.0687\t4\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(gazetteer_module, "_places_source", lambda: tmp_path / "places.json")
    monkeypatch.setattr(gazetteer_module, "_postcodes_source", lambda: tmp_path / "postcodes.tsv")


@pytest.mark.usefixtures("small_sources")
def test_building_the_gazetteer_reports_both_steps_to_the_end(tmp_path: Path) -> None:
    told: list[tuple[str, int, int]] = []
    gazetteer = gazetteer_module.Gazetteer.open(tmp_path / "cache", progress=lambda *step: told.append(step))
    assert gazetteer.place("Krainburg") is not None  # a real index came out of it
    steps = [step for step, _done, _total in told]
    assert steps == sorted(steps, key=[GAZETTEER_PLACES, GAZETTEER_POSTCODES].index)  # in order, each once
    for step in (GAZETTEER_PLACES, GAZETTEER_POSTCODES):
        reports = [(done, total) for name, done, total in told if name == step]
        assert reports[-1][0] == reports[-1][1] > 0, (step, reports)  # ends at 100 %
        assert [done for done, _ in reports] == sorted(done for done, _ in reports)  # never goes back
    told.clear()
    gazetteer_module.Gazetteer.open(tmp_path / "cache", progress=lambda *step: told.append(step))
    assert told == []  # built once: opening it again reports nothing
