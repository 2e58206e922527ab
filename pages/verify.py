"""Verify a badge: anyone, without signing in, drops a credential (JSON, or a PNG/SVG with the
credential baked in) or pastes it; the server checks it (``opportunities.badges.verification``:
the signature, the issuer, the revocation list, the dates) and the page says valid, revoked,
expired or invalid, who issued it, for what, when, and why, in the reader's language.

A file is read only up to :data:`MAX_FILE_BYTES`; the checking refuses a credential over 1 MB.
Nothing checked here is stored.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from urllib.parse import unquote

import streamlit as st
from streamlit.errors import StreamlitAPIException

from opportunities.badges import achievements, issuance
from opportunities.badges.awarding import verifier
from opportunities.badges.verification import Verification
from opportunities.errors import BadgeError
from opportunities.i18n import explain, format_day
from opportunities.text import escape_markdown
from ui import access, app_state, badge_wallet, session
from ui.language import switcher

app_state.run_through_app()

# A baked PNG holds a picture besides the credential; the credential itself may be 1 MB at most.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_PASTED_CHARS = 1024 * 1024 + 1
MAX_LINK_CHARS = 2000
# A badge id as this site issues them (issuance records: urn:uuid).
_CREDENTIAL_ID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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
    upload = st.file_uploader(_("The badge file"), type=["json", "png", "svg"], key=session.VERIFY_FILE,
                              max_upload_size=MAX_FILE_BYTES // (1024 * 1024))  # fmt: skip
    pasted = st.text_area(
        _("Or paste the badge (its JSON text), its id or a link to check it"),
        key=session.VERIFY_TEXT,
        max_chars=MAX_PASTED_CHARS,
        height=120,
    )
    asked = credential_id_in(pasted) or credential_id_in(str(st.query_params.get("id", "") or ""))
    if asked is not None and upload is None:
        show_record(asked, lang)
    elif upload is not None:
        if upload.size > MAX_FILE_BYTES:
            st.error(
                _("The file is larger than {size} MB; a badge is much smaller.").format(size=MAX_FILE_BYTES // (1024 * 1024))
            )
            return
        show(check(upload.getvalue()), lang)
    elif pasted.strip():
        show(check(pasted.strip().encode("utf-8")), lang)
    with contextlib.suppress(StreamlitAPIException):  # a page run on its own has no navigation
        st.page_link("pages/my_badges.py", label=_("My badges"))


def check(data: bytes) -> Verification:
    """This deployment's verification (its issuer keys, its own revocation lists read locally); never raises."""
    return verifier(access.engine(), access.settings(), now=access.now())(data)


def credential_id_in(text: str) -> str | None:
    """The badge id a pasted text or a link (a QR code's ``…/verify?id=urn:uuid:…``) names, or None
    when it is not one (a credential's JSON, say)."""
    text = text.strip()
    if not text or text.startswith(("{", "[")) or len(text) > MAX_LINK_CHARS:
        return None
    found = _CREDENTIAL_ID.search(unquote(text))
    return found.group(0).lower() if found else None


def show_record(credential_id: str, lang: str) -> None:
    """What this site recorded of the badge ``credential_id``: issued when, for what, revoked or not.
    Without the file its signature cannot be checked, and the page says so."""
    _ = access.translations(lang).gettext
    try:
        with access.engine().connect() as conn:
            record = issuance.get_issuance(conn, credential_id)
            name = achievements.get_achievement(conn, record.achievement_id).text(lang).name
    except BadgeError as exc:
        st.error(escape_markdown(explain(exc.reason, lang)), icon=":material/gpp_bad:")
        return
    if record.revoked_at is not None:
        st.error(badge_wallet.verdicts(lang)["revoked"], icon=":material/block:")
    else:
        st.success(_("Issued here and not revoked."), icon=":material/verified:")
    facts = [(_("Achievement"), name), (_("Issued on"), _day(record.issued_at, lang)), (_("Badge id"), record.credential_id)]
    st.markdown("  \n".join(f"**{label}:** {escape_markdown(value)}" for label, value in facts))
    st.caption(_("This checks the id only. To check that the badge itself is genuine, drop its file here."))


def _day(moment: datetime | None, lang: str) -> str:
    return format_day(moment, lang) if moment is not None else "—"


def show(result: Verification, lang: str) -> None:
    """The outcome: one line saying it plainly, then what the badge says and the reasons."""
    _ = access.translations(lang).gettext
    boxes = {
        "valid": (st.success, ":material/verified:"),
        "revoked": (st.error, ":material/block:"),
        "expired": (st.warning, ":material/schedule:"),
        "invalid": (st.error, ":material/gpp_bad:"),
    }
    box, icon = boxes[result.state]
    box(badge_wallet.verdicts(lang)[result.state], icon=icon)
    facts = [
        (_("Achievement"), result.achievement_name),
        (_("Issuer"), f"{result.issuer_name} ({result.issuer})" if result.issuer_name and result.issuer else result.issuer),
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
