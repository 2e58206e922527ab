"""Indicators: what a city, a region or the whole network offers in a period, beside the previous period.

Public figures from published opportunities (no account needed): cards with the change, charts,
a table, and exports (CSV, a PNG of each chart, a printable one-page report). The choice of scope
and period lives in the URL, so a view is a link to share.
"""

from __future__ import annotations

import functools
from datetime import date

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from opportunities.coverage.charts import chart_png, charts
from opportunities.coverage.indicators import (
    MAX_PERIOD_DAYS,
    Group,
    Indicators,
    Period,
    ScopeKind,
    compute,
    request_from_params,
    resolve_scope,
    scope_names,
)
from opportunities.coverage.printable import REPORT_CHART_HEIGHT, REPORT_CHART_WIDTH, REPORT_CHARTS, report_html
from opportunities.coverage.reports import (
    definition,
    figure_label,
    format_change,
    format_value,
    group_label,
    indicators_csv,
    key_figures,
    kind_label,
    note_text,
    period_text,
    scope_title,
    shown_value,
)
from opportunities.db.queries import data_version
from opportunities.explore.url_params import local_today
from opportunities.i18n import format_day
from opportunities.text import escape_markdown
from ui import access, session
from ui import app_state as state
from ui.language import DATE_FORMATS, language, set_page_language, switcher, translations

state.run_through_app()

WIDGET_KEYS = (session.INDICATORS_SCOPE_KIND, session.INDICATORS_SCOPE_NAME, session.INDICATORS_FROM, session.INDICATORS_TO)
CARDS_PER_ROW = 4
CHARTS_PER_ROW = 2
# Dates a period may start or end on: ten years back and ahead.
YEARS_AROUND = 10


@st.cache_data(max_entries=64, ttl=600, show_spinner=False)
def _indicators_at(_engine: Engine, database_url: str, version: str, kind: str, name: str, start: date, end: date) -> Indicators:
    with _engine.connect() as conn:
        scope = resolve_scope(conn, ScopeKind(kind), name)
        return compute(conn, scope, Period(start, end))


@st.cache_data(max_entries=16, ttl=600, show_spinner=False)
def _names_at(_engine: Engine, database_url: str, version: str, kind: str) -> list[str]:
    with _engine.connect() as conn:
        return scope_names(conn, ScopeKind(kind))


def init_page_state(today: date) -> None:
    """Every session-state key of the page, once per session, from the URL (``scope``, ``name``,
    ``from``, ``to``) or the defaults: the whole network, this month."""
    if st.session_state.get(session.INDICATORS_READY):
        return
    asked = request_from_params({name: st.query_params.get(name, "") for name in ("scope", "name", "from", "to")}, today)
    st.session_state[session.INDICATORS_SCOPE_KIND] = asked.kind.value
    st.session_state[session.INDICATORS_SCOPE_NAME] = asked.name
    st.session_state[session.INDICATORS_FROM] = asked.start
    st.session_state[session.INDICATORS_TO] = asked.end
    st.session_state[session.INDICATORS_READY] = True


def sidebar(engine: Engine, database_url: str, version: str, lang: str, today: date) -> tuple[ScopeKind, str, date, date]:
    _ = translations(lang).gettext
    switcher(WIDGET_KEYS)
    kind_labels = {
        ScopeKind.CITY.value: _("A city"),
        ScopeKind.REGION.value: _("A region"),
        ScopeKind.NETWORK.value: _("The whole network"),
    }
    kind = ScopeKind(
        st.sidebar.radio(
            _("Show indicators for"), list(kind_labels), key=session.INDICATORS_SCOPE_KIND, format_func=kind_labels.__getitem__
        )
    )
    name = ""
    if kind != ScopeKind.NETWORK:
        names = _names_at(engine, database_url, version, kind.value)
        if st.session_state[session.INDICATORS_SCOPE_NAME] not in names:
            st.session_state[session.INDICATORS_SCOPE_NAME] = names[0] if names else ""
        label = _("City") if kind == ScopeKind.CITY else _("Region")
        name = st.sidebar.selectbox(label, names, key=session.INDICATORS_SCOPE_NAME) or ""
    earliest, latest = today.replace(year=today.year - YEARS_AROUND), today.replace(year=today.year + YEARS_AROUND, day=28)
    start = st.sidebar.date_input(
        _("From"), key=session.INDICATORS_FROM, min_value=earliest, max_value=latest, format=DATE_FORMATS[lang]
    )
    end = st.sidebar.date_input(
        _("To"), key=session.INDICATORS_TO, min_value=earliest, max_value=latest, format=DATE_FORMATS[lang]
    )
    st.sidebar.caption(_("Each figure is compared with the previous period of the same length."))
    return kind, name, start, end  # type: ignore[return-value]


