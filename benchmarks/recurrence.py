"""Cost of "does this series have a session in the visitor's dates?" per opportunity, for each kind
of rule, against the naive check the search used before: dateutil's ``rrulestr(...).after()``,
which expands the rule from the series start."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta

from dateutil.rrule import rrulestr

from opportunities.recurrence import has_session_between

# One rule per kind; series started in 2016, as the rows that stalled Explore.
RULES = {
    "daily": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
    "monthly by day": "FREQ=MONTHLY;BYMONTHDAY=15,-1",
    "monthly by weekday": "FREQ=MONTHLY;BYDAY=-1FR",
    "yearly leap day": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "count, every n-th day": "FREQ=DAILY;COUNT=1000",
    "count, weekdays": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=1000",
    "count, monthly for 10 years": "FREQ=MONTHLY;BYDAY=-1FR;COUNT=120",
    "until": "FREQ=WEEKLY;BYDAY=WE;UNTIL=20361231",
    "legacy minutely (now rejected)": "FREQ=MINUTELY",
}
TODAY = date(2026, 11, 23)


def _naive(rule: str, first: datetime, date_from: date, date_to: date | None) -> bool:
    """The search's check before the recurrence module (opportunities/search.py, 2026-11-22)."""
    after = max(datetime.combine(date_from, datetime.min.time()), first)
    before = datetime.combine(date_to, datetime.max.time()) if date_to else datetime.max
    moment = rrulestr(rule, dtstart=first).after(after, inc=True)  # type: ignore[union-attr]
    return moment is not None and moment <= before


def _per_call_us(check: object, cases: list[tuple[str, datetime, date, date | None]], budget_s: float) -> tuple[float, int]:
    """Mean microseconds per call over ``cases`` (stopping after ``budget_s``), and the calls made."""
    t0 = time.perf_counter()
    calls = 0
    for rule, first, date_from, date_to in cases:
        check(rule, first, date_from, date_to)  # type: ignore[operator]
        calls += 1
        if time.perf_counter() - t0 > budget_s:
            break
    return (time.perf_counter() - t0) / calls * 1e6, calls


def run(rows: int = 1000, naive_budget_s: float = 5.0) -> dict[str, dict[str, float]]:
    """Per kind: µs per opportunity for ours and the naive check, over ``rows`` series with
    different starts in 2016 and a week or an open range from today."""
    results: dict[str, dict[str, float]] = {}
    for kind, rule in RULES.items():
        rng = random.Random(kind)
        cases = []
        for _ in range(rows):
            first = datetime(2016, 1, 1, 17) + timedelta(days=rng.randint(0, 365))
            date_from = TODAY + timedelta(days=rng.randint(0, 30))
            cases.append((rule, first, date_from, date_from + timedelta(days=6) if rng.random() < 0.7 else None))
        ours, _ = _per_call_us(lambda r, f, a, b: has_session_between(r, f, None, a, b), cases, 60.0)
        naive, calls = _per_call_us(_naive, cases, naive_budget_s)
        results[kind] = {
            "ours_us": round(ours, 1),
            "naive_us": round(naive, 1),
            "naive_calls": calls,
            "speedup": round(naive / ours, 1),
        }
        print(f"recurrence {kind:32} ours {ours:9.1f} µs   naive {naive:12.1f} µs ({calls} calls)", flush=True)
    return results
