"""Coverage: where learning opportunities are and are not, per district or H3 cell, and the deserts.

Read-only. A visitor sees published opportunities in every city; a signed-in city lead sees their
own cities with the pending listings too (``permissions.coverage_view`` decides, server side).
"""

from __future__ import annotations

import math
from datetime import date
from typing import NoReturn

import streamlit as st
from streamlit_folium import st_folium

from maps.coverage_map import coverage_map, map_png, standalone_html
from opportunities.accounts import permissions
from opportunities.accounts.identity import User
from opportunities.accounts.permissions import Action
from opportunities.coverage.boundaries import MAX_BOUNDARY_BYTES, read_boundary_file, replace_city_districts
from opportunities.coverage.districts import (
    DEFAULT_DESERT_KM,
    MAX_DESERT_KM,
    CoverageFilter,
    CoverageIndex,
    city_ids_named,
    coverage_layer,
    layer_geojson,
    ranked,
)
from opportunities.coverage.population import (
    MAX_POPULATION_BYTES,
    preview_population,
    read_population_file,
    replace_city_population,
)
from opportunities.coverage.reports import coverage_csv
from opportunities.db.queries import list_cities
from opportunities.errors import BoundaryFileError
from opportunities.i18n import age_group_label, explain_file_error, format_number, format_significant, topic_label, translator
from opportunities.text import escape_markdown
from opportunities.vocabulary import AGE_GROUPS, PIN_MAX_UNCERTAINTY_M, TOPICS, Status
from ui import access, session, widgets
from ui import app_state as state

state.run_through_app()


def filters(coverage: CoverageIndex, lang: str, city_ids: tuple[int, ...] | None) -> tuple[CoverageFilter, str, float, str]:
    """The sidebar: city (of ``city_ids``; None: any), view, topic, age group, free only, period, desert distance."""
    _ = translator(lang).gettext
    names = sorted(c.name for cid, c in coverage.cities.items() if city_ids is None or cid in city_ids)
    with st.sidebar:
        city = st.selectbox(_("City"), names, index=names.index("Warszawa") if "Warszawa" in names else 0, key="coverage_city")
        by = st.radio(_("Show"), ("district", "cell"), key="coverage_by", horizontal=True,
                      format_func=lambda v: _("Districts") if v == "district" else _("Hexagon grid"))  # fmt: skip
        topics = st.multiselect(
            _("Topics"), TOPICS, key="coverage_topics", format_func=lambda v: topic_label(v, lang), placeholder=_("All topics")
        )
        age = st.selectbox(_("Age group"), ["", *(g.id for g in AGE_GROUPS)], key="coverage_age",
                           format_func=lambda v: age_group_label(v, lang) if v else _("Any age"))  # fmt: skip
        free = st.checkbox(_("Free only"), key="coverage_free")
        # An empty tuple: a range input with no dates chosen (Streamlit's stubs know only non-empty ones).
        period = st.date_input(_("Period"), value=(), key="coverage_period")  # type: ignore[arg-type]
        distance = st.slider(
            _("Desert distance (km, straight line)"), 0.5, MAX_DESERT_KM, DEFAULT_DESERT_KM, 0.5, key="coverage_km"
        )
    dates = list(period) if isinstance(period, tuple | list) else [period]
    date_from = dates[0] if dates and isinstance(dates[0], date) else None
    date_to = dates[1] if len(dates) > 1 and isinstance(dates[1], date) else None
    filt = CoverageFilter(city_ids=city_ids_named(coverage, [city]) if city else (), topics=tuple(topics),
                          age_group=age, free_only=free, date_from=date_from, date_to=date_to)  # fmt: skip
    return filt, by, float(distance), city or ""


