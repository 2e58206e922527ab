"""Deterministic demo data: providers and opportunities in the network's sixteen cities.

Opportunities come out as rows of the import template, text exactly as a provider's spreadsheet
would hold it, so demo data goes through the same validation, geocoding and import path as real
data. Everything is drawn from ``random.Random(seed)``: the same seed gives the same data.
"""

from __future__ import annotations

import csv
import math
import random
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from opportunities.coverage.boundaries import load_demo_boundaries
from opportunities.db import connection, queries, schema
from opportunities.errors import NotFoundError
from opportunities.listings.importing import ImportReport, import_records
from opportunities.model import City, Provider
from opportunities.places.address_index import AddressIndex, load_files
from opportunities.places.gazetteer import Gazetteer, Place
from opportunities.places.geocoding import Geocoder
from opportunities.progress import ADDRESSES, DISTRICTS, OPPORTUNITIES, Progress, silent, stepper
from opportunities.settings import PROJECT_ROOT, Settings
from opportunities.text import fold
from opportunities.vocabulary import CURRENCY_OF_COUNTRY, TOPICS, Mode, OpportunityType, ProviderKind, topic_label

if TYPE_CHECKING:
    from opportunities.accounts.identity import Role

DEFAULT_SIZE = 400
DEFAULT_SEED = 2026
# Above this many rows, titles get a running number: it keeps duplicates out without a set of keys.
NUMBERED_ABOVE = 5000
_KM_PER_DEGREE = 111.32


@dataclass(frozen=True, slots=True)
class DemoCity:
    """A city of the demo network and what the generator needs to write about it."""

    name: str
    country: str
    language: str  # local language, ISO 639-1
    region: str
    in_city: str  # "in <city>", inflected in the local language
    spread_km: float  # standard deviation of venue offsets from the centre
    weight: int  # relative share of the opportunities
    postcodes: tuple[str, ...]  # "postcode postal-town" that the gazetteer places near the city


CITIES: tuple[DemoCity, ...] = (
    DemoCity("Göteborg", "SE", "sv", "Västra Götaland", "i Göteborg", 4.0, 6,
             ("411 19 Göteborg", "413 01 Göteborg", "416 64 Göteborg", "421 00 Västra Frölunda",
              "422 00 Hisings Backa", "431 00 Mölndal", "433 02 Sävedalen")),
    DemoCity("Borås", "SE", "sv", "Västra Götaland", "i Borås", 2.5, 3,
             ("501 10 Borås", "503 30 Borås", "507 20 Brämhult", "507 15 Gånghester")),
    DemoCity("Trollhättan", "SE", "sv", "Västra Götaland", "i Trollhättan", 2.0, 2,
             ("461 30 Trollhättan", "461 54 Trollhättan", "461 93 Västra Tunhem")),
    DemoCity("Uddevalla", "SE", "sv", "Västra Götaland", "i Uddevalla", 1.8, 2,
             ("451 40 Uddevalla", "451 50 Uddevalla")),
    DemoCity("Bollnäs", "SE", "sv", "Gävleborg", "i Bollnäs", 1.5, 2, ("821 30 Bollnäs", "821 43 Bollnäs")),
    DemoCity("Hudiksvall", "SE", "sv", "Gävleborg", "i Hudiksvall", 1.5, 2,
             ("824 30 Hudiksvall", "824 43 Hudiksvall", "825 00 Iggesund")),
    DemoCity("Söderhamn", "SE", "sv", "Gävleborg", "i Söderhamn", 1.5, 2,
             ("826 30 Söderhamn", "826 40 Söderhamn", "826 61 Söderala")),
    DemoCity("Ljusdal", "SE", "sv", "Gävleborg", "i Ljusdal", 1.5, 2, ("827 30 Ljusdal", "827 02 Ljusdal")),
    DemoCity("Ljubljana", "SI", "sl", "Slovenija", "v Ljubljani", 3.5, 5,
             ("1000 Ljubljana", "1210 Ljubljana-Šentvid", "1260 Ljubljana-Polje", "1261 Ljubljana-Dobrunje")),
    DemoCity("Kranj", "SI", "sl", "Slovenija", "v Kranju", 2.0, 3, ("4000 Kranj", "4202 Naklo", "4208 Šenčur")),
    DemoCity("Maribor", "SI", "sl", "Slovenija", "v Mariboru", 3.0, 4,
             ("2000 Maribor", "2351 Kamnica", "2341 Limbuš", "2229 Malečnik")),
    DemoCity("Novo mesto", "SI", "sl", "Slovenija", "v Novem mestu", 1.8, 2,
             ("8000 Novo mesto", "8322 Stopiče", "8321 Brusnice")),
    DemoCity("Warszawa", "PL", "pl", "Mazowsze", "w Warszawie", 4.0, 6,
             ("00-590 Warszawa", "00-844 Warszawa", "01-201 Warszawa", "02-516 Warszawa",
              "03-450 Warszawa", "04-028 Warszawa", "01-864 Warszawa")),
    DemoCity("Płock", "PL", "pl", "Mazowsze", "w Płocku", 2.5, 3, ("09-404 Płock", "09-407 Płock", "09-409 Płock")),
    DemoCity("Radom", "PL", "pl", "Mazowsze", "w Radomiu", 2.5, 3,
             ("26-601 Radom", "26-604 Radom", "26-610 Radom", "26-612 Radom")),
    DemoCity("Siedlce", "PL", "pl", "Mazowsze", "w Siedlcach", 2.0, 2, ("08-110 Siedlce", "08-103 Nowe Iganie")),
)  # fmt: skip
REGIONS: tuple[str, ...] = tuple(dict.fromkeys(c.region for c in CITIES))

# --- providers --------------------------------------------------------------------------

# kind -> name templates per local language; {city} and {in_city} are filled in.
_PROVIDER_NAMES: dict[str, dict[ProviderKind, tuple[str, ...]]] = {
    "sv": {
        ProviderKind.SCHOOL: ("Centralskolan {city}", "Norra gymnasiet {city}", "Kulturskolan {city}"),
        ProviderKind.LIBRARY: ("Stadsbiblioteket {city}", "Ungdomsbiblioteket {city}", "Biblioteket Väster {city}"),
        ProviderKind.NGO: ("Föreningen Unga Röster {city}", "Studieförbundet Framsteg {city}", "Ungdomsföreningen Gnistan {city}"),
        ProviderKind.YOUTH_CENTRE: ("Fritidsgården Navet {city}", "Ungdomens hus {city}", "Mötesplats Ung {city}"),
        ProviderKind.MUNICIPALITY: ("{city} kommun, fritidsförvaltningen", "{city} kommun, kulturförvaltningen",
                                    "{city} kommun, arbetsmarknadsenheten"),
        ProviderKind.UNIVERSITY: ("Högskolecentrum {city}", "Folkhögskolan {city}", "Lärcentrum {city}"),
        ProviderKind.COMPANY: ("Kodverkstan {city} AB", "Teknikhuset {city} AB", "Gröna Jobb {city} AB"),
        ProviderKind.OTHER: ("Kulturhuset {city}", "Makerspace {city}", "Science Center {city}"),
    },
    "sl": {
        ProviderKind.SCHOOL: ("Osnovna šola Center {city}", "Gimnazija {city}", "Glasbena šola {city}"),
        ProviderKind.LIBRARY: ("Mestna knjižnica {city}", "Mladinska knjižnica {city}", "Knjižnica Bežigrad {city}"),
        ProviderKind.NGO: ("Društvo Mladi za prihodnost {city}", "Zavod Ustvarjalnik {city}", "Društvo Zelena pot {city}"),
        ProviderKind.YOUTH_CENTRE: ("Mladinski center {city}", "Mladinski klub {city}", "Mladinska točka {city}"),
        ProviderKind.MUNICIPALITY: ("Mestna občina {city}", "Mestna občina {city}, Urad za mladino",
                                    "Mestna občina {city}, Oddelek za družbene dejavnosti"),
        ProviderKind.UNIVERSITY: ("Ljudska univerza {city}", "Visokošolsko središče {city}", "Univerzitetni inkubator {city}"),
        ProviderKind.COMPANY: ("Digitalna delavnica {city} d.o.o.", "Tehnopark {city} d.o.o.", "Zeleni koraki {city} d.o.o."),
        ProviderKind.OTHER: ("Kulturni dom {city}", "Makerspace {city}", "Center znanosti {city}"),
    },
    "pl": {
        ProviderKind.SCHOOL: ("Szkoła Podstawowa nr 5 {in_city}", "Liceum Ogólnokształcące nr 2 {in_city}",
                              "Zespół Szkół Technicznych {in_city}"),
        ProviderKind.LIBRARY: ("Miejska Biblioteka Publiczna {in_city}", "Biblioteka Młodzieżowa {in_city}",
                               "Filia biblioteczna nr 3 {in_city}"),
        ProviderKind.NGO: ("Fundacja Młodzi Razem {city}", "Stowarzyszenie Aktywni {in_city}", "Fundacja Zielona Przyszłość {city}"),
        ProviderKind.YOUTH_CENTRE: ("Młodzieżowy Dom Kultury {city}", "Klub Młodzieżowy {city}", "Centrum Młodzieży {in_city}"),
        ProviderKind.MUNICIPALITY: ("Urząd Miasta {in_city}, Wydział Edukacji", "Miejski Ośrodek Sportu i Rekreacji {in_city}",
                                    "Centrum Aktywności Lokalnej {in_city}"),
        ProviderKind.UNIVERSITY: ("Uniwersytet Otwarty {in_city}", "Centrum Kształcenia Ustawicznego {in_city}",
                                  "Akademia Młodego Odkrywcy {city}"),
        ProviderKind.COMPANY: ("TechLab {city} sp. z o.o.", "Robotix {city} sp. z o.o.", "Eko-Start {city} sp. z o.o."),
        ProviderKind.OTHER: ("Centrum Kultury {city}", "Dom Sąsiedzki {city}", "Centrum Nauki {city}"),
    },
}  # fmt: skip
_EMAIL_NAMES = {"sv": "info", "sl": "info", "pl": "kontakt"}


