from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from dateutil.rrule import rrulestr

from opportunities.listings.calendar import opportunity_ics
from opportunities.model import Opportunity
from opportunities.vocabulary import Mode, OpportunityType

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make(**fields: object) -> Opportunity:
    base: dict[str, object] = {
        "title": "Kodklubb, för unga; nybörjare", "provider": "Stadsbiblioteket", "city": "Göteborg", "country": "SE",
        "topics": ("digital-skills",), "age_min": 12, "mode": Mode.IN_PERSON, "type": OpportunityType.CLUB,
        "start": datetime(2026, 12, 2, 17, 0), "id": 7,
    }  # fmt: skip
    base.update(fields)
    return Opportunity(**base)  # type: ignore[arg-type]


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def test_single_session_in_local_time_with_its_zone() -> None:
    ics = opportunity_ics(make(), timezone="Europe/Stockholm", now=NOW)
    lines = unfold(ics)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert "DTSTART;TZID=Europe/Stockholm:20261202T170000" in lines
    assert "DTEND;TZID=Europe/Stockholm:20261202T190000" in lines
    assert "TZID:Europe/Stockholm" in lines and lines.index("END:VTIMEZONE") < lines.index("BEGIN:VEVENT")
    assert "SUMMARY:Kodklubb\\, för unga\\; nybörjare" in lines
    assert "UID:opportunity-7@citiesoflearning" in lines
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")


def test_weekly_rule_ends_on_the_end_date() -> None:
    opp = make(schedule="FREQ=WEEKLY;BYDAY=WE", end=date(2027, 5, 26))
    lines = unfold(opportunity_ics(opp, timezone="Europe/Stockholm", now=NOW))
    [rule] = [line for line in lines if line.startswith("RRULE:")]
    assert rule == "RRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL=20270526T215959Z"  # the end of 26 May in Stockholm, in UTC
    start = datetime(2026, 12, 2, 17, tzinfo=ZoneInfo("Europe/Stockholm"))
    sessions = list(rrulestr(rule.removeprefix("RRULE:"), dtstart=start))
    assert sessions[-1].date() == date(2027, 5, 26)


def test_all_day_camp_and_long_lines_are_folded() -> None:
    opp = make(start=date(2027, 6, 10), end=date(2027, 6, 14), type=OpportunityType.CAMP, description="x" * 300)
    ics = opportunity_ics(opp, timezone="Europe/Stockholm", now=NOW)
    lines = unfold(ics)
    assert "DTSTART;VALUE=DATE:20270610" in lines and "DTEND;VALUE=DATE:20270615" in lines
    assert max(len(raw.encode()) for raw in ics.split("\r\n")) <= 75


def test_hostile_text_cannot_add_properties() -> None:
    opp = make(title="Evil\r\nATTENDEE:mailto:x@example.org", description="a\rORGANIZER:x\nb")
    lines = unfold(opportunity_ics(opp, timezone="Europe/Stockholm", now=NOW))
    assert not any(line.startswith(("ATTENDEE", "ORGANIZER")) for line in lines)


def expand(ics: str, start: datetime, end: datetime) -> list[datetime]:
    """Session starts as a real calendar library reads the file (icalendar + recurring-ical-events)."""
    calendar = icalendar.Calendar.from_ical(ics)
    return sorted(event["DTSTART"].dt for event in recurring_ical_events.of(calendar).between(start, end))


