"""The coverage map's legend agrees with the fills: none is grey in both, every class's colour is
the colour of the areas in it."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from maps.coverage_map import NONE_COLOUR, area_colour, class_breaks, coverage_map, legend_rows

LABELS = {"count": "Opportunities", "desert": "Desert", "legend": "Opportunities"}


def layer(counts: list[int]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"district": [f"D{i}" for i in range(len(counts))], "count": counts},
                            geometry=[box(i * 0.01, 0, i * 0.01 + 0.01, 0.01) for i in range(len(counts))], crs=4326)  # fmt: skip


@pytest.mark.parametrize("counts", [[0, 0, 1, 2, 3], [0, 5, 5, 5], [0, 0, 0], [1, 2, 3, 10, 20, 40, 80, 81], [7]])
def test_every_fill_is_a_legend_colour_and_none_is_grey_in_both(counts: list[int]) -> None:
    values = np.array(counts, dtype=float)
    positive = values[values > 0]
    breaks = class_breaks(positive) if len(positive) else []
    rows = legend_rows(breaks, positive)
    assert rows[0] == (NONE_COLOUR, "0")
    legend_colours = {c for c, _ in rows}
    for amount in values:
        colour = area_colour(amount, breaks)
        assert colour in legend_colours
        assert (colour == NONE_COLOUR) == (amount == 0)
    html = (
        coverage_map(layer(counts), value="count", labels=LABELS, topic_names={}, tile_url="x", tile_attribution="x")
        .get_root()
        .render()
    )
    for colour, text in rows:
        assert f"background:{colour};" in html and f"</span> {text}</div>" in html


def test_first_class_starts_at_the_lowest_count_not_at_zero() -> None:
    assert [t for _, t in legend_rows([2.0, 3.0], np.array([1.0, 2.0, 3.0]))] == ["0", "1–2", "3"]
    assert [t for _, t in legend_rows([4.0], np.array([4.0]))] == ["0", "4"]


@pytest.mark.parametrize(
    "counts", [[1, 1, 2, 3, 5, 8, 13, 21, 34], [1, 2, 3, 10, 20, 40, 80, 81], [0.3, 1.7, 4.1, 4.2, 9.5, 12.0, 30.25]]
)
def test_legend_classes_never_touch_and_name_what_they_hold(counts: list[float]) -> None:
    positive = np.array(counts, dtype=float)
    breaks = class_breaks(positive)
    bounds = []
    for text in [t for _, t in legend_rows(breaks, positive)][1:]:
        low, _, high = text.partition("–")
        bounds.append((float(low), float(high or low)))
    for (_, high), (low, _) in itertools.pairwise(bounds):
        assert high < low  # "1–2" then "3", never "2–3"
    # Each value lies in the class whose colour it is painted in.
    for amount in positive:
        klass = [i for i, (low, high) in enumerate(bounds) if low <= amount <= high]
        assert len(klass) == 1
        assert area_colour(amount, breaks) == legend_rows(breaks, positive)[klass[0] + 1][0]


def test_the_html_export_opens_offline_and_the_png_is_a_picture_of_the_layer() -> None:
    from io import BytesIO

    from PIL import Image

    from maps.coverage_map import map_png, standalone_html

    areas = layer([0, 1, 4, 9]).assign(desert=[True, False, False, False])
    html = standalone_html(
        areas, value="count", labels=LABELS, topic_names={}, tile_url="https://t/{z}/{x}/{y}.png", tile_attribution="x"
    )
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html  # nothing to fetch but tiles
    assert "L.map(" in html and "leaflet.js" in html and "col-inline-asset:" not in html
    assert "background:#f7f7f7;" in html
    png = map_png(areas, value="count", labels=LABELS, title="Göteborg")
    image = Image.open(BytesIO(png))
    assert image.format == "PNG" and image.width > 400
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert (pixels == (0xF7, 0xF7, 0xF7)).all(axis=1).any()  # the empty district, grey as in the legend


def test_the_legend_folds_and_is_compact_on_a_phone() -> None:
    page = str(coverage_map(layer([0, 1, 2, 5]), value="count", labels=LABELS, topic_names={},
                            tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", tile_attribution="t").get_root().render())  # fmt: skip
    assert '<details class="col-coverage-legend" open><summary><b>Opportunities</b></summary>' in page
    assert 'matchMedia("(max-width: 480px)")' in page and 'removeAttribute("open")' in page  # folded on a phone
    narrow = page[page.index("@media (max-width: 480px)") :]
    assert "top: 8px; right: 8px; bottom: auto" in narrow  # away from the scale bar and the attribution
