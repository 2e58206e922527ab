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


BADGE_REASONS: Mapping[str, str] = {
    # the file or its shape
    "too_large": N_("The credential is larger than {limit} bytes; no badge is that large."),
    "not_json": N_("This is not a credential: the file is not JSON, or it was cut off."),
    "not_a_credential": N_("This is not an Open Badge: its type must name VerifiableCredential and OpenBadgeCredential."),
    "malformed": N_("The credential is malformed: {field} is missing or not as the standard says."),
    "unknown_context": N_("The credential names a context this app does not know ({url}); it is not fetched."),
    "wrong_context": N_("The credential's contexts are not those of an Open Badge 3.0, in that order."),
    "undefined_term": N_("The credential holds {term}, which its contexts do not define."),
    # the signature
    "no_proof": N_("The credential carries no signature."),
    "unsupported_proof": N_("The credential is signed in a way this app does not check ({kind})."),
    "forged": N_("The signature does not match the credential: it was changed after signing, or forged."),
    "unknown_issuer": N_("The signing key {key} is not one this app can look up."),
    "issuer_mismatch": N_("The credential was signed with a key that is not its issuer's."),
    # validity and status
    "not_yet_valid": N_("The credential is valid only from {day}."),
    "expired": N_("The credential expired on {day}."),
    "revoked": N_("The issuer has revoked this credential."),
    "status_unavailable": N_("The revocation list {url} could not be read, so revocation cannot be checked."),
    "bad_status_list": N_("The revocation list {url} is damaged or not signed by the credential's issuer."),
    # images and keys
    "no_baked_credential": N_("The image holds no credential (a PNG or SVG with a baked Open Badge is needed)."),
    "bad_key_file": N_("The issuer key file {path} cannot be used: {problem}."),
    # the badge store: claims, playlists, revocation, awards (opportunities.badges.achievements … issuance)
    "code_malformed": N_("A claim code has {length} letters and digits, such as {example}."),
    "code_unknown": N_("This claim code is not valid. Check that it was typed or scanned whole."),
    "code_expired": N_("This claim code has expired. Ask the organiser for a new one."),
    "code_used": N_("This claim code was used already. Ask the organiser for a new one."),
    "too_many_attempts": N_("Too many wrong claim codes were tried from here. Try again in {minutes} minutes."),
    "claims_busy": N_("Too many wrong claim codes were tried just now. Try again in {minutes} minutes."),
    "subject_invalid": N_("The badge must be claimed for an identifier made by your browser (did:key or urn:uuid)."),
    "achievement_unknown": N_("There is no badge {id}."),
    "achievement_not_published": N_("This badge is not published yet, so it cannot be earned."),
    "achievement_exists": N_("This activity has a badge already; change that one."),
    "achievement_not_pending": N_("This badge is not waiting for review: it was reviewed already."),
    "text_missing": N_("Give the badge a name, a description and the criteria in English at least."),
    "text_too_long": N_("This is {n} characters long; at most {limit} are allowed."),  # {field} names it for programs
    "language_unknown": N_("{language} is not one of the app's languages."),
    "topic_unknown": N_("{topic} is not one of the topics."),
    "image_url_invalid": N_("The image must be an https:// address."),
    "expiry_invalid": N_("A claim code is valid for 1 minute to {days} days."),
    "uses_invalid": N_("A claim code can be used 1 to {limit} times."),
    "rule_invalid": N_("The rule “any {n}” needs a number from 1 to {maximum}, the playlist's number of badges."),
    "rule_topics_invalid": N_("A playlist's topics must each have one of its badges: {topics} has none."),
    "members_invalid": N_("A playlist holds 2 to {limit} published badges of its own city."),
    "rule_not_met": N_("The badges presented do not complete the playlist: {missing} more needed."),
    "presentation_invalid": N_("The presentation must be JSON with a list of credentials (verifiableCredential)."),
    "presentation_subjects_differ": N_("The badges presented were earned by different identifiers; present one person's badges."),
    "presented_revoked": N_("Badge {n} of the presentation was revoked by its issuer."),
    "presented_expired": N_("Badge {n} of the presentation has expired."),
    "presented_invalid": N_("Badge {n} of the presentation is not valid: its signature or content does not check out."),
    "credential_not_ours": N_("Badge {n} of the presentation was not issued here."),
    "credential_unknown": N_("No badge was issued with the id {id}."),
    "already_revoked": N_("This badge was revoked already."),
    "note_missing": N_("Write what the provider should know: it is sent to them."),
    "revoke_reason_missing": N_("Write why the badge is revoked (at most {limit} characters)."),
    "mail_not_configured": N_("No mail server is set up (SMTP_HOST), so no claim links can be sent."),
    "email_invalid": N_("{value} is not an email address."),
    "too_many_emails": N_("At most {limit} addresses can be sent claim links at once; this list has {n}."),
    "body_too_large": N_("The request is larger than {limit} bytes."),
    "body_invalid": N_("The request must be JSON with the fields {fields}."),
    "status_list_unknown": N_("There is no such status list."),
    "not_did_web": N_("This deployment names its issuer by did:key, not did:web."),
    "unavailable": N_("The service cannot reach its database just now; try again in a minute."),
    "too_many_requests": N_("Too many requests from here just now. Try again in {seconds} seconds."),
}


class BadgeError(ReasonedError):
    """A credential, a proof, a status list, a baked image or an issuer key that cannot be used; or
    a badge action refused (a claim code that expired, a playlist rule not met, a badge revoked
    already), nothing issued or changed. ``code`` is one of :data:`BADGE_REASONS` (the reason id,
    the same in every language, which HTTP answers carry); the values fill its placeholders."""

    def __init__(self, code: str, **values: str | int | float | date) -> None:
        super().__init__(because(BADGE_REASONS[code], **values))
        self.code = code


class FeedError(ReasonedError):
    """An external feed (RPDE) could not be read, or a page of it is unusable; nothing of that
    page was stored. ``retry_after_s``: the feed asked to wait that long (HTTP 503 or 429 with
    Retry-After); ``gone``: it answered 410 Gone and is no longer harvested."""

    def __init__(self, reason: Reason, *, retry_after_s: float | None = None, gone: bool = False) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.gone = gone
