"""Progress of the long steps, told by the domain and shown by each adapter in its own way.

Building the gazetteer index, loading the demo and importing take from seconds to minutes. The
domain reports ``(step, done, total)`` through a :data:`Progress` callback; the command line
draws a bar on a terminal and writes plain lines otherwise (:class:`TerminalProgress`), and the
app shows a progress bar with the step in the reader's language (the steps are catalog texts).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from opportunities.i18n import N_

Progress = Callable[[str, int, int], None]
"""``(step, done, total)``: ``step`` is one of the texts below, ``total`` 0 when not known."""

GAZETTEER_PLACES = N_("Building the gazetteer index (once): places")
GAZETTEER_POSTCODES = N_("Building the gazetteer index (once): postcodes")
DATABASE = N_("Creating the database")
ADDRESSES = N_("Loading street addresses")
DISTRICTS = N_("Loading districts and population")
OPPORTUNITIES = N_("Placing and storing the opportunities")
SEARCH_INDEX = N_("Building the search index")
ACCOUNTS = N_("Creating the demo accounts")


def silent(step: str, done: int, total: int) -> None:
    """A :data:`Progress` that shows nothing."""


def stepper(progress: Progress | None, step: str) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback reporting ``step`` to ``progress`` (which may be None)."""
    report = progress or silent

    def advance(done: int, total: int) -> None:
        report(step, done, total)

    return advance


class TerminalProgress:
    """Progress on a stream: a redrawn bar on a terminal; elsewhere (a log, CI) one line when a
    step starts and one when it ends, with its time, so nothing floods the log."""

    WIDTH = 28
    REDRAW_S = 0.1  # a terminal redraw at most ten times a second

    def __init__(self, stream: TextIO | None = None, *, bar: bool | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._bar = self._stream.isatty() if bar is None else bar
        self._step: str | None = None
        self._started = 0.0
        self._drawn = 0.0
        self._done = self._total = 0

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if step != self._step:
            self.finish()
            self._step, self._started, self._drawn = step, now, 0.0
            if not self._bar:
                self._write(f"{step}…\n")
        self._done, self._total = done, total
        if self._bar and (now - self._drawn >= self.REDRAW_S or (total and done >= total)):
            self._drawn = now
            self._write(f"\r{self._line(step, done, total)}\x1b[K")

    def finish(self) -> None:
        """End the current step's line with the time it took (call once more after the last step)."""
        if self._step is None:
            return
        took = f"{time.monotonic() - self._started:.1f} s"
        counted = f"{self._done:,}/{self._total:,}, " if self._total > 0 else ""
        line = f"{self._step}: {counted}done in {took}"
        self._write(f"\r{line}\x1b[K\n" if self._bar else f"{line}\n")
        self._step = None

    def _line(self, step: str, done: int, total: int) -> str:
        if total <= 0:
            return f"{step} {done:,}" if done else f"{step}…"
        share = min(max(done / total, 0.0), 1.0)
        filled = round(share * self.WIDTH)
        return f"{step} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%}"

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