def period_problem(start: date | None, end: date | None, lang: str) -> str:
    """Why ``start``–``end`` is no period (in the user's language), or ""."""
    _ = translations(lang).gettext
    if start is None or end is None:
        return _("Choose the first and the last day of the period.")
    if end < start:
        return _("The last day is before the first day: choose a last day on or after {day}.").format(day=format_day(start, lang))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        return _("A period is at most {days} days long: choose a shorter one.").format(days=MAX_PERIOD_DAYS)
    return ""


CARDS_KEY = "indicator_cards"
# A card's label wraps onto a second line rather than ending in "…" (st.metric keeps it on one
# line): "Verifierade organisationer" and "Tillgänglighet beskriven" are wider than a card at 1280 px.
CARD_LABELS_WRAP = (
    "<style>"
    f".st-key-{CARDS_KEY} [data-testid='stMetricLabel'] [data-testid='stMarkdownContainer'], "
    f".st-key-{CARDS_KEY} [data-testid='stMetricLabel'] p "
    "{ white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: break-word; }"
    "</style>"
)


def cards(indicators: Indicators, lang: str) -> None:
    st.html(CARD_LABELS_WRAP)
    with st.container(key=CARDS_KEY):
        _cards(indicators, lang)


def _cards(indicators: Indicators, lang: str) -> None:
    _ = translations(lang).gettext
    figures = key_figures(indicators)
    for row in range(0, len(figures), CARDS_PER_ROW):
        columns = st.columns(CARDS_PER_ROW)
        for column, figure in zip(columns, figures[row : row + CARDS_PER_ROW], strict=False):
            change = format_change(figure, lang)
            before = _("Previous period: {value}").format(value=format_value(figure.previous, figure.unit, lang))
            column.metric(
                figure_label(figure, lang),
                shown_value(indicators, figure, lang),
                # st.metric reads a leading ASCII minus as a fall.
                delta=change.replace("−", "-") if change else None,
                delta_color="off" if change.startswith("±") else "normal",
                delta_arrow="off" if change.startswith("±") else "auto",  # no change: no arrow
                help=f"{definition(figure, lang)} {before}".strip(),
                border=True,
                height="stretch",  # the cards of a row as tall as the tallest (a label on two lines)
            )


def chart_section(indicators: Indicators, lang: str, slug: str) -> None:
    _ = translations(lang).gettext
    drawn = list(charts(indicators, lang).items())
    for row in range(0, len(drawn), CHARTS_PER_ROW):
        columns = st.columns(CHARTS_PER_ROW)
        for column, (group, chart) in zip(columns, drawn[row : row + CHARTS_PER_ROW], strict=False):
            with column:
                st.altair_chart(chart, width="stretch")
                st.download_button(
                    _("PNG of this chart"),
                    # Drawn when clicked: rendering every chart on every run would slow the page.
                    data=functools.partial(chart_png, chart),
                    file_name=f"{slug}-{group.value}.png",
                    mime="image/png",
                    on_click="ignore",
                    key=f"png_{group.value}",
                    icon=":material/image:",
                )