def slug(text: str) -> str:
    """A DNS-safe label for ``text``: ``"Mladinski center Kranj"`` → ``"mladinski-center-kranj"``."""
    # fold() keeps letters of every script and a word's trailing # or +; a DNS label cannot.
    return "-".join(re.findall(r"[0-9a-z]+", fold(text)))[:60].strip("-")


def demo_providers(seed: int = DEFAULT_SEED) -> list[Provider]:
    """Two or three providers of every kind in every demo city, with example.org websites."""
    rng = random.Random(seed)
    found: list[Provider] = []
    for city in CITIES:
        for kind, templates in _PROVIDER_NAMES[city.language].items():
            # The first template is the town's flagship (its library, its youth centre): always there.
            for template in (templates[0], *rng.sample(templates[1:], rng.choice((1, 2)))):
                name = template.format(city=city.name, in_city=city.in_city)
                domain = f"{slug(name)}.example.org"
                found.append(Provider(name=name, kind=kind, city=city.name, website=f"https://{domain}",
                                      contact_email=f"{_EMAIL_NAMES[city.language]}@{domain}"))  # fmt: skip
    return found


# --- opportunity texts ------------------------------------------------------------------

# Opportunity types, short: the text tables below are long enough.
_W, _CO, _E, _CL, _CA = (
    t.value
    for t in (OpportunityType.WORKSHOP, OpportunityType.COURSE, OpportunityType.EVENT, OpportunityType.CLUB, OpportunityType.CAMP)
)
_V, _I, _M, _CP, _EX = (
    t.value
    for t in (
        OpportunityType.VOLUNTEERING,
        OpportunityType.INTERNSHIP,
        OpportunityType.MENTORING,
        OpportunityType.COMPETITION,
        OpportunityType.EXHIBITION,
    )
)

