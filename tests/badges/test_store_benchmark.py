"""The badge store's benchmark runs small: a status list from the database, claims end to end."""

from __future__ import annotations

from benchmarks import badge_store


def test_the_store_benchmark_runs_small() -> None:
    results = badge_store.run(credentials=3000, revoked_share=0.1, claims_timed=3)
    assert (results["credentials"], results["revoked"]) == (3000, 300)
    assert results["status_list_ms"] > 0 and results["claims_per_s"] > 0 and results["signing_only_per_s"] > 0
