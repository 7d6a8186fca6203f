"""Benchmarks: each compares vmstui against a raw baseline measured in the same run."""
