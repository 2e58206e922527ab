"""The form's schedule builder: choices to RRULE and back, and the preview of the next sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from opportunities.errors import FieldError
from opportunities.listings.schedules import (
    Ending,
    Repeat,
    ScheduleChoice,
    choice_from_widgets,
    from_rule,
    last_day,
    next_sessions,
    to_rule,
    widgets_for_rule,
)

MO, TU, WE, TH, FR, SA, SU = range(7)


@pytest.mark.parametrize(
    ("choice", "rule"),
    [
        (ScheduleChoice(), ""),
        (ScheduleChoice(repeat=Repeat.DAILY), "FREQ=DAILY"),
        (ScheduleChoice(repeat=Repeat.DAILY, interval=3, ending=Ending.COUNT, count=10), "FREQ=DAILY;INTERVAL=3;COUNT=10"),
        (ScheduleChoice(repeat=Repeat.WEEKLY), "FREQ=WEEKLY"),
        (ScheduleChoice(repeat=Repeat.WEEKLY, weekdays=(TU, TH)), "FREQ=WEEKLY;BYDAY=TU,TH"),
        (ScheduleChoice(repeat=Repeat.WEEKLY, interval=2, weekdays=(WE,)), "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"),
        (
            ScheduleChoice(repeat=Repeat.WEEKLY, weekdays=(MO, FR), ending=Ending.UNTIL, until=date(2027, 5, 26)),
            "FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=20270526",
        ),
        (ScheduleChoice(repeat=Repeat.MONTHLY, month_position=1, month_weekday=TU), "FREQ=MONTHLY;BYDAY=1TU"),
        (ScheduleChoice(repeat=Repeat.MONTHLY, month_position=-1, month_weekday=FR), "FREQ=MONTHLY;BYDAY=-1FR"),
        (
            ScheduleChoice(repeat=Repeat.MONTHLY, interval=2, month_position=3, month_weekday=SA, ending=Ending.COUNT, count=6),
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=3SA;COUNT=6",
        ),
    ],
)
def test_choices_round_trip_through_the_stored_rule(choice: ScheduleChoice, rule: str) -> None:
    assert to_rule(choice) == rule
    assert from_rule(rule) == choice


@pytest.mark.parametrize(
    "rule",
    ["FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=YEARLY;BYMONTH=6", "FREQ=DAILY;BYDAY=MO,TU", "FREQ=WEEKLY;BYDAY=WE;UNTIL=20270526T170000",
     "FREQ=MONTHLY;BYDAY=1MO,3MO", "not a rule"],
)  # fmt: skip
def test_rules_the_choices_cannot_express_are_kept_as_text(rule: str) -> None:
    assert from_rule(rule) is None


@pytest.mark.parametrize(
    ("widgets", "choice"),
    [
        ({}, ScheduleChoice()),
        ({"repeat": None, "interval": None, "weekdays": None, "ending": None}, ScheduleChoice()),
        (
            {"repeat": "weekly", "interval": 2, "weekdays": [TU, TH]},
            ScheduleChoice(repeat=Repeat.WEEKLY, interval=2, weekdays=(TU, TH)),
        ),
        (
            {"repeat": Repeat.MONTHLY, "month_position": -1, "month_weekday": FR, "ending": "count", "count": 6},
            ScheduleChoice(repeat=Repeat.MONTHLY, month_position=-1, month_weekday=FR, ending=Ending.COUNT, count=6),
        ),
        (
            {"repeat": Repeat.DAILY, "ending": Ending.UNTIL, "until": date(2027, 5, 26)},
            ScheduleChoice(repeat=Repeat.DAILY, ending=Ending.UNTIL, until=date(2027, 5, 26)),
        ),
    ],
)
def test_choices_from_the_builder_s_widgets(widgets: dict[str, object], choice: ScheduleChoice) -> None:
    assert choice_from_widgets(widgets) == choice


@pytest.mark.parametrize(
    "rule", ["", "FREQ=DAILY;INTERVAL=3;COUNT=10", "FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=20270526", "FREQ=MONTHLY;INTERVAL=2;BYDAY=3SA"]
)
def test_a_stored_rule_fills_the_builder_s_widgets_and_comes_back(rule: str) -> None:
    widgets = widgets_for_rule(rule)
    assert widgets["rule"] == "" and isinstance(widgets["weekdays"], list)
    assert to_rule(choice_from_widgets(widgets)) == rule


def test_a_rule_the_builder_cannot_express_fills_the_rule_box() -> None:
    widgets = widgets_for_rule("FREQ=MONTHLY;BYMONTHDAY=15")
    assert widgets["rule"] == "FREQ=MONTHLY;BYMONTHDAY=15"
    assert choice_from_widgets(widgets) == ScheduleChoice()


def test_weekdays_are_stored_in_calendar_order_once() -> None:
    assert to_rule(ScheduleChoice(repeat=Repeat.WEEKLY, weekdays=(TH, TU, TH))) == "FREQ=WEEKLY;BYDAY=TU,TH"


@pytest.mark.parametrize(
    ("choice", "words"),
    [
        (ScheduleChoice(repeat=Repeat.WEEKLY, interval=53), "INTERVAL=53"),
        (ScheduleChoice(repeat=Repeat.DAILY, ending=Ending.COUNT, count=0), "COUNT=0"),
        (ScheduleChoice(repeat=Repeat.WEEKLY, weekdays=(7,)), "not a weekday"),
        (ScheduleChoice(repeat=Repeat.MONTHLY, month_position=5), "not a week of the month"),
    ],
)
def test_impossible_choices_are_field_errors(choice: ScheduleChoice, words: str) -> None:
    with pytest.raises(FieldError, match=words) as caught:
        to_rule(choice)
    assert caught.value.field == "schedule"


@pytest.mark.parametrize(
    ("timezone", "start", "offsets"),
    [
        # Stockholm moves from CET (+1) to CEST (+2) on 28 March 2027: 17:00 stays 17:00.
        ("Europe/Stockholm", datetime(2027, 3, 14, 17, 0), [1, 1, 2, 2]),
        # Warsaw goes back to CET on 31 October 2027.
        ("Europe/Warsaw", datetime(2027, 10, 17, 17, 0), [2, 2, 1, 1]),
    ],
)
def test_preview_keeps_local_time_across_dst(timezone: str, start: datetime, offsets: list[int]) -> None:
    found = next_sessions("FREQ=WEEKLY", start, None, timezone=timezone, now=datetime(2027, 1, 1, tzinfo=UTC), limit=4)
    assert [s.replace(tzinfo=None) for s in found] == [start + timedelta(weeks=k) for k in range(4)]
    assert [s.utcoffset() for s in found] == [timedelta(hours=h) for h in offsets]


def test_a_session_in_the_skipped_hour_is_shown_at_the_time_the_clocks_show() -> None:
    found = next_sessions("FREQ=WEEKLY;BYDAY=SU", datetime(2027, 3, 21, 2, 30), None, timezone="Europe/Ljubljana",
                          now=datetime(2027, 3, 1, tzinfo=UTC), limit=3)  # fmt: skip
    assert [(s.day, s.hour, s.minute) for s in found] == [(21, 2, 30), (28, 3, 30), (4, 2, 30)]


@pytest.mark.parametrize(
    ("rule", "start", "end", "now", "expected"),
    [
        # Starts with "now" in the city: a session earlier today is past.
        ("FREQ=WEEKLY;BYDAY=TU,TH", datetime(2027, 1, 5, 17), None, datetime(2027, 1, 12, 16, 30, tzinfo=UTC),
         [datetime(2027, 1, 14, 17), datetime(2027, 1, 19, 17), datetime(2027, 1, 21, 17)]),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", datetime(2027, 1, 6, 9), date(2027, 2, 10), datetime(2027, 1, 1, tzinfo=UTC),
         [datetime(2027, 1, 6, 9), datetime(2027, 1, 20, 9), datetime(2027, 2, 3, 9)]),
        ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=2", datetime(2027, 1, 29, 18), None, datetime(2027, 1, 1, tzinfo=UTC),
         [datetime(2027, 1, 29, 18), datetime(2027, 2, 26, 18)]),
        ("", datetime(2027, 6, 1, 10), None, datetime(2027, 1, 1, tzinfo=UTC), [datetime(2027, 6, 1, 10)]),
        ("", datetime(2026, 6, 1, 10), None, datetime(2027, 1, 1, tzinfo=UTC), []),
    ],
)  # fmt: skip
def test_preview_lists_the_next_sessions(
    rule: str, start: datetime, end: date | None, now: datetime, expected: list[datetime]
) -> None:
    found = next_sessions(rule, start, end, timezone="Europe/Stockholm", now=now, limit=3)
    assert [s.replace(tzinfo=None) for s in found] == expected


@pytest.mark.parametrize(
    ("rule", "start", "end", "expected"),
    [
        ("", date(2027, 6, 1), None, date(2027, 6, 1)),
        ("", datetime(2027, 6, 1, 10), date(2027, 6, 3), date(2027, 6, 3)),
        ("FREQ=WEEKLY;BYDAY=WE;COUNT=3", date(2027, 1, 6), None, date(2027, 1, 20)),
        ("FREQ=WEEKLY;BYDAY=WE;UNTIL=20270301", date(2027, 1, 6), date(2027, 2, 1), date(2027, 2, 1)),
        ("FREQ=WEEKLY;BYDAY=WE", date(2027, 1, 6), None, None),
    ],
)
def test_last_day(rule: str, start: date, end: date | None, expected: date | None) -> None:
    assert last_day(rule, start, end) == expected
