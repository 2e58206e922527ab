"""Recurring activities: the one place where a schedule (an RFC 5545 RRULE) is read and evaluated.

Providers describe a series with a rule such as ``FREQ=WEEKLY;BYDAY=WE``. Only rules that make
sense for a learning activity are accepted (see :func:`parse_rule`): sessions repeat daily, weekly,
monthly or yearly, every session at the time of day of the first one. A rule is parsed once into a
small :class:`Rule` and evaluated period by period (a day, a week, a month or a year), jumping
straight to the period of the date asked about: the cost of a question never depends on how long
ago the series started, and the number of periods looked at is capped (:data:`MAX_SCAN_PERIODS`).

The meaning of every accepted rule is the one of RFC 5545 as python-dateutil implements it (the
tests compare both on generated rules): a start that the rule does not produce is not a session.
One difference: ``UNTIL`` given as a date (``UNTIL=20270526``) includes that whole day, like the
``end`` column. dateutil itself is not used here because it expands a rule from its start, which
made one ``FREQ=MINUTELY`` row stall every search.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from opportunities.errors import N_, Reason, RuleError, because

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Largest INTERVAL per frequency: a month of days, a year of weeks, two years of months, a decade.
MAX_INTERVAL = {"DAILY": 31, "WEEKLY": 52, "MONTHLY": 24, "YEARLY": 10}
# COUNT bounds the work to find a series' last session (and no activity meets 1000 times).
MAX_COUNT = 1000
# Periods examined by one question before giving up. The calendar repeats every 400 years
# (4800 months), so a rule with any session at all has one within that many periods; the
# accepted rules in fact find their next session within about a hundred (a 29 February).
MAX_SCAN_PERIODS = 4800
# The parts a rule may have, per frequency (FREQ itself and the bounds COUNT/UNTIL/INTERVAL always).
_COMMON = {"FREQ", "INTERVAL", "COUNT", "UNTIL"}
_ALLOWED = {
    "DAILY": _COMMON | {"BYDAY"},
    "WEEKLY": _COMMON | {"BYDAY", "WKST"},
    "MONTHLY": _COMMON | {"BYDAY", "BYMONTHDAY", "BYMONTH"},
    "YEARLY": _COMMON | {"BYDAY", "BYMONTHDAY", "BYMONTH"},
}
_ONE_ROW_PER_TIME = N_("a session starts at the time of the start column; write one row per session time")
_GREGORIAN_ONLY = N_("only the Gregorian calendar is supported")
_KNOWN_UNSUPPORTED = {
    "BYHOUR": _ONE_ROW_PER_TIME,
    "BYMINUTE": _ONE_ROW_PER_TIME,
    "BYSECOND": _ONE_ROW_PER_TIME,
    "BYSETPOS": N_("write the position in BYDAY instead, e.g. BYDAY=-1FR for the last Friday"),
    "BYYEARDAY": N_("use BYMONTH and BYMONTHDAY instead"),
    "BYWEEKNO": N_("use start and end dates to limit the weeks instead"),
    "RSCALE": _GREGORIAN_ONLY,
    "SKIP": _GREGORIAN_ONLY,
}
_SUB_DAILY = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
# Weekly rules with a longer interval go through the per-row check (the vectorised one in the
# index loops over 7 × interval days).
MAX_VECTOR_INTERVAL = 8
_NAME = re.compile(r"[A-Z][A-Z-]*")
_POSITIONED_DAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?")


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed schedule. ``text`` is its canonical form, as stored and written to calendars."""

    text: str
    freq: str
    interval: int = 1
    weekdays: frozenset[int] = frozenset()  # plain BYDAY, Monday = 0
    positions: tuple[tuple[int, int], ...] = ()  # BYDAY with a position: (n, weekday), n in ±1…5
    monthdays: tuple[int, ...] = ()  # BYMONTHDAY, ±1…31
    months: frozenset[int] = frozenset()  # BYMONTH, 1…12
    count: int | None = None
    until: datetime | None = None  # local time of the city, like the start
    until_is_date: bool = False
    wkst: int = 0


def _fail(text: str, reason: Reason) -> RuleError:
    return RuleError(text, reason)


