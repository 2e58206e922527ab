"""Open data feeds: the city's offer as OpenActive items, their RPDE change feeds and the dataset
site; and any search as a calendar, an Atom feed and a printable list to subscribe to or print.

Plain functions returning plain data (JSON-ready, or the text of a file); the HTTP routes that serve
them are in ``web/``.
"""
