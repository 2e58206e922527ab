"""A search's results as a page to print (A4): the filters stated in words at the top, a QR code
back to the live view (an inline SVG made here, by segno: nothing fetched), and the list.

Every provider text and every value of the link is escaped; the page has no script and loads nothing.
"""

from __future__ import annotations

import html

import segno

from opportunities.feeds.subscriptions import Found, Subscription, describe, links, opportunity_url, title
from opportunities.i18n import format_number, translator
from opportunities.model import Opportunity
from opportunities.opportunity_text import format_ages, format_cost, format_dates
from opportunities.text import without_hidden_controls
from opportunities.vocabulary import Mode

LANGUAGE_NAMES = {"en": "English", "sv": "Svenska", "sl": "Slovenščina", "pl": "Polski"}
DESCRIPTION_CHARS = 300
_CSS = """
@page { size: A4; margin: 15mm 14mm; }
body { font-family: system-ui, sans-serif; font-size: 11pt; line-height: 1.4; color: #000; max-width: 50rem;
  margin: 1.5rem auto; padding: 0 1rem; }
header { display: flex; gap: 1.5rem; align-items: flex-start; justify-content: space-between;
  border-bottom: 1px solid #999; padding-bottom: 0.5rem; }
h1 { font-size: 16pt; margin: 0 0 0.4rem; }
dl.filters { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.8rem; margin: 0.3rem 0; }
dl.filters dt { font-weight: 600; }
dl.filters dd { margin: 0; }
figure.qr { margin: 0; text-align: center; font-size: 8pt; max-width: 36mm; }
figure.qr svg { width: 32mm; height: 32mm; }
figure.qr figcaption { overflow-wrap: anywhere; }
ol.results { padding-left: 1.4rem; }
ol.results li { break-inside: avoid; page-break-inside: avoid; margin: 0 0 0.6rem; }
.title { font-weight: 600; }
.facts, .provider { font-size: 10pt; }
.description { font-size: 9.5pt; color: #222; margin: 0.1rem 0 0; }
nav.no-print { font-size: 10pt; margin-bottom: 0.8rem; }
@media print { nav.no-print { display: none; } body { margin: 0; max-width: none; padding: 0; } a { color: inherit; } }
"""


def qr_svg(url: str, label: str) -> str:
    """The QR code of ``url`` as an inline ``<svg>`` named ``label`` for screen readers."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=4, border=2, dark="#000", light="#fff", title=label)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)


def _item(opp: Opportunity, language: str, url: str) -> str:
    _ = translator(language).gettext
    e = html.escape
    where = _("Online only") if opp.mode == Mode.ONLINE else ", ".join(p for p in (opp.venue, opp.address, opp.city) if p)
    facts = " · ".join(
        (format_dates(opp, language), _("Ages {ages}").format(ages=format_ages(opp, language)), format_cost(opp, language))
    )
    text = without_hidden_controls(opp.description)
    description = text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1].rstrip() + "…"
    parts = [
        f'<div class="title"><a href="{e(url)}"><bdi>{e(opp.title)}</bdi></a></div>',
        f'<div class="provider"><bdi>{e(opp.provider)}</bdi> · <bdi>{e(where)}</bdi></div>',
        f'<div class="facts">{e(facts)}</div>',
    ]
    if description:
        parts.append(f'<p class="description"><bdi>{e(description)}</bdi></p>')
    return "<li>" + "".join(parts) + "</li>"


def page(subscription: Subscription, found: Found, *, base_url: str, publisher: str) -> str:
    """The printable page of ``found``, the results of ``subscription`` (links to the app at ``base_url``)."""
    language, filters = subscription.language, subscription.filters
    _ = translator(language).gettext
    e = html.escape
    where = links(base_url, filters, language)
    stated = describe(filters, language)
    texts = {
        "yes": _("yes"),
        "none": _("No filters: every opportunity."),
        "language": _("Language"),
        "back": _("Back to the map"),
        "print": _("Print this page with your browser (Ctrl+P)."),
        "scan": _("Scan for the live list:"),
    }
    rows = "\n".join(f"<dt>{e(label)}</dt><dd><bdi>{e(value or texts['yes'])}</bdi></dd>" for label, value in stated)
    filters_html = f'<dl class="filters">\n{rows}\n</dl>' if stated else f"<p>{e(texts['none'])}</p>"
    total = format_number(found.total, language)
    if found.total > len(found.opportunities):
        count = _("{total} opportunities match; the first {shown} are listed.").format(
            total=total, shown=format_number(len(found.opportunities), language)
        )
    else:
        count = translator(language).ngettext("{count} opportunity matches.", "{count} opportunities match.", found.total)
        count = count.format(count=total)
    items = "\n".join(_item(opp, language, opportunity_url(base_url, opp.id, language)) for opp in found.opportunities)
    label = _("QR code: this search, live")
    others = " · ".join(
        f'<a href="{e(links(base_url, filters, code).printable)}" hreflang="{code}" lang="{code}">{e(name)}</a>'
        for code, name in LANGUAGE_NAMES.items()
        if code != language
    )
    heading = title(filters, language, publisher)
    return f"""<!DOCTYPE html>
<html lang="{e(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{e(heading)}</title>
<style>{_CSS}</style>
</head>
<body>
<nav class="no-print" aria-label="{e(texts["language"])}">{others} ·
<a href="{e(where.explore)}">{e(texts["back"])}</a> · {e(texts["print"])}</nav>
<header>
<div>
<h1>{e(heading)}</h1>
{filters_html}
<p>{e(count)}</p>
</div>
<figure class="qr">
{qr_svg(where.explore, label)}
<figcaption>{e(texts["scan"])} {e(where.explore)}</figcaption>
</figure>
</header>
<main>
<ol class="results">
{items}
</ol>
</main>
</body>
</html>
"""


def error_page(parameter: str, message: str, language: str) -> str:
    """The page of a link that cannot be printed: which ``parameter``, and ``message`` (already in ``language``)."""
    _ = translator(language).gettext
    e = html.escape
    heading = _("This link cannot be printed: the parameter {name} is wrong.").format(name=parameter)
    return (
        f'<!DOCTYPE html>\n<html lang="{e(language)}"><head><meta charset="utf-8"><title>{e(heading)}</title>'
        f"</head><body><h1>{e(heading)}</h1><p>{e(message)}</p></body></html>\n"
    )