@pytest.mark.parametrize(
    ("zone", "city", "rule", "end", "sessions"),
    [
        # Sweden and Poland leave summer time on 25 Oct 2026 and start it on 28 Mar 2027.
        # The series starts on a Tuesday: the first Wednesday is the first session (not the start).
        ("Europe/Stockholm", "Göteborg", "FREQ=WEEKLY;BYDAY=WE", date(2027, 5, 26), 39),
        ("Europe/Warsaw", "Warszawa", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", date(2027, 6, 30), 44),
        ("Europe/Warsaw", "Warszawa", "FREQ=MONTHLY;BYDAY=-1FR", None, None),
        ("Europe/Stockholm", "Göteborg", "FREQ=DAILY;INTERVAL=3;COUNT=100", None, 100),
        ("Europe/Ljubljana", "Kranj", "FREQ=MONTHLY;BYMONTHDAY=1,15;UNTIL=20270901", None, 25),
    ],
)
def test_every_session_stays_at_its_local_hour_across_daylight_saving(
    zone: str, city: str, rule: str, end: date | None, sessions: int | None
) -> None:
    opp = make(start=datetime(2026, 9, 1, 17, 0), schedule=rule, end=end, city=city)
    ics = opportunity_ics(opp, timezone=zone, now=NOW)
    local = ZoneInfo(zone)
    found = expand(ics, datetime(2026, 8, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert found and all(s.astimezone(local).time() == datetime(2026, 1, 1, 17).time() for s in found)
    assert {s.astimezone(local).utcoffset() for s in found} == {timedelta(hours=1), timedelta(hours=2)}  # both sides of a change
    if sessions is not None:
        assert len(found) == sessions
    expected = opp.sessions(datetime(2026, 8, 1), datetime(2028, 1, 1), limit=1000)
    assert [s.astimezone(local).replace(tzinfo=None) for s in found] == expected
    # The file's own VTIMEZONE (not only the TZID name) gives the zone's offsets.
    [component] = icalendar.Calendar.from_ical(ics).walk("VTIMEZONE")
    written = component.to_tz()
    assert all(s.replace(tzinfo=None).replace(tzinfo=written).utcoffset() == s.astimezone(local).utcoffset() for s in found)


def test_all_day_series_ends_with_a_date_until() -> None:
    opp = make(start=date(2026, 12, 5), end=date(2027, 4, 24), schedule="FREQ=WEEKLY;BYDAY=SA")
    lines = unfold(opportunity_ics(opp, timezone="Europe/Stockholm", now=NOW))
    assert "RRULE:FREQ=WEEKLY;BYDAY=SA;UNTIL=20270424" in lines
    found = expand("\r\n".join(lines), datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert len(found) == 21 and found[-1] == date(2027, 4, 24)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Nowhere/Atlantis", "Europe/Stockholm\r\nX-EVIL:1", "A;B:C"])
def test_zones_without_changes_or_unknown_still_give_a_valid_file(zone: str) -> None:
    ics = opportunity_ics(make(schedule="FREQ=WEEKLY;BYDAY=WE", end=date(2027, 1, 27)), timezone=zone, now=NOW)
    assert "X-EVIL" not in ics
    found = expand(ics, datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert len(found) == 9
    assert {s.time() for s in found} == {datetime(2026, 1, 1, 17).time()}


def test_url_and_schedule_cannot_add_lines() -> None:
    # Validation refuses both; the writer refuses them too, whatever reaches it.
    opp = make(url="https://example.org/a\r\nATTENDEE:mailto:x@example.org", schedule="FREQ=WEEKLY;BYDAY=WE\r\nORGANIZER:x")
    ics = opportunity_ics(opp, timezone="Europe/Stockholm", now=NOW)
    lines = unfold(ics)
    assert not any(line.startswith(("ATTENDEE", "ORGANIZER")) for line in lines)
    assert not any(line.startswith("RRULE") for line in lines)  # a rule that is not accepted is left out
    assert "URL:https://example.org/a%0D%0AATTENDEE:mailto:x@example.org" in lines


def test_year_bounds_of_validation_are_safe_for_the_calendar() -> None:
    # The widest dates validation accepts (2000-01-01 … 10 years ahead, a 10-year series) all export.
    for start, end in ((datetime(2000, 1, 1, 0, 30), date(2009, 12, 31)), (datetime(2036, 12, 31, 23, 0), date(2046, 12, 31))):
        ics = opportunity_ics(make(start=start, end=end, schedule="FREQ=YEARLY"), timezone="Pacific/Kiritimati", now=NOW)
        assert len(expand(ics, datetime(1999, 1, 1, tzinfo=UTC), datetime(2048, 1, 1, tzinfo=UTC))) == 10 + (start.year == 2036)


@pytest.mark.parametrize(
    ("start", "end"),
    [(datetime(1, 1, 1, 17), date(1, 3, 1)), (datetime(9999, 10, 1, 17), date(9999, 12, 31)), (date(9999, 12, 1), None)],
)
@pytest.mark.parametrize("zone", ["America/New_York", "Pacific/Kiritimati"])
def test_rows_stored_before_dates_were_bounded_still_export(start: datetime, end: date | None, zone: str) -> None:
    ics = opportunity_ics(make(start=start, end=end, schedule="FREQ=WEEKLY"), timezone=zone, now=NOW)
    assert "BEGIN:VTIMEZONE" in ics or isinstance(start, date)
    assert any(line.startswith("RRULE:FREQ=WEEKLY") for line in unfold(ics))


def test_a_stored_series_to_year_9999_gets_a_small_time_zone() -> None:
    # A row stored before dates were bounded, running to 9999: its VTIMEZONE covers the years a
    # series may last (validation's bound), not 8,000 years of transitions (3.5 s, 2.5 MB per view).
    ics = opportunity_ics(make(start=datetime(2026, 9, 2, 17), end=date(9999, 12, 31), schedule="FREQ=WEEKLY;BYDAY=WE"),
                          timezone="Europe/Stockholm", now=NOW)  # fmt: skip
    assert sum(line.startswith("BEGIN:DAYLIGHT") for line in ics.splitlines()) <= 12
    first = expand(ics, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert {moment.astimezone(ZoneInfo("Europe/Stockholm")).hour for moment in first} == {17}


@pytest.mark.parametrize(("latitude", "longitude", "uncertainty_m", "geo"),
                         [(57.7, 11.97, 8, "GEO:57.7000;11.9700"), (57.7, 11.97, 787, "GEO:57.70;11.97"),
                          (57.712345, 11.97, None, "GEO:57.712345;11.970000")])  # fmt: skip
def test_geo_is_as_exact_as_the_coordinates_given(latitude: float, longitude: float, uncertainty_m: int | None, geo: str) -> None:
    # Coordinates given to two decimals may be 787 m off: the calendar must not make them look exact.
    opp = make(latitude=latitude, longitude=longitude, precision="provided", uncertainty_m=uncertainty_m)
    assert geo in opportunity_ics(opp, timezone="Europe/Stockholm", now=NOW).splitlines()
