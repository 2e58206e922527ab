"""Open data feeds: the city's offer as OpenActive items, their RPDE change feeds and the dataset site.

Plain functions returning plain, JSON-ready data; the HTTP routes that serve them are in ``web/``.
"""
