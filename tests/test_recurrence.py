"""Recurrence rules: which are accepted, what they mean (checked against python-dateutil's full
expansion as the oracle) and that answering a question about one costs bounded work."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr

from opportunities import recurrence
from opportunities.errors import RuleError
from opportunities.recurrence import (
    MAX_INTERVAL,
    WEEKDAYS,
    _scan,
    first_session_day,
    has_session_between,
    parse_rule,
    sessions,
)

KINDS = ("daily", "weekly", "monthly-by-day", "monthly-by-weekday", "yearly", "count", "until")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("FREQ=WEEKLY;BYDAY=WE", "FREQ=WEEKLY;BYDAY=WE"),
        ("RRULE:freq=weekly;byday=we", "FREQ=WEEKLY;BYDAY=WE"),
        (" FREQ=WEEKLY;BYDAY=FR,MO,MO; ", "FREQ=WEEKLY;BYDAY=MO,FR"),
        ("FREQ=WEEKLY;INTERVAL=1;WKST=MO;BYDAY=TU", "FREQ=WEEKLY;BYDAY=TU"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;WKST=SU", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;WKST=SU"),
        ("FREQ=WEEKLY;INTERVAL=52", "FREQ=WEEKLY;INTERVAL=52"),
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"),
        ("FREQ=DAILY;INTERVAL=31;COUNT=1000", "FREQ=DAILY;INTERVAL=31;COUNT=1000"),
        ("FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTHLY;BYDAY=1TU"),
        ("FREQ=MONTHLY;BYDAY=-1FR,+2MO", "FREQ=MONTHLY;BYDAY=2MO,-1FR"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1,15", "FREQ=MONTHLY;BYMONTHDAY=-1,15"),
        ("FREQ=MONTHLY;INTERVAL=3;BYMONTH=1,4;BYDAY=SA", "FREQ=MONTHLY;INTERVAL=3;BYMONTH=1,4;BYDAY=SA"),
        ("FREQ=YEARLY;BYMONTH=6;BYDAY=-1SA", "FREQ=YEARLY;BYMONTH=6;BYDAY=-1SA"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
        ("FREQ=WEEKLY;UNTIL=20270526;BYDAY=WE", "FREQ=WEEKLY;BYDAY=WE;UNTIL=20270526"),
        ("FREQ=WEEKLY;BYDAY=WE;UNTIL=20270526T170000", "FREQ=WEEKLY;BYDAY=WE;UNTIL=20270526T170000"),
    ],
)
def test_accepted_rules_are_stored_in_canonical_form(text: str, canonical: str) -> None:
    assert parse_rule(text).text == canonical
    assert parse_rule(canonical).text == canonical  # stable


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("FREQ=MINUTELY", "a schedule can repeat daily, weekly, monthly or yearly, not FREQ=MINUTELY"),
        ("FREQ=SECONDLY;INTERVAL=1", "not FREQ=SECONDLY"),
        ("FREQ=HOURLY;COUNT=3", "not FREQ=HOURLY"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is unknown; use DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("every wednesday", "This is not a recurrence rule; write e.g. FREQ=WEEKLY;BYDAY=WE"),
        ("BYDAY=WE;FREQ=WEEKLY", "This is not a recurrence rule"),
        ("FREQ=WEEKLY;BYDAY=WE;BYHOUR=17", "BYHOUR is not supported: a session starts at the time of the start column"),
        ("FREQ=DAILY;BYMINUTE=0,30", "BYMINUTE is not supported"),
        ("FREQ=DAILY;BYSECOND=1", "BYSECOND is not supported"),
        ("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1", "BYSETPOS is not supported: write the position in BYDAY instead, e.g. BYDAY=-1FR"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY is not supported"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO is not supported"),
        ("FREQ=WEEKLY;BYDAY=WE;X-NAME=1", "X-NAME is not a part of a recurrence rule"),
        ("FREQ=WEEKLY;BYDAY=WE;BYDAY=FR", "BYDAY is given twice"),
        ("FREQ=WEEKLY;BYDAY", "'BYDAY' is not NAME=VALUE"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270101", "give COUNT or UNTIL, not both"),
        ("FREQ=WEEKLY;COUNT=1001", "COUNT=1001 must be a whole number from 1 to 1,000"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT=0 must be a whole number from 1 to 1,000"),
        ("FREQ=WEEKLY;INTERVAL=53", "INTERVAL=53 must be a whole number from 1 to 52"),
        ("FREQ=DAILY;INTERVAL=32", "INTERVAL=32 must be a whole number from 1 to 31"),
        ("FREQ=MONTHLY;INTERVAL=0", "INTERVAL=0 must be a whole number from 1 to 24"),
        ("FREQ=YEARLY;INTERVAL=100", "INTERVAL=100 must be a whole number from 1 to 10"),
        ("FREQ=WEEKLY;INTERVAL=x", "INTERVAL=X must be a whole number"),
        ("FREQ=WEEKLY;BYDAY=WEDNESDAY", "'WEDNESDAY' is not a weekday such as MO"),
        ("FREQ=WEEKLY;BYDAY=1WE", "a position such as '1WE' needs FREQ=MONTHLY"),
        ("FREQ=YEARLY;BYDAY=1WE", "a position such as '1WE' needs BYMONTH with FREQ=YEARLY"),
        ("FREQ=MONTHLY;BYDAY=6WE", "a month has at most 5 of each weekday"),
        ("FREQ=MONTHLY;BYDAY=-WE", "needs a position"),
        ("FREQ=MONTHLY;BYDAY=1MO,FR", "either weekdays (MO,WE) or positions (1MO,-1FR), not both"),
        ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "give BYMONTHDAY or BYDAY, not both"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "'32' must be a number from -31 to 31"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "0 is not a day of the month"),
        ("FREQ=YEARLY;BYMONTH=13", "'13' must be a number from 1 to 12"),
        ("FREQ=WEEKLY;BYMONTH=6", "BYMONTH cannot be used with FREQ=WEEKLY; use start and end dates"),
        ("FREQ=DAILY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=DAILY"),
        ("FREQ=MONTHLY;WKST=SU", "WKST cannot be used with FREQ=MONTHLY"),
        ("FREQ=WEEKLY;WKST=XX", "WKST=XX is not a weekday"),
        ("FREQ=WEEKLY;UNTIL=20270526T170000Z", "give the last day in the city's local time, e.g. UNTIL=20270526, without Z"),
        ("FREQ=WEEKLY;UNTIL=2027-05-26", "is not a date such as 20270526"),
        ("FREQ=WEEKLY;UNTIL=20270230", "UNTIL=20270230 is not a real date"),
        ("FREQ=WEEKLY;BYDAY=WE\r\nATTENDEE:mailto:x@example.org", "contains a line break"),
        ("FREQ=WEEKLY; BYDAY=WE", "contains a line break, space or control character"),
    ],
)
def test_rejected_rules_say_why(text: str, reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text)
    assert reason in str(caught.value.reason)


def generated_rule(rng: random.Random, kind: str) -> str:
    """A random accepted rule of ``kind`` (see KINDS)."""
    days = lambda low, high: ",".join(rng.sample(WEEKDAYS, rng.randint(low, high)))  # noqa: E731
    interval = lambda freq, high=13: f";INTERVAL={rng.randint(1, min(MAX_INTERVAL[freq], high))}" if rng.random() < 0.6 else ""  # noqa: E731
    if kind == "daily":
        return "FREQ=DAILY" + interval("DAILY") + (f";BYDAY={days(1, 6)}" if rng.random() < 0.5 else "")
    if kind == "weekly":
        wkst = f";WKST={rng.choice(WEEKDAYS)}" if rng.random() < 0.3 else ""
        return "FREQ=WEEKLY" + interval("WEEKLY", 10) + (f";BYDAY={days(1, 3)}" if rng.random() < 0.85 else "") + wkst
    months = f";BYMONTH={','.join(str(m) for m in rng.sample(range(1, 13), rng.randint(1, 4)))}"
    if kind == "monthly-by-day":
        picked = rng.sample([1, 2, 10, 15, 28, 29, 30, 31, -1, -2, -7, -31], rng.randint(1, 2))
        return (
            "FREQ=MONTHLY"
            + interval("MONTHLY")
            + (months if rng.random() < 0.3 else "")
            + f";BYMONTHDAY={','.join(map(str, picked))}"
        )
    if kind == "monthly-by-weekday":
        if rng.random() < 0.2:
            return "FREQ=MONTHLY" + interval("MONTHLY") + f";BYDAY={days(1, 2)}"
        picked = {f"{rng.choice([1, 2, 3, 4, 5, -1, -2, -5])}{rng.choice(WEEKDAYS)}" for _ in range(rng.randint(1, 2))}
        return "FREQ=MONTHLY" + interval("MONTHLY") + (months if rng.random() < 0.3 else "") + f";BYDAY={','.join(picked)}"
    if kind == "yearly":
        choice = rng.random()
        if choice < 0.25:
            return "FREQ=YEARLY" + interval("YEARLY", 4)
        if choice < 0.5:
            return "FREQ=YEARLY" + interval("YEARLY", 4) + months
        if choice < 0.75:
            return "FREQ=YEARLY" + interval("YEARLY", 4) + months + f";BYMONTHDAY={rng.choice([1, 15, 29, 31, -1])}"
        return "FREQ=YEARLY" + interval("YEARLY", 4) + months + f";BYDAY={rng.choice([1, 2, -1])}{rng.choice(WEEKDAYS)}"
    base = generated_rule(rng, rng.choice(KINDS[:5]))
    if kind == "count":
        return base + f";COUNT={rng.randint(1, 60)}"
    until = date(2026, 6, 1) + timedelta(days=rng.randint(0, 900))
    return base + f";UNTIL={until:%Y%m%d}" + rng.choice(["", "T000000", "T170000", "T235959", "T120000"])


def oracle(rule: str, first: datetime, horizon: datetime) -> list[datetime]:
    """Every session up to ``horizon`` by dateutil's full expansion (an UNTIL date is the whole day)."""
    text = parse_rule(rule).text
    if ";UNTIL=" in text and "T" not in text.rsplit("UNTIL=", 1)[1]:
        text += "T235959"
    return list(rrulestr(text, dtstart=first).between(first, horizon, inc=True))  # type: ignore[union-attr]


