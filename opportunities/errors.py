"""Every error the domain raises, each with a message a person can act on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


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


class ImportChangedError(OpportunitiesError):
    """Confirming an import would not do what its preview showed; nothing was stored."""


class ReviewStateError(OpportunitiesError):
    """A review decision cannot be made now: the listing is not pending (any more), or its
    organisation is not verified yet. Nothing was changed."""


class NotFoundError(OpportunitiesError):
    """A requested record does not exist."""


class RuleError(OpportunitiesError):
    """A recurrence rule (a schedule) is not one a learning activity can have."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule!r}: {reason}")
        self.rule = rule
        self.reason = reason


class AddressFileError(OpportunitiesError):
    """An address file for the street-level index is unusable; nothing was loaded from it."""


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
        detail = {"too_short": f"use at least {min_length} characters", "too_long": "too long",
                  "common": "one of the most common passwords", "email": "the same as the email address"}  # fmt: skip
        super().__init__(f"password refused: {detail.get(reason, reason)}")
        self.reason = reason
        self.min_length = min_length


class TokenError(OpportunitiesError):
    """A link or code (invitation, password reset) is unknown, expired or already used;
    ``reason`` is ``"unknown"``, ``"expired"`` or ``"used"``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"this link is {reason if reason != 'unknown' else 'not valid'}")
        self.reason = reason


class DatabaseInUseError(OpportunitiesError):
    """A command that replaces the whole database (``demo``) was pointed at one that holds real
    accounts; nothing was changed."""


class AccountExistsError(OpportunitiesError):
    """An account (or organisation) with this email (or name) exists already."""


class BackupError(OpportunitiesError):
    """A backup cannot be written or restored as asked; nothing was changed."""


class NotABackupError(BackupError):
    """The file is not a backup of this app, or a damaged one (truncated, altered); nothing was changed."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"not a backup of this app: {path}: {reason}")
        self.reason = reason


class NewerSchemaError(BackupError):
    """The backup holds a schema revision this version of the app does not know (a newer one)."""

    def __init__(self, revision: str, newest: str) -> None:
        super().__init__(
            f"the backup is of schema revision {revision}, which this version of the app does not know "
            f"(its newest is {newest}); restore it with the version that wrote it, or a newer one"
        )
        self.revision = revision
        self.newest = newest


class NotEmptyError(BackupError):
    """A restore would replace data: the database or the address index holds some. ``held``: rows
    per table (and ``address areas``) that would go."""

    def __init__(self, held: Mapping[str, int]) -> None:
        listed = ", ".join(f"{name} {count}" for name, count in held.items())
        super().__init__(f"the database or the address index holds data a restore would replace ({listed})")
        self.held = dict(held)


def _as_written(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something was refused, worded once: an English msgid with ``{placeholders}`` and their
    values (a value may be a reason itself, worded in the same language). ``str()`` gives the
    English of the command line and logs; :meth:`render` with a catalog's ``gettext`` the reader's."""

    text: str
    values: Mapping[str, str | int | Reason] = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] = _as_written) -> str:
        filled = {key: value.render(gettext) if isinstance(value, Reason) else value for key, value in self.values.items()}
        return gettext(self.text).format(**filled)

    def __str__(self) -> str:
        return self.render()


class BoundaryFileError(OpportunitiesError):
    """A boundary or population file is unusable as a whole; nothing of it was stored.

    Carries its reasons worded once (:class:`Reason`), so a page shows them in the reader's
    language and the command line in English.
    """

    def __init__(self, file_name: str, *reasons: Reason) -> None:
        self.file_name = file_name
        self.reasons = reasons
        super().__init__(self.render())

    def render(self, gettext: Callable[[str], str] = _as_written) -> str:
        """``file: reason; reason`` in the language of ``gettext`` (English without one)."""
        return f"{self.file_name}: " + "; ".join(reason.render(gettext) for reason in self.reasons)
