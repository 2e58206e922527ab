"""The command line, ``python -m opportunities …``: an adapter over the domain, like the pages."""
