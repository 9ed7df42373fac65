"""Process tuning the CLI applies: OpenMP spin before torch loads, and glibc malloc retention."""

import os
import platform
import subprocess
import sys

import pytest

from posemamba_cli.perf.allocator import retain_freed_memory

TUNED = "import os; from posemamba_cli.perf import tune_runtime; tune_runtime(); import torch; "
SHOW = "print(os.environ.get('GOMP_SPINCOUNT'))"


def _probe(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


def test_importing_the_package_changes_no_process_state():
    assert _probe("import os, posemamba_cli, posemamba_cli.cli.app, torch; " + SHOW) == "None"


def test_openmp_spin_is_shortened_by_the_explicit_call_and_user_choices_win():
    assert _probe(TUNED + SHOW) == "10000"
    assert _probe(TUNED + SHOW, GOMP_SPINCOUNT="5") == "5"
    assert _probe(TUNED + SHOW, OMP_WAIT_POLICY="active") == "None"
    late = "import os, torch; from posemamba_cli.perf import tune_runtime; print(tune_runtime().openmp_spin); "
    assert _probe(late + SHOW) == "None"  # too late to matter once torch is loaded, so left alone


def test_the_cli_entry_point_tunes_before_running_a_command():
    code = ("import os, sys; sys.argv = ['posemamba', '--version']\n"
            "from posemamba_cli.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n" + SHOW)
    assert _probe(code) == "10000"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc tuning is glibc-only")
def test_malloc_retention_applies_on_glibc():
    assert retain_freed_memory() is True