# Subjects per topic: (form used inside sentences, form used at the start of a title). Slovenian
# and Polish sentence forms are genitive; the templates below are written for that case.
_SUBJECTS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "sv": {
        "arts-culture": (("teater", "Teater"), ("bildkonst", "Bildkonst"), ("musik", "Musik")),
        "digital-skills": (("programmering", "Programmering"), ("robotik", "Robotik"), ("webbdesign", "Webbdesign")),
        "media-literacy": (("källkritik", "Källkritik"), ("poddradio", "Poddradio"), ("nyhetsvärdering", "Nyhetsvärdering")),
        "science-technology": (("kemi", "Kemi"), ("astronomi", "Astronomi"), ("3D-utskrift", "3D-utskrift")),
        "languages": (("engelska", "Engelska"), ("spanska", "Spanska"), ("svenska som andraspråk", "Svenska som andraspråk")),
        "entrepreneurship": (("entreprenörskap", "Entreprenörskap"), ("affärsidéer", "Affärsidéer"), ("privatekonomi", "Privatekonomi")),
        "sustainability": (("hållbarhet", "Hållbarhet"), ("återbruk", "Återbruk"), ("stadsodling", "Stadsodling")),
        "citizenship": (("demokrati", "Demokrati"), ("ungdomsinflytande", "Ungdomsinflytande"), ("debatt", "Debatt")),
        "inclusion": (("inkludering", "Inkludering"), ("teckenspråk", "Teckenspråk"), ("mångfald", "Mångfald")),
        "wellbeing": (("mindfulness", "Mindfulness"), ("psykisk hälsa", "Psykisk hälsa"), ("stresshantering", "Stresshantering")),
        "sport-outdoors": (("friluftsliv", "Friluftsliv"), ("klättring", "Klättring"), ("orientering", "Orientering")),
        "careers": (("CV-skrivning", "CV-skrivning"), ("yrkesval", "Yrkesval"), ("jobbsökning", "Jobbsökning")),
        "international": (("utlandsstudier", "Utlandsstudier"), ("ungdomsutbyten", "Ungdomsutbyten"),
                          ("interkulturell kommunikation", "Interkulturell kommunikation")),
        "study": (("studieteknik", "Studieteknik"), ("matematik", "Matematik"), ("läxläsning", "Läxläsning")),
    },
    "sl": {
        "arts-culture": (("gledališča", "Gledališče"), ("slikanja", "Slikanje"), ("glasbe", "Glasba")),
        "digital-skills": (("programiranja", "Programiranje"), ("robotike", "Robotika"), ("izdelave spletnih strani", "Spletne strani")),
        "media-literacy": (("medijske pismenosti", "Medijska pismenost"), ("podkastanja", "Podkasti"), ("preverjanja dejstev", "Preverjanje dejstev")),
        "science-technology": (("kemije", "Kemija"), ("astronomije", "Astronomija"), ("3D-tiska", "3D-tisk")),
        "languages": (("angleščine", "Angleščina"), ("nemščine", "Nemščina"), ("slovenščine kot tujega jezika", "Slovenščina kot tuji jezik")),
        "entrepreneurship": (("podjetništva", "Podjetništvo"), ("poslovnih idej", "Poslovne ideje"), ("osebnih financ", "Osebne finance")),
        "sustainability": (("trajnostnega razvoja", "Trajnostni razvoj"), ("ponovne uporabe", "Ponovna uporaba"), ("urbanega vrtnarjenja", "Urbano vrtnarjenje")),
        "citizenship": (("demokracije", "Demokracija"), ("mladinskega sodelovanja", "Mladinsko sodelovanje"), ("debate", "Debata")),
        "inclusion": (("vključevanja", "Vključevanje"), ("znakovnega jezika", "Znakovni jezik"), ("raznolikosti", "Raznolikost")),
        "wellbeing": (("čuječnosti", "Čuječnost"), ("duševnega zdravja", "Duševno zdravje"), ("obvladovanja stresa", "Obvladovanje stresa")),
        "sport-outdoors": (("plezanja", "Plezanje"), ("orientacije", "Orientacija"), ("pohodništva", "Pohodništvo")),
        "careers": (("pisanja življenjepisa", "Pisanje življenjepisa"), ("poklicne orientacije", "Poklicna orientacija"), ("iskanja zaposlitve", "Iskanje zaposlitve")),
        "international": (("mednarodnih izmenjav", "Mednarodne izmenjave"), ("študija v tujini", "Študij v tujini"),
                          ("medkulturne komunikacije", "Medkulturna komunikacija")),
        "study": (("učnih tehnik", "Učne tehnike"), ("matematike", "Matematika"), ("učne pomoči", "Učna pomoč")),
    },
    "pl": {
        "arts-culture": (("teatru", "Teatr"), ("malarstwa", "Malarstwo"), ("muzyki", "Muzyka")),
        "digital-skills": (("programowania", "Programowanie"), ("robotyki", "Robotyka"), ("tworzenia stron internetowych", "Strony internetowe")),
        "media-literacy": (("edukacji medialnej", "Edukacja medialna"), ("podcastingu", "Podcasting"), ("weryfikacji informacji", "Weryfikacja informacji")),
        "science-technology": (("chemii", "Chemia"), ("astronomii", "Astronomia"), ("druku 3D", "Druk 3D")),
        "languages": (("języka angielskiego", "Język angielski"), ("języka niemieckiego", "Język niemiecki"),
                      ("języka polskiego dla cudzoziemców", "Język polski dla cudzoziemców")),
        "entrepreneurship": (("przedsiębiorczości", "Przedsiębiorczość"), ("biznesplanu", "Biznesplan"), ("finansów osobistych", "Finanse osobiste")),
        "sustainability": (("ekologii", "Ekologia"), ("recyklingu", "Recykling"), ("ogrodnictwa miejskiego", "Ogrodnictwo miejskie")),
        "citizenship": (("demokracji", "Demokracja"), ("samorządności", "Samorządność"), ("debaty oksfordzkiej", "Debata oksfordzka")),
        "inclusion": (("integracji", "Integracja"), ("języka migowego", "Język migowy"), ("różnorodności", "Różnorodność")),
        "wellbeing": (("uważności", "Uważność"), ("zdrowia psychicznego", "Zdrowie psychiczne"), ("radzenia sobie ze stresem", "Radzenie sobie ze stresem")),
        "sport-outdoors": (("wspinaczki", "Wspinaczka"), ("biegu na orientację", "Bieg na orientację"), ("turystyki pieszej", "Turystyka piesza")),
        "careers": (("pisania CV", "Pisanie CV"), ("doradztwa zawodowego", "Doradztwo zawodowe"), ("szukania pracy", "Szukanie pracy")),
        "international": (("wymian międzynarodowych", "Wymiany międzynarodowe"), ("studiów za granicą", "Studia za granicą"),
                          ("komunikacji międzykulturowej", "Komunikacja międzykulturowa")),
        "study": (("technik uczenia się", "Techniki uczenia się"), ("matematyki", "Matematyka"), ("nauki własnej", "Nauka własna")),
    },
    "en": {
        "arts-culture": (("theatre", "Theatre"), ("painting", "Painting"), ("music", "Music")),
        "digital-skills": (("coding", "Coding"), ("robotics", "Robotics"), ("web design", "Web design")),
        "media-literacy": (("fact-checking", "Fact-checking"), ("podcasting", "Podcasting"), ("media literacy", "Media literacy")),
        "science-technology": (("chemistry", "Chemistry"), ("astronomy", "Astronomy"), ("3D printing", "3D printing")),
        "languages": (("English conversation", "English conversation"), ("Spanish", "Spanish"), ("German", "German")),
        "entrepreneurship": (("entrepreneurship", "Entrepreneurship"), ("business ideas", "Business ideas"), ("personal finance", "Personal finance")),
        "sustainability": (("sustainability", "Sustainability"), ("upcycling", "Upcycling"), ("urban gardening", "Urban gardening")),
        "citizenship": (("democracy", "Democracy"), ("youth participation", "Youth participation"), ("debating", "Debating")),
        "inclusion": (("inclusion", "Inclusion"), ("sign language", "Sign language"), ("diversity", "Diversity")),
        "wellbeing": (("mindfulness", "Mindfulness"), ("mental health", "Mental health"), ("stress management", "Stress management")),
        "sport-outdoors": (("climbing", "Climbing"), ("orienteering", "Orienteering"), ("hiking", "Hiking")),
        "careers": (("CV writing", "CV writing"), ("career choices", "Career choices"), ("job hunting", "Job hunting")),
        "international": (("youth exchanges", "Youth exchanges"), ("studying abroad", "Studying abroad"),
                          ("intercultural communication", "Intercultural communication")),
        "study": (("study skills", "Study skills"), ("maths", "Maths"), ("homework", "Homework")),
    },
}  # fmt: skip

# Title patterns per type: {s} the sentence form of a subject, {n} its title form.
_TITLE_PATTERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "sv": {_W: ("Workshop: {n}", "Prova-på-workshop i {s}"), _CO: ("Kurs i {s}", "{n} – grundkurs"),
           _E: ("Temadag om {s}", "Öppet hus: {n}"), _CL: ("{n} – veckoträffar för unga", "Klubbkväll: {n}"),
           _CA: ("Sommarläger: {n}", "Lovläger med {s}"), _V: ("Bli volontär inom {s}",),
           _I: ("Praktikplats inom {s}", "Feriepraktik: {n}"), _M: ("Mentorprogram inom {s}",),
           _CP: ("Tävling i {s}", "Utmaning: {n}"), _EX: ("Utställning om {s}", "{n} – utställning av unga")},
    "sl": {_W: ("Delavnica {s}", "Ustvarjalna delavnica: {n}"), _CO: ("Tečaj {s}", "{n} – začetni tečaj"),
           _E: ("Dan {s}", "Dan odprtih vrat: {n}"), _CL: ("Klub {s}", "{n} – tedenska srečanja"),
           _CA: ("Poletni tabor: {n}", "Počitniški tabor {s}"), _V: ("Prostovoljstvo na področju {s}",),
           _I: ("Praksa na področju {s}", "Počitniška praksa: {n}"), _M: ("Mentorski program na področju {s}",),
           _CP: ("Tekmovanje iz {s}", "Izziv: {n}"), _EX: ("Razstava: {n}",)},
    "pl": {_W: ("Warsztaty {s}", "Warsztaty dla młodzieży: {n}"), _CO: ("Kurs {s}", "{n} – kurs dla początkujących"),
           _E: ("Dzień {s}", "Dzień otwarty: {n}"), _CL: ("Klub {s}", "{n} – cotygodniowe spotkania"),
           _CA: ("Obóz {s}", "Półkolonie: {n}"), _V: ("Wolontariat w obszarze {s}",),
           _I: ("Staż w obszarze {s}", "Praktyki wakacyjne: {n}"), _M: ("Program mentoringowy: {n}",),
           _CP: ("Konkurs {s}", "Wyzwanie: {n}"), _EX: ("Wystawa: {n}",)},
    "en": {_W: ("{n} workshop", "Hands-on workshop: {n}"), _CO: ("{n} course", "Introduction to {s}"),
           _E: ("{n} open day", "Meet-up: {n}"), _CL: ("{n} club", "Weekly {s} club"),
           _CA: ("{n} summer camp", "Holiday camp: {n}"), _V: ("Volunteer in {s}",),
           _I: ("Internship in {s}",), _M: ("Mentoring programme: {n}",),
           _CP: ("{n} challenge",), _EX: ("Exhibition: {n}",)},
}  # fmt: skip

