"""The HTTP side of the app, beside its pages: routes and middleware that ``server.py`` serves on
the same port as the Streamlit pages. Adapters over the domain, like the pages and the command line."""
