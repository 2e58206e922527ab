"""Charts of indicators (Altair / Vega-Lite) and their PNG images for slides, rendered offline.

A chart compares the period with the previous one where that means something (topics, age
groups, modes, types, organisations by kind) and shows the months of the period as bars.
Labels come from the vocabularies, in the user's language; data text never reaches a chart.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from opportunities.coverage.indicators import Group, Indicators
from opportunities.coverage.reports import figure_label, group_label, period_text
from opportunities.i18n import translator

# The groups drawn, in the order shown; a group without any figure (participants before reports
# exist) is left out.
CHART_GROUPS: tuple[Group, ...] = (
    Group.MONTH, Group.TOPIC, Group.AGE_GROUP, Group.MODE, Group.TYPE, Group.JOINED_BY_KIND,
    Group.PARTICIPANTS_BY_AGE_GROUP,
)  # fmt: skip
# Colours that read on white and on Streamlit's dark background: this period strong, the previous pale.
THIS_PERIOD_COLOUR = "#1f6fb4"
PREVIOUS_PERIOD_COLOUR = "#9fb8cf"
BAR_HEIGHT = 16
PNG_SCALE = 2
PNG_WIDTH = 560  # CSS pixels; Streamlit fits the chart to its column instead


def charts(indicators: Indicators, language: str) -> dict[Group, alt.Chart]:
    """One chart per group of :data:`CHART_GROUPS` that has figures other than zero, in that order
    (no participation reports yet: no empty chart of participants)."""
    found: dict[Group, alt.Chart] = {}
    for group in CHART_GROUPS:
        if any(f.value or f.previous for f in indicators.group(group)):
            found[group] = (
                month_chart(indicators, language) if group == Group.MONTH else comparison_chart(indicators, group, language)
            )
    return found


def month_chart(indicators: Indicators, language: str) -> alt.Chart:
    _ = translator(language).gettext
    rows = [{"month": figure_label(f, language), "order": f.key, "count": f.value} for f in indicators.group(Group.MONTH)]
    count_title = _("Opportunities")
    chart: alt.Chart = (
        alt.Chart(pd.DataFrame(rows), title=group_label(Group.MONTH, language))
        .mark_bar(color=THIS_PERIOD_COLOUR)
        .encode(
            x=alt.X("month:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("count:Q", title=count_title, axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=[alt.Tooltip("month:N", title=_("Month")), alt.Tooltip("count:Q", title=count_title)],
        )
        .properties(height=260)
    )
    return chart


def comparison_chart(indicators: Indicators, group: Group, language: str) -> alt.Chart:
    """Horizontal bars: each item's count in this period beside the previous period's."""
    _ = translator(language).gettext
    this_period, previous_period = period_text(indicators, language)
    this_name, previous_name = _("This period"), _("Previous period")
    rows: list[dict[str, Any]] = []
    for order, figure in enumerate(indicators.group(group)):
        label = figure_label(figure, language)
        rows.append({"item": label, "order": order, "period": this_name, "dates": this_period, "count": figure.value or 0})
        rows.append(
            {"item": label, "order": order, "period": previous_name, "dates": previous_period, "count": figure.previous or 0}
        )
    count_title = _("Opportunities") if group not in (Group.JOINED_BY_KIND, Group.PARTICIPANTS_BY_AGE_GROUP) else _("Number")
    items = len(rows) // 2
    chart: alt.Chart = (
        alt.Chart(pd.DataFrame(rows), title=group_label(group, language))
        .mark_bar()
        .encode(
            y=alt.Y("item:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelLimit=220)),
            yOffset=alt.YOffset("period:N", sort=[this_name, previous_name]),
            x=alt.X("count:Q", title=count_title, axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color(
                "period:N",
                sort=[this_name, previous_name],
                scale=alt.Scale(domain=[this_name, previous_name], range=[THIS_PERIOD_COLOUR, PREVIOUS_PERIOD_COLOUR]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("item:N", title=group_label(group, language)),
                alt.Tooltip("period:N", title=_("Period")),
                alt.Tooltip("dates:N", title=_("Dates")),
                alt.Tooltip("count:Q", title=count_title),
            ],
        )
        .properties(height=alt.Step(BAR_HEIGHT) if items else 40)
    )
    return chart


def chart_png(chart: alt.Chart, *, scale: float = PNG_SCALE, width: int = PNG_WIDTH, height: int | None = None) -> bytes:
    """The chart as a PNG image on white (for slides), rendered without a browser or network;
    ``height`` (CSS pixels) squeezes a tall chart, else each bar keeps its own height."""
    import vl_convert

    sized = chart.properties(background="white", padding=12, width=width)
    spec = (sized.properties(height=height) if height is not None else sized).to_dict()
    return bytes(vl_convert.vegalite_to_png(spec, scale=scale))
