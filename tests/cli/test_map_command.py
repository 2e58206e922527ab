"""``python -m opportunities map``: a standalone HTML map to embed on a city's website."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from cli.commands import main
from maps.overview import base_map
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from opportunities.vocabulary import TOPICS
from tests.browser import LOCAL_TILE_URL, outside_requests, screenshot_path
from tests.conftest import template_row

IMG = "<img src=x onerror=alert(1)>"
SCRIPT_END = "</script><script>alert(2)</script>"
URL = re.compile(r"https?://[^\s\"'<>)\\]+")
# Addresses inside the inlined, unmodified Leaflet files; none is fetched: a licence comment and
# Leaflet's own attribution link, the SVG namespace, bug reports cited in CSS comments.
VENDORED_URLS = {
    "https://leafletjs.com",
    "http://www.w3.org/2000/svg",
    "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
    "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
}

KRANJ = {"title": "Robotika", "provider": "MC Kranj", "city": "Kranj", "country": "SI", "address": "",
         "latitude": "46.2400", "longitude": "14.3600", "url": "https://mc-kranj.example.org/robotika",
         "languages": "sl"}  # fmt: skip
GOTEBORG = {"latitude": "57.7060", "longitude": "11.9800"}


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TILE_URL", LOCAL_TILE_URL)
    return database_url


@pytest.fixture
def opportunities(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        template_row(**KRANJ),
        template_row(**GOTEBORG, title=IMG, provider=SCRIPT_END, url="https://goteborg.example.org/kod"),
        template_row(**GOTEBORG, title="Pending club", url="https://pending.example.org/"),
    ]
    assert import_records(engine, rows[:2], geocoder, publish=True).stored == 2
    assert import_records(engine, rows[2:], geocoder).stored == 1


def write_map(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    out = tmp_path / "map.html"
    assert main(["map", *args, str(out)]) == 0
    return out.read_text(encoding="utf-8"), capsys.readouterr().out


@pytest.mark.usefixtures("opportunities")
def test_writes_one_self_contained_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, printed = write_map(tmp_path, capsys)
    assert printed == f"wrote 2 opportunities to {tmp_path / 'map.html'}\n"
    assert "Robotika" in page
    assert "Pending club" not in page
    # Leaflet and markercluster are inside the page; the Leaflet style sheet's images are data: URIs.
    assert "<script src=" not in page
    assert 'rel="stylesheet"' not in page
    assert "L.markerClusterGroup" in page
    assert "leaflet-1.9.4/leaflet.js" in page  # the comment naming the inlined file
    assert "url(images/" not in page
    assert "url(data:image/png;base64," in page
    # The only web addresses: the tile template, the attribution link and the registration links.
    settings = load_settings()
    allowed = {settings.tile_url, *URL.findall(settings.tile_attribution), *VENDORED_URLS,
               "https://mc-kranj.example.org/robotika", "https://goteborg.example.org/kod"}  # fmt: skip
    assert set(URL.findall(page)) <= allowed
    assert settings.tile_url in page


@pytest.mark.usefixtures("opportunities")
def test_provider_text_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, _ = write_map(tmp_path, capsys)
    assert IMG not in page
    assert SCRIPT_END not in page
    assert "alert(2)" in page  # the provider is there, in its escaped form
    assert page.count("</script>") == page.count("<script")


@pytest.mark.usefixtures("opportunities")
@pytest.mark.parametrize(
    ("args", "shown", "hidden"),
    [
        (["--city", "Kranj"], "Robotika", "goteborg.example.org"),
        (["--city", "göteborg"], "goteborg.example.org", "Robotika"),
        (["--activity-language", "sl"], "Robotika", "goteborg.example.org"),
        (["--near", "46.24,14.36", "--radius-km", "5"], "Robotika", "goteborg.example.org"),
    ],
)
def test_filters_apply(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], shown: str, hidden: str) -> None:
    page, printed = write_map(tmp_path, capsys, *args)
    assert printed.startswith("wrote 1 opportunities to ")
    assert shown in page
    assert hidden not in page


@pytest.mark.usefixtures("opportunities")
def test_language_and_linked_assets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, _ = write_map(tmp_path, capsys, "--language", "sv", "--asset-base", "https://www.example.se/karta/static")
    assert json.dumps("Digitala färdigheter") in page  # popups travel as JSON, non-ASCII as \u escapes
    assert "Digital skills" not in page
    assert '<script src="https://www.example.se/karta/static/vendor/leaflet-1.9.4/leaflet.js"></script>' in page
    assert "leaflet.markercluster.js" in page
    assert "L.Map=" not in page.replace(" ", "")  # Leaflet itself is linked, not inlined


@pytest.mark.usefixtures("opportunities")
@pytest.mark.parametrize(
    ("language", "title"), [("en", "Learning opportunities"), ("pl", "Zajęcia edukacyjne"), ("sv", "Aktiviteter för lärande")]
)
def test_page_has_its_language_and_a_translated_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], language: str, title: str
) -> None:
    page, _ = write_map(tmp_path, capsys, "--language", language)
    assert page.startswith(f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<title>{title}</title>')
    assert page.count("<title>") == 1
    # The Explore map's frame is Streamlit's document, not folium's page: the map's script sets its language.
    assert f'document.documentElement.setAttribute("lang", "{language}");' in page
    base = base_map(tile_url=LOCAL_TILE_URL, tile_attribution="t", asset_base="/app/static", language=language)
    assert f'document.documentElement.setAttribute("lang", "{language}");' in base.get_root().render()


def test_notes_when_only_the_first_results_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: Engine, geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = template_row(title="Webinar", mode="online", address="", latitude="", longitude="", city="Göteborg")
    import_records(engine, [template_row(**KRANJ), template_row(**GOTEBORG), online], geocoder, publish=True)
    monkeypatch.setattr("opportunities.explore.search.MAX_LIMIT", 2)
    out = tmp_path / "map.html"
    assert main(["map", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"wrote 2 opportunities to {out}\n"
    assert "3 opportunities match; the map shows the first 2" in captured.err


def test_empty_result_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, printed = write_map(tmp_path, capsys, "--city", "Nowhere")
    assert printed.startswith("wrote 0 opportunities")
    assert "L.map(" in page.replace('"', "")
    with pytest.raises(SystemExit):
        main(["map", "--language", "de", str(tmp_path / "x.html")])
    with pytest.raises(SystemExit):
        main(["map", "--inline-assets", "--asset-base", "/static", str(tmp_path / "x.html")])
    assert main(["map", "--age", "200", str(tmp_path / "x.html")]) == 2
    assert "age" in capsys.readouterr().err


@pytest.mark.browser
@pytest.mark.usefixtures("opportunities")
def test_written_file_draws_pins_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str], browser: Browser) -> None:
    write_map(tmp_path, capsys)
    page = browser.new_page(viewport={"width": 900, "height": 600})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.goto((tmp_path / "map.html").as_uri())
    page.locator(".col-pin, .marker-cluster").first.wait_for(timeout=10_000)
    assert (page.evaluate("document.documentElement.lang"), page.title()) == ("en", "Learning opportunities")
    assert page.locator(".col-pin, .marker-cluster").count() >= 2  # Kranj and Göteborg are far apart
    page.locator(".col-legend").wait_for()
    popups = []
    for pin in page.locator(".col-pin").all():
        pin.click()
        popups.append(page.locator(".leaflet-popup-content").last.inner_text())  # last: the one just opened
    assert any(IMG in text for text in popups)  # shown as text, not run as markup
    page.screenshot(path=screenshot_path("map-command"))
    page.close()
    assert errors == []
    assert outside_requests(requested) == []
    assert any(url.startswith("http://127.0.0.1:9/") for url in requested)  # tiles were asked for, locally


def test_pins_wear_the_topic_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: Engine, geocoder: Geocoder
) -> None:
    """``--topic digital-skills`` colours an arts-and-digital club by digital skills, not arts."""
    row = template_row(**KRANJ, topics="arts-culture;digital-skills")
    assert import_records(engine, [row], geocoder, publish=True).stored == 1
    digital, arts = f"col-topic-{TOPICS.index('digital-skills')}", f"col-topic-{TOPICS.index('arts-culture')}"
    filtered, _ = write_map(tmp_path, capsys, "--topic", "digital-skills")
    assert f'"{digital}"' in filtered and f'"{arts}"' not in filtered
    unfiltered, _ = write_map(tmp_path, capsys)
    assert f'"{arts}"' in unfiltered and f'"{digital}"' not in unfiltered