def _int(text: str, name: str, value: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[+-]?\d{1,4}", value) or not low <= int(value) <= high:
        raise _fail(
            text, because(N_("{part} must be a whole number from {low} to {high}"), part=f"{name}={value}", low=low, high=high)
        )
    return int(value)


def _int_list(text: str, name: str, value: str, allowed: range) -> tuple[int, ...]:
    numbers: list[int] = []
    for item in value.split(","):
        if not re.fullmatch(r"[+-]?\d{1,2}", item) or int(item) not in allowed:
            raise _fail(
                text,
                because(
                    N_("{part}: {item} must be a number from {low} to {high}"),
                    part=f"{name}={value}",
                    item=repr(item),
                    low=allowed.start,
                    high=allowed.stop - 1,
                ),
            )
        number = int(item)
        if number == 0:
            raise _fail(text, because(N_("{part}: 0 is not a day of the month"), part=f"{name}={value}"))
        if number not in numbers:
            numbers.append(number)
    return tuple(sorted(numbers))


@lru_cache(maxsize=4096)
def parse_rule(text: str) -> Rule:
    """The rule in ``text`` (``FREQ=WEEKLY;BYDAY=WE``, any case, ``RRULE:`` prefix allowed).

    Raises :class:`RuleError` with a reason a provider can act on when the rule is not one a
    learning activity can have. Whether the rule has any session depends on its start: see
    :func:`first_session`.
    """
    parts = _rule_parts(text)
    freq = parts["FREQ"]
    _check_names(text, freq, parts)
    interval = _int(text, "INTERVAL", parts.get("INTERVAL", "1"), 1, MAX_INTERVAL[freq])
    count = _int(text, "COUNT", parts["COUNT"], 1, MAX_COUNT) if "COUNT" in parts else None
    if count is not None and "UNTIL" in parts:
        raise _fail(text, because(N_("give COUNT or UNTIL, not both")))
    until, until_is_date = _parse_until(text, parts["UNTIL"]) if "UNTIL" in parts else (None, False)
    months = frozenset(_int_list(text, "BYMONTH", parts["BYMONTH"], range(1, 13))) if "BYMONTH" in parts else frozenset()
    monthdays = _int_list(text, "BYMONTHDAY", parts["BYMONTHDAY"], range(-31, 32)) if "BYMONTHDAY" in parts else ()
    weekdays, positions = _parse_byday(text, parts["BYDAY"], freq, months) if "BYDAY" in parts else (frozenset(), ())
    if monthdays and (weekdays or positions):
        raise _fail(text, because(N_("give BYMONTHDAY or BYDAY, not both")))
    wkst = WEEKDAYS.index(parts["WKST"]) if parts.get("WKST") in WEEKDAYS else 0
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        raise _fail(text, because(N_("{part} is not a weekday such as MO or SU"), part=f"WKST={parts['WKST']}"))
    rule = Rule(
        text="",
        freq=freq,
        interval=interval,
        weekdays=weekdays,
        positions=positions,
        monthdays=monthdays,
        months=months,
        count=count,
        until=until,
        until_is_date=until_is_date,
        wkst=wkst,
    )
    return _with_text(rule)


def _rule_parts(text: str) -> dict[str, str]:
    """The NAME=VALUE parts of the rule in ``text``, upper case; FREQ is the first of them."""
    cleaned = text.strip().upper()
    cleaned = cleaned.removeprefix("RRULE:").rstrip(";")
    if not cleaned.startswith("FREQ="):
        raise _fail(text, because(N_("This is not a recurrence rule; write e.g. FREQ=WEEKLY;BYDAY=WE (every Wednesday)")))
    if any(char.isspace() or not char.isprintable() for char in cleaned):
        raise _fail(
            text, because(N_("This contains a line break, space or control character; write the rule on one line without spaces"))
        )
    parts: dict[str, str] = {}
    for part in cleaned.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not _NAME.fullmatch(name) or not value:
            raise _fail(text, because(N_("{part} is not NAME=VALUE; parts are separated by ';'"), part=repr(part)))
        if name in parts:
            raise _fail(text, because(N_("{part} is given twice"), part=name))
        parts[name] = value
    return parts


def _check_names(text: str, freq: str, parts: dict[str, str]) -> None:
    """Fails unless ``freq`` is an accepted frequency and every part may be used with it."""
    if freq in _SUB_DAILY:
        raise _fail(text, because(N_("a schedule can repeat daily, weekly, monthly or yearly, not {part}"), part=f"FREQ={freq}"))
    if freq not in FREQUENCIES:
        raise _fail(text, because(N_("{part} is unknown; use DAILY, WEEKLY, MONTHLY or YEARLY"), part=f"FREQ={freq}"))
    for name in parts:
        if name in _KNOWN_UNSUPPORTED:
            raise _fail(text, because(N_("{part} is not supported: {hint}"), part=name, hint=because(_KNOWN_UNSUPPORTED[name])))
        if name not in _ALLOWED[freq]:
            if name in ("BYDAY", "BYMONTHDAY", "BYMONTH", "WKST", "INTERVAL", "COUNT", "UNTIL"):
                raise _fail(
                    text,
                    because(
                        N_("{part} cannot be used with {freq}; use start and end dates to limit the sessions"),
                        part=name,
                        freq=f"FREQ={freq}",
                    ),
                )
            raise _fail(text, because(N_("{part} is not a part of a recurrence rule"), part=name))


def _parse_byday(text: str, value: str, freq: str, months: frozenset[int]) -> tuple[frozenset[int], tuple[tuple[int, int], ...]]:
    """BYDAY=``value``: plain weekdays (Monday = 0), or else positioned ones in canonical order."""
    weekdays: set[int] = set()
    positions: list[tuple[int, int]] = []
    for item in value.split(","):
        match = _POSITIONED_DAY.fullmatch(item)
        if match is None:
            raise _fail(
                text,
                because(N_("BYDAY: {item} is not a weekday such as MO, TU, WE, TH, FR, SA, SU (or 1MO, -1FR)"), item=repr(item)),
            )
        sign, number, day = match.groups()
        weekday = WEEKDAYS.index(day)
        if number is None:
            if sign:
                raise _fail(text, because(N_("BYDAY: {item} needs a position, e.g. -1FR for the last Friday"), item=repr(item)))
            weekdays.add(weekday)
            continue
        position = int(number) * (-1 if sign == "-" else 1)
        if freq not in ("MONTHLY", "YEARLY"):
            raise _fail(
                text,
                because(
                    N_("BYDAY: a position such as {item} needs FREQ=MONTHLY (the n-th weekday of the month)"), item=repr(item)
                ),
            )
        if freq == "YEARLY" and not months:
            raise _fail(text, because(N_("BYDAY: a position such as {item} needs BYMONTH with FREQ=YEARLY"), item=repr(item)))
        if not 1 <= abs(position) <= 5:
            raise _fail(
                text, because(N_("BYDAY: {item}: a month has at most 5 of each weekday; use 1…5 or -1…-5"), item=repr(item))
            )
        if (position, weekday) not in positions:
            positions.append((position, weekday))
    if weekdays and positions:
        raise _fail(text, because(N_("BYDAY: give either weekdays (MO,WE) or positions (1MO,-1FR), not both")))
    positions.sort(key=lambda p: (p[0] < 0, abs(p[0]), p[1]))
    return frozenset(weekdays), tuple(positions)


def _parse_until(text: str, value: str) -> tuple[datetime, bool]:
    if value.endswith("Z"):
        raise _fail(
            text,
            because(
                N_("{part}: give the last day in the city's local time, e.g. UNTIL=20270526, without Z"), part=f"UNTIL={value}"
            ),
        )
    match = _UNTIL.fullmatch(value)
    if match is None:
        raise _fail(text, because(N_("{part} is not a date such as 20270526 or 20270526T170000"), part=f"UNTIL={value}"))
    year, month, day, hour, minute, second = (int(n) if n is not None else 0 for n in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second), match.group(4) is None
    except ValueError:
        raise _fail(text, because(N_("{part} is not a real date"), part=f"UNTIL={value}")) from None


def _with_text(rule: Rule) -> Rule:
    """The rule with its canonical text: upper case, fixed part order, defaults left out."""
    parts = [f"FREQ={rule.freq}"]
    if rule.interval != 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.months:
        parts.append("BYMONTH=" + ",".join(str(m) for m in sorted(rule.months)))
    if rule.monthdays:
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in rule.monthdays))
    if rule.weekdays:
        parts.append("BYDAY=" + ",".join(WEEKDAYS[d] for d in sorted(rule.weekdays)))
    if rule.positions:
        parts.append("BYDAY=" + ",".join(f"{n}{WEEKDAYS[d]}" for n, d in rule.positions))
    if rule.wkst:
        parts.append(f"WKST={WEEKDAYS[rule.wkst]}")
    if rule.count is not None:
        parts.append(f"COUNT={rule.count}")
    if rule.until is not None:
        parts.append(f"UNTIL={rule.until:%Y%m%d}" if rule.until_is_date else f"UNTIL={rule.until:%Y%m%dT%H%M%S}")
    return replace(rule, text=";".join(parts))


