"""Opportunities as providers list them: spreadsheets, import and export, the form, review, schedules."""