HORIZON = datetime(2032, 1, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_generated_rules_match_dateutil(kind: str) -> None:
    rng = random.Random(kind)
    checked = 0
    for _ in range(150):
        rule = generated_rule(rng, kind)
        first = datetime.combine(date(2026, 1, 1) + timedelta(days=rng.randint(0, 500)), time(rng.choice([0, 9, 17, 23]), 30))
        expected = oracle(rule, first, HORIZON)
        assert sessions(rule, first, first, HORIZON, limit=10_000) == expected, (rule, first)
        days = sorted({moment.date() for moment in expected})
        for _ in range(25):
            date_from: date | None = date(2025, 12, 1) + timedelta(days=rng.randint(0, 1500))
            date_to: date | None = min(date_from + timedelta(days=rng.choice([0, 1, 6, 7, 30, 365])), HORIZON.date())  # type: ignore[operator]
            series_end = rng.choice([None, None, date(2026, 3, 1) + timedelta(days=rng.randint(0, 900))])
            if rng.random() < 0.2:
                date_from = None
            elif rng.random() < 0.1:
                date_to = None
            if date_to is None and series_end is None:
                series_end = HORIZON.date() - timedelta(days=1)  # the oracle's horizon
            top = min(d for d in (date_to, series_end) if d is not None)
            want = any((date_from is None or day >= date_from) and day <= top for day in days)
            assert has_session_between(rule, first, series_end, date_from, date_to) == want, (
                rule,
                first,
                series_end,
                date_from,
                date_to,
            )
            after = datetime.combine(date_from or first.date(), time(rng.randint(0, 23)))
            before = datetime.combine(top, time(rng.randint(0, 23)))
            within = [m for m in expected if after <= m <= before and (series_end is None or m.date() <= series_end)]
            assert sessions(rule, first, after, before, limit=5, series_end=series_end) == within[:5]
            checked += 1
    assert checked == 150 * 25


@pytest.mark.parametrize(
    ("rule", "first", "date_from", "next_session"),
    [
        # The worst accepted rules: a session every few years at most.
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", datetime(2000, 2, 29, 17), date(2096, 3, 1), date(2104, 2, 29)),
        ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=29", datetime(2000, 2, 29, 17), date(2096, 3, 1), date(2104, 2, 29)),
        ("FREQ=MONTHLY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29", datetime(2000, 2, 29, 17), date(2030, 1, 1), None),
        ("FREQ=MONTHLY;INTERVAL=23;BYDAY=5SU", datetime(2000, 1, 1, 9), date(2031, 1, 1), None),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2,4,12", datetime(2000, 1, 1, 9), date(2031, 1, 1), date(2031, 12, 31)),
        ("FREQ=DAILY;INTERVAL=31;BYDAY=SU", datetime(2000, 1, 2, 9), date(2031, 1, 1), None),
        ("FREQ=WEEKLY;INTERVAL=52;BYDAY=SU", datetime(2000, 1, 2, 9), date(2031, 1, 1), None),
        ("FREQ=YEARLY;INTERVAL=10;BYMONTH=2;BYDAY=5SU", datetime(2004, 2, 29, 9), date(2031, 1, 1), None),
        ("FREQ=DAILY;COUNT=1000", datetime(2000, 1, 1, 9), date(2031, 1, 1), None),
    ],
)
def test_worst_accepted_rules_cost_bounded_work(rule: str, first: datetime, date_from: date, next_session: date | None) -> None:
    """However long ago the series started, a question looks at a bounded number of periods."""
    parsed = parse_rule(rule)
    expected = rrulestr(parsed.text, dtstart=first).after(datetime.combine(date_from, time()), inc=True)  # type: ignore[union-attr]
    if next_session is not None:
        assert expected is not None and expected.date() == next_session
    days, examined = _scan(parsed, first.date(), date_from, date.max)
    found = next(days, None)
    if parsed.count is None:
        assert found == (expected.date() if expected else None)
    assert examined[0] <= 120, examined  # the leap day of the next leap year at worst: 8 years of months
    # and the public question gives the oracle's answer
    last = first_session_day(rule, first.date())
    assert last is not None
    assert has_session_between(rule, first, None, date_from, None) == (expected is not None and parsed.count is None)


def test_a_rule_without_sessions_is_found_once_and_never_rescanned() -> None:
    rule = parse_rule("FREQ=MONTHLY;INTERVAL=7;BYMONTHDAY=31;BYMONTH=2")
    first = datetime(2026, 1, 1, 9)
    assert first_session_day(rule, first.date()) is None
    hits = recurrence._first_day.cache_info().hits
    assert not any(has_session_between(rule, first, None, date(2026, 1, 1) + timedelta(days=d), None) for d in range(1000))
    assert recurrence._first_day.cache_info().hits >= hits + 1000  # answered from the cache, no scan


@pytest.mark.parametrize("legacy", ["FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=WEEKLY;BYHOUR=1,2,3", "nonsense"])
def test_a_stored_rule_no_longer_accepted_counts_as_its_first_session(legacy: str) -> None:
    """Rows stored before rules were checked never stall a search: only their first session counts."""
    first = datetime(2016, 1, 1, 9)
    assert sessions(legacy, first, datetime(2015, 1, 1), datetime(2030, 1, 1)) == [first]
    assert has_session_between(legacy, first, None, date(2016, 1, 1), date(2016, 1, 1))
    assert not has_session_between(legacy, first, None, date(2026, 11, 23), None)
    assert not has_session_between(legacy, first, None, date(2016, 1, 2), date(2016, 1, 9))


def test_the_first_session_need_not_be_the_start() -> None:
    # dateutil's meaning: a start that the rule does not produce is not a session.
    tuesday = datetime(2026, 12, 1, 17)
    assert sessions("FREQ=WEEKLY;BYDAY=WE", tuesday, tuesday, datetime(2026, 12, 10)) == [
        datetime(2026, 12, 2, 17),
        datetime(2026, 12, 9, 17),
    ]
    assert not has_session_between("FREQ=WEEKLY;BYDAY=WE", tuesday, None, date(2026, 12, 1), date(2026, 12, 1))


@pytest.mark.parametrize(
    ("until", "last"),
    [("20261209", date(2026, 12, 9)), ("20261209T170000", date(2026, 12, 9)), ("20261209T165959", date(2026, 12, 2))],
)
def test_until_is_the_whole_day_as_a_date_and_exact_as_a_time(until: str, last: date) -> None:
    first = datetime(2026, 12, 2, 17)
    found = sessions(f"FREQ=WEEKLY;BYDAY=WE;UNTIL={until}", first, first, datetime(2027, 1, 1))
    assert found[-1].date() == last
