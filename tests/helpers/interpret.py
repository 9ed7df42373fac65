"""Tests of Triton kernels under Triton's interpreter on the CPU. Triton decides at import whether it
interprets, so such a test file is also the script of one child process started with TRITON_INTERPRET=1:
the parent's fixture calls run_interpreted(__file__), the child's __main__ calls report_cases."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from typing import Callable

import pytest


def run_interpreted(script: str, timeout: float) -> dict:
    """Run `script` as the interpreted child -> the per-case results it prints (skips without triton)."""
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed (pip install -e '.[test]')")
    env = {**os.environ, "TRITON_INTERPRET": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report_cases(cases: dict[str, Callable[[], dict]]) -> None:
    """The child's side: run every case on one thread, print {name: result or {"error": ...}} as JSON."""
    import torch

    torch.set_num_threads(1)
    out = {}
    for name, run in cases.items():
        try:
            out[name] = run()
        except Exception as exc:  # reported per case by the parent
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out))
