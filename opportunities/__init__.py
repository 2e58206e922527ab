"""Cities of Learning map: the domain package (opportunities, places, accounts, coverage)."""

# The one version number: pyproject.toml and CHANGELOG.md follow it (tests/test_version.py).
__version__ = "0.2.0"