# Hand-written titles per topic, each with its type; described with the topic's first subject.
_SPECIAL_TITLES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "sv": {
        "arts-culture": ((_CL, "Teatergrupp för unga"), (_W, "Serieteckning för nybörjare"), (_EX, "Ung konst – vårsalong")),
        "digital-skills": ((_CL, "Kodklubb för unga"), (_W, "Bygg din egen app"), (_CA, "Robotläger på lovet")),
        "media-literacy": ((_W, "Källkritik på nätet"), (_CL, "Poddverkstan"), (_CO, "Skolans nyhetsredaktion")),
        "science-technology": ((_CL, "Teknikklubben"), (_W, "Experimentverkstad"), (_E, "Rymdkväll med teleskop")),
        "languages": ((_CL, "Språkcafé"), (_CO, "Svenska för nyanlända unga"), (_E, "Engelsk pratkväll")),
        "entrepreneurship": ((_CO, "Starta eget för unga"), (_CP, "Pitchtävling för unga idéer"), (_M, "Företagarmentor för unga")),
        "sustainability": ((_W, "Reparationskafé – laga i stället för att slänga"), (_V, "Strandstädning – volontärdag"), (_CL, "Stadsodlarna")),
        "citizenship": ((_E, "Ungdomsdialog med politiker"), (_CL, "Debattklubben"), (_V, "Engagera dig i ungdomsrådet")),
        "inclusion": ((_W, "Teckenspråk för nybörjare"), (_CL, "Öppen mötesplats för nya i stan"), (_E, "Mångfaldsfestivalen")),
        "wellbeing": ((_CO, "Mindfulness för unga"), (_W, "Sov bättre, må bättre"), (_CL, "Må bra-gruppen")),
        "sport-outdoors": ((_CL, "Klätterklubb för unga"), (_E, "Orienteringsdag i skogen"), (_CA, "Friluftsläger vid sjön")),
        "careers": ((_W, "Skriv ditt första CV"), (_I, "Sommarjobb och feriepraktik"), (_E, "Jobbmässa för unga")),
        "international": ((_E, "Erasmus+-informationsträff"), (_W, "Plugga utomlands – så gör du"),
                          (_V, "Europeiska solidaritetskåren – volontär utomlands")),
        "study": ((_CL, "Läxhjälp på biblioteket"), (_CO, "Mattestuga inför nationella prov"), (_W, "Studieteknik som funkar")),
    },
    "sl": {
        "arts-culture": ((_CL, "Gledališki krožek"), (_W, "Delavnica stripa"), (_EX, "Razstava mladih umetnikov")),
        "digital-skills": ((_W, "Delavnica programiranja"), (_CL, "Robotski krožek"), (_CO, "Tečaj programiranja v Pythonu")),
        "media-literacy": ((_W, "Lažne novice – kako jih prepoznati"), (_CL, "Radijski krožek"), (_CO, "Mladinsko novinarstvo")),
        "science-technology": ((_CL, "Krožek mladih raziskovalcev"), (_W, "Poskusi v kemijskem laboratoriju"), (_E, "Noč astronomije")),
        "languages": ((_CL, "Jezikovna kavarna"), (_CO, "Slovenščina za tujce"), (_E, "Večer angleškega pogovora")),
        "entrepreneurship": ((_CO, "Podjetniški pospeševalnik za mlade"), (_CP, "Tekmovanje poslovnih idej"), (_M, "Mentor za mlade podjetnike")),
        "sustainability": ((_W, "Popravljalnica – popravi, ne zavrzi"), (_V, "Čistilna akcija ob reki"), (_CL, "Urbani vrtičkarji")),
        "citizenship": ((_E, "Mladi in politiki – odprti dialog"), (_CL, "Debatni klub"), (_V, "Sodeluj v mladinskem svetu")),
        "inclusion": ((_W, "Osnove znakovnega jezika"), (_CL, "Medkulturni klub"), (_E, "Festival raznolikosti")),
        "wellbeing": ((_CO, "Čuječnost za mlade"), (_W, "Kako premagati stres pred izpiti"), (_CL, "Skupina za dobro počutje")),
        "sport-outdoors": ((_CL, "Plezalni krožek"), (_E, "Orientacijski pohod"), (_CA, "Poletni tabor v naravi")),
        "careers": ((_W, "Napiši svoj prvi življenjepis"), (_I, "Počitniško delo in praksa"), (_E, "Karierni sejem za mlade")),
        "international": ((_E, "Info dan Erasmus+"), (_W, "Študij v tujini – kako začeti"),
                          (_V, "Evropska solidarnostna enota – prostovoljstvo v tujini")),
        "study": ((_CL, "Učna pomoč v knjižnici"), (_CO, "Priprave na maturo iz matematike"), (_W, "Učinkovite učne tehnike")),
    },
    "pl": {
        "arts-culture": ((_CL, "Koło teatralne"), (_W, "Warsztaty komiksu"), (_EX, "Wystawa młodych twórców")),
        "digital-skills": ((_W, "Warsztaty robotyki"), (_CL, "Koło programistyczne"), (_CO, "Kurs programowania w Pythonie")),
        "media-literacy": ((_W, "Fake newsy – jak je rozpoznać"), (_CL, "Młodzieżowa redakcja"), (_CO, "Szkoła podcastu")),
        "science-technology": ((_CL, "Koło młodego naukowca"), (_W, "Eksperymenty w laboratorium"), (_E, "Noc astronomii")),
        "languages": ((_CL, "Kawiarenka językowa"), (_CO, "Język polski dla cudzoziemców"), (_E, "Wieczór rozmów po angielsku")),
        "entrepreneurship": ((_CO, "Akademia młodego przedsiębiorcy"), (_CP, "Konkurs na biznesplan"), (_M, "Mentor dla młodych przedsiębiorców")),
        "sustainability": ((_W, "Kawiarenka naprawcza"), (_V, "Sprzątanie brzegów rzeki"), (_CL, "Miejscy ogrodnicy")),
        "citizenship": ((_E, "Młodzi i radni – otwarta debata"), (_CL, "Klub debat oksfordzkich"), (_V, "Młodzieżowa Rada Miasta – dołącz")),
        "inclusion": ((_W, "Podstawy języka migowego"), (_CL, "Klub międzykulturowy"), (_E, "Festiwal różnorodności")),
        "wellbeing": ((_CO, "Trening uważności dla młodzieży"), (_W, "Jak radzić sobie ze stresem przed egzaminem"),
                      (_CL, "Grupa wsparcia rówieśniczego")),
        "sport-outdoors": ((_CL, "Sekcja wspinaczkowa"), (_E, "Rajd na orientację"), (_CA, "Obóz sportowy nad jeziorem")),
        "careers": ((_W, "Napisz swoje pierwsze CV"), (_I, "Praktyki wakacyjne dla uczniów"), (_E, "Targi pracy dla młodych")),
        "international": ((_E, "Dzień informacyjny Erasmus+"), (_W, "Studia za granicą – jak zacząć"),
                          (_V, "Europejski Korpus Solidarności – wolontariat za granicą")),
        "study": ((_CL, "Korepetycje w bibliotece"), (_CO, "Przygotowanie do matury z matematyki"), (_W, "Skuteczne techniki uczenia się")),
    },
    "en": {
        "arts-culture": ((_CL, "Youth theatre group"), (_W, "Comic drawing for beginners")),
        "digital-skills": ((_CL, "Coding club for young people"), (_W, "Build your first app")),
        "media-literacy": ((_W, "Spotting fake news online"), (_CL, "Youth podcast studio")),
        "science-technology": ((_CL, "Young makers club"), (_E, "Stargazing night")),
        "languages": ((_CL, "Language café"), (_E, "English conversation evening")),
        "entrepreneurship": ((_CP, "Youth pitch competition"), (_M, "Start-up mentoring for young people")),
        "sustainability": ((_W, "Repair café"), (_V, "River clean-up day")),
        "citizenship": ((_CL, "Debate club"), (_E, "Youth council open meeting")),
        "inclusion": ((_CL, "International friendship club"), (_W, "Sign language basics")),
        "wellbeing": ((_CO, "Mindfulness for teens"), (_W, "Beat exam stress")),
        "sport-outdoors": ((_CL, "Climbing club"), (_CA, "Outdoor adventure camp")),
        "careers": ((_W, "Write your first CV"), (_E, "Youth job fair")),
        "international": ((_E, "Erasmus+ info session"), (_W, "Studying abroad: first steps")),
        "study": ((_CL, "Homework club"), (_CO, "Maths exam preparation")),
    },
}  # fmt: skip

