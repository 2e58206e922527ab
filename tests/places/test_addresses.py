"""The address parser: Swedish, Slovenian and Polish ways of writing an address (rules in
opportunities/addresses.py)."""

from __future__ import annotations

import pytest

from opportunities.places.addresses import (
    HouseNumber,
    normalise_postcode,
    parse_address,
    parse_house_number,
    street_key,
    town_key,
)


@pytest.mark.parametrize(
    ("text", "country", "street", "number", "suffix", "postcode", "town"),
    [
        # Polish: prefixes, full words, titles, flats, postcode before or after the town
        ("ul. Marszałkowska 10/12 m. 5, 00-590 Warszawa", "PL", "marszalkowska", 10, "", "00590", "warszawa"),
        ("Marszałkowska 10", "PL", "marszalkowska", 10, "", "", ""),
        ("ul.Marszałkowska 10", "PL", "marszalkowska", 10, "", "", ""),
        ("ULICA MARSZAŁKOWSKA 10, WARSZAWA", "PL", "marszalkowska", 10, "", "", "warszawa"),
        ("Al. Jerozolimskie 123A, Warszawa 02-017", "PL", "jerozolimskie", 123, "a", "02017", "warszawa"),
        ("Aleje Jerozolimskie 123 a", "PL", "jerozolimskie", 123, "a", "", ""),
        ("aleja Jerozolimskie 123a", "PL", "jerozolimskie", 123, "a", "", ""),
        ("Plac Defilad 1, 00-901 Warszawa", "PL", "defilad", 1, "", "00901", "warszawa"),
        ("pl. Defilad 1 (Pałac Kultury), 00901 Warszawa", "PL", "defilad", 1, "", "00901", "warszawa"),
        ("os. Przyjaźń 2-4, 01-381 Warszawa", "PL", "przyjazn", 2, "", "01381", "warszawa"),
        ("Osiedle Przyjaźń 2", "PL", "przyjazn", 2, "", "", ""),
        ("ul. gen. Józefa Zajączka 7, 01-518 Warszawa", "PL", "jozefa zajaczka", 7, "", "01518", "warszawa"),
        ("ul. 3 Maja 5", "PL", "3 maja", 5, "", "", ""),
        ('Aleja "Solidarności" 72', "PL", "solidarnosci", 72, "", "", ""),
        ("ul. Karmelicka 9 lok. 3, 00-163 Warszawa, Polska", "PL", "karmelicka", 9, "", "00163", "warszawa"),
        ("ul. Grzybowska nr 35", "PL", "grzybowska", 35, "", "", ""),
        ("Szkoła Podstawowa nr 5, ul. Klonowa 16, 00-591 Warszawa", "PL", "klonowa", 16, "", "00591", "warszawa"),
        ("ul. Wiejska 31 i 33", "PL", "wiejska", 31, "", "", ""),
        ("ul. Puławska 16 E/F", "PL", "pulawska", 16, "e", "", ""),
        ("ul. Łódzka 4, 00 901 Warszawa", "PL", "lodzka", 4, "", "00901", "warszawa"),
        # Slovenian: c./cesta, ul./ulica, trg; postcode with or without SI-; post office with a district
        ("Peričeva ulica 4, 1000 Ljubljana", "SI", "periceva", 4, "", "1000", "ljubljana"),
        ("Peričeva ul. 4, 1000 Ljubljana", "SI", "periceva", 4, "", "1000", "ljubljana"),
        ("Peričeva 4 1000 Ljubljana", "SI", "periceva", 4, "", "1000", "ljubljana"),
        ("Koroška c. 13, 4000 Kranj, Slovenija", "SI", "koroska", 13, "", "4000", "kranj"),
        ("KOROSKA CESTA 13, KRANJ", "SI", "koroska", 13, "", "", "kranj"),
        ("Trg generala Maistra 1, SI-2000 Maribor", "SI", "trg maistra", 1, "", "2000", "maribor"),
        ("Trg gen. Maistra 1, 2000 Maribor", "SI", "trg maistra", 1, "", "2000", "maribor"),
        ("Prešernov trg 1", "SI", "presernov trg", 1, "", "", ""),
        ("Celovška cesta 150 a, 1210 Ljubljana - Šentvid", "SI", "celovska", 150, "a", "1210", "ljubljana"),
        ("Gimnazija Bežigrad, Peričeva ulica 4, 1000 Ljubljana", "SI", "periceva", 4, "", "1000", "ljubljana"),
        ("Trstenik 8, 4204 Golnik", "SI", "trstenik", 8, "", "4204", "golnik"),
        ("Ljubljana 1000, Metelkova ulica 9", "SI", "metelkova", 9, "", "", ""),
        # Swedish: g./gatan, v./vägen, postcode NNN NN before the town, flats and floors
        ("Drottninggatan 5 B, 412 56 Göteborg", "SE", "drottninggatan", 5, "b", "41256", "goteborg"),
        ("Drottningg. 5 B, 412 56 Göteborg", "SE", "drottninggatan", 5, "b", "41256", "goteborg"),
        ("Drottninggatan 5b, 41256 GÖTEBORG", "SE", "drottninggatan", 5, "b", "41256", "goteborg"),
        ("Storv. 7, SE-824 30 Hudiksvall", "SE", "storvagen", 7, "", "82430", "hudiksvall"),
        ("Storvägen 7", "SE", "storvagen", 7, "", "", ""),
        ("Kungsgatan 2-4, 411 19 Göteborg", "SE", "kungsgatan", 2, "", "41119", "goteborg"),
        ("Storgatan 5, lgh 1101, 3 tr", "SE", "storgatan", 5, "", "", ""),
        ("Stadsbiblioteket, Götaplatsen 3, 412 56 Göteborg, Sverige", "SE", "gotaplatsen", 3, "", "41256", "goteborg"),
        ("Storgata 14a", "SE", "storgatan", 14, "a", "", ""),
        # Street names with a comma, a street called only by its type, two-letter suffixes
        ("Rožna dolina, cesta IV 45, 1000 Ljubljana", "SI", "rozna dolina iv", 45, "", "1000", "ljubljana"),
        ("Osiedle 11, 03-149 Warszawa", "PL", "osiedle", 11, "", "03149", "warszawa"),
        ("Skarbka z Gór 45CD, 03-287 Warszawa", "PL", "skarbka z gor", 45, "cd", "03287", "warszawa"),
    ],
)
def test_addresses_written_in_many_ways(text: str, country: str, street: str, number: int, suffix: str,
                                        postcode: str, town: str) -> None:  # fmt: skip
    parsed = parse_address(text, country)
    assert parsed.streets[0] == street or street in parsed.streets
    assert parsed.house is not None and (parsed.house.number, parsed.house.suffix) == (number, suffix)
    assert (parsed.postcode, parsed.town) == (postcode, town)


