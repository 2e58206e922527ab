"""What the badge store's tests share: the review world (tests/conftest.py) with badges in it, an
issuer key and a real signer (badgecrypto's credentials and proofs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from opportunities.accounts.accounts import add_user
from opportunities.accounts.identity import Role, User
from opportunities.badges import achievements, claims, issuance, verification
from opportunities.badges.issuance import Signer
from opportunities.badges.keys import IssuerKey, load_or_create_issuer_key
from opportunities.db import schema
from opportunities.db.connection import writing
from tests.conftest import World

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PUBLIC_URL = "https://map.example.org"
SUBJECT = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
OTHER_SUBJECT = "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"
TEXTS = {
    "en": {"name": "Code club", "description": "Wrote a first program in Python.", "criteria": "Take part in three sessions."},
    "sv": {"name": "Kodklubben", "description": "Skrev ett första program i Python.", "criteria": "Delta i tre träffar."},
}


@dataclass
class Badges:
    world: World
    key: IssuerKey
    signer: Signer
    code_club: int  # the library's published badge of Kodklubb (Göteborg)
    chess: int  # the library's published badge of Schack (Göteborg)
    robotics: int  # Mladinski center Kranj's published badge of Robotika (Kranj), made by its provider
    kranj_provider: User  # a provider of Mladinski center Kranj

    @property
    def engine(self) -> Engine:
        return self.world.engine

    def verify(self, credential: dict[str, Any], now: datetime = NOW) -> verification.Verification:
        def status_list(url: str) -> dict[str, Any] | None:
            list_id = issuance.list_id_from_url(PUBLIC_URL, url)
            if list_id is None:
                return None
            with self.engine.connect() as conn:
                return issuance.status_list_document(conn, list_id, keys=[self.key], public_url=PUBLIC_URL)

        return verification.verify(credential, known_keys=[self.key], status_list=status_list, now=now)

    def code(self, achievement_id: int, *, uses: int = 1, valid_for: timedelta = timedelta(hours=2)) -> str:
        with writing(self.engine) as conn:
            return claims.create_code(conn, self.world.admin, achievement_id, valid_for=valid_for, max_uses=uses, now=NOW).code


def make_badges(world: World, tmp_path: Path) -> Badges:
    key = load_or_create_issuer_key(tmp_path / "keys" / "badge-issuer.key")
    signer = issuance.credential_signer(key, public_url=PUBLIC_URL, issuer_name="Cities of Learning")
    with writing(world.engine) as conn:
        robotika_org = conn.execute(
            select(schema.opportunities.c.provider_id).where(schema.opportunities.c.id == world.ids["Robotika"])
        ).scalar_one()
        kranj_provider = add_user(conn, "mentor@mck.example", role=Role.PROVIDER, password=None, settings=world.settings, now=NOW,
                                  organisation_id=robotika_org, language="sl")  # fmt: skip
        made = {}
        for title, user, reviewer in (("Kodklubb", world.librarian, world.lead_gbg), ("Schack", world.librarian, world.lead_gbg),
                                      ("Robotika", kranj_provider, world.lead_kranj)):  # fmt: skip
            badge = achievements.define_badge(conn, user, world.ids[title], texts=TEXTS, topics=None, now=NOW)
            made[title] = achievements.review_badge(conn, reviewer, badge.id, approve=True, now=NOW).id
    return Badges(world, key, signer, made["Kodklubb"], made["Schack"], made["Robotika"], kranj_provider)