def figure_table(indicators: Indicators, lang: str) -> None:
    _ = translations(lang).gettext
    rows = [
        {
            _("Group"): group_label(f.group, lang),
            _("Indicator"): figure_label(f, lang),
            _("This period"): format_value(f.value, f.unit, lang),
            _("Previous period"): format_value(f.previous, f.unit, lang),
            _("Change"): format_change(f, lang),
        }
        for f in indicators.figures
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def joined_table(indicators: Indicators, lang: str) -> None:
    _ = translations(lang).gettext
    if not indicators.joined:
        st.caption(_("No organisation joined in this period."))
        return
    # Names are provider text: a dataframe shows them as text, never as Markdown or HTML.
    rows = [
        {_("Organisation"): o.name, _("Kind"): kind_label(o.kind, lang), _("Joined"): format_day(o.joined, lang)}
        for o in indicators.joined
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def report_images(indicators: Indicators, lang: str) -> dict[Group, bytes]:
    drawn = charts(indicators, lang)
    return {
        group: chart_png(drawn[group], width=REPORT_CHART_WIDTH, height=REPORT_CHART_HEIGHT)
        for group in REPORT_CHARTS
        if group in drawn
    }


def exports(indicators: Indicators, lang: str, slug: str, today: date) -> None:
    _ = translations(lang).gettext
    left, right = st.columns(2)
    left.download_button(
        _("Indicators as CSV"), data=indicators_csv(indicators, lang), file_name=f"{slug}.csv", mime="text/csv",
        on_click="ignore", key="csv", icon=":material/download:",
    )  # fmt: skip
    right.download_button(
        _("Printable report (HTML)"),
        data=lambda: report_html(indicators, lang, chart_images=report_images(indicators, lang), today=today),
        file_name=f"{slug}-report.html", mime="text/html", on_click="ignore", key="report", icon=":material/print:",
        help=_("One page: open it in the browser and print it, or save it as PDF."),
    )  # fmt: skip


def file_slug(kind: ScopeKind, name: str, period: Period) -> str:
    """``indicators-warszawa-2026-11-01-2026-11-30``: ASCII letters and digits only."""
    from opportunities.demo.generator import slug

    where = slug(name) or kind.value if kind != ScopeKind.NETWORK else "network"
    return f"indicators-{where}-{period.start.isoformat()}-{period.end.isoformat()}"


# --- the page ---------------------------------------------------------------------------------


def main() -> None:
    settings = state.settings()
    engine = access.engine()
    zones = state.city_details(engine, settings.database_url)
    today = local_today([zone for _country, zone in zones.values()])
    lang = language()
    init_page_state(today)
    with engine.connect() as conn:
        version = data_version(conn)
    kind, name, start, end = sidebar(engine, settings.database_url, version, lang, today)
    _ = translations(lang).gettext

    st.title(_("Indicators"))
    problem = period_problem(start, end, lang)
    if problem:
        st.error(problem, icon=":material/event_busy:")
        set_page_language(lang)
        st.stop()
    if kind != ScopeKind.NETWORK and not name:
        st.info(_("There are no published opportunities yet."), icon=":material/info:")
        set_page_language(lang)
        st.stop()

    st.query_params.from_dict(
        {"scope": kind.value, **({"name": name} if name else {}), "from": start.isoformat(), "to": end.isoformat(), "lang": lang}
    )
    indicators = _indicators_at(engine, settings.database_url, version, kind.value, name, start, end)
    this_period, previous_period = period_text(indicators, lang)
    st.markdown(f"### {escape_markdown(scope_title(indicators, lang))}")
    st.caption(escape_markdown(_("{period}, compared with {previous}. Published opportunities only.").format(
        period=this_period, previous=previous_period)))  # fmt: skip
    if indicators.notes:
        st.caption(escape_markdown(" ".join(note_text(note, lang) for note in indicators.notes)))

    cards(indicators, lang)
    slug = file_slug(kind, name, indicators.period)
    st.subheader(_("Charts"))
    chart_section(indicators, lang, slug)
    st.subheader(_("Organisations that joined"))
    joined_table(indicators, lang)
    st.subheader(_("All figures"))
    figure_table(indicators, lang)
    st.subheader(_("Downloads"))
    exports(indicators, lang, slug, today)
    st.caption(_("An opportunity counts in a period when one of its sessions falls in it."))
    set_page_language(lang)


main()
