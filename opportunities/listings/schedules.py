"""The schedule builder of the submission form: simple choices to and from a stored RRULE.

A provider picks "weekly on Tuesday and Thursday, every other week, until 26 May" and the form
stores ``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20270526``. Editing a listing reads the stored
rule back into the same choices; a rule the choices cannot express (written by hand in an import)
is kept as it is and shown as text. Every session is computed by :mod:`opportunities.recurrence`,
the only evaluator; this module only turns choices into rules and adds the city's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from opportunities import recurrence
from opportunities.errors import N_, FieldError, RuleError, because
from opportunities.listings.calendar import city_zone
from opportunities.model import as_datetime

# Most sessions the preview lists.
PREVIEW_SESSIONS = 5
# The n-th weekday of a month a provider can choose: first to fourth, or the last (-1).
MONTH_POSITIONS: tuple[int, ...] = (1, 2, 3, 4, -1)


class Repeat(StrEnum):
    """How often the activity repeats."""

    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"  # on the n-th weekday of the month


class Ending(StrEnum):
    """How a series ends: with the listing's end date (or never), on a day, or after a number of sessions."""

    END_DATE = "end-date"
    UNTIL = "until"
    COUNT = "count"


@dataclass(frozen=True)
class ScheduleChoice:
    """The form's schedule choices. Weekdays count from Monday = 0, like :mod:`datetime`."""

    repeat: Repeat = Repeat.ONCE
    interval: int = 1  # every n days, weeks or months
    weekdays: tuple[int, ...] = ()  # weekly; empty: the start's weekday
    month_position: int = 1  # monthly: 1…4, or -1 for the last
    month_weekday: int = 0  # monthly: the weekday
    ending: Ending = Ending.END_DATE
    until: date | None = None
    count: int | None = None


def choice_from_widgets(widgets: Mapping[str, Any]) -> ScheduleChoice:
    """The choices as the schedule builder's widgets hold them (name -> value, a missing or
    empty one as its default: a widget not shown for the chosen repeat holds nothing)."""
    return ScheduleChoice(
        repeat=Repeat(widgets.get("repeat") or Repeat.ONCE),
        interval=int(widgets.get("interval") or 1),
        weekdays=tuple(widgets.get("weekdays") or ()),
        month_position=int(widgets.get("month_position") or 1),
        month_weekday=int(widgets.get("month_weekday") or 0),
        ending=Ending(widgets.get("ending") or Ending.END_DATE),
        until=widgets.get("until"),
        count=widgets.get("count"),
    )


def widgets_for_rule(rule: str) -> dict[str, Any]:
    """The schedule builder's widget values for a stored ``rule`` (see :func:`choice_from_widgets`);
    a rule the choices cannot express is kept as text under ``"rule"`` ("" otherwise)."""
    choice = from_rule(rule)
    widgets: dict[str, Any] = {"rule": rule if choice is None else ""}
    choice = choice or ScheduleChoice()
    for name in ("repeat", "interval", "month_position", "month_weekday", "ending", "until", "count"):
        widgets[name] = getattr(choice, name)
    widgets["weekdays"] = list(choice.weekdays)
    return widgets


def to_rule(choice: ScheduleChoice) -> str:
    """The canonical RRULE of ``choice`` ("" for a one-off activity).

    Raises :class:`FieldError` on ``schedule`` when a choice is out of range (an interval above
    the evaluator's limits, a count of 0, a weekday that is not one).
    """
    if choice.repeat is Repeat.ONCE:
        return ""
    freq = choice.repeat.value.upper()
    parts = [f"FREQ={freq}"]
    if choice.interval != 1:
        parts.append(f"INTERVAL={choice.interval}")
    if choice.repeat is Repeat.WEEKLY and choice.weekdays:
        parts.append("BYDAY=" + ",".join(_weekday(d) for d in sorted(set(choice.weekdays))))
    if choice.repeat is Repeat.MONTHLY:
        if choice.month_position not in MONTH_POSITIONS:
            raise FieldError(
                "schedule",
                because(
                    N_("{value} is not a week of the month; use 1 to 4 or -1 for the last"), value=str(choice.month_position)
                ),
            )
        parts.append(f"BYDAY={choice.month_position}{_weekday(choice.month_weekday)}")
    if choice.ending is Ending.UNTIL and choice.until is not None:
        parts.append(f"UNTIL={choice.until:%Y%m%d}")
    if choice.ending is Ending.COUNT and choice.count is not None:
        parts.append(f"COUNT={choice.count}")
    try:
        return recurrence.canonical(";".join(parts))
    except RuleError as exc:
        raise FieldError("schedule", because(N_("This schedule cannot be used: {rule}"), rule=exc.reason)) from None


