"""The badge benchmark runs (a few credentials), and its three ways sign alike: same signature bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks import badges as bench
from tests.badges.conftest import Issued


def test_the_three_ways_canonicalise_the_same(issued: Issued) -> None:
    unsigned = {k: v for k, v in issued.credentials["activity badge"].items() if k != "proof"}
    moment = datetime(2026, 12, 6, tzinfo=UTC)
    signatures = {name: bench._sign(unsigned, issued.key, moment, way)["proof"]["proofValue"] for name, way in bench.WAYS.items()}
    assert len(set(signatures.values())) == 1, signatures


def test_the_benchmark_runs_small() -> None:
    results = bench.run(count=4, naive_budget_s=0.2, credentials=2000)
    assert results["ours"]["signs"] == 4
    assert results["status_list"]["credentials"] == 2000
    assert results["naive"]["ours_signs_per_s_ratio"] > 0
