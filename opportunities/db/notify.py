"""Changed opportunities announced by PostgreSQL (LISTEN/NOTIFY), so that each app process
refreshes its search index at once instead of at its next look at the database.

The writer's side is a trigger (migration 0016): every statement that inserts, updates, deletes
or truncates opportunities sends an empty notification on :data:`CHANNEL`, whoever runs it (the
pages, the command line, a harvest, ``psql``). PostgreSQL delivers it when the transaction
commits, once per transaction, and never for a rollback.

The reader's side is :class:`ChangeListener`: one connection of its own (not from the pool, which
would hand it to page runs) in a background thread, which calls ``on_change`` for each
notification, once when the connection is lost, and once after every (re)connection, since
nothing is heard while disconnected. A lost connection is retried with growing waits; nothing is
raised to the app. SQLite has no notifications: there, and whenever the listener is down, the
index polls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

logger = logging.getLogger(__name__)

CHANNEL = "col_opportunities_changed"
# How long one wait for notifications lasts: the thread notices close() within this.
_WAIT_S = 0.5
# Dead peers without a closed socket (a machine gone, a firewall's dropped state) are found by TCP
# keepalives: idle 30 s, then 3 probes 10 s apart.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def can_listen(engine: Engine) -> bool:
    """Whether ``engine`` reaches a database that sends notifications (PostgreSQL through psycopg 3)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


class ChangeListener:
    """Calls ``on_change`` (in its own thread; keep it quick, such as setting an event) whenever
    opportunities changed, after each (re)connection, and when the connection is lost (changes
    may go unheard from then on: time to look by other means).

    ``retry_s``: the first wait after a failed connection, doubled after each further failure up
    to ``max_retry_s``; a connection that worked starts again from ``retry_s``.
    """

    def __init__(
        self,
        engine: Engine,
        on_change: Callable[[], None],
        *,
        channel: str = CHANNEL,
        retry_s: float = 0.5,
        max_retry_s: float = 30.0,
    ) -> None:
        if not can_listen(engine):
            raise ValueError(f"only PostgreSQL through psycopg sends notifications, not {engine.dialect.name}")
        self._engine = engine
        self._on_change = on_change
        self._channel = channel
        self._retry_s = retry_s
        self._max_retry_s = max_retry_s
        self._stopped = threading.Event()
        self._connected = threading.Event()
        self.backend_pid: int | None = None  # the listening connection's server process
        self.connections = 0  # successful (re)connections
        self.notifications = 0
        self._thread = threading.Thread(target=self._run, name="index-listener", daemon=True)

    def start(self) -> ChangeListener:
        self._thread.start()
        return self

    @property
    def connected(self) -> bool:
        """Whether the listening connection is up (a notification now would be heard)."""
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop listening; the thread ends within about half a second."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        wait_s = self._retry_s
        failures = 0
        while not self._stopped.is_set():
            before = self.connections
            try:
                self._listen()
                return  # closed
            except Exception as exc:  # psycopg's errors and anything else: the app never sees it
                self._connected.clear()
                if self._stopped.is_set():
                    return
                if self.connections > before:  # it was listening: a new outage, retried soon
                    wait_s, failures = self._retry_s, 0
                    self._on_change()  # the caller looks by itself from now on, and at once
                failures += 1
                if failures > 1:
                    logger.info("still cannot listen for changes (%s); next try in %.1f s", _short(exc), wait_s)
                elif self.connections:
                    logger.warning("lost the connection that hears of changes (%s); polling until it is back", _short(exc))
                else:
                    logger.warning("cannot listen for changes in the database (%s); polling meanwhile", _short(exc))
            self._stopped.wait(wait_s)
            wait_s = min(wait_s * 2, self._max_retry_s)

    def _listen(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(**self._connect_args(), autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self.backend_pid = conn.info.backend_pid
            if self.connections:
                logger.info("listening for changes in the database again")
            self.connections += 1
            self._connected.set()
            self._on_change()  # whatever changed while nobody listened
            while not self._stopped.is_set():
                for _ in conn.notifies(timeout=_WAIT_S):
                    self.notifications += 1
                    self._on_change()
            self._connected.clear()

    def _connect_args(self) -> dict[str, Any]:
        _args, params = self._engine.dialect.create_connect_args(self._engine.url)
        params.pop("context", None)  # SQLAlchemy's type adapters: not needed for LISTEN
        return {
            **params,
            **_KEEPALIVES,
            "connect_timeout": 10,
            "application_name": "col-index-listener",
        }


def _short(exc: BaseException) -> str:
    """The first line of an error, without a traceback: a lost connection is expected, not a bug."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
