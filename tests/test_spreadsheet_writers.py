"""Every CSV and XLSX the product writes goes through the one formula guard (opportunities/listings/cells.py).

The sources are scanned for the ways Python writes a spreadsheet (``csv.writer``, ``DictWriter``,
pandas' ``to_csv``/``to_excel``, openpyxl's ``Workbook``): each module doing so must be one of
WRITERS, whose output is checked here or in its own tests with a formula-like cell. A new writer
fails this test until it is guarded and listed.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from opportunities.coverage.reports import coverage_csv

ROOT = Path(__file__).resolve().parent.parent
WRITING = re.compile(r"csv\.writer\(|csv\.DictWriter\(|\.to_csv\(|\.to_excel\(|Workbook\(")
# module -> where its guarded output is tested
WRITERS = {
    "opportunities/coverage/reports.py": "here, and tests/coverage/test_indicators.py (indicators_csv)",
    "opportunities/listings/importing.py": "tests/listings/test_importing.py (the rejected rows)",
    "opportunities/listings/exporting.py": "tests/listings/test_exporting.py",
    "opportunities/listings/template.py": "tests/listings/test_upload.py (the template)",
}


def test_every_spreadsheet_writer_is_a_guarded_one() -> None:
    found = {
        str(path.relative_to(ROOT))
        for folder in ("opportunities", "cli", "ui", "pages", "maps")
        for path in (ROOT / folder).rglob("*.py")
        if WRITING.search(path.read_text(encoding="utf-8"))
    }
    assert found == set(WRITERS), f"unlisted writers: {found - set(WRITERS)}; no longer writing: {set(WRITERS) - found}"
    for module in found:
        assert "guard_formula" in (ROOT / module).read_text(encoding="utf-8"), module


def test_the_coverage_table_keeps_district_names_as_text_and_numbers_as_numbers() -> None:
    layer = gpd.GeoDataFrame(
        {"rank": [1, 2], "district": ['=HYPERLINK("http://evil.example","Mokotów")', "Śródmieście"], "per_1000": [-0.5, 2.25],
         "reason": ["@SUM(1+1)", "no opportunity within 2 km"]},
        geometry=[Point(21.0, 52.2), Point(21.01, 52.23)], crs=4326,
    )  # fmt: skip
    data = coverage_csv(layer)
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with the byte-order mark
    table = pd.read_csv(pd.io.common.BytesIO(data), encoding="utf-8-sig")
    assert list(table.columns) == ["rank", "district", "per_1000", "reason"]
    assert table["district"].tolist() == ['\'=HYPERLINK("http://evil.example","Mokotów")', "Śródmieście"]
    assert table["reason"].tolist()[0] == "'@SUM(1+1)"
    assert table["per_1000"].tolist() == [-0.5, 2.25]  # a negative number is a number, not a formula
