"""The OpenActive dataset site: the page at ``/openactive/`` that describes the open data, with its
machine-readable ``Dataset`` (JSON-LD) listing every feed as a ``DataDownload``.

OpenActive's discovery finds a publisher's feeds through this page. It names the publisher, the
licence (``FEED_LICENSE``) and a contact (``FEED_CONTACT``), in the reader's language (the
``lang`` parameter or the browser's Accept-Language, among the app's four). Every value that comes
from a setting or the request is escaped; the JSON-LD is escaped so that no text can end its
``<script>`` element.
"""

from __future__ import annotations

import html
import json
from typing import Any

from opportunities.feeds.openactive import FEED_PATHS, KINDS, SESSION_SERIES
from opportunities.feeds.rpde import feed_url
from opportunities.i18n import N_, translator
from opportunities.settings import Settings
from opportunities.vocabulary import LANGUAGES

RPDE_FORMAT = "application/vnd.openactive.rpde+json; version=1"
DOCUMENTATION = "https://permalink.openactive.io/dataset-site/open-data-documentation"
SCHEMA_VERSION = "https://openactive.io/modelling-opportunity-data/2.0/"
LANGUAGE_NAMES = {"en": "English", "sv": "Svenska", "sl": "Slovenščina", "pl": "Polski"}
ATTRIBUTION = "OpenActive activity list and accessibility support list © OpenActive, CC BY 4.0."
# What each feed holds, for people (translated when the page is written).
FEED_TITLES = {
    SESSION_SERIES: N_("Recurring activities"),
    "Event": N_("One-off activities"),
}


def site_url(settings: Settings) -> str:
    return f"{settings.public_url}/openactive/"


def _contact(settings: Settings) -> dict[str, str]:
    contact = settings.feed_contact
    key = "url" if contact.startswith(("http://", "https://")) else "email"
    return {"@type": "ContactPoint", key: contact}


def dataset(settings: Settings, language: str) -> dict[str, Any]:
    """The JSON-LD ``Dataset`` of the feeds, its texts in ``language``."""
    _ = translator(language).gettext
    return {
        "@context": ["https://schema.org/", "https://openactive.io/"],
        "@type": "Dataset",
        "@id": site_url(settings),
        "url": site_url(settings),
        "name": _("{publisher}: learning opportunities").format(publisher=settings.feed_publisher),
        "description": _(
            "Learning opportunities for young people in the cities of the network: workshops, courses, clubs "
            "and events, published as open data in the OpenActive format."
        ),
        "keywords": ["learning", "young people", "activities", "OpenActive"],
        "license": settings.feed_license,
        "inLanguage": list(LANGUAGES),
        "documentation": DOCUMENTATION,
        "schemaVersion": SCHEMA_VERSION,
        "publisher": {
            "@type": "Organization",
            "name": settings.feed_publisher,
            "url": settings.public_url,
            "contactPoint": [_contact(settings)],
        },
        "distribution": [
            {
                "@type": "DataDownload",
                "name": kind,
                "description": _(FEED_TITLES[kind]),
                "additionalType": f"https://openactive.io/{kind}",
                "encodingFormat": RPDE_FORMAT,
                "contentUrl": feed_url(settings.public_url, kind),
                "identifier": FEED_PATHS[kind],
            }
            for kind in KINDS
        ],
    }


def _script_json(data: dict[str, Any]) -> str:
    """JSON that stays inside a ``<script>`` element whatever its strings hold."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(settings: Settings, language: str) -> str:
    """The dataset site's HTML in ``language``."""
    _ = translator(language).gettext
    data = dataset(settings, language)
    e = html.escape
    contact = settings.feed_contact
    contact_link = contact if contact.startswith(("http://", "https://")) else f"mailto:{contact}"
    feeds = "\n".join(
        f'<li><a href="{e(item["contentUrl"])}">{e(item["description"])}</a> (<code>{e(item["name"])}</code>): '
        f"<code>{e(item['contentUrl'])}</code></li>"
        for item in data["distribution"]
    )
    scope = _(
        "OpenActive describes physical activity: its model requires an activity from OpenActive's activity list. "
        "These feeds hold the opportunities that name one (a sport, dance, yoga, acting, singing, gardening and the "
        "like); other learning opportunities are not in them."
    )
    how_to = _(
        "Each feed is an RPDE feed: start at its first page and follow each page's next link. The last page has "
        "no items and links to itself; come back to it later for the changes. Items that are no longer offered "
        "appear as deleted."
    )
    texts = {
        "language": _("Language"),
        "feeds": _("Feeds"),
        "licence": _("Licence"),
        "reuse": _("The data may be reused under this licence:"),
        "publisher": _("Publisher and contact"),
        "lists": _("Activities and accessibility are described with OpenActive's lists:"),
        "gis": _(
            "For GIS software (QGIS, ArcGIS, GDAL): the same opportunities, and the coverage of each district, as OGC API – Features:"
        ),
    }
    gis_url = f"{settings.public_url}/api/"
    languages = " · ".join(
        f'<a href="?lang={code}" hreflang="{code}" lang="{code}">{e(name)}</a>'
        if code != language
        else f"<strong>{e(name)}</strong>"
        for code, name in LANGUAGE_NAMES.items()
    )
    return f"""<!DOCTYPE html>
<html lang="{e(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(data["name"])}</title>
<script type="application/ld+json">
{_script_json(data)}
</script>
<style>body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
code {{ overflow-wrap: anywhere; }}</style>
</head>
<body>
<nav aria-label="{e(texts["language"])}">{languages}</nav>
<main>
<h1>{e(data["name"])}</h1>
<p>{e(data["description"])}</p>
<h2>{e(texts["feeds"])}</h2>
<p>{e(how_to)}</p>
<p>{e(scope)}</p>
<ul>
{feeds}
</ul>
<p>{e(texts["gis"])} <a href="{e(gis_url)}"><code>{e(gis_url)}</code></a></p>
<h2>{e(texts["licence"])}</h2>
<p>{e(texts["reuse"])} <a href="{e(settings.feed_license)}" rel="license">{e(settings.feed_license)}</a></p>
<h2>{e(texts["publisher"])}</h2>
<p>{e(settings.feed_publisher)}: <a href="{e(contact_link)}">{e(contact)}</a></p>
<p><small>{e(texts["lists"])} {e(ATTRIBUTION)}
<a href="{e(DOCUMENTATION)}">OpenActive</a></small></p>
</main>
</body>
</html>
"""
