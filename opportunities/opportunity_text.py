"""An opportunity's dates, ages, price and web link as a reader sees them, in the reader's language.

The Explore page's list and detail and the map's popups show the same words, from here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from opportunities.i18n import format_money, format_when, translator
from opportunities.model import Opportunity, as_datetime


def safe_link(url: str) -> str | None:
    """``url`` when it is an http(s) link, else None (no ``javascript:`` or ``data:`` links)."""
    url = url.strip()
    return url if url.lower().startswith(("http://", "https://")) else None


# How far after its start a series' first session is looked for (a yearly rule's is within a year).
FIRST_SESSION_WITHIN = timedelta(days=2 * 366)


def format_dates(opportunity: Opportunity, language: str = "en") -> str:
    """``2 Dec 2026, 17:00 – 26 May 2027 (recurring)`` style text, in ``language``."""
    _ = translator(language).gettext
    start: date | datetime = opportunity.start
    if opportunity.schedule:
        # A series is shown from its first session (the calendar file starts there too): a start
        # date the rule skips (the 4th for "every last Friday") is no day anyone should come.
        first = as_datetime(start)
        found = opportunity.sessions(first, first + FIRST_SESSION_WITHIN, limit=1)
        if found:
            start = found[0] if isinstance(start, datetime) else found[0].date()
    text = format_when(start, language)
    if opportunity.end is not None and opportunity.end != start:
        text = _("{start} – {end}").format(start=text, end=format_when(opportunity.end, language))
    if opportunity.schedule:
        text = _("{dates} (recurring)").format(dates=text)
    return text


def format_ages(opportunity: Opportunity, language: str = "en") -> str:
    """``12–16``, or ``12+`` when open-ended."""
    if opportunity.age_max is None:
        _ = translator(language).gettext
        return _("{age}+").format(age=opportunity.age_min)
    return f"{opportunity.age_min}–{opportunity.age_max}"


def format_cost(opportunity: Opportunity, language: str = "en") -> str:
    """``Free``, or the amount in the language's currency format (``€12.50``, ``12,50 €``)."""
    return format_money(opportunity.cost, opportunity.currency, language)