# The first sentence of a description, per type; {s} is the sentence form of the subject.
_INTROS: dict[str, dict[str, str]] = {
    "sv": {
        _W: "En praktisk workshop om {s} – du provar själv från första minuten.",
        _CO: "En kurs i {s} där vi går igenom grunderna steg för steg.",
        _E: "En öppen träff om {s} med korta presentationer och tid för frågor.",
        _CL: "Vi träffas varje vecka och arbetar med {s} i lugn takt tillsammans.",
        _CA: "Några dagar fyllda med {s}, utomhusaktiviteter och nya vänner.",
        _V: "Gör skillnad som volontär! Vi söker dig som vill hjälpa till med {s}.",
        _I: "Få arbetslivserfarenhet inom {s} med en handledare som stöttar dig.",
        _M: "Du matchas med en mentor som har erfarenhet av {s}.",
        _CP: "Tävla i {s} på egen hand eller i lag – fina priser till de bästa bidragen.",
        _EX: "Unga visar egna projekt om {s}.",
    },
    "sl": {
        _W: "Praktična delavnica, na kateri se lotimo {s} – vse preizkusiš sam.",
        _CO: "Tečaj, na katerem korak za korakom spoznamo osnove {s}.",
        _E: "Odprto srečanje na temo {s} s kratkimi predstavitvami in časom za vprašanja.",
        _CL: "Vsak teden se dobimo in skupaj raziskujemo svet {s}.",
        _CA: "Nekaj dni, polnih {s}, aktivnosti na prostem in novih prijateljstev.",
        _V: "Postani prostovoljec! Iščemo mlade, ki želijo pomagati na področju {s}.",
        _I: "Pridobi delovne izkušnje na področju {s} ob podpori mentorja.",
        _M: "Dobiš svojega mentorja z izkušnjami s področja {s}.",
        _CP: "Pomeri se na področju {s} sam ali v ekipi – najboljše čakajo nagrade.",
        _EX: "Mladi predstavljajo svoje projekte s področja {s}.",
    },
    "pl": {
        _W: "Praktyczne warsztaty z zakresu {s} – wszystko wypróbujesz samodzielnie.",
        _CO: "Kurs, na którym krok po kroku poznasz podstawy {s}.",
        _E: "Otwarte spotkanie na temat {s} z krótkimi prezentacjami i czasem na pytania.",
        _CL: "Spotykamy się co tydzień i wspólnie odkrywamy świat {s}.",
        _CA: "Kilka dni pełnych {s}, zajęć na świeżym powietrzu i nowych znajomości.",
        _V: "Zostań wolontariuszem! Szukamy osób, które chcą pomóc w obszarze {s}.",
        _I: "Zdobądź doświadczenie zawodowe w obszarze {s} pod okiem opiekuna.",
        _M: "Otrzymasz mentora z doświadczeniem w obszarze {s}.",
        _CP: "Zmierz się z innymi w dziedzinie {s} – indywidualnie lub w drużynie.",
        _EX: "Młodzi prezentują własne projekty z dziedziny {s}.",
    },
    "en": {
        _W: "A hands-on workshop on {s}: you try everything yourself.",
        _CO: "A course covering the basics of {s}, step by step.",
        _E: "An open meet-up about {s} with short talks and time for questions.",
        _CL: "We meet every week to explore {s} together at a relaxed pace.",
        _CA: "A few days full of {s}, outdoor activities and new friends.",
        _V: "Make a difference as a volunteer helping with {s}.",
        _I: "Gain work experience in {s} with a supervisor who supports you.",
        _M: "You are matched with a mentor experienced in {s}.",
        _CP: "Compete in {s} on your own or in a team.",
        _EX: "Young people show their own projects on {s}.",
    },
}
# (closed range, open-ended) audience sentences.
_AUDIENCE = {
    "sv": ("För dig som är {a}–{b} år.", "För dig från {a} år."),
    "sl": ("Za udeležence od {a} do {b} let.", "Za udeležence od {a}. leta dalje."),
    "pl": ("Dla osób w wieku {a}–{b} lat.", "Dla osób od {a}. roku życia."),
    "en": ("For ages {a}–{b}.", "For ages {a} and up."),
}
_EXTRAS = {
    "sv": ("Inga förkunskaper krävs.", "Anmälan krävs – begränsat antal platser.", "Ta gärna med en kompis!", "Fika ingår.",
           "Allt material finns på plats.", "Ledarna har lång erfarenhet av att arbeta med unga.", "Aktiviteten är öppen för alla."),
    "sl": ("Predznanje ni potrebno.", "Prijava je obvezna – število mest je omejeno.", "Pripelji prijatelja!", "Prigrizek je vključen.",
           "Ves material zagotovimo mi.", "Vodijo izkušeni mladinski delavci.", "Dejavnost je odprta za vse."),
    "pl": ("Nie jest wymagane wcześniejsze doświadczenie.", "Obowiązują zapisy – liczba miejsc ograniczona.",
           "Zabierz ze sobą znajomego!", "Zapewniamy poczęstunek.", "Wszystkie materiały zapewniamy na miejscu.",
           "Zajęcia prowadzą doświadczeni animatorzy.", "Zajęcia są otwarte dla wszystkich."),
    "en": ("No previous experience needed.", "Registration required – places are limited.", "Bring a friend!",
           "Snacks included.", "All materials are provided.", "Led by experienced youth workers.", "Open to everyone."),
}  # fmt: skip
_MODE_NOTES = {
    "sv": ("Träffarna sker online; länken skickas efter anmälan.", "Delta på plats eller via länk."),
    "sl": ("Srečanja potekajo prek spleta; povezavo prejmeš po prijavi.", "Udeležiš se lahko v živo ali prek spleta."),
    "pl": ("Zajęcia odbywają się online; link wyślemy po zapisaniu się.", "Możesz uczestniczyć na miejscu lub online."),
    "en": ("Sessions are online; you get the link after registering.", "Join on site or online."),
}
_ACCESSIBILITY = {
    "sv": ("Lokalen är tillgänglig med rullstol och har hörslinga.", "Entré utan trappsteg; tillgänglig toalett finns."),
    "sl": ("Prostor je dostopen z invalidskim vozičkom.", "Vhod brez stopnic; na voljo je prilagojen sanitarni prostor."),
    "pl": ("Budynek jest dostępny dla osób na wózkach.", "Wejście bez schodów; dostępna toaleta."),
}
_VENUES = {
    "sv": ("Stora salen", "Studio 2", "Makerspace", "Biblioteket, plan 2", "Aulan", "Verkstaden", "Café Ung"),
    "sl": ("Velika dvorana", "Učilnica 3", "Ustvarjalni laboratorij", "Knjižnica, 2. nadstropje", "Avla", "Delavnica", "Mladinska soba"),
    "pl": ("Sala widowiskowa", "Sala nr 12", "Pracownia komputerowa", "Czytelnia, I piętro", "Aula", "Pracownia", "Klubokawiarnia"),
}  # fmt: skip
_STREETS = {
    "sv": ("Storgatan", "Kungsgatan", "Drottninggatan", "Skolgatan", "Parkvägen", "Järnvägsgatan", "Östra Långgatan"),
    "sl": ("Prešernova ulica", "Cankarjeva ulica", "Trubarjeva cesta", "Gregorčičeva ulica", "Kidričeva cesta", "Partizanska cesta", "Glavni trg"),
    "pl": ("ul. Mickiewicza", "ul. Kościuszki", "ul. Słowackiego", "ul. Szkolna", "ul. Kolejowa", "ul. Ogrodowa", "ul. Żeromskiego"),
}  # fmt: skip
_REGISTER_PATHS = {"sv": "anmalan", "sl": "prijava", "pl": "zapisy", "en": "register"}
# How a spreadsheet says "free": all are accepted by validation.
_FREE = {"sv": ("0", "", "gratis", "kostnadsfritt"), "sl": ("0", "", "brezplačno"), "pl": ("0", "", "bezpłatne", "darmowe"),
         "en": ("0", "", "free")}  # fmt: skip