def main() -> None:
    settings = state.settings()
    engine = access.engine()
    lang = access.language()
    _ = translator(lang).gettext
    with engine.connect() as conn:
        known = tuple(c.id for c in list_cities(conn) if c.id is not None)
    user = access.current_user()
    statuses, city_ids = permissions.coverage_view(user, known)
    coverage = state.coverage(engine, settings.database_url, statuses)
    st.title(_("Coverage"))
    if not coverage.cities:
        st.info(_("No published opportunities yet."))
        return
    filt, by, distance, city = filters(coverage, lang, city_ids)
    if by == "district" and not len(coverage.districts.of_cities(filt.city_ids)):
        st.info(_("This city has no districts yet; showing the hexagon grid."))
        by = "cell"
    layer = coverage_layer(coverage, filt, by=by, distance_km=distance)
    apart = coverage.apart(filt, PIN_MAX_UNCERTAINTY_M)
    approximate = int(apart["approximate"].sum()) if len(apart) else 0
    online = int(apart["online"].sum()) if len(apart) else 0
    if Status.PENDING in statuses:
        scope = _(
            "Published and pending opportunities of your cities. Deserts: no matching opportunity within {km} km "
            "in a straight line (not a walking or transit distance). Residents are taken as spread evenly over each district."
        )
    else:
        scope = _(
            "Published opportunities only. Deserts: no matching opportunity within {km} km in a straight line "
            "(not a walking or transit distance). Residents are taken as spread evenly over each district."
        )
    st.caption(scope.format(km=f"{distance:g}"))
    st.caption(translator(lang).ngettext(
        "Not on the map: {approximate} matching opportunity known only to a town or postcode centre, {online} online.",
        "Not on the map: {approximate} matching opportunities known only to a town or postcode centre, {online} online.",
        approximate,
    ).format(approximate=format_number(approximate, lang), online=format_number(online, lang)))  # fmt: skip
    labels = {"count": _("Opportunities"), "desert": _("Desert: nothing within {km} km").format(km=f"{distance:g}"),
              "legend": _("Opportunities")}  # fmt: skip
    map_args = {"value": "count", "labels": labels, "topic_names": {x: topic_label(x, lang) for x in TOPICS},
                "tile_url": settings.tile_url, "tile_attribution": settings.tile_attribution}  # fmt: skip
    fmap = coverage_map(layer, asset_base=state.asset_base(), **map_args)  # type: ignore[arg-type]
    map_column, table_column = st.columns([3, 2])
    with map_column:
        st_folium(fmap, height=520, use_container_width=True, returned_objects=[], key="coverage_map")
    with table_column:
        if by == "district":
            st.subheader(_("Worst served first"))
            table = layer[["rank", "district", "count", "per_1000", "residents_in_desert", "reason"]].copy()
            table.columns = [_("Rank"), _("District"), _("Opportunities"), _("Per 1,000 residents"),
                             _("Residents in deserts"), _("Why")]  # fmt: skip
            # Rates and reasons in the page's language and number format ("0,0092" in Swedish).
            table[_("Per 1,000 residents")] = [format_significant(float(v), lang) for v in layer["per_1000"]]
            reasons = ranked(coverage.district_deserts(filt, distance), distance, _, lang)["reason"]
            table[_("Why")] = list(reasons)
        else:
            st.subheader(_("Cells"))
            table = layer[["cell", "count", "nearest_km", "desert"]].sort_values("count", ascending=False)
            table.columns = [_("Cell"), _("Opportunities"), _("Nearest (km)"), _("Desert")]
        st.dataframe(table, hide_index=True, width="stretch")
    slug = city.replace(" ", "_") or "coverage"
    csv = coverage_csv(layer)
    one, two, three, four = st.columns(4)
    # on_click="ignore": a download does not rerun the page. A rerun replaces the files of the
    # buttons drawn before it, so a second click (the PNG right after the HTML) would ask for a
    # file that is gone (MediaFileStorageError).
    one.download_button(_("Table (CSV)"), csv, f"coverage-{slug}-{by}.csv", "text/csv", on_click="ignore", key="coverage_csv")
    two.download_button(
        _("Layer (GeoJSON)"), layer_geojson(layer).encode("utf-8"), f"coverage-{slug}-{by}.geojson", "application/geo+json",
        on_click="ignore", key="coverage_geojson",
    )  # fmt: skip
    # Built on click only: inlining Leaflet and drawing the PNG are not worth doing on every rerun.
    three.download_button(
        _("Map (HTML)"), lambda: standalone_html(layer, **map_args).encode("utf-8"), f"coverage-{slug}-{by}.html", "text/html",
        on_click="ignore", key="coverage_html",
    )  # fmt: skip
    four.download_button(
        _("Map (PNG)"), lambda: map_png(layer, value="count", labels=labels, title=city), f"coverage-{slug}-{by}.png",
        "image/png", on_click="ignore", key="coverage_png",
    )  # fmt: skip
    if len(filt.city_ids) == 1 and permissions.allowed(user, Action.REPLACE_DISTRICTS, city_id=filt.city_ids[0]):
        district_upload(user, filt.city_ids[0], city, lang)
        population_upload(user, filt.city_ids[0], city, lang)


def uploader_key(name: str) -> str:
    """The uploader's key: a new one after each stored file, so the stored file leaves the box."""
    return f"{name}_{st.session_state.get(session.upload_round(name), 0)}"


def stored(name: str, message: str) -> NoReturn:
    """After a stored upload: an empty uploader and the page drawn anew (map, ranking and table
    from the new figures), with ``message`` shown once by :func:`show_stored`."""
    st.session_state[session.upload_round(name)] = st.session_state.get(session.upload_round(name), 0) + 1
    st.session_state[session.upload_done(name)] = message
    st.rerun()


def show_stored(name: str) -> None:
    message = st.session_state.pop(session.upload_done(name), None)
    if message:
        st.success(message)


