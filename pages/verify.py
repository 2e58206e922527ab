"""Verify a badge: anyone, without signing in, drops a credential (JSON, or a PNG/SVG with the
credential baked in) or pastes it; the server checks it (``opportunities.badges.verification``:
the signature, the issuer, the revocation list, the dates) and the page says valid, revoked,
expired or invalid, who issued it, for what, when, and why, in the reader's language.

A file is read only up to :data:`MAX_FILE_BYTES`; the checking refuses a credential over 1 MB.
Nothing checked here is stored.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import streamlit as st
from streamlit.errors import StreamlitAPIException

from opportunities.badges.verification import Verification
from opportunities.i18n import explain, format_day
from opportunities.text import escape_markdown
from ui import access, app_state, badge_checks, session
from ui.language import switcher

app_state.run_through_app()

# A baked PNG holds a picture besides the credential; the credential itself may be 1 MB at most.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_PASTED_CHARS = 1024 * 1024 + 1


def main() -> None:
    lang = switcher(())
    _ = access.translations(lang).gettext
    st.title(_("Verify a badge"))
    st.markdown(
        _(
            "Check an Open Badge issued here: drop the file (the JSON, or the PNG or SVG picture with the badge "
            "inside) or paste its text. Nothing you check is stored."
        )
    )
    upload = st.file_uploader(_("The badge file"), type=["json", "png", "svg"], key=session.VERIFY_FILE)
    pasted = st.text_area(
        _("Or paste the badge (its JSON text)"), key=session.VERIFY_TEXT, max_chars=MAX_PASTED_CHARS, height=120
    )
    if upload is not None:
        if upload.size > MAX_FILE_BYTES:
            st.error(
                _("The file is larger than {size} MB; a badge is much smaller.").format(size=MAX_FILE_BYTES // (1024 * 1024))
            )
            return
        show(badge_checks.verify_bytes(upload.getvalue(), now=access.now()), lang)
    elif pasted.strip():
        show(badge_checks.verify_bytes(pasted.strip().encode("utf-8"), now=access.now()), lang)
    with contextlib.suppress(StreamlitAPIException):  # a page run on its own has no navigation
        st.page_link("pages/my_badges.py", label=_("My badges"))


def _day(moment: datetime | None, lang: str) -> str:
    return format_day(moment, lang) if moment is not None else "—"


def show(result: Verification, lang: str) -> None:
    """The outcome: one line saying it plainly, then what the badge says and the reasons."""
    _ = access.translations(lang).gettext
    verdicts = {
        "valid": (st.success, _("Valid: this badge was issued here and has not been changed."), ":material/verified:"),
        "revoked": (st.error, _("Revoked: the issuer withdrew this badge."), ":material/block:"),
        "expired": (st.warning, _("Expired: this badge was valid, but its time has passed."), ":material/schedule:"),
        "invalid": (st.error, _("Not valid: this badge cannot be trusted."), ":material/gpp_bad:"),
    }
    box, verdict, icon = verdicts[result.state]
    box(verdict, icon=icon)
    facts = [
        (_("Achievement"), result.achievement_name),
        (_("Issuer"), result.issuer),
        (_("Issued on"), _day(result.issued, lang) if result.issued else None),
        (_("Valid until"), _day(result.valid_until, lang) if result.valid_until else None),
        (_("Badge id"), result.credential_id),
        (_("Earned by (a pseudonymous id, not a name)"), result.subject),
    ]
    lines = [f"**{label}:** {escape_markdown(value)}" for label, value in facts if value]
    if lines:
        st.markdown("  \n".join(lines))
    if result.reasons:
        st.markdown(_("Why:"))
        st.markdown("\n".join(f"- {escape_markdown(explain(reason, lang))}" for reason in result.reasons))


main()
