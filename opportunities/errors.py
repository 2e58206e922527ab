"""Every error the domain raises, each with a message a person can act on."""

from __future__ import annotations


class OpportunitiesError(Exception):
    """Base class of the errors raised by this package."""


class SettingsError(OpportunitiesError):
    """An environment variable holds a value that cannot be used."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"setting {name}={value!r} is invalid: {reason}")
        self.name = name
        self.value = value
        self.reason = reason


class FieldError(OpportunitiesError):
    """One field of one record is invalid."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class RecordError(OpportunitiesError):
    """A record has one or more invalid fields; all of them are reported at once."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class GeocodingError(OpportunitiesError):
    """A place or address could not be located."""


class ImportFileError(OpportunitiesError):
    """A whole import file is unusable (wrong format, encoding, empty, missing columns)."""


class NotFoundError(OpportunitiesError):
    """A requested record does not exist."""


class RuleError(OpportunitiesError):
    """A recurrence rule (a schedule) is not one a learning activity can have."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule!r}: {reason}")
        self.rule = rule
        self.reason = reason


class BoundaryFileError(OpportunitiesError):
    """A boundary or population file is unusable as a whole; nothing of it was stored."""
