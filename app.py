"""The Streamlit app: the menu and its pages (in ``pages/``). Served by ``streamlit run server.py``, which adds the HTTP routes and headers."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from opportunities import __version__

# No Material icons (page_icon, st.Page icon): Streamlit fetches them as favicons from fonts.gstatic.com.
# The menu's About says which version this is (also `python -m opportunities --version`).
st.set_page_config(
    page_title="Cities of Learning map", layout="wide",
    menu_items={"About": f"**Cities of Learning map** {__version__}  \nEvery learning opportunity in a city on one map. MIT licence."},
)  # fmt: skip

# A chosen option's chip is white text on the theme's primary colour. No one primary colour reads
# both as text on the dark sidebar (a slider's value, which needs a light red) and behind white
# text (which needs a dark one), so the chips wear their own colour in both themes: white on
# #c53948 reads 5.2:1 (WCAG AA: 4.5:1). tests/e2e/test_accessibility.py checks it with axe-core.
CHIP_BACKGROUND = "#c53948"
st.html(
    "<style>"
    f'[data-testid="stMultiSelectTagsContainer"] span:has(> button) {{ background-color: {CHIP_BACKGROUND}; color: #ffffff; }}'
    # Primary buttons (Store, Approve) carry white text too: the same colour, in both themes.
    f'[data-testid="stBaseButton-primary"], [data-testid="stBaseButton-primaryFormSubmit"] '
    f"{{ background-color: {CHIP_BACKGROUND}; border-color: {CHIP_BACKGROUND}; color: #ffffff; }}"
    # A result card's notes (small text in its one Markdown element) spaced as a caption's lines.
    '[class*="st-key-card_"] [data-testid="stMarkdownContainer"] p + p { font-size: 0.875rem; }'
    "</style>"
)

from opportunities.accounts.identity import Role  # noqa: E402
from ui import access, language, reconnect, session  # noqa: E402

st.session_state[session.THROUGH_APP] = True
_ = access.translations().gettext
try:
    user = access.current_user()
except access.DATABASE_TROUBLE as exc:  # the pages still get a menu; the one they open says it calmly
    access.database_trouble(exc)
    user = None
explore = st.Page("pages/explore.py", title=_("Explore"), default=True)
coverage = st.Page("pages/coverage.py", title=_("Coverage"))
indicators = st.Page("pages/indicators.py", title=_("Indicators"), url_path="indicators")
# Recognition, for everyone and without an account: claim a badge, the wallet in this browser, verify one.
BADGE_PAGES = (
    ("pages/claim.py", _("Claim a badge")),
    ("pages/my_badges.py", _("My badges")),
    ("pages/verify.py", _("Verify a badge")),
)

# Provider pages, then city-lead pages: in the menu of those who may use them. For everyone else
# they stay at their address, hidden, so that a shared link opens the page's own answer (sign in
# first, or not for your role) rather than Streamlit's "Page not found".
PROVIDER_PAGES = (("pages/submit.py", _("Submit an opportunity")), ("pages/my_opportunities.py", _("My opportunities")),
                  ("pages/upload.py", _("Upload opportunities")))  # fmt: skip
CITY_LEAD_PAGES = (("pages/review.py", _("Review submissions")),)
# Signed in, Sign in and Register leave the menu but keep their address: the browser comes back to
# the sign-in page from /auth/session, and a link to either still opens the page's own answer.
signed_out: Literal["visible", "hidden"] = "visible" if user is None else "hidden"
sign_in = st.Page("pages/sign_in.py", title=_("Sign in"), visibility=signed_out)
register = st.Page("pages/register.py", title=_("Register an organisation"), visibility=signed_out)

role = user.role if user is not None else None
providing = role in (Role.PROVIDER, Role.ADMIN)
leading = role in (Role.CITY_LEAD, Role.ADMIN)
pages = [explore, coverage, indicators]
pages += [st.Page(path, title=title) for path, title in BADGE_PAGES]
pages += [sign_in, register]
pages += [st.Page(path, title=title, visibility="visible" if providing else "hidden") for path, title in PROVIDER_PAGES]
pages += [st.Page(path, title=title, visibility="visible" if leading else "hidden") for path, title in CITY_LEAD_PAGES]
# Defining badges, claim codes and revoking: providers for their activities, city leads for their city.
badges = st.Page("pages/badges.py", title=_("Badges"), visibility="visible" if providing or leading else "hidden")
pages.append(badges)
pages.append(st.Page("pages/account.py", title=_("Account"), visibility="visible" if user is not None else "hidden"))
page = st.navigation(pages)
access.write_cookie()
reconnect.follow_reconnects()  # a page whose process stopped runs again on the one it reconnects to
st.session_state[session.LANGUAGE_TOLD] = False
try:
    page.run()
except access.DATABASE_TROUBLE as exc:
    access.database_trouble(exc)
finally:
    # Every page gets <html lang> and Streamlit's own texts in its language, also one that stopped
    # early (st.stop() ends the page's script, not this block).
    if not st.session_state.get(session.LANGUAGE_TOLD):
        language.set_page_language(language.language())
