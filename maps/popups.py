"""The popups of the map: one pin's opportunity, and an approximate area's list of activities.

Every provider-written string is HTML-escaped and isolated in ``<bdi>`` before it reaches a popup.
"""

from __future__ import annotations

import html

from maps.approximate import ApproximateArea, is_approximate
from maps.topic_colours import TOPIC_COLOURS
from opportunities.i18n import format_number, translator
from opportunities.model import Opportunity
from opportunities.opportunity_text import format_ages, format_cost, format_dates, safe_link
from opportunities.text import isolated_html
from opportunities.vocabulary import TOPICS, topic_label

# An approximate circle's popup lists this many activities, then says how many more there are.
MAX_LISTED = 20
# Every popup: narrow enough for a 390 px phone, and panned into view (clear of the edges and the
# controls) when its pin sits near the map's edge, so a tap near the edge never loses its popup.
POPUP_OPTIONS: dict[str, object] = {"maxWidth": 280, "autoPan": True, "autoPanPadding": [24, 48], "keepInView": True}


def popup_html(opportunity: Opportunity, language: str = "en", credit: str = "") -> str:
    """The popup of one pin. Every provider-written string is escaped and isolated in ``<bdi>``.
    ``credit``: the source of an opportunity harvested from another publisher's feed ("From …, licence")."""
    e = html.escape
    b = isolated_html
    _ = translator(language).gettext
    lines = []
    # Every topic, each with its colour, so a pin's colour is explained whatever topic chose it.
    topics = [
        f'<span class="col-t col-t{TOPICS.index(t)}">{e(topic_label(t, language))}</span>'
        for t in opportunity.topics
        if t in TOPIC_COLOURS
    ]
    if topics:
        lines.append(f'<div class="col-popup-topic">{"".join(topics)}</div>')
    lines.append(f"<strong>{b(opportunity.title)}</strong>")
    lines.append(f"<div>{b(opportunity.provider)}</div>")
    lines.append(f"<div>{e(format_dates(opportunity, language))}</div>")
    place = ", ".join(b(part) for part in (opportunity.venue, opportunity.address) if part)
    if place:
        lines.append(f"<div>{place}</div>")
    if is_approximate(opportunity):
        lines.append(f"<div><em>{e(_('Approximate location'))}</em></div>")
    ages = _("Ages {ages}").format(ages=format_ages(opportunity, language))
    lines.append(f"<div>{e(ages)} · {e(format_cost(opportunity, language))}</div>")
    link = safe_link(opportunity.url)
    if link is not None:
        register = e(_("Register or read more"))
        lines.append(f'<div><a href="{e(link)}" target="_blank" rel="noopener noreferrer">{register}</a></div>')
    if credit:
        lines.append(f'<div class="col-popup-source"><small>{b(credit)}</small></div>')
    return '<div class="col-popup">' + "".join(lines) + "</div>"


def area_popup_html(area: ApproximateArea, language: str = "en") -> str:
    """The popup of an approximate circle: its label and the first activities, escaped and isolated."""
    e = html.escape
    b = isolated_html
    _ = translator(language).gettext
    items = []
    for opp in area.opportunities[:MAX_LISTED]:
        title = b(opp.title)
        link = safe_link(opp.url)
        if link is not None:
            title = f'<a href="{e(link)}" target="_blank" rel="noopener noreferrer">{title}</a>'
        items.append(f"<li>{title}<br>{b(opp.provider)} · {e(format_dates(opp, language))}</li>")
    more = area.count - min(len(area.opportunities), MAX_LISTED)
    tail = f"<div>{e(_('and {count} more').format(count=format_number(more, language)))}</div>" if more > 0 else ""
    return f'<div class="col-popup"><strong>{area.label_html_in(language)}</strong><ul>{"".join(items)}</ul>{tail}</div>'
