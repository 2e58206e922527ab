"""Open Badges 3.0 credentials (``OpenBadgeCredential``, W3C Verifiable Credentials 2.0), unsigned.

:func:`build_credential` makes the credential a learner receives for an achievement: the issuer as
a ``Profile`` named by its DID, the subject a pseudonymous identifier made in the learner's browser
(``did:key:…`` or ``urn:uuid:…``), the achievement in the learner's language, and a
``BitstringStatusListEntry`` for revocation. :func:`opportunities.badges.proofs.sign` signs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opportunities.badges.contexts import BADGE_CONTEXT
from opportunities.badges.keys import IssuerKey
from opportunities.badges.proofs import sign, xsd_datetime
from opportunities.badges.status_lists import StatusEntry

CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")
# What a learner's browser makes: a did:key (Ed25519 or other multikey) or a random urn:uuid.
SUBJECT_ID = re.compile(
    r"did:key:z[1-9A-HJ-NP-Za-km-z]{40,200}|urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class AchievementText:
    """An achievement's words in one language."""

    name: str
    description: str
    criteria: str


@dataclass(frozen=True)
class AchievementDefinition:
    """What a badge is awarded for: ``id`` is the achievement's URL; ``texts`` maps a language to its
    words (``"en"`` is the fallback)."""

    id: str
    texts: Mapping[str, AchievementText]
    image_url: str | None = None
    tags: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    issuer_name: str = ""
    achievement_type: str = "Badge"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def text(self, language: str) -> tuple[str, AchievementText]:
        """The words in ``language``, else English, else the first given; with their language."""
        for wanted in (language, "en"):
            if wanted in self.texts:
                return wanted, self.texts[wanted]
        first = next(iter(self.texts))
        return first, self.texts[first]


def _clean(text: str) -> str:
    # control characters have no place in a badge and are written differently by RDF canonicalisers
    return _CONTROLS.sub("", text).strip()


def achievement_json(achievement: AchievementDefinition, *, language: str = "en") -> dict[str, Any]:
    """The OB 3.0 ``Achievement`` in ``language`` (served at its id, and inside each credential)."""
    chosen, text = achievement.text(language)
    body: dict[str, Any] = {
        "id": achievement.id,
        "type": ["Achievement"],
        "achievementType": achievement.achievement_type,
        "name": _clean(text.name),
        "description": _clean(text.description),
        "criteria": {"narrative": _clean(text.criteria)},
        "inLanguage": chosen,
    }
    if achievement.image_url:
        body["image"] = {"id": achievement.image_url, "type": "Image"}
    tags = [_clean(tag) for tag in (*achievement.tags, *achievement.topics) if _clean(tag)]
    if tags:
        body["tag"] = list(dict.fromkeys(tags))
    return body


def build_credential(
    *,
    achievement: AchievementDefinition,
    subject_id: str,
    issuer: IssuerKey,
    issuer_name: str,
    issued: datetime,
    credential_id: str,
    status: StatusEntry | None,
    valid_until: datetime | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """An unsigned ``OpenBadgeCredential`` for ``subject_id``. ``ValueError`` for a subject that is
    not a ``did:key`` or ``urn:uuid`` (never a name or an email) or a credential id that is not a URI."""
    if not SUBJECT_ID.fullmatch(subject_id):
        raise ValueError("the subject must be a did:key or urn:uuid identifier")
    if ":" not in credential_id:
        raise ValueError("the credential id must be a URI (urn:uuid:…)")
    chosen, text = achievement.text(language)
    credential: dict[str, Any] = {
        "@context": list(BADGE_CONTEXT),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPES),
        "name": _clean(text.name),
        "issuer": {"id": issuer.did, "type": ["Profile"], "name": _clean(issuer_name or achievement.issuer_name)},
        "validFrom": xsd_datetime(issued),
        "credentialSubject": {
            "id": subject_id,
            "type": ["AchievementSubject"],
            "achievement": achievement_json(achievement, language=chosen),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = xsd_datetime(valid_until)
    if status is not None:
        credential["credentialStatus"] = status.as_json()
    return credential


def issue_credential(
    *,
    achievement: AchievementDefinition,
    subject_id: str,
    issuer: IssuerKey,
    issuer_name: str,
    issued: datetime,
    credential_id: str,
    status: StatusEntry | None,
    valid_until: datetime | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """:func:`build_credential` signed by ``issuer`` at ``issued``: what a learner receives."""
    unsigned = build_credential(
        achievement=achievement,
        subject_id=subject_id,
        issuer=issuer,
        issuer_name=issuer_name,
        issued=issued,
        credential_id=credential_id,
        status=status,
        valid_until=valid_until,
        language=language,
    )
    return sign(unsigned, issuer, created=issued)
