"""`posemamba benchmark`: lifter throughput on this machine."""

from __future__ import annotations


def benchmark() -> None:
    """Measure the lifter's forward time per 243-frame clip."""
    raise NotImplementedError
