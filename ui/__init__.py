"""What the Streamlit pages share: settings and cached reads (``app_state``), who is signed in and
what they may see (``access``), the page's language (``language``), every session-state key
(``session``) and the widgets more than one page shows (``widgets``). Adapters over the domain."""
