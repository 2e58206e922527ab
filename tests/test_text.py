"""Text helpers: folding for matching, escaping for Markdown."""

from __future__ import annotations

import pytest

from opportunities.text import escape_markdown, fold, has_hidden_controls, isolated_html, safe_file_name, without_hidden_controls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Latin: accents dropped, letters that do not decompose take their ASCII form.
        ("Göteborg", "goteborg"),
        ("Kranj  (SI)", "kranj si"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Łódź", "lodz"),
        ("ŁÓDŹ", "lodz"),
        ("Kraków", "krakow"),
        ("Gdańsk, Wrocław", "gdansk wroclaw"),
        ("Čičerona šola, Žalec", "cicerona sola zalec"),
        ("Škofja Loka", "skofja loka"),
        ("Malmö – Västerås", "malmo vasteras"),
        ("Åre", "are"),
        ("Ørsted, Æbeltoft, Œuvre, Đakovo, Þórshöfn", "orsted aebeltoft oeuvre dakovo thorshofn"),
        ("İstanbul", "istanbul"),
        # Cyrillic stays Cyrillic, case-folded.
        ("Кодування для підлітків", "кодування для підлітків"),
        ("КОДУВАННЯ", "кодування"),
        ("Київ", "киів"),
        ("Львівська політехніка", "львівська політехніка"),
        ("Београд", "београд"),
        ("Нови Сад — Ђурђевдан", "нови сад ђурђевдан"),
        # Greek: tonos dropped, final sigma is sigma.
        ("Αθήνα", "αθηνα"),
        ("ΑΘΗΝΑ", "αθηνα"),
        ("Θεσσαλονίκη", "θεσσαλονικη"),
        ("σοφός ΣΟΦΟΣ", "σοφοσ σοφοσ"),
        # Arabic: harakat and tatweel dropped; Arabic-Indic digits are digits.
        ("العَرَبِيَّة", "العربية"),
        ("عـــربي", "عربي"),
        ("دورة ٢٠٢٦", "دورة 2026"),
        # Chinese, Japanese, Korean: kept whole (kana keep their voicing marks).
        ("编程课程", "编程课程"),
        ("Python 编程（初级）", "python 编程 初级"),
        ("ガス と カス", "ガス と カス"),
        ("한국어 수업", "한국어 수업"),
        # Symbols that carry meaning: `#` and `+` ending a word.
        ("C# for beginners", "c# for beginners"),
        ("C++ for beginners", "c++ for beginners"),
        ("F#/C#, C++!", "f# c# c++"),
        ("#hashtag + more", "hashtag more"),
        ("a+b", "a b"),
        ("C++11", "c 11"),
        # Width, ligatures, invisible characters.
        ("ＫＲＡＮＪ", "kranj"),
        ("ﬁnal", "final"),
        ("Kod\u00adklubb", "kodklubb"),
        ("Kod\u200bklubb", "kodklubb"),
        ("  --  ", ""),
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected
    assert fold(expected) == expected  # stable: a stored key folds to itself


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("C# for beginners", "C++ for beginners"),
        ("F# for beginners", "C# for beginners"),
        ("Кодування для підлітків", "Малювання для дітей"),
        ("Київська школа", "Львівська школа"),
        ("Αθήνα", "Πάτρα"),
        ("编程课程", "绘画课程"),
        ("ガス", "カス"),
        ("हिंदी", "हिंद"),
    ],
)
def test_fold_keeps_different_texts_apart(one: str, other: str) -> None:
    assert fold(one) != fold(other)
    assert fold(one) and fold(other)


@pytest.mark.parametrize("codepoint", range(128))
def test_fold_ascii_fast_path_agrees_with_the_unicode_path(codepoint: int) -> None:
    # A trailing non-ASCII separator (an em dash) sends the same text through the Unicode path.
    text = f"Ab{chr(codepoint)}9 C{chr(codepoint)}{chr(codepoint)} x{chr(codepoint)}"
    assert fold(text) == fold(text + " \u2014")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kodklubb", "Kodklubb"),
        ("Göteborg – Språkcafé", "Göteborg – Språkcafé"),
        ("**bold** _it_", r"\*\*bold\*\* \_it\_"),
        ("[click](javascript:alert(1))", r"\[click\]\(javascript\:alert\(1\)\)"),
        ("![x](https://evil.example/t.png)", "\\!\\[x\\]\\(https\u2060\\://evil\\.example/t\\.png\\)"),
        ("<img src=x onerror=alert(1)>", r"\<img src\=x onerror\=alert\(1\)\>"),
        ("# Heading", r"\# Heading"),
        ("line one\n\n- line two", r"line one \- line two"),
        ("> quote", r"\> quote"),
        ("`code`", r"\`code\`"),
        (":red[alarm] :smile:", r"\:red\[alarm\] \:smile\:"),
        ("$x^2$ ~~gone~~", r"\$x\^2\$ \~\~gone\~\~"),
        ("1. first", r"1\. first"),
        ("a | b", r"a \| b"),
        ("C:\\path", r"C\:\\path"),
        ("R&amp;D", r"R\&amp;D"),
        # GFM autolink literals, which Markdown escapes do not stop: a word joiner breaks each trigger.
        ("see www.evil.example", "see www\u2060\\.evil\\.example"),
        ("HTTP://evil.example", "HTTP\u2060\\://evil\\.example"),
        ("mail me@evil.example", "mail me\u2060@evil\\.example"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


def test_long_texts_fold_like_short_ones() -> None:
    # Descriptions (longer than what fold() remembers) take the same path minus the cache.
    assert fold("Кодування, C++ " * 100) == " ".join(["кодування c++"] * 100)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("dzielnice.geojson", "dzielnice.geojson"),
        ("oferta\x00.csv", "oferta.csv"),  # a NUL byte: Streamlit and the file system refuse it
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ola\\oferty zima.xlsx", "oferty zima.xlsx"),
        ("evil\u202egpj.exe", "evilgpj.exe"),  # a right-to-left override would show "exe.jpg"
        ('a<b>c:"d"|e?*.csv', "abcde.csv"),
        ("...", "upload"),
        ("ß" * 300 + ".csv", "ß" * 100),
    ],
)
def test_file_names_from_visitors_are_made_safe(name: str, safe: str) -> None:
    assert safe_file_name(name, "upload") == safe


def test_hidden_direction_controls_are_found_and_removed_but_joiners_kept() -> None:
    title = "Warsztat \u202egpj.exe\u202c o\u200bgrodu"
    assert has_hidden_controls(title) and without_hidden_controls(title) == "Warsztat gpj.exe ogrodu"
    persian = "می\u200cخواهم"  # the zero-width non-joiner is part of the word
    family = "👩\u200d👧"
    assert not has_hidden_controls(persian + family) and without_hidden_controls(persian + family) == persian + family


@pytest.mark.parametrize(
    ("text", "html"),
    [("Kulturhuset", "<bdi>Kulturhuset</bdi>"), ("<b>x</b> & 'y'", "<bdi>&lt;b&gt;x&lt;/b&gt; &amp; &#x27;y&#x27;</bdi>"),
     ("مكتبة", "<bdi>مكتبة</bdi>")],
)  # fmt: skip
def test_provider_text_is_escaped_and_isolated_in_html(text: str, html: str) -> None:
    assert isolated_html(text) == html
