"""The Streamlit entry point: ``streamlit run app.py``. Pages live in ``pages/``."""

from __future__ import annotations

import streamlit as st

# No Material icons (page_icon, st.Page icon): Streamlit fetches them as favicons from fonts.gstatic.com.
st.set_page_config(page_title="Cities of Learning map", layout="wide")

# A chosen option's chip is white text on the theme's primary colour. No one primary colour reads
# both as text on the dark sidebar (a slider's value, which needs a light red) and behind white
# text (which needs a dark one), so the chips wear their own colour in both themes: white on
# #c53948 reads 5.2:1 (WCAG AA: 4.5:1). tests/e2e/test_accessibility.py checks it with axe-core.
CHIP_BACKGROUND = "#c53948"
st.html(
    "<style>"
    f'[data-testid="stMultiSelectTagsContainer"] span:has(> button) {{ background-color: {CHIP_BACKGROUND}; color: #ffffff; }}'
    "</style>"
)

page = st.navigation([
    st.Page("pages/explore.py", title="Explore", default=True),
    st.Page("pages/indicators.py", title="Indicators", url_path="indicators"),
])
page.run()