def district_upload(user: User | None, city_id: int, city: str, lang: str) -> None:
    """A city lead's (or an admin's) boundary upload: the file checked and previewed, stored on confirm."""
    _ = translator(lang).gettext
    st.subheader(_("District boundaries of {city}").format(city=escape_markdown(city)))
    st.caption(_("GeoJSON, GeoPackage or a zipped Shapefile with a name column and, where known, a population column. "
                 "The districts shown now are replaced only when you confirm."))  # fmt: skip
    # The browser refuses a larger file before sending it; read_boundary_file checks the exact limit.
    show_stored("coverage_boundaries")
    upload = st.file_uploader(_("Boundary file"), type=["geojson", "json", "gpkg", "zip"], key=uploader_key("coverage_boundaries"),
                              max_upload_size=math.ceil(MAX_BOUNDARY_BYTES / 1024 / 1024))  # fmt: skip
    if upload is None:
        return
    with widgets.uploaded_file(upload) as path:
        try:
            read = read_boundary_file(path)
        except BoundaryFileError as exc:
            st.error(
                _("This file cannot be used; nothing was changed. {reason}").format(
                    reason=escape_markdown(explain_file_error(exc, lang))
                )
            )
            return
    population = sum(d.population is not None for d in read.districts)
    st.markdown(_("{count} districts, coordinate reference system {crs}, residents known for {population} of them.")
                .format(count=len(read.districts), crs=escape_markdown(read.crs), population=population))  # fmt: skip
    if read.repaired:
        st.warning(_("Invalid polygons repaired: {names}").format(names=", ".join(escape_markdown(n) for n in read.repaired)))
    if st.button(_("Replace the districts of {city}").format(city=escape_markdown(city)), key="coverage_boundaries_confirm"):
        count = replace_city_districts(access.engine(), user, city_id, read, now=access.now(), file_name=upload.name)
        stored("coverage_boundaries", _("{count} districts stored.").format(count=count))


def population_upload(user: User | None, city_id: int, city: str, lang: str) -> None:
    """A city lead's (or an admin's) population layer: counted onto the stored districts and
    previewed, the residents of every district replaced on confirm."""
    _ = translator(lang).gettext
    st.caption(_("Population layer (optional): points or polygons with a population column, and age bands as "
                 "population_<age group> columns where known; GeoJSON, GeoPackage, a zipped Shapefile or a CSV of "
                 "points with lat and lon. Its residents are counted in the districts above; the figures shown now "
                 "are replaced only when you confirm."))  # fmt: skip
    show_stored("coverage_population")
    upload = st.file_uploader(_("Population layer"), type=["geojson", "json", "gpkg", "zip", "csv"], key=uploader_key("coverage_population"),
                              max_upload_size=math.ceil(MAX_POPULATION_BYTES / 1024 / 1024))  # fmt: skip
    if upload is None:
        return
    engine = access.engine()
    with widgets.uploaded_file(upload) as path:
        try:
            layer = read_population_file(path)
            with engine.connect() as conn:
                preview = preview_population(conn, city_id, layer)
        except BoundaryFileError as exc:
            st.error(
                _("This file cannot be used; nothing was changed. {reason}").format(
                    reason=escape_markdown(explain_file_error(exc, lang))
                )
            )
            return
    bands = ", ".join(age_group_label(g, lang) for g in preview.bands) or _("none")
    st.markdown(_("{residents} residents in {count} districts, coordinate reference system {crs}, column {column}, "
                  "age bands: {bands}.").format(residents=format_number(preview.inside, lang), count=len(preview.districts),
                                                crs=escape_markdown(layer.crs), column=escape_markdown(layer.column),
                                                bands=bands))  # fmt: skip
    if preview.outside:
        st.warning(_("{residents} residents of the layer are in no district of {city}: is it the layer of this city?")
                   .format(residents=format_number(preview.outside, lang), city=escape_markdown(city)))  # fmt: skip
    if layer.repaired:
        st.warning(_("Invalid polygons repaired: {count}").format(count=layer.repaired))
    table = {_("District"): [d.name for d in preview.districts], _("Residents"): [d.population for d in preview.districts]}
    for group in preview.bands:
        table[age_group_label(group, lang)] = [d.population_by_age.get(group) for d in preview.districts]
    st.dataframe(table, hide_index=True, width="stretch")
    if st.button(_("Replace the residents of {city}").format(city=escape_markdown(city)), key="coverage_population_confirm"):
        try:
            result = replace_city_population(engine, user, city_id, layer, now=access.now())
        except BoundaryFileError as exc:  # the districts changed since the preview, e.g. all removed
            st.error(
                _("This file cannot be used; nothing was changed. {reason}").format(
                    reason=escape_markdown(explain_file_error(exc, lang))
                )
            )
            return
        stored("coverage_population", _("Residents of {count} districts stored.").format(count=len(result.districts)))


main()
