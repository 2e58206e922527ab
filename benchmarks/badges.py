"""Signing and verifying Open Badges, and serving a revocation list for 100,000 credentials.

Canonicalisation (RDFC-1.0 through PyLD) is the cost of ``eddsa-rdfc-2022``. Three ways are timed
in the same run, on the same credentials (each different: its own subject, id and moment):

- ``ours``: :func:`opportunities.badges.canonical.canonize`: the bundled contexts tagged for PyLD's
  cache, type-scoped and inline contexts found in it again, strict about undefined terms;
- ``pyld cache``: plain ``pyld.jsonld.normalize`` with the same tagged loader;
- ``naive``: plain ``pyld.jsonld.normalize`` with a loader that reads and parses the context files
  on every call, untagged, so every operation processes every context again.

Targets (issue 18): ≥ 200 signatures/s and ≥ 200 verifications/s; the status list for 100,000
credentials served in ≤ 50 ms.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld

from opportunities.badges.canonical import canonize
from opportunities.badges.contexts import document_loader, uncached_document_loader
from opportunities.badges.credentials import AchievementDefinition, AchievementText, build_credential
from opportunities.badges.keys import IssuerKey, load_or_create_issuer_key
from opportunities.badges.multibase import decode_z, encode_z
from opportunities.badges.proofs import xsd_datetime
from opportunities.badges.status_lists import LIST_SIZE, StatusEntry, status_list_credential
from opportunities.badges.verification import verify

Canonize = Callable[[Mapping[str, Any]], str]
ACHIEVEMENT = AchievementDefinition(
    id="https://map.example.org/badges/achievements/robotics-club",
    texts={"en": AchievementText("Robotics club", "Built and programmed a robot with friends.", "Take part in 3 sessions.")},
    image_url="https://map.example.org/badges/images/robotics-club.png",
    tags=("robots", "programming"),
    topics=("technology",),
    issuer_name="Cities of Learning Warszawa",
)
LIST_URL = "https://map.example.org/badges/status/1"


def _plain(loader: Any) -> Canonize:
    def canonical(document: Mapping[str, Any]) -> str:
        options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
        return str(jsonld.normalize(dict(document), options))

    return canonical


WAYS: dict[str, Canonize] = {
    "ours": canonize,
    "pyld cache": _plain(document_loader),
    "naive": _plain(uncached_document_loader),
}


def _hash_data(document: Mapping[str, Any], proof: Mapping[str, Any], canonical: Canonize) -> bytes:
    config = {"@context": document["@context"], **{k: v for k, v in proof.items() if k != "proofValue"}}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return hashlib.sha256(canonical(config).encode()).digest() + hashlib.sha256(canonical(unsecured).encode()).digest()


def _sign(document: dict[str, Any], key: IssuerKey, created: datetime, canonical: Canonize) -> dict[str, Any]:
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": xsd_datetime(created),
        "verificationMethod": key.verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = key.private_key.sign(_hash_data(document, proof, canonical))
    return {**document, "proof": {**proof, "proofValue": encode_z(signature)}}


def _verify(document: dict[str, Any], key: IssuerKey, canonical: Canonize) -> None:
    proof = document["proof"]
    Ed25519PublicKey.from_public_bytes(key.public_raw).verify(
        decode_z(proof["proofValue"]), _hash_data(document, proof, canonical)
    )


def _credentials(key: IssuerKey, count: int) -> list[dict[str, Any]]:
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    return [
        build_credential(
            achievement=ACHIEVEMENT,
            subject_id=f"urn:uuid:{uuid.UUID(int=random.Random(i).getrandbits(128), version=4)}",
            issuer=key,
            issuer_name="Cities of Learning Warszawa",
            issued=start + timedelta(seconds=i),
            credential_id=f"urn:uuid:{uuid.UUID(int=random.Random(-i - 1).getrandbits(128), version=4)}",
            status=StatusEntry(LIST_URL, i % LIST_SIZE),
        )
        for i in range(count)
    ]


def _rate(work: Callable[[dict[str, Any]], object], items: list[dict[str, Any]], budget_s: float) -> tuple[float, float, int]:
    """Operations per second over ``items`` (stopping after ``budget_s``): by the wall clock and by
    this process's CPU time (which other work on a shared machine does not eat into), and how many."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    done = 0
    for item in items:
        work(item)
        done += 1
        if time.perf_counter() - t0 > budget_s:
            break
    return done / (time.perf_counter() - t0), done / max(time.process_time() - cpu0, 1e-9), done


