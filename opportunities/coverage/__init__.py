"""Coverage: districts and population, where opportunities are and are not, indicators and reports."""
