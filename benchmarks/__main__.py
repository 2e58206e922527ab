"""Run every benchmark: ``python -m benchmarks [--rows N] [--map-sizes 10000,100000,1000000]``."""

from __future__ import annotations

import argparse
import json

from benchmarks import geocoder as geocoder_bench
from opportunities.geocoding import open_geocoder
from opportunities.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the import benchmark")
    parser.add_argument("--only", choices=("geocoder", "import", "map"), action="append")
    args = parser.parse_args()
    only = set(args.only or ("geocoder", "import", "map"))
    settings = load_settings()
    results: dict[str, object] = {}
    if "geocoder" in only:
        results["geocoder"] = geocoder_bench.run(settings.cache_dir)
        print("geocoder", json.dumps(results["geocoder"]), flush=True)
    if "import" in only:
        from benchmarks import importing as import_bench

        results["import"] = import_bench.run(open_geocoder(settings.cache_dir), rows=args.rows)
        print("import", json.dumps(results["import"]), flush=True)


if __name__ == "__main__":
    main()