@pytest.mark.parametrize(
    ("text", "country", "streets"),
    [
        # A venue name before the street without a comma: the street is found among its tails.
        ("Gimnazija Bežigrad Peričeva ulica 4", "SI", ("gimnazija bezigrad periceva", "bezigrad periceva", "periceva")),
        ("Storgatan", "SE", ("storgatan",)),
        ("ul. Marszałkowska", "PL", ("marszalkowska",)),
    ],
)
def test_street_candidates(text: str, country: str, streets: tuple[str, ...]) -> None:
    assert parse_address(text, country).streets == streets


@pytest.mark.parametrize(
    ("text", "country"),
    [("", "SI"), ("1000 Ljubljana", "SI"), ("00-901", "PL"), ("12345", "SE"), (",,;", "PL")],
)
def test_no_street(text: str, country: str) -> None:
    parsed = parse_address(text, country)
    assert parsed.streets == () and parsed.house is None


def test_a_street_without_a_number() -> None:
    parsed = parse_address("Koroška cesta, 4000 Kranj", "SI")
    assert parsed.streets == ("koroska",) and parsed.house is None and parsed.postcode == "4000"


@pytest.mark.parametrize(
    ("name", "country", "key"),
    [
        ("ul. Marszałkowska", "PL", "marszalkowska"),
        ("Marszałkowska", "PL", "marszalkowska"),
        ("Aleje Jerozolimskie", "PL", "jerozolimskie"),
        ("Aleja Aleje Jerozolimskie", "PL", "jerozolimskie"),
        ("ks. Ignacego Skorupki", "PL", "ignacego skorupki"),
        ("Św. Barbary", "PL", "barbary"),
        ("Plac", "PL", "plac"),  # nothing but a type word: kept
        ("Koroška cesta", "SI", "koroska"),
        ("Koroška c.", "SI", "koroska"),
        ("Ulica Pohorskega bataljona", "SI", "pohorskega bataljona"),
        ("Cesta v Mestni log", "SI", "v mestni log"),
        ("Trg OF", "SI", "trg of"),
        ("Götaplatsen", "SE", "gotaplatsen"),
        ("Första Långgatan", "SE", "forsta langgatan"),
        ("Första Långg.", "SE", "forsta langgatan"),
        ("Kungsv.", "SE", "kungsvagen"),
        ("Kungsväg", "SE", "kungsvagen"),
        ("Улица Ленина", "PL", "улица ленина"),  # other scripts are kept, folded
    ],
)
def test_street_keys(name: str, country: str, key: str) -> None:
    assert street_key(name, country) == key


