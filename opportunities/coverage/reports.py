"""Indicators for people and files: labels in the user's language, CSV and JSON, the printable report.

Every text that comes from the data (a city's or an organisation's name) is escaped in the HTML
report and guarded against formula injection in the CSV (:mod:`opportunities.listings.cells`).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pandas as pd
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from opportunities.coverage.indicators import Figure, Group, Indicators, Note, ScopeKind, Unit
from opportunities.i18n import (
    N_,
    age_group_label,
    babel_locale,
    format_day,
    format_number,
    mode_label,
    topic_label,
    translator,
    type_label,
)
from opportunities.listings.cells import guard_formula
from opportunities.vocabulary import ProviderKind

_KIND_LABELS: dict[ProviderKind, str] = {
    ProviderKind.SCHOOL: N_("School"),
    ProviderKind.LIBRARY: N_("Library"),
    ProviderKind.NGO: N_("Non-profit organisation"),
    ProviderKind.YOUTH_CENTRE: N_("Youth centre"),
    ProviderKind.MUNICIPALITY: N_("Municipality"),
    ProviderKind.UNIVERSITY: N_("University or adult education"),
    ProviderKind.COMPANY: N_("Company"),
    ProviderKind.OTHER: N_("Other organisation"),
}
_GROUP_LABELS: dict[Group, str] = {
    Group.ORGANISATIONS: N_("Organisations"),
    Group.JOINED_BY_KIND: N_("Organisations joined, by kind"),
    Group.OPPORTUNITIES: N_("Opportunities"),
    Group.TOPIC: N_("Opportunities by topic"),
    Group.AGE_GROUP: N_("Opportunities by age group"),
    Group.MODE: N_("Opportunities by mode"),
    Group.TYPE: N_("Opportunities by type"),
    Group.MONTH: N_("Opportunities by month"),
    Group.DISTRICTS: N_("Districts"),
    Group.SHARES: N_("Shares of the opportunities"),
    Group.PARTICIPANTS: N_("People who took part"),
    Group.PARTICIPANTS_BY_AGE_GROUP: N_("People who took part, by age group"),
    Group.BADGES: N_("Badges"),
    Group.BADGES_BY_TOPIC: N_("Badges issued, by topic"),
}
_KEY_LABELS: dict[tuple[Group, str], str] = {
    (Group.ORGANISATIONS, "joined"): N_("Organisations joined"),
    (Group.ORGANISATIONS, "verified"): N_("Organisations verified"),
    (Group.OPPORTUNITIES, "counted"): N_("Opportunities"),
    (Group.DISTRICTS, "covered"): N_("Districts covered"),
    (Group.DISTRICTS, "total"): N_("Districts in all"),
    (Group.SHARES, "free"): N_("Free"),
    (Group.SHARES, "accessible"): N_("Accessibility described"),
    (Group.SHARES, "fresh"): N_("Recently confirmed"),
    (Group.PARTICIPANTS, "total"): N_("People who took part"),
    (Group.BADGES, "issued"): N_("Badges issued"),
    (Group.BADGES, "claimed"): N_("Badges claimed"),
    (Group.BADGES, "revoked"): N_("Badges revoked"),
    (Group.BADGES, "playlists-completed"): N_("Playlists completed"),
}
# What a figure means, where its label cannot say it all.
_DEFINITIONS: dict[tuple[Group, str], str] = {
    (Group.OPPORTUNITIES, "counted"): N_("Opportunities with at least one session in the period."),
    (Group.ORGANISATIONS, "joined"): N_(
        "Organisations that registered in the period, or whose first opportunity was stored in it."
    ),
    (Group.ORGANISATIONS, "verified"): N_("Organisations a city lead verified in the period."),
    (Group.DISTRICTS, "covered"): N_("Districts with at least one opportunity of the period located there."),
    (Group.SHARES, "free"): N_("Share of the opportunities that cost nothing."),
    (Group.SHARES, "accessible"): N_("Share of the opportunities whose accessibility is described."),
    (Group.SHARES, "fresh"): N_(
        "Share of the opportunities stored or confirmed by their provider in the 6 months before the period's end."
    ),
    (Group.PARTICIPANTS, "total"): N_("People who took part, as the providers reported them."),
    (Group.BADGES, "issued"): N_("Badges of the activities and playlists here issued in the period, however earned."),
    (Group.BADGES, "claimed"): N_("Badges learners claimed in the period with a claim code or a mailed link."),
    (Group.BADGES, "revoked"): N_("Badges revoked in the period, whenever they were issued."),
    (Group.BADGES, "playlists-completed"): N_("Playlist badges issued in the period."),
}
_NOTES: dict[Note, str] = {
    Note.NO_VERIFICATION: N_("Organisations carry no verification date yet: verified organisations are not counted."),
    Note.NO_PARTICIPATION: N_("Providers cannot report participants yet: people who took part are not counted."),
    Note.NO_DISTRICTS: N_("No districts are known here: districts covered are not counted."),
}


def kind_label(kind: ProviderKind | str, language: str) -> str:
    return translator(language).gettext(_KIND_LABELS[ProviderKind(kind)])


def group_label(group: Group, language: str) -> str:
    return translator(language).gettext(_GROUP_LABELS[group])


def definition(figure: Figure, language: str) -> str:
    """What ``figure`` means, in a sentence; "" when its label says it all."""
    text = _DEFINITIONS.get((figure.group, figure.key))
    return translator(language).gettext(text) if text else ""


def note_text(note: Note, language: str) -> str:
    return translator(language).gettext(_NOTES[note])


def month_label(key: str, language: str) -> str:
    """``2027-03`` as "Mar 2027" (in the user's language)."""
    from datetime import date

    year, month = (int(part) for part in key.split("-"))
    return str(format_date(date(year, month, 1), "LLL y", locale=babel_locale(language)))


def figure_label(figure: Figure, language: str) -> str:
    """What ``figure`` counts, for people: "Digital skills", "Organisations joined", "Mar 2027"."""
    group, key = figure.group, figure.key
    if (group, key) in _KEY_LABELS:
        return translator(language).gettext(_KEY_LABELS[group, key])
    if group in (Group.TOPIC, Group.BADGES_BY_TOPIC):
        return topic_label(key, language)
    if group in (Group.AGE_GROUP, Group.PARTICIPANTS_BY_AGE_GROUP):
        return age_group_label(key, language)
    if group == Group.MODE:
        return mode_label(key, language)
    if group == Group.TYPE:
        return type_label(key, language)
    if group == Group.JOINED_BY_KIND:
        return kind_label(key, language)
    if group == Group.MONTH:
        return month_label(key, language)
    return key


def format_value(value: float | None, unit: Unit, language: str) -> str:
    """``1 234`` or ``78 %`` in the user's language; "–" when there is nothing to measure."""
    if value is None:
        return "–"
    if unit == Unit.SHARE:
        return str(format_percent(value, locale=babel_locale(language)))
    return format_number(int(value), language)


def format_change(figure: Figure, language: str) -> str:
    """The change against the previous period, signed: ``+4``, ``−2``, ``+8.6 pp``; "" when unknown."""
    change = figure.change
    if change is None:
        return ""
    if figure.unit == Unit.SHARE:
        points = str(format_decimal(abs(change) * 100, format="#,##0.0", locale=babel_locale(language)))
        text = translator(language).gettext("{points} pp").format(points=points)
    else:
        text = format_number(int(abs(change)), language)
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{text}"


def scope_title(indicators: Indicators, language: str) -> str:
    """ "Warszawa", "Region Mazowsze", "The whole network" (data text: escape it where it is shown)."""
    _ = translator(language).gettext
    scope = indicators.scope
    if scope.kind == ScopeKind.NETWORK:
        return _("The whole network")
    if scope.kind == ScopeKind.REGION:
        return _("Region {name}").format(name=scope.name)
    return scope.name


def period_text(indicators: Indicators, language: str) -> tuple[str, str]:
    """The period and the previous period, e.g. ("1 Nov 2026 – 30 Nov 2026", "2 Oct 2026 – 31 Oct 2026")."""
    return tuple(  # type: ignore[return-value]
        f"{format_day(p.start, language)} – {format_day(p.end, language)}"
        for p in (indicators.period, indicators.previous_period)
    )


# --- files ------------------------------------------------------------------------------------------

CSV_COLUMNS = ("scope", "name", "from", "to", "previous_from", "previous_to", "group", "key", "label", "value",
               "previous", "change", "unit")  # fmt: skip


def _number(value: float | None, unit: Unit) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if unit == Unit.SHARE else str(int(value))


def indicator_records(indicators: Indicators, language: str = "en") -> list[dict[str, str]]:
    """One record per figure: ids (scope, group, key), the label in ``language``, plain numbers
    (shares as 0…1, counts as whole numbers), the change against the previous period."""
    base = {
        "scope": indicators.scope.kind.value, "name": indicators.scope.name,
        "from": indicators.period.start.isoformat(), "to": indicators.period.end.isoformat(),
        "previous_from": indicators.previous_period.start.isoformat(), "previous_to": indicators.previous_period.end.isoformat(),
    }  # fmt: skip
    return [
        {
            **base,
            "group": f.group.value,
            "key": f.key,
            "label": figure_label(f, language),
            "value": _number(f.value, f.unit),
            "previous": _number(f.previous, f.unit),
            "change": _number(f.change, f.unit),
            "unit": f.unit.value,
        }
        for f in indicators.figures
    ]


def indicators_csv(indicators: Indicators, language: str = "en") -> str:
    """The indicators as CSV (UTF-8 text, comma-separated, a header row; see :data:`CSV_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in indicator_records(indicators, language):
        writer.writerow({name: guard_formula(text) for name, text in record.items()})
    return out.getvalue()


def coverage_csv(layer: pd.DataFrame) -> bytes:
    """A coverage table (ranked districts, or cells) as CSV for a spreadsheet: UTF-8 with a byte-order
    mark (Excel then reads Ł and ö), the geometry left out, and every text cell guarded against
    formula injection (a district named ``=HYPERLINK(…)`` stays text); numbers stay numbers."""
    table = layer.drop(columns="geometry", errors="ignore").copy()
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = [guard_formula(value) if isinstance(value, str) else value for value in table[column]]
    table.columns = [guard_formula(str(name)) for name in table.columns]
    return str(table.to_csv(index=False, lineterminator="\r\n")).encode("utf-8-sig")


def indicators_json(indicators: Indicators) -> str:
    """The indicators as JSON: the scope, the periods, the notes, the organisations that joined and
    every figure (numbers as numbers, missing ones as null)."""
    scope = indicators.scope
    document: dict[str, Any] = {
        "scope": {"kind": scope.kind.value, "name": scope.name, "cities": [c.name for c in scope.cities]},
        "period": {"from": indicators.period.start.isoformat(), "to": indicators.period.end.isoformat()},
        "previous_period": {"from": indicators.previous_period.start.isoformat(),
                            "to": indicators.previous_period.end.isoformat()},
        "statuses": sorted(s.value for s in indicators.statuses),
        "notes": [n.value for n in indicators.notes],
        "organisations_joined": [{"name": o.name, "kind": o.kind.value, "joined": o.joined.isoformat()} for o in indicators.joined],
        "figures": [{"group": f.group.value, "key": f.key, "value": f.value, "previous": f.previous,
                     "change": f.change, "unit": f.unit.value} for f in indicators.figures],
    }  # fmt: skip
    return json.dumps(document, ensure_ascii=False, indent=2)


# The figures shown as cards on the page and at the top of the report, in this order (those the
# data has: verification and participants appear once they are recorded).
KEY_FIGURES: tuple[tuple[Group, str], ...] = (
    (Group.OPPORTUNITIES, "counted"), (Group.ORGANISATIONS, "joined"), (Group.ORGANISATIONS, "verified"),
    (Group.DISTRICTS, "covered"), (Group.SHARES, "free"), (Group.SHARES, "accessible"), (Group.SHARES, "fresh"),
    (Group.PARTICIPANTS, "total"),
)  # fmt: skip


def key_figures(indicators: Indicators) -> list[Figure]:
    return [f for group, key in KEY_FIGURES if (f := indicators.figure(group, key)) is not None]


def shown_value(indicators: Indicators, figure: Figure, language: str) -> str:
    """A figure's value as a card shows it: districts covered "5 of 18", others as :func:`format_value`."""
    total = indicators.figure(Group.DISTRICTS, "total")
    if (figure.group, figure.key) == (Group.DISTRICTS, "covered") and total is not None and figure.value is not None:
        return (
            translator(language)
            .gettext("{covered} of {total}")
            .format(covered=format_number(int(figure.value), language), total=format_number(int(total.value or 0), language))
        )
    return format_value(figure.value, figure.unit, language)
