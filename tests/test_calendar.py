from __future__ import annotations

from datetime import UTC, date, datetime

from dateutil.rrule import rrulestr

from opportunities.calendar import opportunity_ics
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


def test_single_session_in_utc() -> None:
    ics = opportunity_ics(make(), timezone="Europe/Stockholm", now=NOW)
    lines = unfold(ics)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert "DTSTART:20261202T160000Z" in lines  # 17:00 in Stockholm in winter
    assert "DTEND:20261202T180000Z" in lines
    assert "SUMMARY:Kodklubb\\, för unga\\; nybörjare" in lines
    assert "UID:opportunity-7@citiesoflearning" in lines
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")


def test_weekly_rule_ends_on_the_end_date() -> None:
    opp = make(schedule="FREQ=WEEKLY;BYDAY=WE", end=date(2027, 5, 26))
    lines = unfold(opportunity_ics(opp, timezone="Europe/Stockholm", now=NOW))
    [rule] = [line for line in lines if line.startswith("RRULE:")]
    assert rule.startswith("RRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL=20270526T")
    sessions = list(rrulestr(rule.removeprefix("RRULE:").replace("Z", ""), dtstart=datetime(2026, 12, 2, 16)))
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
