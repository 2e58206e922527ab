"""What the Streamlit pages share: settings and cached reads (``app_state``), who is signed in and
what they may see (``access``), the page's language (``language``). Adapters over the domain."""
