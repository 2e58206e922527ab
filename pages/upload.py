"""Upload: a provider's spreadsheet of opportunities, previewed row by row before anything is stored.

Template downloads → upload → a preview of each row's outcome → confirm → a summary and the
rejected rows to fix. The reading and importing are the command line's own
(:mod:`opportunities.listings.importing`); who may upload what is decided in :mod:`opportunities.listings.uploads`.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pandas as pd
import streamlit as st

from opportunities.accounts.identity import Role, User
from opportunities.db.queries import list_cities
from opportunities.errors import ForbiddenError, ImportChangedError, ImportFileError
from opportunities.i18n import explain, explain_errors, format_number
from opportunities.listings import uploads
from opportunities.listings.importing import ROW_REASON, ImportPreview, ImportReport, Outcome, rejects_csv
from opportunities.listings.spreadsheets import ReadLimits, Table, read_table_bytes
from opportunities.listings.template import template_csv, template_xlsx, vocabulary_csv
from opportunities.places.geocoding import Geocoder
from opportunities.settings import Settings
from opportunities.text import escape_markdown, safe_file_name
from ui import access, app_state, session
from ui.language import stop_page

app_state.run_through_app()

PREVIEW_REASONS = 100  # rejected rows whose reason is also written out in full under the table
PREVIEW_ROWS = 1000  # rows shown in the preview table; the summary and the rejected-rows file hold them all
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _geocoder(settings: Settings) -> Geocoder:
    """Providers' addresses go through every step the command line uses: the address index, and
    the online geocoder when one is set."""
    return app_state.geocoder(
        str(settings.cache_dir), str(settings.address_dir), settings.geocoder_online_url, settings.geocoder_user_agent
    )


def _outcome_rows(preview: ImportPreview, language: str) -> pd.DataFrame:
    """The preview as a table of text (st.dataframe shows it as text: nothing in it is markup)."""
    _ = access.translations().gettext
    labels = {Outcome.STORE: _("Will be stored"), Outcome.REJECT: _("Will be rejected"), Outcome.DUPLICATE: _("Duplicate row")}
    rows = []
    for r in preview.rows[:PREVIEW_ROWS]:
        if r.outcome is Outcome.REJECT:
            detail = explain_errors(r.errors, language, columns=True)
        elif r.duplicate_row is not None:
            detail = _("the same as row {row}").format(row=r.duplicate_row)
        elif r.duplicate_id is not None:
            detail = _("already listed (no. {id})").format(id=r.duplicate_id)
        else:
            detail = ""
        columns = [_("Row no."), _("Outcome"), _("Title"), _("Reason or duplicate of")]
        rows.append(dict(zip(columns, (r.row, labels[r.outcome], r.title, detail), strict=True)))
    return pd.DataFrame(rows, columns=[_("Row no."), _("Outcome"), _("Title"), _("Reason or duplicate of")])


def _summary(stored: int, rejected: int, duplicates: int, language: str, *, done: bool) -> None:
    _ = access.translations().gettext
    first, second, third = st.columns(3)
    first.metric(_("Rows stored") if done else _("Will be stored"), format_number(stored, language))
    second.metric(_("Rows rejected"), format_number(rejected, language))
    third.metric(_("Duplicate rows"), format_number(duplicates, language))


def main() -> None:
    user = access.require_user(Role.PROVIDER)
    _ = access.translations().gettext
    language = access.language()
    settings = access.settings()
    engine = access.engine()
    st.title(_("Upload opportunities"))
    try:
        with engine.connect() as conn:
            target = uploads.upload_target(conn, user)
            trusted_in = sorted(c.name for c in list_cities(conn) if c.id in target.publish_in)
    except ForbiddenError:
        st.error(_("Your account may not upload opportunities."))
        stop_page(language)
    organisation = target.organisation.name if target.organisation else ""
    if target.organisation is not None:
        st.write(_("Opportunities of **{organisation}**.").format(organisation=escape_markdown(organisation)))
    if trusted_in:
        st.caption(_("Published at once in {cities}, whose city leads trust your organisation; opportunities in other "
                     "cities wait for a city lead's review.").format(cities=escape_markdown(", ".join(trusted_in))))  # fmt: skip
    else:
        st.caption(_("Each stored opportunity waits for a city lead's review before it is published."))

    st.subheader(_("1. Download the template"))
    st.write(_("One opportunity per row. The workbook explains every column and lists the topics, modes and types."))
    a, b, c = st.columns(3)
    a.download_button(_("Template (Excel)"), template_xlsx(language, provider=organisation),
                      file_name="opportunities-template.xlsx", mime=XLSX_TYPE)  # fmt: skip
    b.download_button(
        _("Template (CSV)"), template_csv(provider=organisation), file_name="opportunities-template.csv", mime="text/csv"
    )
    c.download_button(_("Vocabulary (CSV)"), vocabulary_csv(language), file_name=f"vocabulary-{language}.csv", mime="text/csv")

    st.subheader(_("2. Upload your file"))
    limits = ReadLimits.from_settings(settings)
    st.caption(_("CSV (UTF-8, comma or semicolon) or Excel .xlsx; at most {size} MB and {rows} rows.").format(
        size=format_number(round(limits.max_bytes / 1024 / 1024, 1), language), rows=format_number(limits.max_rows, language)))  # fmt: skip
    # The browser refuses a larger file before sending it; read_table_bytes checks the exact limit.
    upload = st.file_uploader(_("Spreadsheet"), type=["csv", "xlsx", "txt"], key="upload_file",
                              max_upload_size=max(1, math.ceil(limits.max_bytes / 1024 / 1024)))  # fmt: skip
    if upload is None:
        st.session_state.pop(session.UPLOAD_PREVIEW, None)
        return
    data = upload.getvalue()
    key = f"{upload.name}:{hashlib.sha256(data).hexdigest()}"
    done = st.session_state.get(session.UPLOAD_DONE)
    if done is not None and done[0] == key:
        _show_done(done[1], done[2], language)
        return
    kept = st.session_state.get(session.UPLOAD_PREVIEW)
    if kept is None or kept[0] != key:
        try:
            table = read_table_bytes(data, upload.name, limits=limits)
        except ImportFileError as exc:
            st.error(escape_markdown(explain(exc.reason, language)))
            return
        bar = st.progress(0.0, text=_("Checking the rows…"))

        def progress(done_rows: int, total: int) -> None:
            bar.progress(done_rows / max(total, 1), text=_("Checking row {done} of {total}…").format(
                done=format_number(done_rows, language), total=format_number(total, language)))  # fmt: skip

        try:
            preview = uploads.preview_upload(engine, user, table, _geocoder(settings), filename=upload.name, progress=progress)
        except ForbiddenError:
            st.error(_("Your account may not upload opportunities."))
            return
        bar.empty()
        kept = (key, table, preview)
        st.session_state[session.UPLOAD_PREVIEW] = kept
    _show_preview(kept[1], kept[2], key, user, language)


def _show_preview(table: Table, preview: ImportPreview, key: str, user: User, language: str) -> None:
    _, ngettext = access.translations().gettext, access.translations().ngettext
    settings = access.settings()
    st.subheader(_("3. Check the preview"))
    st.caption(_("Nothing is stored yet."))
    for warning in preview.warnings:
        st.warning(escape_markdown(explain(warning, language)))
    _summary(preview.count(Outcome.STORE), preview.count(Outcome.REJECT), preview.count(Outcome.DUPLICATE), language, done=False)
    st.dataframe(_outcome_rows(preview, language), hide_index=True, width="stretch")
    if len(preview.rows) > PREVIEW_ROWS:
        st.caption(_("The first {shown} rows are shown; the counts above are of all rows.").format(
            shown=format_number(PREVIEW_ROWS, language)))  # fmt: skip
    rejected = [r for r in preview.rows if r.outcome is Outcome.REJECT][:PREVIEW_REASONS]
    if rejected:
        st.markdown("**" + _("Why rows are rejected") + "**")
        st.markdown("\n".join(
            "- " + escape_markdown(_(ROW_REASON).format(row=r.row, reason=explain_errors(r.errors, language, columns=True)))
            for r in rejected))  # fmt: skip
    if preview.rejected:
        st.download_button(_("Download the rejected rows"), rejects_csv(table.header, preview.rejected, language),
                           file_name=f"{Path(safe_file_name(preview.filename, 'upload')).stem}.rejected.csv", mime="text/csv", key="rejects_preview")  # fmt: skip
    stored = preview.count(Outcome.STORE)
    label = ngettext("Store {count} opportunity", "Store {count} opportunities", stored).format(
        count=format_number(stored, language)
    )
    if not st.button(label, type="primary", disabled=stored == 0, key="confirm_upload"):
        return
    bar = st.progress(0.0, text=_("Storing…"))
    geocoder = _geocoder(settings)

    def storing(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=_("Storing…"))

    try:
        report = uploads.confirm_upload(access.engine(), user, table, geocoder, preview, now=access.now(), progress=storing)
    except ImportChangedError:
        bar.empty()
        st.session_state.pop(session.UPLOAD_PREVIEW, None)
        st.error(_("The data changed since the preview, so nothing was stored. Check the new preview before storing."))
        if st.button(_("Preview again"), key="preview_again"):
            st.rerun()
        return
    except ForbiddenError:
        bar.empty()
        st.error(_("Your account may not upload opportunities."))
        return
    bar.empty()
    st.session_state.pop(session.UPLOAD_PREVIEW, None)
    st.session_state[session.UPLOAD_DONE] = (
        key,
        report,
        rejects_csv(table.header, report.rejected, language) if report.rejected else b"",
    )
    _show_done(report, st.session_state[session.UPLOAD_DONE][2], language)


def _show_done(report: ImportReport, rejects: bytes, language: str) -> None:
    _, ngettext = access.translations().gettext, access.translations().ngettext
    st.subheader(_("Upload done"))
    st.success(ngettext("{count} opportunity was stored.", "{count} opportunities were stored.", report.stored).format(
        count=format_number(report.stored, language)))  # fmt: skip
    _summary(report.stored, len(report.rejected), len(report.duplicates), language, done=True)
    if rejects:
        st.write(_("Fix the rejected rows in this file (each says why in its last column) and upload it again."))
        st.download_button(
            _("Download the rejected rows"), rejects, file_name="rejected-rows.csv", mime="text/csv", key="rejects_done"
        )


main()
