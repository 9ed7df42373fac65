"""Process-wide tuning for model work, applied by one explicit call (importing the package changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from posemamba_cli.perf.allocator import retain_freed_memory
from posemamba_cli.perf.openmp import shorten_openmp_spin


@dataclass(frozen=True)
class RuntimeTuning:
    """What `tune_runtime` changed."""

    openmp_spin: bool  # GOMP_SPINCOUNT set (only before torch loads, and unless the user chose a policy)
    malloc_retention: bool  # glibc malloc keeps freed tensor memory


def tune_runtime() -> RuntimeTuning:
    """Shorten OpenMP's idle spin and keep freed memory in the process; call before importing torch.

    The CLI does this first thing; library users who want the same speed call it themselves.
    """
    return RuntimeTuning(openmp_spin=shorten_openmp_spin(), malloc_retention=retain_freed_memory())
