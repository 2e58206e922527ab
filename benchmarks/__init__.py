"""Benchmarks: ``python -m benchmarks`` prints figures beside a naive baseline measured in the same run."""
