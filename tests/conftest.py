"""Shared test setup: one torch thread (two busy cores make two threads slower), the shared/ folder."""

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder beside the checkout; tests using it skip where it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (reference fixtures live beside the repository)")
    return SHARED


def _cpu_kernel_builds() -> list[str]:
    from posemamba_cli.ops.kernel_variants import machine_isas

    return machine_isas()


@pytest.fixture(params=_cpu_kernel_builds())
def cpu_variant(request) -> str:
    """The backend name of one CPU kernel build ("cpu-avx2", ...): every build for this architecture, each
    skipped with the reason where this CPU cannot run it or no kernel can be loaded."""
    from posemamba_cli.ops import get_backend

    name = f"cpu-{request.param}"
    ok, why = get_backend(name).availability()
    if not ok:
        pytest.skip(f"{name} unavailable here: {why}")
    return name
