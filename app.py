"""The Streamlit entry point: ``streamlit run app.py``. Pages live in ``pages/``."""

from __future__ import annotations

import streamlit as st

# No Material icons (page_icon, st.Page icon): Streamlit fetches them as favicons from fonts.gstatic.com.
st.set_page_config(page_title="Cities of Learning map", layout="wide")

page = st.navigation([st.Page("pages/explore.py", title="Explore", default=True)])
page.run()
