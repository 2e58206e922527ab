"""What the badge tests share: an issuer key in a temporary folder, and credentials of every kind
the product issues (activity badge, playlist badge, revoked, expired), signed, with their status list."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opportunities.badges.credentials import AchievementDefinition, AchievementText, build_credential, issue_credential
from opportunities.badges.keys import IssuerKey, issuer_key, load_or_create_issuer_key
from opportunities.badges.proofs import sign
from opportunities.badges.status_lists import StatusEntry, status_list_credential

ISSUED = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LIST_URL = "https://map.example.org/badges/status/1"
SUBJECT = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
REVOKED_INDEX = 3

ACTIVITY = AchievementDefinition(
    id="https://map.example.org/badges/achievements/robotics-club",
    texts={
        "en": AchievementText("Robotics club", 'Built and programmed a robot "Ada" \\ with friends.', "Take part in 3 sessions."),
        "sv": AchievementText("Robotklubben", "Byggde och programmerade en robot.\nTillsammans.", "Delta i tre träffar."),
        "pl": AchievementText("Klub robotyki", "Zbudował(a) i zaprogramował(a) robota.", "Udział w 3 zajęciach."),
    },
    image_url="https://map.example.org/badges/images/robotics-club.png",
    tags=("robots", "programming"),
    topics=("technology",),
    issuer_name="Cities of Learning Warszawa",
)
PLAYLIST = AchievementDefinition(
    id="https://map.example.org/badges/playlists/city-explorer",
    texts={
        "en": AchievementText("City Explorer", "Earned six badges in six topics.\tWell done.", "One badge from each of 6 topics.")
    },
    tags=("playlist",),
    topics=("arts", "science", "sports", "technology", "nature", "languages"),
    issuer_name="Cities of Learning Ljubljana",
)


@dataclass(frozen=True)
class Issued:
    """A set of credentials of every kind, signed by ``key``, and the status list they name."""

    key: IssuerKey
    credentials: dict[str, dict[str, Any]]
    status_lists: dict[str, dict[str, Any]]

    def status_list(self, url: str) -> dict[str, Any] | None:
        found = self.status_lists.get(url)
        return copy.deepcopy(found) if found is not None else None


def _signed(key: IssuerKey, achievement: AchievementDefinition, index: int, **extra: Any) -> dict[str, Any]:
    return issue_credential(
        achievement=achievement,
        subject_id=SUBJECT,
        issuer=key,
        issuer_name=achievement.issuer_name,
        issued=ISSUED,
        credential_id=f"urn:uuid:6f1f4c1e-8f0e-4b7a-9d55-{index:012d}",
        status=StatusEntry(LIST_URL, index),
        **extra,
    )


def _rich(key: IssuerKey) -> dict[str, Any]:
    """A badge using many optional Open Badges 3.0 fields, as other issuers write them: both
    canonicalisers must know every term (neither may drop one)."""
    unsigned = build_credential(
        achievement=ACTIVITY,
        subject_id=SUBJECT,
        issuer=key,
        issuer_name="Cities of Learning Warszawa",
        issued=ISSUED,
        credential_id="urn:uuid:6f1f4c1e-8f0e-4b7a-9d55-000000000006",
        status=StatusEntry(LIST_URL, 6),
    )
    unsigned["issuer"] |= {"url": "https://map.example.org", "email": "badges@map.example.org"}
    unsigned["awardedDate"] = "2026-11-02T10:30:00Z"
    unsigned["description"] = "For taking part in the robotics club."
    unsigned["image"] = {"id": "https://map.example.org/badges/images/robotics-club.png", "type": "Image", "caption": "A robot"}
    unsigned["evidence"] = [
        {"id": "https://map.example.org/e/1", "type": ["Evidence"], "name": "Photo", "narrative": "We built it"}
    ]
    achievement = unsigned["credentialSubject"]["achievement"]
    achievement["alignment"] = [
        {"type": ["Alignment"], "targetName": "Robotics", "targetUrl": "https://esco.example/skill/1", "targetType": "ext:ESCO"}
    ]
    achievement["creator"] = {"id": "https://map.example.org/organisations/7", "type": ["Profile"], "name": "Youth centre"}
    achievement["humanCode"] = "RB-1"
    unsigned["credentialSubject"]["result"] = [{"type": ["Result"], "value": "A"}]
    return sign(unsigned, key, created=ISSUED)


def tampered(credential: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(credential)
    changed["credentialSubject"]["achievement"]["name"] = "Robotics club (champion)"
    return changed


@pytest.fixture(scope="session")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    key = load_or_create_issuer_key(tmp_path_factory.mktemp("keys") / "issuer" / "badge-issuer.key")
    credentials = {
        "activity badge": _signed(key, ACTIVITY, 1),
        "activity badge in Swedish": _signed(key, ACTIVITY, 2, language="sv"),
        "playlist badge": _signed(key, PLAYLIST, 4),
        "badge with optional fields": _rich(key),
        "revoked": _signed(key, ACTIVITY, REVOKED_INDEX),
        "expired": _signed(key, ACTIVITY, 5, valid_until=NOW - timedelta(days=1)),
    }
    credentials["tampered"] = tampered(credentials["activity badge"])
    status = status_list_credential(list_url=LIST_URL, revoked=[REVOKED_INDEX, 9], issuer=key, issued=ISSUED)
    return Issued(key, credentials, {LIST_URL: status})


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "badge-issuer.key"


Mutation = Callable[[dict[str, Any]], None]
# A key that is not the issuer's (for "signed by someone else").
OTHER_ISSUER_KEY = issuer_key(Ed25519PrivateKey.generate())