# (regular, camp) prices in the country's currency, as typed.
_PRICES = {
    "SE": (("50", "100", "150", "200", "300", "450"), ("1200", "1800", "2500")),
    "SI": (("5", "10", "15", "20", "25", "12,50"), ("90", "150", "220")),
    "PL": (("20", "30", "50", "80", "120", "150"), ("450", "800", "1200")),
}
_LANGUAGES = {
    "sv": ("sv", "sv", "sv", "sv", "sv; en", "sv; en", "sv, ar", "sv; en; ar"),
    "sl": ("sl", "sl", "sl", "sl", "sl; en", "sl; en", "sl, hr", "sl; en; de"),
    "pl": ("pl", "pl", "pl", "pl", "pl; en", "pl; en", "pl, uk", "pl; en; uk"),
}
_ENGLISH_LANGUAGES = {"sv": ("en", "en; sv"), "sl": ("en", "en; sl"), "pl": ("en", "en; pl")}

# (age_min, age_max) bands; an empty age_max is open-ended.
_CHILDREN = (("6", "9"), ("6", "12"), ("8", "12"), ("10", "12"), ("7", "11"))
_TEENS = (("13", "15"), ("13", "17"), ("14", "17"), ("15", "17"), ("12", "16"))
_YOUNG_ADULTS = (("18", "25"), ("18", "30"), ("16", "25"), ("18", "29"), ("20", "30"))
_OPEN = (("16", ""), ("18", ""), ("25", ""), ("31", ""), ("13", ""))
_AGE_BANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "any": _CHILDREN * 2 + _TEENS * 3 + _YOUNG_ADULTS * 2 + _OPEN,
    "young": _CHILDREN * 2 + _TEENS * 2,
    "older": _TEENS[3:] + _YOUNG_ADULTS * 2 + _OPEN,
}
_BAND_OF_TYPE = {_CA: "young", _I: "older", _V: "older", _M: "older"}
_GUARANTEED_BANDS = (_CHILDREN[1], _TEENS[1], _YOUNG_ADULTS[1], _OPEN[3], _OPEN[0])

_TYPE_WEIGHTS = {_W: 20, _CO: 14, _CL: 16, _E: 10, _CA: 6, _V: 7, _I: 5, _M: 5, _CP: 6, _EX: 5}
_TYPE_POOL: tuple[str, ...] = tuple(t for t, w in _TYPE_WEIGHTS.items() for _ in range(w))
_IN_PERSON, _ONLINE, _HYBRID = Mode.IN_PERSON.value, Mode.ONLINE.value, Mode.HYBRID.value
_MODE_POOL = (_IN_PERSON,) * 14 + (_ONLINE,) * 3 + (_HYBRID,) * 3
# Chance that an opportunity of this type is a weekly series (clubs always are).
_WEEKLY_SHARE = {_CL: 1.0, _CO: 0.6, _M: 0.6, _V: 0.4, _W: 0.1}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA")
_SCHEDULES: tuple[tuple[str, int], ...] = tuple(
    [(f"FREQ=WEEKLY;BYDAY={d}", i) for i, d in enumerate(_WEEKDAYS[:5]) for _ in range(3)]
    + [
        ("FREQ=WEEKLY;BYDAY=SA", 5),
        ("FREQ=WEEKLY;BYDAY=TU,TH", 1),
        ("FREQ=WEEKLY;BYDAY=MO,WE", 0),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", 3),
    ]
)  # (rule, weekday of the first session)
_CLUB_TIMES = ("15:30", "16:00", "16:30", "17:00", "17:30", "18:00", "18:30")
_DAY_TIMES = (("09:00", "12:00"), ("10:00", "13:00"), ("13:00", "16:00"), ("14:00", "16:00"),
              ("16:00", "18:00"), ("17:00", "19:00"), ("17:30", "19:30"), ("18:00", "20:30"))  # fmt: skip
_ENGLISH_SHARE = 0.12  # share of opportunities written in English


@dataclass(frozen=True, slots=True)
class _Title:
    text: str
    intro: str  # the description's first sentence


def _titles(language: str, topic: str, kind: str) -> tuple[_Title, ...]:
    """Every title for a language, topic and type; hand-written ones count three times."""
    subjects = _SUBJECTS[language][topic]
    intro = _INTROS[language][kind]
    found = [_Title(p.format(s=s, n=n), intro.format(s=s)) for p in _TITLE_PATTERNS[language][kind] for s, n in subjects]
    for special_kind, text in _SPECIAL_TITLES[language][topic]:
        if special_kind == kind:
            found += [_Title(text, intro.format(s=subjects[0][0]))] * 3
    return tuple(found)


@lru_cache(maxsize=1)
def _title_table() -> dict[tuple[str, str, str], tuple[_Title, ...]]:
    return {(lang, topic, kind): _titles(lang, topic, kind) for lang in _SUBJECTS for topic in TOPICS for kind in _TYPE_WEIGHTS}


# --- rows -------------------------------------------------------------------------------


def city_centres(gazetteer: Gazetteer) -> dict[str, Place]:
    """The gazetteer place of every demo city, by name."""
    centres = {}
    for city in CITIES:
        place = gazetteer.place(city.name, city.country)
        if place is None:
            raise LookupError(f"the gazetteer does not know {city.name}, {city.country}")
        centres[city.name] = place
    return centres


@dataclass(frozen=True, slots=True)
class _Wish:
    """What a guaranteed row must be; None leaves the choice to chance."""

    city: int
    topic: str | None = None
    kind: str | None = None
    mode: str | None = None
    band: tuple[str, str] | None = None
    free: bool | None = None
    days: tuple[int, int] | None = None  # start between today + these many days
    language: str | None = None
    placed: bool = False  # coordinates, never an address or the city alone