def run(count: int = 1000, naive_budget_s: float = 10.0, credentials: int = 100_000) -> dict[str, Any]:
    """Signatures and verifications per second for each way, and the status list timing."""
    with tempfile.TemporaryDirectory() as folder:
        key = load_or_create_issuer_key(Path(folder) / "badge-issuer.key")
    documents = _credentials(key, count)
    created = datetime(2026, 12, 6, 12, tzinfo=UTC)
    for canonical in WAYS.values():  # the first use loads and processes the contexts: not timed
        _verify(_sign(documents[0], key, created, canonical), key, canonical)
    results: dict[str, Any] = {}
    signed: list[dict[str, Any]] = []
    for name, canonical in WAYS.items():
        budget = naive_budget_s if name != "ours" else 60.0
        sign_rate, sign_cpu, signs = _rate(lambda d, c=canonical: signed.append(_sign(d, key, created, c)), documents, budget)
        to_verify = signed[-signs:]
        verify_rate, verify_cpu, _ = _rate(lambda d, c=canonical: _verify(d, key, c), to_verify, budget)
        results[name] = {
            "signs_per_s": round(sign_rate, 1),
            "verifies_per_s": round(verify_rate, 1),
            "signs_per_cpu_s": round(sign_cpu, 1),
            "verifies_per_cpu_s": round(verify_cpu, 1),
            "signs": signs,
        }
        print(
            f"badges {name:11} sign {sign_rate:6.1f}/s ({sign_cpu:6.1f}/CPU-s)   proof check {verify_rate:6.1f}/s "
            f"({verify_cpu:6.1f}/CPU-s)   ({signs} credentials)",
            flush=True,
        )
    # verify() as the Verify page and the playlist claim call it: shape, proof, issuer, status list
    status = status_list_credential(list_url=LIST_URL, revoked=[3, 5], issuer=key, issued=created)
    full_rate, full_cpu, _ = _rate(
        lambda d: verify(d, known_keys=[key], status_list=lambda url: status, now=created), signed[: min(count, 500)], 60.0
    )
    results["ours"]["full_verifies_per_s"] = round(full_rate, 1)
    results["ours"]["full_verifies_per_cpu_s"] = round(full_cpu, 1)
    print(f"badges whole verify() with the status list: {full_rate:.1f}/s ({full_cpu:.1f}/CPU-s)", flush=True)
    for name in ("pyld cache", "naive"):
        for measure in ("signs_per_s", "verifies_per_s", "signs_per_cpu_s", "verifies_per_cpu_s"):
            results[name][f"ours_{measure}_ratio"] = round(results["ours"][measure] / results[name][measure], 1)
    results["status_list"] = _status_list(key, created, credentials)
    return results


def _status_list(key: IssuerKey, issued: datetime, credentials: int) -> dict[str, Any]:
    """Building, signing and writing the revocation list credential for ``credentials`` issued, 1 % revoked."""
    import json

    rng = random.Random(18)
    revoked = rng.sample(range(credentials), credentials // 100)
    size = max(LIST_SIZE, -(-credentials // 8) * 8)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        body = json.dumps(status_list_credential(list_url=LIST_URL, revoked=revoked, issuer=key, issued=issued, size=size))
        times.append(time.perf_counter() - t0)
    ms = sorted(times)[len(times) // 2] * 1000
    naive_times = []
    for _ in range(5):
        # naive: the list as a string of 0s and 1s, a bit at a time, signed without the context caches
        t0 = time.perf_counter()
        chosen = set(revoked)
        bits = int("".join("1" if i in chosen else "0" for i in range(size)), 2).to_bytes(size // 8, "big")
        listed = status_list_credential(list_url=LIST_URL, revoked=revoked, issuer=key, issued=issued, size=size)
        _sign({k: v for k, v in listed.items() if k != "proof"}, key, issued, WAYS["naive"])
        naive_times.append(time.perf_counter() - t0)
        assert len(bits) == size // 8
    naive_ms = sorted(naive_times)[len(naive_times) // 2] * 1000
    print(
        f"badges status list for {credentials:,} credentials ({len(revoked):,} revoked): {ms:.1f} ms median "
        f"(built, signed, JSON; {len(body):,} bytes); naive (bit string, uncached contexts) {naive_ms:.1f} ms",
        flush=True,
    )
    return {
        "credentials": credentials,
        "revoked": len(revoked),
        "median_ms": round(ms, 1),
        "bytes": len(body),
        "naive_ms": round(naive_ms, 1),
    }
