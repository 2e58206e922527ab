"""PostgreSQL announces every committed change to the opportunities, whoever writes it, and a
listener hears it within a fraction of a second, also after its connection was cut."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from cli.commands import main
from opportunities.db.connection import create_db_engine, writing
from opportunities.db.notify import ChangeListener, can_listen
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from tests.conftest import ON_POSTGRES, template_row

postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="notifications are PostgreSQL's: set TEST_DATABASE_URL")

HEARD_WITHIN_S = 1.0


class Heard:
    """What a listener's ``on_change`` recorded: when, and a way to wait for the next call."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._event = threading.Event()

    def __call__(self) -> None:
        self.times.append(time.monotonic())
        self._event.set()

    def clear(self) -> None:
        self.times.clear()
        self._event.clear()

    def wait(self, timeout_s: float) -> bool:
        return self._event.wait(timeout_s)


@pytest.fixture
def other_process(database_url: str, engine: Engine) -> Iterator[Engine]:
    """A second engine on the same database (``engine`` migrated it): another app process's."""
    other = create_db_engine(database_url)
    yield other
    other.dispose()


@pytest.fixture
def heard(other_process: Engine) -> Iterator[tuple[ChangeListener, Heard]]:
    record = Heard()
    listener = ChangeListener(other_process, record, retry_s=0.1).start()
    assert listener.wait_connected(10)
    assert record.wait(5)  # the call after connecting: whatever changed while nobody listened
    record.clear()
    yield listener, record
    listener.close()


def _sql(statement: str) -> Callable[[Engine, Path, Geocoder], None]:
    def run(engine: Engine, _folder: Path, _geocoder: Geocoder) -> None:
        with writing(engine) as conn:
            conn.execute(text(statement))

    return run


def _import(engine: Engine, _folder: Path, geocoder: Geocoder) -> None:
    import_records(engine, [template_row(title="Heard of at once")], geocoder, publish=True)


def _command_line(engine: Engine, folder: Path, _geocoder: Geocoder) -> None:
    header = "title,provider,city,country,address,latitude,longitude,topics,age_min,age_max,mode,type,start,cost,currency"
    row = "Robotika,MC Kranj,Kranj,SI,,46.2400,14.3600,digital-skills,13,17,in-person,workshop,2026-12-10,free,"
    (folder / "new.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert main(["import", str(folder / "new.csv"), "--publish"]) == 0


def _rolled_back(engine: Engine, _folder: Path, _geocoder: Geocoder) -> None:
    with engine.connect() as conn:
        conn.execute(text("UPDATE opportunities SET age_min = age_min"))
        conn.rollback()


def _other_table(engine: Engine, _folder: Path, _geocoder: Geocoder) -> None:
    with writing(engine) as conn:
        conn.execute(text("UPDATE cities SET timezone = timezone"))


@postgres_only
@pytest.mark.parametrize(
    ("writer", "announced"),
    [
        (_sql("UPDATE opportunities SET age_min = age_min"), True),
        (_sql("UPDATE opportunities SET status = 'archived' WHERE false"), True),  # a statement, even of no row
        (_sql("DELETE FROM opportunities"), True),
        (_sql("TRUNCATE opportunities CASCADE"), True),
        (_import, True),
        (_command_line, True),
        (_rolled_back, False),
        (_other_table, False),
    ],
    ids=["update", "update-of-no-row", "delete", "truncate", "import", "command-line", "rolled-back", "other-table"],
)
def test_every_committed_change_is_heard(
    writer: Callable[[Engine, Path, Geocoder], None],
    announced: bool,
    engine: Engine,
    heard: tuple[ChangeListener, Heard],
    geocoder: Geocoder,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    listener, record = heard
    writer(engine, tmp_path, geocoder)
    committed = time.monotonic()
    assert record.wait(HEARD_WITHIN_S if announced else 0.5) is announced
    if announced:
        assert record.times[0] - committed < HEARD_WITHIN_S
        assert listener.notifications >= 1


@postgres_only
def test_one_transaction_is_one_notification(engine: Engine, heard: tuple[ChangeListener, Heard]) -> None:
    listener, record = heard
    with writing(engine) as conn:
        for _ in range(20):
            conn.execute(text("UPDATE opportunities SET age_min = age_min"))
    assert record.wait(HEARD_WITHIN_S)
    time.sleep(0.3)
    assert listener.notifications == 1 and len(record.times) == 1


def _terminate(conn: Connection, pid: int) -> bool:
    return bool(conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one())


@postgres_only
def test_the_listener_reconnects_after_its_connection_is_cut(
    engine: Engine, heard: tuple[ChangeListener, Heard], caplog: pytest.LogCaptureFixture
) -> None:
    listener, record = heard
    first = listener.backend_pid
    assert first is not None
    with caplog.at_level(logging.INFO, logger="opportunities.db.notify"):
        with engine.connect() as conn:
            assert _terminate(conn, first)
        deadline = time.monotonic() + 10
        while (listener.connections < 2 or not listener.connected) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listener.connections == 2 and listener.backend_pid != first
    assert "lost the connection that hears of changes" in caplog.text
    assert "Traceback" not in caplog.text
    assert record.wait(1)  # told on reconnecting: a change made meanwhile was not heard
    record.clear()
    with writing(engine) as conn:
        conn.execute(text("UPDATE opportunities SET age_min = age_min"))
    assert record.wait(HEARD_WITHIN_S)


@postgres_only
def test_an_unreachable_database_is_retried_calmly(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    closed = make_url(database_url).set(port=1)  # nothing listens on port 1
    unreachable = create_engine(closed)
    record = Heard()
    with caplog.at_level(logging.INFO, logger="opportunities.db.notify"):
        listener = ChangeListener(unreachable, record, retry_s=0.05, max_retry_s=0.1).start()
        time.sleep(0.6)
        listener.close()
    unreachable.dispose()
    assert not listener.connected and listener.connections == 0 and not record.times
    assert caplog.text.count("cannot listen for changes in the database") == 1  # one warning, then quieter
    assert "still cannot listen" in caplog.text and "Traceback" not in caplog.text


def test_only_postgresql_is_listened_to(tmp_path: Path) -> None:
    sqlite = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert not can_listen(sqlite)
    with pytest.raises(ValueError, match="only PostgreSQL"):
        ChangeListener(sqlite, lambda: None)
    sqlite.dispose()
