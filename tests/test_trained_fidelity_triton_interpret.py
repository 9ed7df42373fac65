"""The fused Triton cross scan, run by Triton's interpreter on the CPU, on the trained lifter's scans
(helpers.trained): output and every gradient within 1.5x the float32 reference loop's error (plus one ulp)
against float64. Kept small for the interpreter: the spatial block's scan over the clip's first 9 frames
(153 steps; at 85 the drift below does not yet show).

As test_cross_scan_triton_interpret.py, this file is also the script of the child process that runs with
TRITON_INTERPRET=1; the trained checkpoint's folder reaches it in POSEMAMBA_TEST_TRAINED.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.interpret import report_cases, run_interpreted

FRAMES = 9
ENV = "POSEMAMBA_TEST_TRAINED"


def _run_case() -> dict:
    """{name: [Triton's error, the float32 reference's]} for y and every gradient, against float64."""
    import torch
    from helpers.trained import GRAD_NAMES, TrainedLifter, cross_scan_calls, grads, load_trained, max_error

    from posemamba_cli.ops import register_backend
    from posemamba_cli.ops.scan_triton import TritonBackend

    folder = Path(os.environ[ENV])
    lifter = TrainedLifter(folder / "trained.pt", torch.load(folder / "clip.pt", weights_only=True))
    call = cross_scan_calls(load_trained(lifter), lifter.clip[:, :FRAMES])[0]
    interpreted = lambda: TritonBackend(interpret=True, chunk=32, block_d=32, seq_block_d=32, segments=2)  # noqa: E731
    register_backend("triton-interpret", interpreted, priority=-1)  # few, large blocks: the interpreter's cost
    want = grads(call, torch.float64, "reference", per_group=True)
    ref, got = grads(call, torch.float32, "reference"), grads(call, torch.float32, "triton-interpret")
    out = {"y": [max_error(got[0], want[0]), max_error(ref[0], want[0])]}
    out.update({k: [max_error(got[1][k], want[1][k]), max_error(ref[1][k], want[1][k])] for k in GRAD_NAMES})
    return out


@pytest.fixture(scope="module")
def results(trained_lifter, monkeypatch_module) -> dict:
    monkeypatch_module.setenv(ENV, str(trained_lifter.checkpoint.parent))
    return run_interpreted(__file__, timeout=900)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.xfail(strict=True, reason=(
    "issue 20, open: on trained weights the Triton backward's dA is 9x the float32 reference's error against "
    "float64 (state 0, A ~ -0.97: a state with a long memory). Not the summation (chunks of 8 or 32 steps, 1 or 2 "
    "segments, float64 chunk sums: the same error), not h_t - x_t cancellation, not A log2(e)'s rounding (an FMA "
    "with its low part: the same): the interpreter's exp2 is numpy's float32 exp2, biased low (mean -0.08 ulp, "
    "torch's -0.002), and a decay's bias compounds over the memory. On a GPU MUFU.EX2 decides it: measure there, "
    "then an unbiased exp2 near 1 (as the CPU kernel's) if needed"))
def test_triton_cross_scan_as_exact_as_the_float32_reference(results):
    from helpers.trained import allowed

    got = results["float32"]
    assert "error" not in got, got.get("error")
    assert len(got) == 8  # y and seven gradients
    worse = {k: f"{e:.3g} against {ref:.3g}" for k, (e, ref) in got.items() if e > allowed(ref)}
    assert not worse, worse


if __name__ == "__main__":  # the child process: TRITON_INTERPRET=1 is set before triton is imported
    report_cases({"float32": _run_case})
