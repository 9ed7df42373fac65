"""Process tuning the CLI applies: OpenMP spin before torch loads, and glibc malloc retention."""

import os
import platform
import subprocess
import sys

import pytest

from posemamba_cli.perf.allocator import retain_freed_memory

PROBE = "import os, posemamba_cli, torch; print(os.environ.get('GOMP_SPINCOUNT'))"


def _probe(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def test_openmp_spin_is_shortened_before_torch_loads_and_user_choices_win():
    assert _probe(PROBE) == "10000"
    assert _probe(PROBE, GOMP_SPINCOUNT="5") == "5"
    assert _probe(PROBE, OMP_WAIT_POLICY="active") == "None"
    late = "import os, torch, posemamba_cli; print(os.environ.get('GOMP_SPINCOUNT'))"
    assert _probe(late) == "None"  # too late to matter once torch is loaded, so left alone


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc tuning is glibc-only")
def test_malloc_retention_applies_on_glibc():
    assert retain_freed_memory() is True
