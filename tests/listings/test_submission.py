"""The submission form's values: checked by the import's rules, messages per field in the user's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time
from decimal import Decimal

import pytest

from opportunities.errors import RecordError
from opportunities.i18n import field_label
from opportunities.listings.submission import WIDGET_FIELDS, FormValues, check_form
from opportunities.places.gazetteer import Location
from opportunities.validation import parse_opportunity
from opportunities.vocabulary import Precision, Status

TODAY = date(2026, 11, 23)
GOOD = FormValues(
    title="Kodklubb för nybörjare", description="Lär dig Python; ta med dator.", provider="Stadsbiblioteket Göteborg",
    city="Göteborg", country="SE", address="Götaplatsen 3, 412 56 Göteborg", topics=("digital-skills",),
    age_min=12, age_max=16, mode="in-person", type="club", start_day=date(2026, 12, 2), start_time=time(17, 0),
    end_day=date(2027, 5, 26), schedule="FREQ=WEEKLY;BYDAY=WE", languages=("sv", "en"), url="https://example.org/kod",
    contact_email="info@example.org",
)  # fmt: skip


def test_good_values_make_the_opportunity_an_import_row_would() -> None:
    check = check_form(GOOD, language="en", today=TODAY)
    assert check.valid and check.messages == {}
    assert check.opportunity == parse_opportunity(GOOD.to_record(), today=TODAY)
    assert check.opportunity is not None and check.opportunity.status is Status.PENDING


@pytest.mark.parametrize(
    ("change", "field", "language", "message"),
    [
        ({"title": ""}, "title", "sv", "Det här måste fyllas i."),
        ({"title": ""}, "title", "pl", "To pole jest wymagane."),
        ({"title": "x" * 201}, "title", "pl", "Tekst ma 201 znaków; dozwolone jest najwyżej 200."),
        ({"title": "★★★"}, "title", "sv", "'★★★' har inga bokstäver eller siffror; skriv namnet med ord"),
        ({"title": "Kod\x07klubb"}, "title", "pl", "Tekst zawiera niewidoczny znak sterujący (U+0007) na pozycji 4; usuń go."),
        ({"topics": ()}, "topics", "sv", "Det här måste fyllas i."),
        ({"age_min": 14, "age_max": 10}, "age_max", "pl", "Najwyższy wiek (10) jest niższy niż najniższy (14)."),
        ({"age_min": 130}, "age_min", "sv", "130 ligger utanför 0–120 år"),
        ({"end_day": date(2026, 11, 1)}, "end", "pl", "Koniec jest przed początkiem."),
        ({"start_day": date(1999, 12, 31), "end_day": None}, "start", "sv", "'1999-12-31 17:00' är före 1 jan. 2000; kontrollera året"),
        ({"start_day": date(2037, 1, 1), "end_day": None}, "start", "pl",
         "To data po 23 lis 2036: początek może być najwyżej 10 lat naprzód, a cykl może trwać najwyżej 10 lat."),
        ({"schedule": "FREQ=WEEKLY;BYDAY=WE;UNTIL=20261201"}, "schedule", "sv",
         "Schemat har inget tillfälle mellan start och slut; jämför dess dagar med startdatumet."),
        ({"schedule": "FREQ=DAILY;COUNT=1000", "end_day": None, "start_day": date(2026, 12, 2)}, "schedule", "en", ""),
        ({"cost": "fifty"}, "cost", "pl", "'fifty' nie jest ceną; wpisz liczbę, np. 50, albo 0 lub free"),
        ({"cost": "50"}, "currency", "sv", "Välj prisets valuta."),
        ({"url": "javascript:alert(1)"}, "url", "pl", "'javascript:alert(1)' nie jest adresem internetowym zaczynającym się od http:// lub https://"),
        ({"contact_email": "info at example"}, "contact_email", "sv", "'info at example' är ingen e-postadress"),
        ({"latitude": 57.7}, "latitude", "pl", "podaj szerokość i długość geograficzną albo żadnej"),
        ({"mode": ""}, "mode", "sl", "To polje je obvezno."),
    ],
)  # fmt: skip
def test_each_problem_is_a_message_under_its_field(change: dict[str, object], field: str, language: str, message: str) -> None:
    check = check_form(replace(GOOD, **change), language=language, today=TODAY)  # type: ignore[arg-type]
    if not message:  # accepted: 1000 daily sessions fit in ten years
        assert check.valid
        return
    assert not check.valid
    assert message in check.messages[field]


def test_every_problem_is_reported_at_once() -> None:
    bad = replace(GOOD, title="", age_min=None, url="ftp://x", contact_email="nobody")
    check = check_form(bad, language="pl", today=TODAY)
    assert set(check.messages) == {"title", "age_min", "url", "contact_email"}


def test_field_labels_are_translated() -> None:
    assert field_label("age_min", "sv") == "Lägsta ålder"
    assert field_label("mystery", "sv") == "mystery"


def test_hostile_text_is_kept_as_text() -> None:
    hostile = replace(GOOD, title='<script>alert("x")</script> \u202e Кодклуб Ωmega عربي', description='=HYPERLINK("http://x")')
    check = check_form(hostile, language="en", today=TODAY)
    assert check.opportunity is not None
    assert check.opportunity.title == hostile.title
    assert check.opportunity.description == hostile.description


@pytest.mark.parametrize(
    "values",
    [
        GOOD,
        FormValues(),
        replace(GOOD, start_time=None, end_day=None, cost="12,50", currency="SEK", latitude=57.6969, longitude=11.9865),
    ],
)
def test_values_round_trip_through_a_draft(values: FormValues) -> None:
    assert FormValues.from_json_dict(values.to_json_dict()) == values


def test_a_damaged_draft_still_opens_with_what_is_readable() -> None:
    restored = FormValues.from_json_dict(
        {"title": "Kodklubb", "start_day": "not a day", "age_min": "x", "surprise": 1, "topics": ["arts-culture"]}
    )
    assert restored == FormValues(title="Kodklubb", topics=("arts-culture",))


def test_a_stored_listing_fills_the_form() -> None:
    opp = parse_opportunity(replace(GOOD, cost="50", currency="SEK").to_record(), today=TODAY)
    values = FormValues.from_opportunity(opp)
    assert values.cost == "50.00" and values.start_time == time(17, 0) and values.end_time is None
    again = check_form(values, language="en", today=TODAY).opportunity
    assert again is not None and again.cost == Decimal("50.00") and again.start == opp.start


def test_a_pin_goes_into_the_values() -> None:
    values = GOOD.with_pin(Location(57.6969, 11.9865, Precision.PROVIDED, "provider-map", 8))
    assert (values.latitude, values.longitude, values.location_uncertainty_m) == (57.6969, 11.9865, 8)
    assert GOOD.with_pin(None).latitude is None
    with pytest.raises(RecordError):
        parse_opportunity(replace(values, longitude=None).to_record(), today=TODAY)


@pytest.mark.parametrize(
    "values", [GOOD, FormValues(), replace(GOOD, mode="", type="", country="", cost="12,50", currency="SEK")]
)
def test_values_round_trip_through_the_form_s_widgets(values: FormValues) -> None:
    widgets = values.to_widgets()
    assert set(widgets) == set(WIDGET_FIELDS)
    assert FormValues.from_widgets(widgets, provider=values.provider, schedule=values.schedule) == values


def test_widgets_hold_lists_empty_text_and_no_choice_as_streamlit_does() -> None:
    widgets = FormValues().to_widgets()
    assert widgets["topics"] == [] and widgets["languages"] == []
    assert widgets["title"] == "" and widgets["cost"] == ""
    assert widgets["mode"] is None and widgets["type"] is None and widgets["country"] is None
    assert widgets["age_min"] is None and widgets["start_day"] is None


def test_values_from_widgets_read_no_choice_as_empty() -> None:
    widgets = {
        **GOOD.to_widgets(),
        "mode": None,
        "type": None,
        "country": None,
        "currency": None,
        "topics": None,
        "languages": None,
    }
    values = FormValues.from_widgets(widgets, provider="Stadsbiblioteket Göteborg", schedule="FREQ=DAILY")
    assert (values.mode, values.type, values.country, values.currency) == ("", "", "", "")
    assert values.topics == () and values.languages == ()
    assert values.provider == "Stadsbiblioteket Göteborg" and values.schedule == "FREQ=DAILY"
    assert values.latitude is None  # the pin is added with with_pin
