"""The badge store: a status list served from the database for 100,000 issued credentials, and
claims end to end (limits, redeem, status position, record, sign), on SQLite.

Beside each, a naive baseline measured in the same run: the status list from every issuance row
of the list read into Python (instead of the revoked ones only), and a claim's signing alone
(what a claim costs beyond the store).

Target (issue 18): the status list for 100,000 credentials served in ≤ 50 ms.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from opportunities.badges import awarding, claims, issuance
from opportunities.badges.achievements import get_achievement
from opportunities.badges.claims import CodeKind
from opportunities.badges.issuance import StatusPosition
from opportunities.badges.keys import load_or_create_issuer_key
from opportunities.badges.status_lists import status_list_credential
from opportunities.db import schema
from opportunities.db.connection import open_database, writing
from opportunities.settings import load_settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PUBLIC_URL = "https://map.example.org"
SUBJECT = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def _median_ms(run: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def run(credentials: int = 100_000, revoked_share: float = 0.01, claims_timed: int = 200) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'bench.db'}")
        key = load_or_create_issuer_key(Path(folder) / "keys" / "issuer.key")
        settings = replace(load_settings({}), public_url=PUBLIC_URL, badge_key_file=Path(folder) / "keys" / "issuer.key",
                           badge_claim_max_failures_per_client=10**6, badge_claim_max_failures=10**6)  # fmt: skip
        signer = issuance.credential_signer(key, public_url=PUBLIC_URL, issuer_name="Cities of Learning")
        with writing(engine) as conn:
            city = conn.execute(insert(schema.cities).returning(schema.cities.c.id).values(
                name="Kranj", name_key="kranj", country="SI", latitude=46.24, longitude=14.36, timezone="Europe/Ljubljana")).scalar_one()  # fmt: skip
            texts = json.dumps({"en": {"name": "Robotics", "description": "Built a robot.", "criteria": "3 sessions."}})
            badge = conn.execute(insert(schema.badge_achievements).returning(schema.badge_achievements.c.id).values(
                kind="activity", city_id=city, texts=texts, image_url="", tags="[]", topics='["science-technology"]',
                status="published", review_note="", created_at=NOW, updated_at=NOW)).scalar_one()  # fmt: skip
            position = issuance.allocate(conn, city, NOW, issuer=key.did)
            made = conn.execute(select(schema.badge_status_lists).where(schema.badge_status_lists.c.id == position.list_id)).one()
            step = max(1, round(1 / revoked_share))
            rows = [{"credential_id": f"urn:uuid:00000000-0000-4000-8000-{n:012d}", "achievement_id": badge, "via": "code",
                     "issued_at": NOW, "status_list_id": position.list_id,
                     "status_index": (n * made.stride + made.shift) % made.size,
                     "revoked_at": NOW if n % step == 0 else None, "revoke_reason": ""} for n in range(credentials)]  # fmt: skip
            for i in range(0, len(rows), 10_000):
                conn.execute(insert(schema.badge_issuances), rows[i : i + 10_000])
            conn.execute(schema.badge_status_lists.update().values(next_position=credentials))

        def ours() -> None:
            with engine.connect() as conn:
                issuance.status_list_document(conn, position.list_id, keys=[key], public_url=PUBLIC_URL)

        def naive() -> None:
            with engine.connect() as conn:
                every = conn.execute(
                    select(schema.badge_issuances).where(schema.badge_issuances.c.status_list_id == position.list_id)
                ).all()
            status_list_credential(list_url=issuance.status_list_url(PUBLIC_URL, position.list_id),
                                   revoked=[r.status_index for r in every if r.revoked_at is not None], issuer=key, issued=NOW)  # fmt: skip

        ours()  # warm: contexts, caches
        list_ms, naive_ms = _median_ms(ours, 15), _median_ms(naive, 5)

        with writing(engine) as conn:  # a link's token; a typed code differs only in its normalisation
            token = claims.create_link_token(conn, None, badge, now=NOW, settings=settings)
            conn.execute(schema.badge_claim_codes.update().values(max_uses=claims_timed + 1))
        start = time.perf_counter()
        for n in range(claims_timed):
            awarding.claim(
                engine, token, SUBJECT, kind=CodeKind.LINK, client=f"{n:064x}", now=NOW, settings=settings, signer=signer
            )
        claims_s = claims_timed / (time.perf_counter() - start)
        with engine.connect() as conn:
            achievement = get_achievement(conn, badge)
        start = time.perf_counter()
        for n in range(claims_timed):
            signer(achievement=achievement, subject_id=SUBJECT, credential_id=f"urn:uuid:00000000-0000-4000-9000-{n:012d}", issued=NOW,
                   status=StatusPosition(position.list_id, n))  # fmt: skip
        signing_s = claims_timed / (time.perf_counter() - start)
        engine.dispose()
    return {
        "credentials": credentials, "revoked": credentials // step,
        "status_list_ms": list_ms, "status_list_naive_ms": naive_ms, "status_list_speedup": round(naive_ms / list_ms, 1),
        "claims_per_s": round(claims_s, 1), "signing_only_per_s": round(signing_s, 1),
        "claim_vs_signing": round(claims_s / signing_s, 2),
    }  # fmt: skip
