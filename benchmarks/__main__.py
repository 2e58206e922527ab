"""Run every benchmark: ``python -m benchmarks [--rows N] [--map-sizes 10000,100000,1000000] [--freshness-sizes 10000] [--load-visitors 1,10] [--load-replicas 1,2] [--rpde-sizes 100000,1000000] [--only NAME]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks import geocoder as geocoder_bench
from opportunities.places.geocoding import open_geocoder
from opportunities.settings import Settings, load_settings

# Every benchmark by name, one per line (``--only NAME``; all of them without it).
BENCHMARKS = (
    "geocoder",
    "import",
    "map",
    "page",
    "recurrence",
    "addresses",
    "holdout",
    "freshness",
    "coverage",
    "population",
    "upload-lock",
    "load",
    "badges",
    "badge-store",
    "features",
    "subscriptions",
    "rpde",
    "harvest",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the import benchmark")
    parser.add_argument("--only", choices=BENCHMARKS, action="append")
    parser.add_argument("--addresses", type=int, default=1_000_000, help="addresses in the address index benchmark")
    parser.add_argument("--map-sizes", default="10000,100000,1000000", help="opportunities in the map benchmark")
    parser.add_argument(
        "--freshness-sizes", default="10000", help="published opportunities in the freshness benchmark (e.g. 10000,1000000)"
    )
    parser.add_argument("--upload-rows", type=int, default=50_000, help="rows in the upload-lock benchmark")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database the upload-lock benchmark may empty, besides SQLite; the load benchmark's apps serve it "
        "instead of SQLite (filled with its opportunities when empty)",
    )
    parser.add_argument(
        "--page-sizes", default="10000", help="published opportunities in the page benchmark (its database: the map benchmark's)"
    )
    parser.add_argument(
        "--page-visits", type=int, default=5, help="warm first loads (and returning visits) per app in the page benchmark"
    )
    parser.add_argument(
        "--page-baseline",
        type=Path,
        help="another checkout (e.g. a worktree of main) whose app the page benchmark measures beside this one",
    )
    parser.add_argument("--load-sizes", default="10000", help="published opportunities in the load benchmark")
    parser.add_argument(
        "--load-visitors", default="1,10", help="concurrent visitors in the load benchmark (e.g. 1,10,50,100,200)"
    )
    parser.add_argument("--load-seconds", type=float, default=30, help="seconds of steady load per visitor count")
    parser.add_argument("--load-think", type=float, default=5, help="seconds between a visitor's filter changes (jittered ±50%%)")
    parser.add_argument("--load-action", choices=("free", "city", "both"), default="free", help="the filter each change sets")
    parser.add_argument("--load-chromium", action="store_true", help="also time one visitor's changes in Chromium")
    parser.add_argument(
        "--load-server-option",
        action="append",
        default=[],
        help="a Streamlit option for the app the load benchmark starts, e.g. runner.postScriptGC=false (repeatable)",
    )
    parser.add_argument(
        "--load-profile", action="store_true", help="profile one visitor's changes (cProfile) instead of the crowd"
    )
    parser.add_argument(
        "--load-baseline",
        type=Path,
        help="another checkout (e.g. a worktree of main) whose app is measured beside this one, each visitor count back to back",
    )
    parser.add_argument(
        "--load-replicas",
        default="1",
        help="app processes on the same database (e.g. 1,2: each measured, back to back, behind Caddy with lb_policy cookie)",
    )
    parser.add_argument(
        "--load-find-p95",
        type=float,
        help="a p95 target in seconds: per replica count, the largest of --load-visitors (stepped up) within it, and the ratio",
    )
    parser.add_argument(
        "--load-find-tries",
        type=int,
        default=2,
        help="with --load-find-p95, how many times a step beyond the target is measured before its replica count stops",
    )
    parser.add_argument(
        "--load-even",
        action="store_true",
        help="behind Caddy, visitor i presents replica i mod K's affinity cookie: an even spread, not Caddy's random choice",
    )
    parser.add_argument("--load-ports", help="ports the load benchmark may use for its apps and proxies, e.g. 8750-8799")
    parser.add_argument("--load-url", help="measure this running app (http://host:port) instead of starting one")
    parser.add_argument("--load-pid", type=int, help="the process id of the app at --load-url, for its CPU and RSS")
    parser.add_argument(
        "--features-sizes",
        default="10000,100000",
        help="published opportunities in the OGC API benchmark (e.g. 10000,100000,1000000)",
    )
    parser.add_argument(
        "--subscription-sizes", default="100000,1000000", help="published opportunities in the subscriptions benchmark"
    )
    parser.add_argument("--rpde-sizes", default="100000,1000000", help="published opportunities in the RPDE feed benchmark")
    parser.add_argument("--harvest-items", type=int, default=20_000, help="items in the harvest benchmark's feed")
    parser.add_argument("--naive-max", type=int, default=100_000, help="largest size at which to run the naive map")
    args = parser.parse_args()
    only = set(args.only or BENCHMARKS)
    settings = load_settings()
    results: dict[str, object] = {}
    if "geocoder" in only:
        results["geocoder"] = geocoder_bench.run(settings.cache_dir)
        print("geocoder", json.dumps(results["geocoder"]), flush=True)
    if "import" in only:
        from benchmarks import importing as import_bench

        results["import"] = import_bench.run(open_geocoder(settings.cache_dir), rows=args.rows)
        print("import", json.dumps(results["import"]), flush=True)
    if "map" in only:
        from benchmarks import map as map_bench

        sizes = [int(s) for s in args.map_sizes.split(",") if s]
        results["map"] = map_bench.run(
            settings.data_dir / "bench", open_geocoder(settings.cache_dir), sizes, naive_max=args.naive_max
        )
    if "coverage" in only:
        from benchmarks import coverage as coverage_bench

        results["coverage"] = coverage_bench.run()
        print("coverage", json.dumps(results["coverage"]), flush=True)
    if "population" in only:
        from benchmarks import population as population_bench

        results["population"] = population_bench.run()
    if "upload-lock" in only:
        from benchmarks import upload_lock as upload_lock_bench

        results["upload-lock"] = upload_lock_bench.run(open_geocoder(settings.cache_dir), args.upload_rows, args.database_url)
        print("upload-lock", json.dumps(results["upload-lock"]), flush=True)
    if "recurrence" in only:
        from benchmarks import recurrence as recurrence_bench

        results["recurrence"] = recurrence_bench.run()
    if "freshness" in only:
        from benchmarks import freshness as freshness_bench

        sizes = [int(s) for s in args.freshness_sizes.split(",") if s]
        results["freshness"] = freshness_bench.run(
            settings.data_dir / "bench", open_geocoder(settings.cache_dir), settings, sizes
        )
    if "page" in only:
        from benchmarks import page as page_bench

        results["page"] = page_bench.run(
            settings.data_dir / "bench",
            [int(s) for s in args.page_sizes.split(",") if s],
            baseline=args.page_baseline,
            visits=args.page_visits,
        )
    if "load" in only:
        from benchmarks import load as load_bench

        results["load"] = load_bench.run(
            settings.data_dir / "bench",
            [int(s) for s in args.load_sizes.split(",") if s],
            [int(s) for s in args.load_visitors.split(",") if s],
            seconds=args.load_seconds,
            think_s=args.load_think,
            action=args.load_action,
            url=args.load_url,
            pid=args.load_pid,
            chromium=args.load_chromium,
            server_options=args.load_server_option,
            profile=args.load_profile,
            baseline=args.load_baseline,
            replicas=[int(k) for k in args.load_replicas.split(",") if k],
            find_p95=args.load_find_p95,
            tries=args.load_find_tries,
            database_url=args.database_url,
            ports=_ports(args.load_ports),
            even=args.load_even,
        )
    results.update(_open_data(only, args, settings))
    if "badge-store" in only:
        from benchmarks import badge_store as badge_store_bench

        results["badge-store"] = badge_store_bench.run()
        print("badge-store", json.dumps(results["badge-store"]), flush=True)
    if "addresses" in only:
        from benchmarks import addresses as address_bench

        results["addresses"] = address_bench.run(settings.data_dir / "bench", settings.cache_dir, size=args.addresses)
        print("addresses", json.dumps(results["addresses"]), flush=True)
    if "holdout" in only:
        from benchmarks import address_holdout

        results["holdout"] = address_holdout.run(settings.cache_dir)
        print(address_holdout.table(results["holdout"]), flush=True)
    out = settings.data_dir / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    out.write_text(json.dumps({**earlier, **results}, indent=2), encoding="utf-8")  # keeps parts not rerun
    print(f"results written to {out}")


def _ports(text: str | None) -> list[int] | None:
    """``8750-8799`` (or one port) as the list of ports, None for none."""
    if not text:
        return None
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def _open_data(only: set[str], args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    """The open data and badge benchmarks that ``only`` names."""
    results: dict[str, object] = {}
    if "harvest" in only:
        from benchmarks import harvest as harvest_bench

        results["harvest"] = harvest_bench.run(open_geocoder(settings.cache_dir), items=args.harvest_items)
    if "rpde" in only:
        from benchmarks import rpde as rpde_bench

        sizes = [int(s) for s in args.rpde_sizes.split(",") if s]
        results["rpde"] = rpde_bench.run(settings.data_dir / "bench", open_geocoder(settings.cache_dir), sizes)
    if "badges" in only:
        from benchmarks import badges as badges_bench

        results["badges"] = badges_bench.run()
    if "features" in only:
        from benchmarks import features as features_bench

        sizes = [int(s) for s in args.features_sizes.split(",") if s]
        results["features"] = features_bench.run(
            settings.data_dir / "bench", settings.cache_dir, open_geocoder(settings.cache_dir), sizes
        )
    if "subscriptions" in only:
        from benchmarks import subscriptions as subscriptions_bench

        sizes = [int(s) for s in args.subscription_sizes.split(",") if s]
        results["subscriptions"] = subscriptions_bench.run(settings.data_dir / "bench", open_geocoder(settings.cache_dir), sizes)
    return results


if __name__ == "__main__":
    main()