def _weekday(day: int) -> str:
    if not 0 <= day <= 6:
        raise FieldError("schedule", because(N_("{value} is not a weekday (0 is Monday, 6 is Sunday)"), value=str(day)))
    return recurrence.WEEKDAYS[day]


def from_rule(text: str) -> ScheduleChoice | None:
    """The choices that make the stored rule ``text`` (a one-off activity for ""), or None when the
    simple choices cannot express it (the form then shows the rule as text and keeps it)."""
    if not text.strip():
        return ScheduleChoice()
    try:
        rule = recurrence.parse_rule(text)
    except RuleError:
        return None
    if rule.monthdays or rule.months or (rule.wkst and rule.interval > 1):
        return None
    ending, until, count = Ending.END_DATE, None, None
    if rule.until is not None:
        if not rule.until_is_date:
            return None
        ending, until = Ending.UNTIL, rule.until.date()
    elif rule.count is not None:
        ending, count = Ending.COUNT, rule.count
    base = ScheduleChoice(interval=rule.interval, ending=ending, until=until, count=count)
    if rule.freq == "DAILY" and not rule.weekdays:
        return replace(base, repeat=Repeat.DAILY)
    if rule.freq == "WEEKLY" and not rule.positions:
        return replace(base, repeat=Repeat.WEEKLY, weekdays=tuple(sorted(rule.weekdays)))
    if rule.freq == "MONTHLY" and len(rule.positions) == 1 and not rule.weekdays:
        ((position, weekday),) = rule.positions
        if position in MONTH_POSITIONS:
            return replace(base, repeat=Repeat.MONTHLY, month_position=position, month_weekday=weekday)
    return None


def next_sessions(
    rule: str,
    start: date | datetime,
    end: date | datetime | None,
    *,
    timezone: str,
    now: datetime | None = None,
    limit: int = PREVIEW_SESSIONS,
) -> list[datetime]:
    """The next ``limit`` sessions from ``now`` (default: the current time), as times in the city's
    zone (aware: a 17:00 session stays at 17:00 local time on both sides of a DST change).

    Dates are naive local times of the city, as stored. A session at a local time that a DST change
    skips (02:30 on the last Sunday of March in Europe) is shown at the time the clocks show then
    (03:30). A one-off activity (``rule`` "") is its start, when it has not ended.
    """
    zone = city_zone(timezone)
    moment = (now or datetime.now(UTC)).astimezone(zone).replace(tzinfo=None)
    first = as_datetime(start)
    last = as_datetime(end) if end is not None else None
    if not rule:
        ends = last or first
        found = [first] if ends >= moment else []
    else:
        series_end = last.date() if last is not None else None
        found = recurrence.sessions(rule, first, max(moment, first), datetime.max, limit, series_end=series_end)
    # Through UTC and back: a local time the clocks skip becomes the time they show.
    return [local.replace(tzinfo=zone).astimezone(UTC).astimezone(zone) for local in found[:limit]]


def last_day(rule: str, start: date | datetime, end: date | datetime | None) -> date | None:
    """The day the activity ends: its end date, or its rule's UNTIL or COUNT, whichever comes
    first; None for an open series. A one-off activity ends on its end (or start) day."""
    first = as_datetime(start)
    if not rule:
        return as_datetime(end or start).date()
    series_end = as_datetime(end).date() if end is not None else None
    return recurrence.last_session_day(rule, first, series_end)
