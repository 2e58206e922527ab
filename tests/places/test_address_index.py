"""The offline address index: loading CSV and OSM files, rejections that change nothing,
replacing an area, lookups with honest precision, and the geocoder's address step."""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

import pytest

from cli import commands as cli
from opportunities.errors import AddressFileError
from opportunities.places.address_index import (
    ADDRESS_POINT_UNCERTAINTY_M,
    MAX_EXTRAPOLATION_M,
    NEAR_NUMBER_UNCERTAINTY_M,
    AddressIndex,
    area_stats,
    index_version,
    load_files,
)
from opportunities.places.gazetteer import haversine_km
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import PIN_MAX_UNCERTAINTY_M, Precision, is_approximate

DATA = Path(__file__).resolve().parents[1] / "data"
OSM = DATA / "addresses_kranj.osm"
HEADER = "street,housenumber,postcode,city,lat,lon\n"
# Real points from ../shared/data/addresses (GURS RPE, CC BY 4.0; RSPO): see tests/data/README.md.
KRANJ = HEADER + (
    "Koroška cesta,13,4000,Kranj,46.24261,14.35483\n"
    "Gosposvetska ulica,10,4000,Kranj,46.2489,14.35325\n"
    "Bleiweisova cesta,6,4000,Kranj,46.24613,14.35528\n"
    "Bleiweisova cesta,16,4000,Kranj,46.24823,14.355\n"
)
WARSAW = HEADER + (
    "Plac Defilad,1,00-901,Warszawa,52.23192,21.00678\n"
    "Klonowa,16,00-591,Warszawa,52.212407,21.02373\n"
    "Krakowskie Przedmieście,24,00-927,Warszawa,52.23956,21.01742\n"
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "addresses"


def _loaded(index_dir: Path) -> AddressIndex:
    index = AddressIndex.open(index_dir)
    assert index is not None
    return index


def test_csv_and_osm_files_load_into_one_index(tmp_path: Path, index_dir: Path, geocoder: Geocoder) -> None:
    seen: list[tuple[str, int]] = []
    reports = load_files([_write(tmp_path, "kranj.csv", KRANJ), _write(tmp_path, "warszawa.csv", WARSAW), OSM],
                         index_dir, geocoder.gazetteer, progress=lambda name, n: seen.append((name, n)))  # fmt: skip
    assert [(r.area, r.country, r.points) for r in reports] == [
        ("kranj", "SI", 4),
        ("warszawa", "PL", 3),
        ("addresses-kranj", "SI", 7),
    ]
    assert {name for name, _ in seen} == {"kranj.csv", "warszawa.csv", "addresses_kranj.osm"}
    index = _loaded(index_dir)
    assert index.size == 14
    found = index.locate("Plac Defilad 1, 00-901 Warszawa", "PL", city="Warszawa")
    assert found is not None and (found.latitude, found.longitude, found.precision) == (52.23192, 21.00678, Precision.ADDRESS)
    # The OSM building (way 100) is at the middle of its corners.
    way = index.locate("Koroška cesta 13", "SI", city="Kranj")
    assert way is not None and way.precision is Precision.ADDRESS
    stats = {a.area: a for a in area_stats(index_dir)}
    assert stats["warszawa"].cities == {"Warszawa": 3} and stats["addresses-kranj"].cities["Britof"] == 1


def test_an_osm_pbf_file(tmp_path: Path, index_dir: Path, geocoder: Geocoder) -> None:
    import osmium

    pbf = tmp_path / "kranj.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(OSM)):
            writer.add(obj)
    report = load_files([pbf], index_dir, geocoder.gazetteer)[0]
    assert (report.area, report.points) == ("kranj", 7)
    found = _loaded(index_dir).locate("Koroška cesta 13", "SI", city="Kranj")
    assert found is not None and haversine_km(found.latitude, found.longitude, 46.2426, 14.3548) < 0.005


def test_a_semicolon_file_with_a_bom_and_decimal_commas(tmp_path: Path, index_dir: Path, geocoder: Geocoder) -> None:
    text = "\ufeffStreet;HouseNumber;Postcode;City;Lat;Lon\nKoroška cesta;13;4000;Kranj;46,24261;14,35483\n"
    load_files([_write(tmp_path, "semi.csv", text)], index_dir, geocoder.gazetteer)
    assert _loaded(index_dir).locate("Koroška c. 13", "SI", city="Kranj") is not None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("street,number,lat,lon\nA,1,46.2,14.3\n", "missing column(s) housenumber, postcode, city"),
        (HEADER + "Koroška cesta,13,4000,Kranj,north,14.35\n", "lat is not a number on line(s) 2"),
        (HEADER + "Koroška cesta,13,4000,Kranj,46.24,\n", "lon is not a number on line(s) 2"),
        # Slovenian national grid (D96/TM, EPSG:3794) in metres
        (HEADER + "Koroška cesta,13,4000,Kranj,121200.5,450300.2\n", "look projected"),
        # Warsaw in a Slovenian file, and swapped coordinates
        (KRANJ + "Plac Defilad,1,00-901,Warszawa,52.23192,21.00678\n", "lie far outside SI, the first at line 6"),
        (KRANJ + "Koroška cesta,15,4000,Kranj,14.35483,46.24261\n", "latitude and longitude look swapped"),
        (HEADER, "holds no address rows"),
        (HEADER + ",,,,46.24,14.35\n", "every street is empty"),
        (HEADER + "Koroška cesta,bb,4000,Kranj,46.24,14.35\n", "no row has both a street and a house number"),
    ],
)
def test_unusable_files_are_rejected_and_change_nothing(tmp_path: Path, index_dir: Path, geocoder: Geocoder,
                                                         text: str, reason: str) -> None:  # fmt: skip
    load_files([_write(tmp_path, "kranj.csv", KRANJ)], index_dir, geocoder.gazetteer)
    before = index_version(index_dir)
    bad = _write(tmp_path, "bad.csv", text)
    with pytest.raises(AddressFileError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load_files([_write(tmp_path, "good.csv", WARSAW), bad], index_dir, geocoder.gazetteer)
    assert index_version(index_dir) == before
    assert [a.area for a in area_stats(index_dir)] == ["kranj"]  # not even the good file of the batch


@pytest.mark.parametrize("columns", [201, 1_000_000])
def test_a_file_of_too_many_columns_is_refused_before_it_is_read(
    tmp_path: Path, index_dir: Path, geocoder: Geocoder, columns: int
) -> None:
    """A header of a million columns (a 10 MB file) took two minutes and 2.8 GB; now it is refused
    at once, in little memory."""
    extra = ",".join(f"c{i}" for i in range(columns - 6))
    row = "Koroška cesta,13,4000,Kranj,46.24,14.35" + "," * (columns - 6)
    wide = _write(tmp_path, "wide.csv", f"{HEADER.strip()},{extra}\n" + f"{row}\n" * 3)
    tracemalloc.start()
    try:
        with pytest.raises(AddressFileError, match="more than 200 columns"):
            load_files([wide], index_dir, geocoder.gazetteer)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024
    assert AddressIndex.open(index_dir) is None


def test_columns_beside_the_five_are_not_kept(tmp_path: Path, index_dir: Path, geocoder: Geocoder) -> None:
    notes = ",".join(f"note{i}" for i in range(150))
    kranj = KRANJ.splitlines()
    text = "\n".join([f"{kranj[0]},{notes}", *(f"{line}," + "," * 149 for line in kranj[1:])]) + "\n"
    load_files([_write(tmp_path, "kranj.csv", text)], index_dir, geocoder.gazetteer)
    assert [a.area for a in area_stats(index_dir)] == ["kranj"]


def test_a_file_that_is_not_text_or_not_osm(tmp_path: Path, index_dir: Path, geocoder: Geocoder) -> None:
    binary = tmp_path / "latin1.csv"
    binary.write_bytes(HEADER.encode() + "Kärntner Straße,13,4000,Kranj,46.24,14.35\n".encode("latin-1"))
    with pytest.raises(AddressFileError, match="not UTF-8"):
        load_files([binary], index_dir, geocoder.gazetteer)
    broken = _write(tmp_path, "broken.osm", "<osm><node id='1' lat='46.2'")
    with pytest.raises(AddressFileError, match="cannot be read as OpenStreetMap data"):
        load_files([broken], index_dir, geocoder.gazetteer)
    with pytest.raises(AddressFileError, match="does not exist"):
        load_files([tmp_path / "missing.csv"], index_dir, geocoder.gazetteer)
    assert AddressIndex.open(index_dir) is None


def test_a_newer_file_of_the_same_area_replaces_its_points(tmp_path: Path, index_dir: Path, geocoder: Geocoder) -> None:
    first = _write(tmp_path, "kranj.csv", KRANJ)
    load_files([first], index_dir, geocoder.gazetteer)
    again = load_files([first], index_dir, geocoder.gazetteer)
    assert again[0].unchanged
    (tmp_path / "2027").mkdir()
    newer = _write(tmp_path / "2027", "kranj.csv", HEADER + "Koroška cesta,13,4000,Kranj,46.24262,14.35484\n")
    report = load_files([newer], index_dir, geocoder.gazetteer)[0]
    assert (report.area, report.points, report.replaced) == ("kranj", 1, 4)
    index = _loaded(index_dir)
    assert index.size == 1
    assert index.locate("Gosposvetska ulica 10", "SI", city="Kranj") is None
    moved = index.locate("Koroška cesta 13", "SI", city="Kranj")
    assert moved is not None and moved.latitude == 46.24262


@pytest.fixture
def kranj_osm(index_dir: Path, geocoder: Geocoder) -> AddressIndex:
    load_files([OSM], index_dir, geocoder.gazetteer)
    return _loaded(index_dir)


@pytest.mark.parametrize(
    ("address", "precision", "near", "max_uncertainty"),
    [
        ("Koroška cesta 1, 4000 Kranj", Precision.ADDRESS, (46.24100, 14.35500), ADDRESS_POINT_UNCERTAINTY_M),
        ("Koroška c. 5", Precision.ADDRESS, (46.24180, 14.35490), ADDRESS_POINT_UNCERTAINTY_M),
        # 6 has only 6a: the same building or the next
        ("Koroška cesta 6", Precision.STREET, (46.24190, 14.35530), NEAR_NUMBER_UNCERTAINTY_M),
        # 9 lies between 5 and 13 on the odd side: halfway
        ("Koroška cesta 9", Precision.STREET, (46.24220, 14.35485), 200),
        # no number: the street's middle, as wide as its known points reach
        ("Koroška cesta, Kranj", Precision.STREET, (46.24244, 14.35488), 1500),
        ("Britof 466", Precision.ADDRESS, (46.26430, 14.39496), ADDRESS_POINT_UNCERTAINTY_M),
    ],
)
def test_lookups_say_how_exactly_they_know(kranj_osm: AddressIndex, address: str, precision: Precision,
                                           near: tuple[float, float], max_uncertainty: int) -> None:  # fmt: skip
    found = kranj_osm.locate(address, "SI", city="Kranj", centre=(46.2437, 14.3556))
    assert found is not None and found.precision is precision
    assert haversine_km(found.latitude, found.longitude, *near) * 1000 < 15
    assert found.uncertainty_m <= max_uncertainty


def test_interpolation_is_as_uncertain_as_the_gap(kranj_osm: AddressIndex) -> None:
    # 15 lies between 13 and 21 (260 m apart): not a pin.
    found = kranj_osm.locate("Koroška cesta 15", "SI", city="Kranj")
    assert found is not None and found.precision is Precision.STREET
    assert found.uncertainty_m >= 100
    # 25 lies beyond 21, on along the line from 13 (which is 21's nearest known neighbour).
    beyond = kranj_osm.locate("Koroška cesta 25", "SI", city="Kranj")
    assert beyond is not None and beyond.method == "extrapolated" and beyond.latitude > 46.2450
    assert beyond.uncertainty_m > PIN_MAX_UNCERTAINTY_M and is_approximate(beyond.precision, beyond.uncertainty_m)
    # Far beyond: at most MAX_EXTRAPOLATION_M on.
    far = kranj_osm.locate("Koroška cesta 999", "SI", city="Kranj")
    assert far is not None and haversine_km(far.latitude, far.longitude, 46.24500, 14.35450) <= MAX_EXTRAPOLATION_M / 1000 + 0.01


def test_a_street_name_in_two_parts_of_a_town(index_dir: Path, tmp_path: Path, geocoder: Geocoder) -> None:
    # Warsaw has an Orla in Śródmieście and another in Wesoła (05-075), 17 km apart.
    load_files(
        [_write(tmp_path, "warszawa.csv", WARSAW + "Orla,11,00-143,Warszawa,52.24231,20.99825\n")], index_dir, geocoder.gazetteer
    )
    located = geocoder.with_addresses(AddressIndex.open(index_dir))
    wesola = located.locate(country="PL", city="Warszawa", address="ul. Orla 10, 05-075 Warszawa")
    assert wesola.precision is Precision.POSTCODE  # not the Orla of Śródmieście
    centre = located.locate(country="PL", city="Warszawa", address="ul. Orla 9, 00-143 Warszawa")
    assert (centre.precision, centre.source) == (Precision.STREET, "addresses:warszawa:middle")


@pytest.mark.parametrize(
    ("address", "city", "centre"),
    [
        ("Koroška cesta 13", "Maribor", (46.5547, 15.6467)),  # the same street name in another town
        ("Koroška cesta 13, 2000 Maribor", "", None),
        ("Neznana ulica 4", "Kranj", (46.2437, 14.3556)),
        ("4000 Kranj", "Kranj", None),
    ],
)
def test_no_match_outside_the_scope(kranj_osm: AddressIndex, address: str, city: str,
                                    centre: tuple[float, float] | None) -> None:  # fmt: skip
    assert kranj_osm.locate(address, "SI", city=city, centre=centre) is None


def test_the_country_scopes_the_street(kranj_osm: AddressIndex) -> None:
    assert kranj_osm.locate("Koroška cesta 13", "PL", city="Kranj") is None


def test_geocoder_places_addresses_before_postcodes(index_dir: Path, tmp_path: Path, geocoder: Geocoder) -> None:
    load_files([_write(tmp_path, "kranj.csv", KRANJ)], index_dir, geocoder.gazetteer)
    with_index = geocoder.with_addresses(AddressIndex.open(index_dir))
    found = with_index.locate(country="SI", city="Kranj", address="Gimnazija Kranj, Koroška cesta 13, 4000 Kranj")
    assert (found.precision, found.source, found.uncertainty_m) == (
        Precision.ADDRESS,
        "addresses:kranj",
        ADDRESS_POINT_UNCERTAINTY_M,
    )
    assert not is_approximate(found.precision, found.uncertainty_m)
    # Without the index, or for a street it does not know, the postcode step as before.
    without = geocoder.locate(country="SI", city="Kranj", address="Koroška cesta 13, 4000 Kranj")
    assert without.precision is Precision.POSTCODE
    other = with_index.locate(country="SI", city="Kranj", address="Neznana ulica 4, 4000 Kranj")
    assert other.precision is Precision.POSTCODE
    # Given coordinates still come first.
    given = with_index.locate(country="SI", city="Kranj", address="Koroška cesta 13", latitude=46.25, longitude=14.36)
    assert given.precision is Precision.PROVIDED
    query = with_index.geocode_query("Koroška cesta 13, 4000 Kranj", "SI")
    assert query.precision is Precision.ADDRESS


def test_a_street_given_by_the_last_word_of_its_name(index_dir: Path, tmp_path: Path, geocoder: Geocoder) -> None:
    rows = HEADER + (
        "gen. Józefa Zajączka,7,01-518,Warszawa,52.26109,20.99208\n"
        "ks. Ignacego Skorupki,8,00-546,Warszawa,52.2259,21.01668\n"
        "Jana Skorupki,3,03-100,Warszawa,52.3000,21.0100\n"  # made up: a second Skorupki, far north
    )
    load_files([_write(tmp_path, "warszawa.csv", rows)], index_dir, geocoder.gazetteer)
    index = _loaded(index_dir)
    found = index.locate("ul. Zajączka 7, 01-518 Warszawa", "PL", city="Warszawa")
    assert found is not None and (found.precision, found.latitude) == (Precision.ADDRESS, 52.26109)
    # The postcode says which Skorupki; without it, two streets end in the word: no guess.
    by_postcode = index.locate("ul. Skorupki 8, 00-546 Warszawa", "PL", city="Warszawa")
    assert by_postcode is not None and by_postcode.latitude == 52.2259
    assert index.locate("ul. Skorupki 8", "PL", city="Warszawa", centre=(52.2297, 21.0122)) is None
    # A full name is never matched by its last word alone the other way round.
    assert index.locate("Józefa Skorupki 8", "PL", city="Warszawa") is None


@pytest.mark.parametrize(
    "address",
    ["Klonowa 16, 00-591 Warszawa", "Klonowa 16, 00-592 Warszawa", "Klonowa 16, Warszawa", "Klonowa 16"],
)
def test_the_house_with_its_postcode_another_one_or_none(index_dir: Path, tmp_path: Path, geocoder: Geocoder,
                                                        address: str) -> None:  # fmt: skip
    # A long street has several postcodes: a provider's may differ from the register's.
    load_files([_write(tmp_path, "warszawa.csv", WARSAW)], index_dir, geocoder.gazetteer)
    found = _loaded(index_dir).locate(address, "PL", city="Warszawa", centre=(52.2297, 21.0122))
    assert found is not None and (found.precision, found.latitude) == (Precision.ADDRESS, 52.212407)


def test_a_damaged_index_is_ignored(index_dir: Path, tmp_path: Path, geocoder: Geocoder) -> None:
    load_files([_write(tmp_path, "kranj.csv", KRANJ)], index_dir, geocoder.gazetteer)
    (index_dir / "index" / "lat.npy").write_bytes(b"broken")
    assert AddressIndex.open(index_dir) is None
    shutil.rmtree(index_dir / "index")
    assert AddressIndex.open(index_dir) is None


def test_the_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from opportunities.settings import load_settings

    monkeypatch.setenv("ADDRESS_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("CACHE_DIR", str(load_settings().cache_dir))
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    good = _write(tmp_path, "kranj.csv", KRANJ)
    assert cli.main(["addresses", "load", str(good), str(OSM)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "kranj.csv: 4 addresses in SI loaded as area 'kranj'" in out
    assert cli.main(["addresses", "stats"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "SI: 11 addresses" in out and "  Kranj: 10" in out
    bad = _write(tmp_path, "bad.csv", HEADER + "Koroška cesta,13,4000,Kranj,121200.5,450300.2\n")
    assert cli.main(["addresses", "load", str(bad)]) == cli.EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "look projected" in err and "Traceback" not in err
    assert cli.main(["geocode", "Koroška cesta 13, 4000 Kranj", "--country", "SI"]) == cli.EXIT_OK
    assert capsys.readouterr().out.split()[2] == "address"
    assert cli.main(["addresses", "remove", "kranj"]) == cli.EXIT_OK
    assert cli.main(["addresses", "remove", "kranj"]) == cli.EXIT_UNUSABLE


@pytest.mark.parametrize(
    ("language", "uncertainty", "text"),
    [
        ("en", 150, "On the street (house number estimated) (within 150 m)"),
        ("sv", 900, "På gatan (husnumret uppskattat): kan ligga upp till 900 m fel"),
        ("sl", 900, "Na ulici (hišna številka ocenjena)"),
        ("pl", 900, "Na ulicy (numer budynku oszacowany)"),
    ],
)
def test_the_street_precision_in_every_language(language: str, uncertainty: int, text: str) -> None:
    from opportunities.i18n import precision_label

    assert precision_label(Precision.STREET, language, uncertainty).startswith(text)