class _RowGenerator:
    """Draws rows from precomputed tables; one random source for everything."""

    def __init__(self, seed: int, today: date, centres: dict[str, Place]) -> None:
        self.rng = random.Random(seed)
        self.today = today
        # (latitude, longitude, km per degree of longitude) of each city centre
        self.centres = [(centres[c.name].latitude, centres[c.name].longitude,
                         _KM_PER_DEGREE * math.cos(math.radians(centres[c.name].latitude))) for c in CITIES]  # fmt: skip
        self.labels = {(t, c.language): topic_label(t, c.language) for t in TOPICS for c in CITIES}
        providers = demo_providers(seed)
        self.providers = [[p for p in providers if p.city == c.name] for c in CITIES]
        self.city_pool = tuple(i for i, c in enumerate(CITIES) for _ in range(c.weight))
        self.titles = _title_table()
        self.days = [today + timedelta(days=d) for d in range(-60, 181)]
        self.day_texts = [d.isoformat() for d in self.days]
        self.other_topics = {t: tuple(o for o in TOPICS if o != t) for t in TOPICS}
        self.audiences: dict[tuple[str, str, str], str] = {}
        # Its own random source: the other cities' rows stay as they were without real addresses.
        self.address_rng = random.Random(seed + 1)
        self.real_addresses = real_addresses()

    def pick(self, items: tuple[str, ...] | list[str]) -> str:
        return items[int(self.rng.random() * len(items))]

    def row(self, wish: _Wish | None = None) -> tuple[dict[str, str], str]:
        """One row and the place part of its duplicate key."""
        rng, r = self.rng, self.rng.random
        ci = wish.city if wish else self.city_pool[int(r() * len(self.city_pool))]
        city = CITIES[ci]
        local = city.language
        language = (wish.language if wish else None) or ("en" if r() < _ENGLISH_SHARE else local)
        topic = (wish.topic if wish else None) or TOPICS[int(r() * len(TOPICS))]
        kind = (wish.kind if wish else None) or _TYPE_POOL[int(r() * len(_TYPE_POOL))]
        choices = self.titles[language, topic, kind]
        title = choices[int(r() * len(choices))]
        providers = self.providers[ci]
        provider = providers[int(r() * len(providers))]
        mode = (wish.mode if wish else None) or _MODE_POOL[int(r() * len(_MODE_POOL))]
        bands = _AGE_BANDS[_BAND_OF_TYPE.get(kind, "any")]
        age_min, age_max = (wish.band if wish else None) or bands[int(r() * len(bands))]

        start, end, schedule = self._when(kind, wish.days if wish else None)

        free = wish.free if wish and wish.free is not None else r() < 0.55
        if free:
            cost, currency = self.pick(_FREE[language]), ""
        else:
            regular, camp = _PRICES[city.country]
            cost, currency = self.pick(camp if kind == _CA else regular), CURRENCY_OF_COUNTRY[city.country]

        topics = topic
        roll = r()
        if roll < 0.15:
            topics = self.labels[topic, local]
        elif roll < 0.35:
            others = self.other_topics[topic]
            topics = f"{topic}; {others[int(r() * len(others))]}"
        languages = self.pick(_ENGLISH_LANGUAGES[local] if language == "en" else _LANGUAGES[local])

        audience = self.audiences.get((language, age_min, age_max))
        if audience is None:
            audience = _AUDIENCE[language][0 if age_max else 1].format(a=age_min, b=age_max)
            self.audiences[language, age_min, age_max] = audience
        description = f"{title.intro} {audience} {self.pick(_EXTRAS[language])}"
        venue = address = latitude = longitude = accessibility = ""
        if mode == _ONLINE:
            place = "online"
            description += " " + _MODE_NOTES[language][0]
        else:
            if mode == _HYBRID:
                description += " " + _MODE_NOTES[language][1]
            venue = self.pick(_VENUES[local])
            if r() < 0.3:
                accessibility = self.pick(_ACCESSIBILITY[local])
            roll = r()
            real = self.real_addresses.get(city.name)
            if real and not (wish and wish.placed) and roll < 0.92:
                # A real public institution's address, without coordinates: the address step places it.
                address = real[int(self.address_rng.random() * len(real))]
                place = address
            elif (wish and wish.placed) or roll < 0.75:
                lat0, lon0, km_per_lon = self.centres[ci]
                limit = 2.5 * city.spread_km  # no venue in the next town
                dy = max(-limit, min(limit, rng.gauss(0.0, city.spread_km)))
                dx = max(-limit, min(limit, rng.gauss(0.0, city.spread_km)))
                lat = round(lat0 + dy / _KM_PER_DEGREE, 5)
                lon = round(lon0 + dx / km_per_lon, 5)
                latitude, longitude = str(lat), str(lon)
                place = f"{lat:.4f},{lon:.4f}"
            else:
                place = "centre"  # a postcode or the city alone: both may land on the centre
                if roll < 0.92:
                    address = f"{self.pick(_STREETS[local])} {1 + int(r() * 60)}, {self.pick(city.postcodes)}"
        row = {
            "title": title.text, "description": description, "provider": provider.name, "city": city.name,
            "country": city.country, "address": address, "latitude": latitude, "longitude": longitude,
            "topics": topics, "age_min": age_min, "age_max": age_max, "mode": mode, "type": kind,
            "start": start, "end": end, "schedule": schedule, "cost": cost, "currency": currency,
            "languages": languages, "url": f"{provider.website}/{_REGISTER_PATHS[language]}/{1000 + int(r() * 9000)}",
            "contact_email": provider.contact_email if r() < 0.9 else "", "venue": venue,
            "accessibility": accessibility,
        }  # fmt: skip
        return row, place

    def _when(self, kind: str, days: tuple[int, int] | None) -> tuple[str, str, str]:
        """(start, end, schedule) as text."""
        r = self.rng.random
        low, high = (days[0] + 60, days[1] + 60) if days else (0, len(self.days) - 1)
        index = low + int(r() * (high - low + 1))
        if r() < _WEEKLY_SHARE.get(kind, 0.0):
            rule, weekday = _SCHEDULES[int(r() * len(_SCHEDULES))]
            day = self.days[index]
            first = day + timedelta(days=(weekday - day.weekday()) % 7)
            last = first + timedelta(weeks=6 + int(r() * 15))
            return f"{first.isoformat()} {self.pick(_CLUB_TIMES)}", last.isoformat(), rule
        day_text = self.day_texts[index]
        if kind == _CA:
            return day_text, (self.days[index] + timedelta(days=2 + int(r() * 3))).isoformat(), ""
        if kind in (_EX, _I):
            length = 14 + int(r() * 47) if kind == _EX else 28 + int(r() * 57)
            return day_text, (self.days[index] + timedelta(days=length)).isoformat(), ""
        begins, ends = _DAY_TIMES[int(r() * len(_DAY_TIMES))]
        if kind == _CO:  # an intensive course: a week of days
            return f"{day_text} {begins}", f"{(self.days[index] + timedelta(days=4)).isoformat()} {ends}", ""
        return f"{day_text} {begins}", f"{day_text} {ends}", ""


def _wishes(rng: random.Random) -> list[_Wish]:
    """Rows the demo must have: every topic in every region, every type, mode and age band,
    and free digital-skills workshops for teens in Kranj."""
    wishes = []
    types = list(_TYPE_WEIGHTS)
    modes = [m.value for m in Mode]
    n = 0
    for region in REGIONS:
        members = [i for i, c in enumerate(CITIES) if c.region == region]
        for topic in TOPICS:
            wishes.append(_Wish(city=members[n % len(members)], topic=topic, kind=types[n % len(types)],
                                mode=modes[n % len(modes)], band=_GUARANTEED_BANDS[n % len(_GUARANTEED_BANDS)],
                                free=n % 2 == 0))  # fmt: skip
            n += 1
    kranj = next(i for i, c in enumerate(CITIES) if c.name == "Kranj")
    for band in (("13", "17"), ("14", "18"), ("15", "17"), ("12", "16"), ("13", "17")):
        wishes.append(_Wish(city=kranj, topic="digital-skills", kind=_W, mode=_IN_PERSON, band=band,
                            free=True, days=(3, 75), language="sl", placed=True))  # fmt: skip
    rng.shuffle(wishes)
    return wishes


def _generate(
    size: int, seed: int, today: date, centres: dict[str, Place], *, wishes: bool, numbered: bool
) -> Iterator[dict[str, str]]:
    generator = _RowGenerator(seed, today, centres)
    planned = _wishes(generator.rng) if wishes else []
    seen: set[tuple[str, str, str, str]] = set()
    for n in range(size):
        wish = planned[n] if n < len(planned) else None
        row, place = generator.row(wish)
        if numbered:
            row["title"] = f"{row['title']} #{n + 1}"
        else:
            key = (row["provider"], row["title"], row["start"], place)
            while key in seen:  # same provider, title, start and place: draw again
                row, place = generator.row(wish)
                key = (row["provider"], row["title"], row["start"], place)
            seen.add(key)
        yield row


def _default_gazetteer(cache_dir: Path | None) -> Gazetteer:
    from opportunities.settings import load_settings

    return Gazetteer.open(cache_dir or load_settings().cache_dir)


def demo_records(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, *, today: date,
                 cache_dir: Path | None = None) -> list[dict[str, str]]:  # fmt: skip
    """Demo rows in the import template (column → text), every one valid and distinct.

    Covers every topic in every region, every type, mode and age group, and a few free
    digital-skills workshops for teens in Kranj. ``cache_dir`` holds the gazetteer index
    (default: the configured cache).
    """
    centres = city_centres(_default_gazetteer(cache_dir))
    return list(_generate(size, seed, today, centres, wishes=True, numbered=False))


