"""Let torch's OpenMP workers sleep soon after each parallel op.

By default libgomp's workers spin for milliseconds after every parallel region; on a small machine that
spinning holds the cores that the CPU selective-scan kernel's own threads need. PoseMamba-B at 2 threads
on a 2-core machine: 0.65 s per clip with the default, 0.53 s with a 10,000-iteration spin. libgomp reads
the setting once, when torch loads, so this must run before torch is imported (the CLI calls it through
`posemamba_cli.perf.tune_runtime` first thing); a user's own setting wins.
"""

from __future__ import annotations

import sys

from posemamba_cli import settings

SPIN_COUNT = "10000"


def shorten_openmp_spin() -> bool:
    """Set GOMP_SPINCOUNT unless the user chose a wait policy or torch is already loaded; True if set."""
    if settings.openmp_wait_is_chosen() or "torch" in sys.modules:
        return False
    settings.set_openmp_spin(SPIN_COUNT)
    return True
