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


class ForbiddenError(OpportunitiesError):
    """The signed-in person (or nobody) may not do this; nothing was changed."""


class SignInError(OpportunitiesError):
    """Wrong email or password, or a disabled account (one message for all: it tells nothing)."""


class RateLimitError(OpportunitiesError):
    """Too many failed sign-ins for an account or from a client; try again after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {max(1, retry_after_s // 60)} minutes")
        self.retry_after_s = retry_after_s


class PasswordPolicyError(OpportunitiesError):
    """A new password is too short, too common or the same as the email; ``reason`` is one of
    ``"too_short"``, ``"common"``, ``"email"``, ``"too_long"``."""

    def __init__(self, reason: str, min_length: int = 0) -> None:
        super().__init__(f"password refused: {reason.replace('_', ' ')}")
        self.reason = reason
        self.min_length = min_length


class TokenError(OpportunitiesError):
    """A link or code (invitation, password reset) is unknown, expired or already used;
    ``reason`` is ``"unknown"``, ``"expired"`` or ``"used"``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"this link is {reason if reason != 'unknown' else 'not valid'}")
        self.reason = reason


class AccountExistsError(OpportunitiesError):
    """An account (or organisation) with this email (or name) exists already."""
