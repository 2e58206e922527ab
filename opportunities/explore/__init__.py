"""Finding opportunities: the search, the shared in-memory index kept fresh, and URL parameters."""
