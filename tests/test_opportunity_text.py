"""An opportunity's dates, ages, price and link as the Explore page and the map's popups show them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from opportunities.model import Opportunity
from opportunities.opportunity_text import format_ages, format_cost, format_dates, safe_link
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


@pytest.mark.parametrize(
    ("changes", "language", "shown"),
    [
        ({}, "en", "4 Dec 2026, 18:00 – 30 Jun 2027"),
        ({"end": None}, "en", "4 Dec 2026, 18:00"),
        ({"end": None, "schedule": "FREQ=WEEKLY;BYDAY=FR"}, "en", "4 Dec 2026, 18:00 (recurring)"),
    ],
)
def test_dates(changes: dict[str, object], language: str, shown: str) -> None:
    assert format_dates(replace(CINEMA, **changes), language) == shown  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("age_min", "age_max", "language", "shown"),
    [(12, 16, "en", "12–16"), (12, None, "en", "12+"), (0, 3, "sv", "0–3")],
)
def test_ages(age_min: int, age_max: int | None, language: str, shown: str) -> None:
    assert format_ages(replace(CINEMA, age_min=age_min, age_max=age_max), language) == shown


@pytest.mark.parametrize(
    ("cost", "currency", "language", "shown"),
    [(Decimal(0), "", "en", "Free"), (Decimal("12.50"), "EUR", "en", "€12.50")],
)
def test_cost(cost: Decimal, currency: str, language: str, shown: str) -> None:
    assert format_cost(replace(CINEMA, cost=cost, currency=currency), language) == shown


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/a", "https://example.org/a"),
        ("  http://example.org/a ", "http://example.org/a"),
        ("HTTPS://EXAMPLE.ORG/", "HTTPS://EXAMPLE.ORG/"),
        ("javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//example.org/a", None),
        ("example.org", None),
        ("", None),
    ],
)
def test_only_http_links_are_kept(url: str, kept: str | None) -> None:
    assert safe_link(url) == kept
