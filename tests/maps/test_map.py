"""The folium map, asserted on its rendered HTML (no browser)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import box

from maps.approximate import approximate_areas, is_approximate
from maps.opportunity_map import DEFAULT_CENTRE, TAP_TOLERANCE_PX, build_map
from maps.overview import base_map
from maps.popups import MAX_LISTED, POPUP_OPTIONS, popup_html
from maps.topic_colours import NO_TOPIC_COLOUR, TOPIC_COLOURS, _luminance, pin_topic, text_colour_on, topic_colour
from opportunities.i18n import topic_label
from opportunities.model import City, Opportunity
from opportunities.opportunity_text import safe_link
from opportunities.vocabulary import TOPICS, Mode, OpportunityType, Precision, Status
from tests.formats import as_read

TILE_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
ASSET_BASE = "/app/static"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
CDN_HOSTS = ("cdn", "unpkg", "jsdelivr", "cloudflare", "bootstrapcdn", "code.jquery", "googleapis")

KRANJ = (46.2389, 14.3556)


def make(**overrides: Any) -> Opportunity:
    fields: dict[str, Any] = {
        "title": "Coding club",
        "provider": "Mestna knjižnica Kranj",
        "city": "Kranj",
        "country": "SI",
        "topics": ("digital-skills",),
        "age_min": 12,
        "age_max": 16,
        "mode": Mode.IN_PERSON,
        "type": OpportunityType.CLUB,
        "start": date(2026, 9, 1),
        "latitude": 46.2401,
        "longitude": 14.3522,
        "precision": Precision.ADDRESS,
        "url": "https://example.org/club",
        "status": Status.PUBLISHED,
    }
    fields.update(overrides)
    return Opportunity(**fields)


def render(opportunities: list[Opportunity]) -> str:
    m = build_map(opportunities, tile_url=TILE_URL, tile_attribution="Example tiles", asset_base=ASSET_BASE)
    return str(m.get_root().render())


def pin_rows(page: str) -> list[list[Any]]:
    """The marker rows the clustered layer draws (its JSON data), or [] when there is no such layer."""
    found = re.search(r"var data = (\[.*?\]);\n", page)
    return json.loads(found.group(1)) if found else []


def area_rows(page: str) -> list[dict[str, Any]]:
    found = re.search(r"var areas = (\[.*?\]);\n", page)
    return json.loads(found.group(1)) if found else []


def test_one_pin_per_exactly_located_opportunity() -> None:
    opps = [make(title=f"Club {i}", latitude=46.2 + i / 100) for i in range(5)]
    rows = pin_rows(render(opps))
    assert len(rows) == 5
    assert [r[4] for r in rows] == [f"Club {i}" for i in range(5)]


def test_online_opportunities_are_not_on_the_map() -> None:
    page = render([make(), make(title="Webinar", mode=Mode.ONLINE, latitude=None, longitude=None, precision=None)])
    assert len(pin_rows(page)) == 1
    assert "Webinar" not in page


def test_pins_are_coloured_by_first_topic_and_listed_in_the_legend() -> None:
    page = render([make(topics=("arts-culture", "digital-skills")), make(topics=("sustainability",), latitude=46.3)])
    rows = pin_rows(page)
    assert [r[2] for r in rows] == [f"col-topic-{TOPICS.index('arts-culture')}", f"col-topic-{TOPICS.index('sustainability')}"]
    assert (
        f".col-topic-{TOPICS.index('arts-culture')}, .col-t{TOPICS.index('arts-culture')}::before {{ background: {TOPIC_COLOURS['arts-culture']}; }}"
        in page
    )
    assert '"Arts and culture"' in page
    assert '"Sustainability"' in page
    assert '"Digital skills"' not in page  # only first topics colour a pin


def test_pins_take_the_colour_of_the_filtered_topic() -> None:
    """Under a "digital skills" filter an arts-and-digital club is a digital-skills pin, not a red arts one."""
    both = make(topics=("arts-culture", "digital-skills", "sustainability"))
    assert pin_topic(both) == "arts-culture"
    assert pin_topic(both, ("digital-skills",)) == "digital-skills"
    assert pin_topic(both, ("sustainability", "digital-skills")) == "digital-skills"  # its own order decides
    assert pin_topic(both, ("languages",)) == "arts-culture"  # not among them: its first
    assert pin_topic(make(topics=())) is None
    assert topic_colour(both, ("digital-skills",)) == TOPIC_COLOURS["digital-skills"]
    m = build_map([both], tile_url=TILE_URL, tile_attribution="t", asset_base=ASSET_BASE, highlight=("digital-skills",))
    page = str(m.get_root().render())
    assert pin_rows(page)[0][2] == f"col-topic-{TOPICS.index('digital-skills')}"
    assert '"Digital skills"' in page and '"Arts and culture"' not in page  # the legend names the pins' colours


@pytest.mark.parametrize("language", ["en", "sv", "sl", "pl"])
def test_popup_names_every_topic_in_the_language(language: str) -> None:
    topics = ("arts-culture", "digital-skills", "sustainability")
    popup = popup_html(make(topics=topics), language)
    for topic in topics:
        label = html.escape(topic_label(topic, language))
        assert f'<span class="col-t col-t{TOPICS.index(topic)}">{label}</span>' in popup
    page = render([make(topics=topics)])
    for topic in topics:  # each popup topic's dot wears the topic's colour
        assert f".col-t{TOPICS.index(topic)}::before {{ background: {TOPIC_COLOURS[topic]}; }}" in page


def test_every_topic_has_its_own_colour() -> None:
    assert set(TOPIC_COLOURS) == set(TOPICS)
    assert len(set(TOPIC_COLOURS.values())) == len(TOPICS)


def test_hostile_strings_are_escaped() -> None:
    hostile = make(
        title=SCRIPT,
        provider=IMG,
        venue=SCRIPT,
        address=IMG,
        currency="<b>EUR</b>",
        cost=Decimal(5),
        url='https://example.org/?a=1&b="><script>alert(1)</script>',
    )
    page = render([hostile, replace(hostile, precision=Precision.CITY, latitude=KRANJ[0], longitude=KRANJ[1])])
    assert "<script>alert(1)" not in page
    assert "<img src=x onerror" not in page
    # Escaped before going into the JSON data, so the browser shows the text instead of running it.
    popup = pin_rows(page)[0][3]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in popup
    assert "&lt;img src=x onerror=alert(1)&gt;" in popup
    assert "&lt;b&gt;EUR&lt;/b&gt;" in popup
    assert 'href="https://example.org/?a=1&amp;b=&quot;&gt;&lt;script&gt;' in popup
    area_popup = area_rows(page)[0]["popup"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in area_popup
    assert "<script" not in area_popup
    assert "<img" not in area_popup


ARABIC = "مركز الشباب"


def test_right_to_left_provider_text_is_isolated() -> None:
    """An Arabic provider name beside a date must not reorder it ("6 · مركز الشباب Dec 2026"):
    every provider-written text in popups and tooltips sits in its own <bdi>, still escaped."""
    rtl = make(title=f"{ARABIC} <b>", provider=ARABIC, venue=ARABIC, address="Shara 1 & 2", start=datetime(2026, 12, 6, 10, 0))
    popup = popup_html(rtl)
    assert f"<strong><bdi>{ARABIC} &lt;b&gt;</bdi></strong>" in popup
    assert f"<div><bdi>{ARABIC}</bdi></div>" in popup
    assert f"<div><bdi>{ARABIC}</bdi>, <bdi>Shara 1 &amp; 2</bdi></div>" in popup
    assert "<div>6 Dec 2026, 10:00</div>" in popup  # our own text stays outside the isolates
    page = render([rtl, replace(rtl, city=ARABIC, precision=Precision.CITY, latitude=KRANJ[0], longitude=KRANJ[1])])
    assert pin_rows(page)[0][3] == popup
    area = area_rows(page)[0]
    assert f"<bdi>{ARABIC} &lt;b&gt;</bdi></a><br><bdi>{ARABIC}</bdi> · 6 Dec 2026, 10:00</li>" in area["popup"]
    assert area["label_html"] == f"1 activity in <bdi>{ARABIC}</bdi> (approximate location)"
    assert f"<strong>1 activity in <bdi>{ARABIC}</bdi> (approximate location)</strong>" in area["popup"]
    assert area["label_text"] == f"1 activity in {ARABIC} (approximate location)"  # a title attribute: plain text


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.org/a", True),
        ("http://example.org/a", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//example.org/a", False),
        ("", False),
        ("example.org", False),
    ],
)
def test_registration_link_only_for_http_urls(url: str, linked: bool) -> None:
    assert (safe_link(url) is not None) is linked
    assert ("<a href=" in popup_html(make(url=url))) is linked


def test_popup_shows_title_provider_dates_ages_and_cost() -> None:
    opp = make(start=datetime(2026, 9, 1, 17, 0), end=date(2027, 5, 26), schedule="FREQ=WEEKLY;BYDAY=TU",
               cost=Decimal("12.50"), currency="EUR", age_max=None)  # fmt: skip
    popup = popup_html(opp)
    for text in ("Coding club", "Mestna knjižnica Kranj", "1 Sept 2026, 17:00 – 26 May 2027 (recurring)", "Ages 12+", "€12.50"):
        assert text in popup
    assert "Free" in popup_html(make())


def render_in(language: str, opportunities: list[Opportunity]) -> str:
    m = build_map(opportunities, tile_url=TILE_URL, tile_attribution="Example tiles", asset_base=ASSET_BASE, language=language)
    return str(m.get_root().render())


def test_swedish_popup_is_in_swedish() -> None:
    opp = make(start=datetime(2026, 12, 2, 17, 0), end=date(2027, 5, 26), schedule="FREQ=WEEKLY;BYDAY=WE",
               cost=Decimal("12.50"), currency="SEK", age_max=None)  # fmt: skip
    popup = popup_html(opp, "sv")
    for text in (
        "Digitala färdigheter",
        "2 dec. 2026 17:00 – 26 maj 2027 (återkommande)",
        "Ålder 12+",
        "12,50\xa0kr",
        "Anmäl dig eller läs mer",
    ):
        assert as_read(text) in as_read(popup)
    assert "Gratis" in popup_html(make(), "sv")
    assert "Ungefärlig plats" in popup_html(make(precision=Precision.CITY), "sv")
    for english in ("Ages", "Register", "recurring", "Approximate"):
        assert english not in popup


def test_swedish_map_has_swedish_legend_and_areas() -> None:
    at_centre = [
        make(title=f"Aktivitet {i}", precision=Precision.CITY, latitude=KRANJ[0], longitude=KRANJ[1])
        for i in range(MAX_LISTED + 3)
    ]
    page = render_in("sv", [*at_centre, make(title="Exakt")])
    area = area_rows(page)[0]
    assert area["label_text"] == f"{MAX_LISTED + 3} aktiviteter i Kranj (ungefärlig plats)"
    assert "och 3 till" in area["popup"]
    assert "1 sep. 2026" in area["popup"]
    assert "Ålder 12–16 · Gratis" in pin_rows(page)[0][3]
    # The legend travels as JSON: its title and the approximate-area line, in Swedish.
    assert json.dumps("Ämnen") in page
    assert json.dumps("Ungefärlig plats (cirkeln visar hur långt fel den kan ligga)") in page
    assert json.dumps("Digitala färdigheter") in page
    assert json.dumps("Topics") not in page


@pytest.mark.parametrize(
    ("language", "one", "many"),
    [
        ("en", "1 activity in Kranj (approximate location)", "5 activities in Kranj (approximate location)"),
        ("sv", "1 aktivitet i Kranj (ungefärlig plats)", "5 aktiviteter i Kranj (ungefärlig plats)"),
        ("sl", "1 dejavnost v kraju Kranj (približna lokacija)", "5 dejavnosti v kraju Kranj (približna lokacija)"),
        ("pl", "Kranj: 1 oferta zajęć (przybliżona lokalizacja)", "Kranj: 5 ofert zajęć (przybliżona lokalizacja)"),
    ],
)
def test_area_labels_in_every_language(language: str, one: str, many: str) -> None:
    area = approximate_areas([make(precision=Precision.CITY)])[0]
    assert area.label_in(language) == one
    five = approximate_areas([make(precision=Precision.CITY)] * 5)[0]
    assert five.label_in(language) == many


def test_no_asset_comes_from_a_cdn() -> None:
    # No registration links, so that the only http(s) URL left is the tile template.
    page = render([make(url=""), make(url="", precision=Precision.CITY, latitude=KRANJ[0], longitude=KRANJ[1])])
    for host in CDN_HOSTS:
        assert host not in page.lower()
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', page)
    assert assets  # Leaflet and markercluster, at least
    assert all(a.startswith(f"{ASSET_BASE}/vendor/") for a in assets), assets
    assert "jquery" not in page.lower()
    assert "bootstrap" not in page.lower()
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls == {TILE_URL}


def test_vendored_assets_exist() -> None:
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "static"
    page = render([make()])
    for asset in re.findall(r'(?:src|href)="/app/static/([^"]+)"', page):
        assert (static / asset).is_file(), asset


def test_approximate_locations_are_aggregated_into_one_circle() -> None:
    at_centre = [make(title=f"Activity {i}", precision=Precision.CITY, latitude=KRANJ[0], longitude=KRANJ[1]) for i in range(12)]
    exact = make(title="Exact")
    page = render([*at_centre, exact])
    assert [r[4] for r in pin_rows(page)] == ["Exact"]
    areas = area_rows(page)
    assert len(areas) == 1
    assert areas[0]["count"] == 12
    assert areas[0]["label_text"] == "12 activities in Kranj (approximate location)"
    assert (areas[0]["lat"], areas[0]["lon"]) == KRANJ


def test_locality_and_city_centres_make_separate_circles() -> None:
    opps = [
        make(precision=Precision.CITY, latitude=KRANJ[0], longitude=KRANJ[1]),
        make(precision=Precision.LOCALITY, latitude=46.25, longitude=14.30),
        make(precision=Precision.LOCALITY, latitude=46.25, longitude=14.30),
        make(precision=Precision.POSTCODE, latitude=46.25, longitude=14.30, uncertainty_m=150),  # exact enough for a pin
    ]
    areas = approximate_areas(opps)
    assert [len(a.opportunities) for a in areas] == [2, 1]
    assert areas[1].label == "1 activity in Kranj (approximate location)"
    assert len(pin_rows(render(opps))) == 1


@pytest.mark.parametrize(
    ("precision", "uncertainty_m", "approximate"),
    [
        (Precision.PROVIDED, 8, False),  # four decimals
        (Precision.PROVIDED, 787, True),  # two decimals: not a pin
        (Precision.POSTCODE, 300, False),  # the threshold itself is still a pin
        (Precision.POSTCODE, 2071, True),  # Kranj's 4000 sits on the town centre
        (Precision.CITY, 1000, True),
        (Precision.PROVIDED, None, False),  # stored before uncertainties: by precision
        (Precision.POSTCODE, None, True),
        (Precision.LOCALITY, None, True),
    ],
)
def test_a_pin_only_when_known_to_a_few_hundred_metres(
    precision: Precision, uncertainty_m: int | None, approximate: bool
) -> None:
    opp = make(precision=precision, uncertainty_m=uncertainty_m, latitude=46.25, longitude=14.30)
    assert is_approximate(opp) is approximate
    page = render([opp])
    assert (len(area_rows(page)), len(pin_rows(page))) == ((1, 0) if approximate else (0, 1))


def test_an_approximate_circle_is_as_wide_as_its_most_uncertain_member() -> None:
    opps = [
        make(precision=Precision.POSTCODE, uncertainty_m=2071, latitude=KRANJ[0], longitude=KRANJ[1]),
        make(precision=Precision.PROVIDED, uncertainty_m=787, latitude=KRANJ[0], longitude=KRANJ[1]),
    ]
    (area,) = approximate_areas(opps)
    assert (area.count, area.radius_m, area.precision) == (2, 2071, Precision.POSTCODE)
    assert [a["radius"] for a in area_rows(render(opps))] == [2071]


def test_view_fits_the_results() -> None:
    page = render([make(latitude=46.0, longitude=14.0), make(latitude=46.5, longitude=14.5)])
    assert re.search(r"fitBounds\(\s*\[\[46\.0, 14\.0\], \[46\.5, 14\.5\]\]", page)


def test_empty_map_has_a_default_view() -> None:
    page = render([])
    assert "fitBounds" not in page
    assert f"center: {json.dumps(list(DEFAULT_CENTRE))}" in page
    assert pin_rows(page) == []
    assert area_rows(page) == []


def test_class_level_folium_assets_are_left_alone() -> None:
    import folium
    from folium.plugins import FastMarkerCluster

    render([make()])
    assert any("leaflet" in url and url.startswith("https://") for _, url in folium.Map.default_js)
    assert all(url.startswith("https://") for _, url in FastMarkerCluster.default_js)


def base_page(language: str = "en", places: tuple[City, ...] = ()) -> str:
    m = base_map(tile_url=TILE_URL, tile_attribution="t", asset_base=ASSET_BASE, language=language, places=places)
    return str(m.get_root().render())


def script_data(page: str, name: str) -> Any:
    """The JSON value a map script assigns to ``var NAME = ...;`` (first occurrence)."""
    found = re.search(rf"var {name} = (.*?);\n", page)
    assert found, f"no {name} in the map"
    return json.loads(found.group(1))


@pytest.mark.parametrize(
    ("language", "notice", "hint"),
    [
        ("en", "Map background could not be loaded; places and cities are still shown.", "Use two fingers to move the map"),
        ("sv", "Kartbakgrunden kunde inte laddas; platser och städer visas ändå.", "Använd två fingrar för att flytta kartan"),
        ("pl", "Nie udało się wczytać tła mapy; miejsca i miasta są nadal widoczne.", "Użyj dwóch palców, aby przesunąć mapę"),
    ],
)
def test_both_maps_say_when_tiles_fail_and_take_two_fingers_on_a_phone(language: str, notice: str, hint: str) -> None:
    standalone = render_in(language, [make()])
    for page in (base_page(language), standalone):
        texts = script_data(page, "texts")
        assert texts == {"tiles_failed": notice, "two_fingers": hint}
        # The notice comes from Leaflet's tileerror event on every tile layer, as a status message.
        assert 'layer.on("tileerror", tilesFailed)' in page and 'setAttribute("role", "status")' in page
        assert 'map.on("popupopen", function () { notice.style.visibility = "hidden"; });' in page  # popups stay whole
        # Touch screens: one finger scrolls the page (dragging off), two fingers move the map.
        assert 'matchMedia("(pointer: coarse)")' in page and "map.dragging.disable();" in page
        assert f'"tapTolerance": {TAP_TOLERANCE_PX},' in page


def test_popups_pan_into_view_clear_of_the_edges() -> None:
    assert POPUP_OPTIONS["autoPan"] is True and POPUP_OPTIONS["keepInView"] is True
    assert int(POPUP_OPTIONS["maxWidth"]) + 2 * 24 <= 390 - 2 * 16  # fits a 390 px phone's map
    options = json.dumps(POPUP_OPTIONS)
    exact = make()
    areas = [make(title=f"Centre {i}", precision=Precision.CITY, latitude=KRANJ[0], longitude=KRANJ[1]) for i in range(2)]
    page = render([exact, *areas])
    assert f"marker.bindPopup(row[3], {options});" in page  # clustered pins
    area_options = [json.loads(o) for o in re.findall(r"\.bindPopup\(a\.popup, (\{.*?\})\)", page)]
    assert area_options == [POPUP_OPTIONS, POPUP_OPTIONS]  # the approximate circle and its count
    assert "maxWidth: 320" not in page


def test_city_names_are_drawn_from_our_own_data() -> None:
    cities = (
        City(name="Göteborg", country="SE", latitude=57.70716, longitude=11.96679, timezone="Europe/Stockholm"),
        City(name="<b>Kranj</b>", country="SI", latitude=46.23887, longitude=14.35561, timezone="Europe/Ljubljana"),
    )
    page = base_page(places=cities)
    rows = json.loads(re.search(r"(\[\[\"G.*?\]\]).forEach", page).group(1))  # type: ignore[union-attr]
    assert rows == [["Göteborg", 57.70716, 11.96679], ["<b>Kranj</b>", 46.23887, 14.35561]]
    assert "label.textContent = p[0];" in page  # a provider- or admin-typed name is text, never HTML
    assert "interactive: false, keyboard: false" in page  # no extra tab stops
    assert ".leaflet-container { background: #eef0e8; }" in page  # light land, not Leaflet's grey
    assert "colPlaces" not in base_page()  # no cities, no labels layer
    assert len(page) - len(base_page()) < 2500  # a few bytes per city, sent once with the base map


@pytest.mark.parametrize("background", [*TOPIC_COLOURS.values(), NO_TOPIC_COLOUR, "#ffffff", "#000000", "#777777"])
def test_cluster_text_contrasts_with_its_colour(background: str) -> None:
    def contrast(a: str, b: str) -> float:
        la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
        return (la + 0.05) / (lb + 0.05)

    assert contrast(text_colour_on(background), background) >= 4.5


def _every_map() -> dict[str, str]:
    from maps.coverage_map import coverage_map
    from maps.pin_map import pin_map

    layer = gpd.GeoDataFrame({"district": ["A"], "count": [1]}, geometry=[box(14.3, 46.2, 14.4, 46.3)], crs=4326)
    return {
        "opportunities": render([make()]),
        "explore": str(base_map(tile_url=TILE_URL, tile_attribution="t", asset_base=ASSET_BASE).get_root().render()),
        "pin": str(
            pin_map(None, centre=(46.2, 14.3), tile_url=TILE_URL, tile_attribution="t", asset_base=ASSET_BASE).get_root().render()
        ),
        "coverage": str(
            coverage_map(
                layer,
                value="count",
                labels={"count": "n", "desert": "d", "legend": "l"},
                topic_names={},
                tile_url=TILE_URL,
                tile_attribution="t",
            )
            .get_root()
            .render()
        ),
    }


def test_every_map_has_a_metric_scale_only_lifted_clear_of_the_attribution_on_a_phone() -> None:
    for name, page in _every_map().items():
        assert "L.control.scale({imperial: false, metric: true})" in page, name
        assert "L.control.scale()" not in page, name  # folium's own: feet and miles too
        assert re.search(r"@media \(max-width: 480px\) \{\s*\.leaflet-bottom\.leaflet-left \{ bottom: 1\.6em; \}", page), name


def test_a_harvested_opportunitys_popup_credits_its_source_escaped() -> None:
    credit = "From <b>Sport</b> & Co, https://creativecommons.org/licenses/by/4.0/"
    popup = popup_html(make(), "en", credit)
    assert "From &lt;b&gt;Sport&lt;/b&gt; &amp; Co, https://creativecommons.org/licenses/by/4.0/" in popup
    assert "<b>Sport" not in popup
    assert "col-popup-source" not in popup_html(make(), "en")