@pytest.mark.parametrize(
    ("text", "country", "digits"),
    [
        ("412 56", "SE", "41256"), ("41256", "SE", "41256"), ("SE-412 56", "SE", "41256"), ("4125", "SE", ""),
        ("1000", "SI", "1000"), ("SI-1000", "SI", "1000"), ("10000", "SI", ""),
        ("00-901", "PL", "00901"), ("00 901", "PL", "00901"), ("00901", "PL", "00901"), ("00–901", "PL", "00901"),
        ("0-901", "PL", ""),
    ],
)  # fmt: skip
def test_postcodes(text: str, country: str, digits: str) -> None:
    assert normalise_postcode(text, country) == digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14", HouseNumber(14, "", "14")), ("14a", HouseNumber(14, "a", "14a")), ("79 B", HouseNumber(79, "b", "79 B")),
        ("17/19", HouseNumber(17, "", "17/19")), ("2-4", HouseNumber(2, "", "2-4")),
        ("16 E/F", HouseNumber(16, "e", "16 E/F")), ("31 i 33", HouseNumber(31, "", "31 i 33")),
        ("13, 13A", HouseNumber(13, "", "13, 13A")), ("45CD", HouseNumber(45, "cd", "45CD")),
        ("bb", None), ("", None), ("abc 4", None),
    ],
)  # fmt: skip
def test_house_numbers(text: str, expected: HouseNumber | None) -> None:
    assert parse_house_number(text) == expected


@pytest.mark.parametrize(
    ("name", "key"),
    [("Ljubljana - Šentvid", "ljubljana"), ("Ljubljana-Polje", "ljubljana"), ("Warszawa", "warszawa"),
     ("Novo mesto", "novo mesto"), ("GÖTEBORG", "goteborg")],
)  # fmt: skip
def test_town_keys(name: str, key: str) -> None:
    assert town_key(name) == key


@pytest.mark.parametrize(
    ("text", "country", "first_street", "number"),
    [
        ("Улица Ленина 5, 00-901 Москва", "PL", "улица ленина", 5),
        ("Οδός Αθηνάς 12, 105 51 Αθήνα", "SE", "οδοσ αθηνασ", 12),
        ("شارع الملك 5", "SI", "شارع الملك", 5),
        ('=HYPERLINK("http://x") 5', "PL", "hyperlink", 5),
        ("Straße 5ß", "SE", "strasse", 5),
        ("ul. Łąkowa 5\n00-901 Warszawa", "PL", "lakowa", 5),
        ("a " + "1/" * 150 + "x", "PL", "a", 1),
        ("Fundacja " + "bardzo " * 200 + "Długa 7", "PL", "bardzo " * 9 + "dluga", 7),
    ],
)
def test_odd_and_hostile_addresses(text: str, country: str, first_street: str, number: int) -> None:
    parsed = parse_address(text, country)
    assert parsed.streets[0] == first_street.strip() and parsed.house is not None and parsed.house.number == number
    assert len(parsed.streets) <= 10


@pytest.mark.parametrize("text", ["", "   ", ",,,", "1 " * 150, "x" + " -1" * 150 + "-", "\x00\x01"])
def test_garbage_has_no_street_number(text: str) -> None:
    parsed = parse_address(text, "PL")
    assert parsed.house is None
