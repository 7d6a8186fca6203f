"""Benchmarks: each compares vmstui against a raw baseline measured in the same run."""

from vmstui.errors import UserError


class BenchError(UserError):
    """The benchmark could not run or its outcome is wrong; the text says why."""
