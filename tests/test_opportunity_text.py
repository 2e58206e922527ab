"""An opportunity's dates, ages, price and link as the Explore page and the map's popups show them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from opportunities.model import Opportunity
from opportunities.opportunity_text import format_dates
from opportunities.vocabulary import Mode, OpportunityType

CINEMA = Opportunity(
    title="Kino", provider="Dom kulture", city="Kranj", country="SI", topics=("arts-culture",), age_min=12,
    mode=Mode.IN_PERSON, type=OpportunityType.CLUB, start=datetime(2026, 12, 4, 18, 0), end=date(2027, 6, 30),
)  # fmt: skip


def test_a_series_is_shown_from_its_first_session() -> None:
    """ "Every last Friday" starting on Friday 4 December: the first session is the 25th."""
    opp = replace(CINEMA, schedule="FREQ=MONTHLY;BYDAY=-1FR")
    assert format_dates(opp, "en").startswith("25 Dec 2026, 18:00 – ")
    weekly = replace(opp, start=date(2026, 12, 2), schedule="FREQ=WEEKLY;BYDAY=FR")  # a Wednesday
    assert format_dates(weekly, "en").startswith("4 Dec 2026 – ")