def unbounded(rule: Rule) -> Rule:
    """The rule without COUNT and UNTIL (the calendar writes its own end)."""
    return _with_text(replace(rule, count=None, until=None, until_is_date=False))


def canonical(text: str) -> str:
    """The stored form of a rule: see :func:`parse_rule`."""
    return parse_rule(text).text


# --- evaluation ---------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _month_days(rule: Rule, year: int, month: int, default_day: int) -> tuple[int, ...]:
    """Days of ``month`` on which ``rule`` has a session (a monthly or yearly rule)."""
    if rule.months and month not in rule.months:
        return ()
    first_weekday, length = calendar.monthrange(year, month)
    if rule.monthdays or not (rule.weekdays or rule.positions):
        wanted = rule.monthdays or (default_day,)
        return tuple(sorted({d if d > 0 else length + d + 1 for d in wanted if -length <= d <= length}))
    days: set[int] = set()
    for day in range(1, length + 1):
        if (first_weekday + day - 1) % 7 in rule.weekdays:
            days.add(day)
    for n, weekday in rule.positions:
        first = 1 + (weekday - first_weekday) % 7
        day = first + 7 * (n - 1) if n > 0 else first + 7 * ((length - first) // 7) + 7 * (n + 1)
        if 1 <= day <= length:
            days.add(day)
    return tuple(sorted(days))


def _scan(rule: Rule, start: date, lo: date, hi: date) -> tuple[Iterator[date], list[int]]:
    """Session days of ``rule`` (first session on or after ``start``) from ``lo`` to ``hi``, in order.

    Jumps to the period holding ``lo``; examines at most :data:`MAX_SCAN_PERIODS` periods. The
    returned list counts the periods examined (read by the tests that check the work is bounded).
    """
    examined = [0]
    return _days(rule, start, max(lo, start), hi, examined), examined


def _days(rule: Rule, start: date, lo: date, hi: date, examined: list[int]) -> Iterator[date]:
    try:
        yield from _periods(rule, start, lo, hi, examined)
    except (OverflowError, ValueError):  # past the year 9999: no more sessions
        return


def _periods(rule: Rule, start: date, lo: date, hi: date, examined: list[int]) -> Iterator[date]:
    """The session days from ``lo`` to ``hi``, period by period of the rule's frequency."""
    if rule.freq == "DAILY":
        return _daily(rule, start, lo, hi, examined)
    if rule.freq == "WEEKLY":
        return _weekly(rule, start, lo, hi, examined)
    if rule.freq == "MONTHLY":
        return _monthly(rule, start, lo, hi, examined)
    return _yearly(rule, start, lo, hi, examined)


def _daily(rule: Rule, start: date, lo: date, hi: date, examined: list[int]) -> Iterator[date]:
    # Sessions on start + k·n days; the weekday filter repeats within 7 of them.
    n = rule.interval
    k = -(-(lo - start).days // n)
    day = start + timedelta(days=k * n)
    misses = 0
    while day <= hi and examined[0] < MAX_SCAN_PERIODS:
        examined[0] += 1
        if not rule.weekdays or day.weekday() in rule.weekdays:
            misses = 0
            yield day
        else:
            misses += 1
            if misses >= 7:  # a whole cycle of weekdays without a session: never again
                return
        day += timedelta(days=n)


def _weekly(rule: Rule, start: date, lo: date, hi: date, examined: list[int]) -> Iterator[date]:
    n = rule.interval
    weekdays = rule.weekdays or frozenset({start.weekday()})
    week0 = start - timedelta(days=(start.weekday() - rule.wkst) % 7)
    week = lo - timedelta(days=(lo.weekday() - rule.wkst) % 7)
    behind = ((week - week0).days // 7) % n
    if behind:
        week += timedelta(weeks=n - behind)
    while week <= hi and examined[0] < MAX_SCAN_PERIODS:
        examined[0] += 1
        for offset in range(7):
            day = week + timedelta(days=offset)
            if day.weekday() in weekdays and lo <= day <= hi:
                yield day
        week += timedelta(weeks=n)


def _monthly(rule: Rule, start: date, lo: date, hi: date, examined: list[int]) -> Iterator[date]:
    n = rule.interval
    index0 = start.year * 12 + start.month - 1
    index = lo.year * 12 + lo.month - 1
    index += -(index - index0) % n
    while examined[0] < MAX_SCAN_PERIODS:
        year, month = divmod(index, 12)
        if date(year, month + 1, 1) > hi:
            return
        examined[0] += 1
        for number in _month_days(rule, year, month + 1, start.day):
            moment = date(year, month + 1, number)
            if lo <= moment <= hi:
                yield moment
        index += n


def _yearly(rule: Rule, start: date, lo: date, hi: date, examined: list[int]) -> Iterator[date]:
    # In the start's month unless BYMONTH, BYMONTHDAY or BYDAY say otherwise.
    n = rule.interval
    months = rule.months or (frozenset({start.month}) if not (rule.monthdays or rule.weekdays) else frozenset(range(1, 13)))
    year = lo.year + -(lo.year - start.year) % n
    while year <= hi.year and examined[0] < MAX_SCAN_PERIODS:
        examined[0] += 1
        for month in sorted(months):
            for number in _month_days(rule, year, month, start.day):
                moment = date(year, month, number)
                if lo <= moment <= hi:
                    yield moment
        year += n


def _last_day(rule: Rule, start: datetime) -> date | None:
    """The last possible session day set by UNTIL or COUNT; None when the rule sets none."""
    if rule.until is not None and rule.until_is_date:  # the whole day, like the end column
        return rule.until.date()
    if rule.until is not None:
        # A session is at the start's time of day: on UNTIL's day only if that is not after UNTIL.
        return rule.until.date() if rule.until.time() >= start.time() else rule.until.date() - timedelta(days=1)
    if rule.count is not None:
        return _counted_last_day(rule, start.date())
    return None


@lru_cache(maxsize=65536)
def _counted_last_day(rule: Rule, start: date) -> date | None:
    """The day of the COUNT-th session: closed form for daily and weekly rules, else a scan of at
    most COUNT ≤ MAX_COUNT sessions (and MAX_SCAN_PERIODS periods)."""
    count = rule.count or 1
    if rule.freq == "DAILY":
        # The candidates start, start + n, … repeat their weekdays every 7 of them (7·n days).
        cycle = [day for day in (start + timedelta(days=k * rule.interval) for k in range(7))
                 if not rule.weekdays or day.weekday() in rule.weekdays]  # fmt: skip
        if not cycle:
            return None
        laps, index = divmod(count - 1, len(cycle))
        return cycle[index] + timedelta(days=laps * 7 * rule.interval)
    if rule.freq == "WEEKLY":
        # The start's (partial) week, then whole weeks every n weeks with the same days.
        weekdays = rule.weekdays or frozenset({start.weekday()})
        week0 = start - timedelta(days=(start.weekday() - rule.wkst) % 7)
        offsets = [k for k in range(7) if (week0 + timedelta(days=k)).weekday() in weekdays]
        first = [week0 + timedelta(days=k) for k in offsets if week0 + timedelta(days=k) >= start]
        if count <= len(first):
            return first[count - 1]
        laps, index = divmod(count - len(first) - 1, len(offsets))
        return week0 + timedelta(weeks=(laps + 1) * rule.interval, days=offsets[index])
    last = None
    days, _ = _scan(rule, start, start, date.max)
    for number, day in enumerate(days, start=1):
        last = day
        if number == count:
            break
    return last


def _bounds(rule: Rule, first_start: datetime, series_end: date | None) -> date | None:
    """The last day a session may fall on: the series end, UNTIL or COUNT, whichever is first."""
    ends = [d for d in (series_end, _last_day(rule, first_start)) if d is not None]
    return min(ends) if ends else None


def last_session_day(rule: str | Rule, first_start: datetime, series_end: date | None) -> date | None:
    """The last day a session may fall on (``series_end``, UNTIL or COUNT, whichever comes first);
    None for an open series."""
    parsed = _parse_stored(rule)
    if parsed is None:
        return first_start.date()
    return _bounds(parsed, first_start, series_end)


def _parse_stored(rule: str | Rule) -> Rule | None:
    """A stored rule, or None for one stored before rules were checked and no longer accepted."""
    return rule if isinstance(rule, Rule) else _stored(rule)


@lru_cache(maxsize=4096)
def _stored(rule: str) -> Rule | None:
    try:
        return parse_rule(rule)
    except RuleError:
        return None


def sessions(
    rule: str | Rule,
    first_start: datetime,
    after: datetime,
    before: datetime,
    limit: int = 10,
    *,
    series_end: date | None = None,
) -> list[datetime]:
    """Start times of the sessions from ``after`` to ``before`` (both included), at most ``limit``.

    Sessions are at ``first_start``'s time of day, never before ``first_start`` nor after the day
    ``series_end``. A stored rule that is no longer accepted counts as its first session only.
    """
    parsed = _parse_stored(rule)
    if parsed is None:
        return [first_start] if after <= first_start <= before else []
    last = _bounds(parsed, first_start, series_end)
    hi = min(before.date(), last) if last is not None else before.date()
    found: list[datetime] = []
    if hi < after.date() or limit <= 0:
        return found
    days, _ = _scan(parsed, first_start.date(), after.date(), hi)
    for day in days:
        moment = datetime.combine(day, first_start.time())
        if after <= moment <= before:
            found.append(moment)
            if len(found) >= limit:
                break
    return found


def has_session_between(
    rule: str | Rule, first_start: datetime, series_end: date | None, date_from: date | None, date_to: date | None
) -> bool:
    """Whether a session falls on a day from ``date_from`` to ``date_to`` (either open: None).

    Bounded work whatever the rule: the evaluation starts at the period of ``date_from`` and looks
    at no more than :data:`MAX_SCAN_PERIODS` periods (in practice a handful).
    """
    parsed = _parse_stored(rule)
    start = first_start.date()
    lo = max(date_from or start, start)
    if parsed is None:
        return lo == start and (date_to is None or start <= date_to)
    last = _bounds(parsed, first_start, series_end)
    hi = min(d for d in (date_to, last, date.max) if d is not None)
    # A rule without any session would be scanned to the cycle's end: known once per rule and start.
    first = _first_day(parsed, start, date.max)
    if first is None or hi < max(lo, first):
        return False
    if lo <= first:
        return True
    days, _ = _scan(parsed, start, lo, hi)
    return next(days, None) is not None


def first_session_day(rule: str | Rule, start: date, until: date = date.max) -> date | None:
    """The day of the first session on or after ``start`` (and not after ``until``), if any."""
    parsed = _parse_stored(rule)
    if parsed is None:
        return start
    return _first_day(parsed, start, until)


@lru_cache(maxsize=65536)
def _first_day(rule: Rule, start: date, until: date) -> date | None:
    days, _ = _scan(rule, start, start, until)
    return next(days, None)


def weekly_days(rule: str) -> tuple[int, int]:
    """(weekday bits with Monday = bit 0, interval in weeks) of a plain weekly rule, for a
    vectorised check of many rows at once; (0, 0) for any rule that must go through
    :func:`has_session_between` (other frequencies, COUNT, UNTIL, weeks not starting on Monday
    every other week or more, an interval above :data:`MAX_VECTOR_INTERVAL`)."""
    parsed = _parse_stored(rule)
    if parsed is None or parsed.freq != "WEEKLY" or not parsed.weekdays or parsed.count or parsed.until:
        return 0, 0
    if parsed.interval > MAX_VECTOR_INTERVAL or (parsed.interval > 1 and parsed.wkst != 0):
        return 0, 0
    return sum(1 << d for d in parsed.weekdays), parsed.interval
