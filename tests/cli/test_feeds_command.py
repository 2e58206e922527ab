"""``python -m opportunities feeds add|list|harvest|remove``: exit codes, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.commands import main
from tests.cli.test_cli import GOOD, write_csv
from tests.feeds.rpde_server import Answer, FeedServer, serve
from tests.feeds.test_harvesting import item

LICENSE = "https://creativecommons.org/licenses/by/4.0/"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve()


@pytest.fixture(autouse=True)
def kranj(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    """A database with Kranj and MC Kranj (from an import), feeds on 127.0.0.1 allowed."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HARVEST_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("HARVEST_TIMEOUT_S", "5")
    assert main(["import", str(write_csv(tmp_path / "kranj.csv", [GOOD])), "--publish"]) == 0


def in_kranj(item_id: str, modified: int, **data: Any) -> dict[str, Any]:
    found = item("event_example_1", item_id, modified, **data)
    found["data"]["location"]["geo"] = {"@type": "GeoCoordinates", "latitude": 46.2391, "longitude": 14.3551}
    found["data"]["location"]["address"] = {"@type": "PostalAddress", "addressLocality": "Kranj", "addressCountry": "SI"}
    return found


def add(server: FeedServer, *extra: str) -> int:
    return main(["feeds", "add", server.url("/feed"), "--organisation", "MC Kranj", "--city", "Kranj", "--license", LICENSE,
                 "--attribution", "Športna zveza Kranj", *extra])  # fmt: skip


def test_add_list_harvest_remove(server: FeedServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(server) == 0
    assert "feed 1 registered" in capsys.readouterr().out
    server.page(
        "/feed", [in_kranj("a", 1, name="Plezanje"), in_kranj("b", 2, name="Bad link", url="javascript:alert(1)")], "/feed?2"
    )
    server.last_page("/feed?2")

    assert main(["feeds", "harvest"]) == 1  # an item refused: partly done
    captured = capsys.readouterr()
    assert "feed 1: 2 pages, 2 items, 1 stored, 0 deleted, 0 unchanged, 1 refused; reached its end" in captured.out
    assert "item b: url: 'javascript:alert(1)' is not a web address" in captured.err

    assert main(["feeds", "list", "--problems"]) == 0
    listed = capsys.readouterr().out
    assert "1\tKranj\tMC Kranj\t" in listed and "1 stored\t1 refused\tlag 0 s" in listed
    assert "item b\thttps://example.com/api/event_example_1/b\turl: 'javascript:alert(1)'" in listed

    assert main(["search", "--topic", "sport-outdoors"]) == 0
    assert "Plezanje" in capsys.readouterr().out

    server.requests.clear()
    assert main(["feeds", "harvest", "1", "--max-pages", "1"]) == 0
    assert server.requests == ["/feed?2"]
    capsys.readouterr()

    assert main(["feeds", "remove", "1"]) == 0
    assert "1 opportunities harvested from it archived" in capsys.readouterr().out
    assert main(["search", "--topic", "sport-outdoors"]) == 0
    assert "Plezanje" not in capsys.readouterr().out


def test_a_feed_in_error_exits_1_and_says_why(server: FeedServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(server) == 0
    server.answers["/feed"] = Answer(503, b"{}", {"Content-Type": "application/json", "Retry-After": "600"})
    assert main(["feeds", "harvest"]) == 1
    assert "error: feed 1: the feed asks to come back later (HTTP 503)" in capsys.readouterr().err
    assert main(["feeds", "harvest"]) == 0
    assert "feed 1: skipped (waiting)" in capsys.readouterr().out
    assert main(["feeds", "list"]) == 0
    assert "waiting until" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["feeds", "add", "javascript:alert(1)", "--organisation", "MC Kranj", "--city", "Kranj", "--license", LICENSE,
          "--attribution", "x"], "is not a web address"),
        (["feeds", "add", "https://example.org/feed", "--organisation", "Nobody", "--city", "Kranj", "--license", LICENSE,
          "--attribution", "x"], "no organisation named 'Nobody'"),
        (["feeds", "add", "https://example.org/feed", "--organisation", "MC Kranj", "--city", "Atlantis", "--license", LICENSE,
          "--attribution", "x"], "no city named 'Atlantis'"),
        (["feeds", "harvest", "7"], "no feed 7"),
        (["feeds", "remove", "7"], "no feed 7"),
    ],
)  # fmt: skip
def test_unusable_input_exits_2_without_a_traceback(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