def synthetic_records(size: int, seed: int = DEFAULT_SEED, *, today: date, cache_dir: Path | None = None) -> list[dict[str, str]]:
    """``size`` distinct rows from the demo generator, for benchmarks; see :func:`iter_synthetic_records`."""
    return list(iter_synthetic_records(size, seed, today=today, cache_dir=cache_dir))


def iter_synthetic_records(
    size: int, seed: int = DEFAULT_SEED, *, today: date, cache_dir: Path | None = None
) -> Iterator[dict[str, str]]:
    """``size`` distinct rows from the demo generator, lazily: millions fit in constant memory.

    Above :data:`NUMBERED_ABOVE` rows every title carries a running number (``… #1234``),
    which keeps duplicates out without remembering keys.
    """
    centres = city_centres(_default_gazetteer(cache_dir))
    return _generate(size, seed, today, centres, wishes=False, numbered=size > NUMBERED_ABOVE)


# --- real addresses ------------------------------------------------------------------------

# Public institutions' addresses (schools, kindergartens, health sites) with their official points,
# for the demo's venues in these cities; sources and licences in docs/data-and-licences.md.
REAL_ADDRESS_DIR = PROJECT_ROOT / "data" / "demo-addresses"
REAL_ADDRESS_FILES = {
    "Warszawa": "warszawa_addresses.csv",
    "Ljubljana": "ljubljana_addresses.csv",
    "Maribor": "maribor_addresses.csv",
    "Kranj": "kranj_addresses.csv",
}


@lru_cache(maxsize=1)
def real_addresses() -> dict[str, tuple[str, ...]]:
    """City name → its real addresses as a provider writes them: ``"Koroška cesta 13, 4000 Kranj"``."""
    found = {}
    for city, name in REAL_ADDRESS_FILES.items():
        with (REAL_ADDRESS_DIR / name).open(encoding="utf-8", newline="") as fh:
            found[city] = tuple(f"{r['street']} {r['housenumber']}, {r['postcode']} {r['city']}" for r in csv.DictReader(fh))
    return found


def load_demo_addresses(address_dir: Path, gazetteer: Gazetteer) -> AddressIndex | None:
    """Load the demo's real address files into the address index in ``address_dir`` (skipped when
    unchanged since the last time) and open it."""
    files = [REAL_ADDRESS_DIR / name for name in REAL_ADDRESS_FILES.values()]
    load_files(files, address_dir, gazetteer)
    return AddressIndex.open(address_dir)


def load_demo(engine: Engine, geocoder: Geocoder, *, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED,
              today: date | None = None, address_dir: Path | None = None,
              progress: Progress | None = None) -> ImportReport:  # fmt: skip
    """Store the demo cities and providers, then import and publish ``size`` demo opportunities,
    telling ``progress`` each step.

    The venues in the cities of :data:`REAL_ADDRESS_FILES` are real addresses, located through the
    address index: the demo's files are loaded into the one in ``address_dir`` (for the app's
    later searches too), or, when None, into a temporary one used for this load only.
    """
    if address_dir is None:
        with tempfile.TemporaryDirectory(prefix="demo-addresses-") as folder:
            return load_demo(engine, geocoder, size=size, seed=seed, today=today, address_dir=Path(folder), progress=progress)
    tell = progress or silent
    tell(ADDRESSES, 0, 0)
    geocoder = geocoder.with_addresses(load_demo_addresses(address_dir, geocoder.gazetteer))
    tell(DISTRICTS, 0, 0)
    centres = city_centres(geocoder.gazetteer)
    with connection.writing(engine) as conn:
        city_ids = {}
        for city in CITIES:
            place = centres[city.name]
            city_ids[city.name] = queries.ensure_city(conn, City(
                name=city.name, country=city.country, latitude=place.latitude, longitude=place.longitude,
                timezone=place.timezone, geonameid=place.geonameid))  # fmt: skip
        for provider in demo_providers(seed):
            queries.ensure_provider(conn, provider, city_ids[provider.city])
    load_demo_boundaries(engine, city_ids)  # the cities' real districts, with population where known
    tell(OPPORTUNITIES, 0, size)
    records = list(_generate(size, seed, today or date.today(), centres, wishes=True, numbered=False))
    return import_records(engine, records, geocoder, publish=True, progress=stepper(progress, OPPORTUNITIES))


# --- demo accounts -------------------------------------------------------------------------

# RFC 2606 reserves .example: no one can own a mailbox there, so no demo account is anyone's.
DEMO_EMAIL_DOMAIN = "demo.example"
DEMO_LEAD_CITY = "Warszawa"
DEMO_PROVIDER_CITY = "Ljubljana"


@dataclass(frozen=True)
class DemoAccount:
    """An account the demo made, with the password it was given (shown once, stored only hashed)."""

    email: str
    role: Role
    password: str
    scope: str  # what it may act on: "every city", a city, an organisation and its city


def is_demo_email(email: str) -> bool:
    return email.rpartition("@")[2] == DEMO_EMAIL_DOMAIN


def other_accounts(engine: Engine) -> list[str]:
    """The email addresses of the accounts in the database the demo did not make (none when it has
    no accounts table yet): ``demo`` would erase them, so it refuses to run."""
    from sqlalchemy import inspect, select

    if not inspect(engine).has_table(schema.users.name):
        return []
    with engine.connect() as conn:
        emails = conn.execute(select(schema.users.c.email).order_by(schema.users.c.id)).scalars()
        return [e for e in emails if not is_demo_email(e)]


def add_demo_accounts(engine: Engine, settings: Settings, *, now: datetime) -> list[DemoAccount]:
    """One account per role, each with a new random password: an admin, the city lead of
    :data:`DEMO_LEAD_CITY` and a provider of the first demo organisation in :data:`DEMO_PROVIDER_CITY`.

    Needs the demo's cities and providers (:func:`load_demo`). The passwords are returned once,
    to be shown to whoever ran the demo; the database keeps only their Argon2 hashes.
    """
    from sqlalchemy import select

    from opportunities.accounts.accounts import add_user
    from opportunities.accounts.audit import COMMAND_LINE
    from opportunities.accounts.identity import Role

    made = []
    with connection.writing(engine) as conn:
        lead_city = queries.find_city(conn, DEMO_LEAD_CITY)
        provider_city = queries.find_city(conn, DEMO_PROVIDER_CITY)
        if lead_city is None or lead_city.id is None or provider_city is None or provider_city.id is None:
            raise NotFoundError(f"the demo cities {DEMO_LEAD_CITY} and {DEMO_PROVIDER_CITY} are not in the database")
        organisation = conn.execute(
            select(schema.providers.c.id, schema.providers.c.name)
            .where(schema.providers.c.city_id == provider_city.id)
            .order_by(schema.providers.c.id)
        ).first()
        if organisation is None:
            raise NotFoundError(f"no demo organisation in {DEMO_PROVIDER_CITY}")
        wanted: tuple[tuple[str, Role, str, int | None, tuple[int, ...]], ...] = (
            ("admin", Role.ADMIN, "every city", None, ()),
            (f"lead.{slug(DEMO_LEAD_CITY)}", Role.CITY_LEAD, DEMO_LEAD_CITY, None, (lead_city.id,)),
            (f"provider.{slug(DEMO_PROVIDER_CITY)}", Role.PROVIDER, f"{organisation.name} ({DEMO_PROVIDER_CITY})",
             int(organisation.id), ()),
        )  # fmt: skip
        for local, role, scope, organisation_id, city_ids in wanted:
            email, password = f"{local}@{DEMO_EMAIL_DOMAIN}", secrets.token_urlsafe(12)  # 96 random bits
            add_user(conn, email, role=role, password=password, settings=settings, now=now,
                     name=f"Demo {role.value.replace('_', ' ')}", organisation_id=organisation_id, city_ids=city_ids,
                     actor_label=COMMAND_LINE)  # fmt: skip
            made.append(DemoAccount(email, role, password, scope))
    return made
