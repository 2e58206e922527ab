"""The one-page printable report of a scope's period: an HTML document with print CSS.

Self-contained (charts as PNG data, no script, no outside request), in the user's language. Every
text from the data (the city's or region's name, organisations' names) is escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date
from html import escape

from opportunities.coverage.indicators import PUBLIC_STATUSES, Group, Indicators
from opportunities.coverage.reports import (
    figure_label,
    format_change,
    format_value,
    group_label,
    key_figures,
    kind_label,
    note_text,
    period_text,
    scope_title,
    shown_value,
)
from opportunities.i18n import format_day, translator

# Charts on the page (each half the width), and tables beside them.
REPORT_CHARTS: tuple[Group, ...] = (Group.MONTH, Group.TOPIC)
REPORT_TABLES: tuple[Group, ...] = (Group.AGE_GROUP, Group.MODE, Group.TYPE)
# CSS pixels a chart of the report is drawn at (see opportunities.coverage.charts.chart_png).
REPORT_CHART_WIDTH = 300
REPORT_CHART_HEIGHT = 260
# Organisations named by name; more are counted ("and 12 more").
MAX_NAMED_ORGANISATIONS = 12

_CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: "Helvetica Neue", Arial, sans-serif; font-size: 10pt; color: #1a1a1a; margin: 0 auto;
  max-width: 190mm; padding: 8px; line-height: 1.3; }
h1 { font-size: 16pt; margin: 0 0 2px; }
h2 { font-size: 11pt; margin: 10px 0 4px; }
.period { color: #444; margin: 0 0 8px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; }
.card { border: 1px solid #c8c8c8; border-radius: 4px; padding: 5px 7px; break-inside: avoid; }
.card .label { font-size: 8.5pt; color: #444; }
.card .value { font-size: 14pt; font-weight: bold; }
.card .change { font-size: 8.5pt; color: #444; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin-top: 8px; }
.charts img { width: 100%; height: auto; max-height: 90mm; object-fit: contain; object-position: top left; }
.tables { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; align-items: start; }
caption { text-align: left; }
caption h2 { margin-top: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; break-inside: avoid; }
th, td { text-align: left; padding: 1px 4px; border-bottom: 1px solid #e0e0e0; }
td.n { text-align: right; white-space: nowrap; }
ul.organisations { columns: 2; margin: 0; padding-left: 16px; font-size: 8.5pt; }
section > p { font-size: 8.5pt; margin: 2px 0; }
footer { margin-top: 8px; font-size: 8pt; color: #444; }
@media (max-width: 600px) {
  .cards { grid-template-columns: repeat(2, 1fr); }
  .charts, .tables { grid-template-columns: 1fr; }
  ul.organisations { columns: 1; }
}
@media print { body { padding: 0; } a { color: inherit; text-decoration: none; } }
"""


def report_html(indicators: Indicators, language: str, *, chart_images: Mapping[Group, bytes], today: date) -> str:
    """The report as one HTML document. ``chart_images`` holds PNGs of :data:`REPORT_CHARTS` (those
    missing are left out), drawn :data:`REPORT_CHART_WIDTH` by :data:`REPORT_CHART_HEIGHT` so their labels stay legible at
    half a page."""
    _ = translator(language).gettext
    scope = scope_title(indicators, language)
    this_period, previous_period = period_text(indicators, language)
    title = _("Learning opportunities: {scope}").format(scope=scope)
    # Texts translated before they go into f-strings (pybabel reads no calls inside f-strings).
    compared = _("compared with {period}").format(period=previous_period)
    key_label = _("Key figures")
    headings = (_("Item"), _("Number"), _("Change"))
    joined_heading = _("Organisations that joined")
    parts = [
        f'<!DOCTYPE html>\n<html lang="{escape(language)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="period">{escape(this_period)} · {escape(compared)}</p></header>',
        f'<section class="cards" aria-label="{escape(key_label)}">',
    ]
    for figure in key_figures(indicators):
        change = format_change(figure, language)
        parts.append(
            f'<div class="card"><div class="label">{escape(figure_label(figure, language))}</div>'
            f'<div class="value">{escape(shown_value(indicators, figure, language))}</div>'
            + (f'<div class="change">{escape(change)}</div>' if change else "")
            + "</div>"
        )
    parts.append("</section>")
    images = [(group, chart_images[group]) for group in REPORT_CHARTS if group in chart_images]
    if images:
        parts.append('<section class="charts">')
        for group, png in images:
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure style="margin:0"><img src="data:image/png;base64,{data}" alt="{escape(group_label(group, language))}"></figure>'
            )
        parts.append("</section>")
    parts.append('<section class="tables">')
    for group in REPORT_TABLES:
        rows = "".join(
            f'<tr><td>{escape(figure_label(f, language))}</td><td class="n">{escape(format_value(f.value, f.unit, language))}</td>'
            f'<td class="n">{escape(format_change(f, language))}</td></tr>'
            for f in indicators.group(group)
        )
        parts.append(f"<table><caption><h2>{escape(group_label(group, language))}</h2></caption>"
                     "<thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in headings) +
                     f"</tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip
    parts.append("</section>")
    if indicators.joined:
        named = indicators.joined[:MAX_NAMED_ORGANISATIONS]
        items = "".join(
            f"<li>{escape(org.name)} ({escape(kind_label(org.kind, language))}, {escape(format_day(org.joined, language))})</li>"
            for org in named
        )
        more = len(indicators.joined) - len(named)
        parts.append(f'<section><h2>{escape(joined_heading)}</h2><ul class="organisations">{items}</ul>')
        if more:
            more_text = _("and {count} more").format(count=more)
            parts.append(f"<p>{escape(more_text)}</p>")
        parts.append("</section>")
    notes = [note_text(note, language) for note in indicators.notes]
    notes.append(_("An opportunity counts in a period when one of its sessions falls in it."))
    if indicators.statuses == PUBLIC_STATUSES:
        notes.append(_("Published opportunities only."))
    notes.append(_("Made on {day}.").format(day=format_day(today, language)))
    parts.append("<footer><p>" + " ".join(escape(note) for note in notes) + "</p></footer></body></html>")
    return "\n".join(parts)
