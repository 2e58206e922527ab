"""Every error the domain raises, each with a message a person can act on.

The errors a person can fix (a field, a row, a file, a password, a link) carry a :class:`Reason`:
a message id of the catalogs plus its values. ``str()`` of such an error is its English for the
command line and the logs; a page shows it in the reader's language with
:func:`opportunities.i18n.explain` (or :func:`~opportunities.i18n.explain_error` for a field),
the one place reasons are put into words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date


def _as_written(text: str) -> str:
    return text


def N_(message: str) -> str:
    """Marks ``message`` for extraction and returns it untranslated; translate it when shown.
    Defined here, the lowest module, so errors can word their reasons; import it from
    :mod:`opportunities.i18n`."""
    return message


@dataclass(frozen=True, slots=True)
class Country:
    """A country in a reason, shown by its name in the reader's language; ``code`` is ISO 3166-1 alpha-2."""

    code: str

    def __str__(self) -> str:
        from babel import Locale

        return str(Locale("en").territories.get(self.code.upper(), self.code))


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something was refused, worded once: a message id (an English msgid marked with ``N_``,
    with ``{placeholders}``) and the placeholders' values. ``str()`` gives the English of the
    command line and logs; :func:`opportunities.i18n.explain` the reader's language."""

    text: str
    values: Mapping[str, str | int | float | date | Country | Reason] = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] = _as_written) -> str:
        """The reason with ``gettext``'s wording, values as in English (days ISO, 1,234)."""

        def shown(value: str | int | float | date | Country | Reason) -> str:
            if isinstance(value, Reason):
                return value.render(gettext)
            if isinstance(value, Country):
                return str(value)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return str(value)
            return f"{value:,}"

        return gettext(self.text).format(**{key: shown(value) for key, value in self.values.items()})

    def __str__(self) -> str:
        return self.render()


def because(text: str, /, **values: str | int | float | date | Country | Reason) -> Reason:
    """A :class:`Reason`: ``because(N_("{value} is not a number"), value=text)``."""
    return Reason(text, values)


class OpportunitiesError(Exception):
    """Base class of the errors raised by this package."""


class ReasonedError(OpportunitiesError):
    """An error a person can fix, with its :class:`Reason`."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(str(reason))
        self.reason = reason


class SettingsError(OpportunitiesError):
    """An environment variable holds a value that cannot be used."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"setting {name}={value!r} is invalid: {reason}")
        self.name = name
        self.value = value
        self.reason = reason


class FieldError(OpportunitiesError):
    """One field of one record is invalid. ``field`` is the column name (``"row"`` for a row as a
    whole); the reason is worded without it, since a form shows it under the field."""

    def __init__(self, field: str, reason: Reason) -> None:
        super().__init__(f"{field}: {reason}" if field != "row" else str(reason))
        self.field = field
        self.reason = reason


class RecordError(OpportunitiesError):
    """A record has one or more invalid fields; all of them are reported at once."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class GeocodingError(ReasonedError):
    """A place or address could not be located."""


class ImportFileError(ReasonedError):
    """A whole import file is unusable (wrong format, encoding, empty, missing columns)."""


class ImportChangedError(OpportunitiesError):
    """Confirming an import would not do what its preview showed; nothing was stored."""


class ReviewStateError(ReasonedError):
    """A review decision cannot be made now: the listing is not pending (any more), or its
    organisation is not verified yet. Nothing was changed."""


class NotFoundError(OpportunitiesError):
    """A requested record does not exist."""


class RuleError(OpportunitiesError):
    """A recurrence rule (a schedule) is not one a learning activity can have."""

    def __init__(self, rule: str, reason: Reason) -> None:
        super().__init__(f"{rule!r}: {reason}")
        self.rule = rule
        self.reason = reason


class AddressFileError(OpportunitiesError):
    """An address file for the street-level index is unusable; nothing was loaded from it."""


class ForbiddenError(OpportunitiesError):
    """The signed-in person (or nobody) may not do this; nothing was changed."""


class SignInError(OpportunitiesError):
    """Wrong email or password, or a disabled account (one message for all: it tells nothing)."""


class UnconfirmedAccountError(SignInError):
    """The password is right, but the account's address is not confirmed yet: the link mailed at
    registration must be opened first."""


class RateLimitError(ReasonedError):
    """Too many failed sign-ins for an account or from a client; try again after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, -(-retry_after_s // 60))
        super().__init__(because(N_("Too many failed sign-ins. Try again in {minutes} minutes."), minutes=minutes))
        self.retry_after_s = retry_after_s


_PASSWORD_REASONS = {
    "too_short": N_("Use at least {count} characters."),
    "too_long": N_("This password is too long."),
    "common": N_("This password is one of the most common ones; choose another."),
    "email": N_("The password must not be your email address."),
}


class PasswordPolicyError(ReasonedError):
    """A new password is too short, too common or the same as the email; ``code`` is one of
    ``"too_short"``, ``"common"``, ``"email"``, ``"too_long"``."""

    def __init__(self, code: str, min_length: int = 0) -> None:
        super().__init__(
            because(_PASSWORD_REASONS[code], count=min_length) if code == "too_short" else because(_PASSWORD_REASONS[code])
        )
        self.code = code
        self.min_length = min_length


_TOKEN_REASONS = {
    "expired": N_("This link has expired. Ask for a new one."),
    "used": N_("This link was used already. Ask for a new one."),
    "unknown": N_("This link is not valid. Check that it was copied whole."),
}


class TokenError(ReasonedError):
    """A link or code (invitation, password reset) is unknown, expired or already used;
    ``code`` is ``"unknown"``, ``"expired"`` or ``"used"``."""

    def __init__(self, code: str) -> None:
        super().__init__(because(_TOKEN_REASONS[code]))
        self.code = code


class DatabaseInUseError(OpportunitiesError):
    """A command that replaces the whole database (``demo``) was pointed at one that holds real
    accounts; nothing was changed."""


class AccountExistsError(OpportunitiesError):
    """An account (or organisation) with this email (or name) exists already. ``taken`` says which:
    ``"email"`` (a page must not tell a visitor so: it would say who has an account) or ``"name"``."""

    def __init__(self, message: str, taken: str = "email") -> None:
        super().__init__(message)
        self.taken = taken


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


class BoundaryFileError(OpportunitiesError):
    """A boundary or population file is unusable as a whole; nothing of it was stored.

    Carries its reasons worded once (:class:`Reason`), so a page shows them in the reader's
    language and the command line in English.
    """

    def __init__(self, file_name: str, *reasons: Reason) -> None:
        self.file_name = file_name
        self.reasons = reasons
        super().__init__(f"{file_name}: " + "; ".join(str(reason) for reason in reasons))


class FeedError(ReasonedError):
    """An external feed (RPDE) could not be read, or a page of it is unusable; nothing of that
    page was stored. ``retry_after_s``: the feed asked to wait that long (HTTP 503 or 429 with
    Retry-After); ``gone``: it answered 410 Gone and is no longer harvested."""

    def __init__(self, reason: Reason, *, retry_after_s: float | None = None, gone: bool = False) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.gone = gone
