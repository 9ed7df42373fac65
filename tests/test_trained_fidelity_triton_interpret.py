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
GRAD_NAMES = ("source0", "source1", "x_proj_weight", "dt_proj_weight", "dt_proj_bias", "A", "D")


def _errors(call, backend):
    """[fused, reference] errors relative to the largest value of y and of every gradient of sum(y * weight),
    against float64 on the same (rounded) inputs."""
    import torch
    from helpers.trained import max_error

    from posemamba_cli.ops import cross_selective_scan

    weight = torch.randn(call.sources[0].shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)

    def run(dtype, src_dtype, backend):
        c = call.cast(dtype)
        sources = tuple(s.to(src_dtype).requires_grad_(True) for s in c.sources)
        params = [t.requires_grad_(True) for t in c[3:]]
        if callable(backend):
            y = backend(sources, c.source_index, c.orders, *params)
        else:
            y = cross_selective_scan(sources, c.source_index, c.orders, *params, backend=backend)
        (y.double() * weight).sum().backward()
        return y.detach(), [s.grad for s in sources] + [p.grad for p in params]

    want = run(torch.float64, torch.float64, "reference")
    ref = run(torch.float32, torch.float32, "reference")
    got = run(torch.float32, torch.float32, backend)
    names = ("y", *GRAD_NAMES)
    return {n: [max_error(g, w), max_error(r, w)]
            for n, g, r, w in zip(names, [got[0], *got[1]], [ref[0], *ref[1]], [want[0], *want[1]])}


def _run_case() -> dict:
    import torch
    from helpers.trained import TrainedLifter, cross_scan_calls, load_trained

    from posemamba_cli.ops.scan_triton import TritonBackend

    folder = Path(os.environ[ENV])
    lifter = TrainedLifter(folder / "trained.pt", torch.load(folder / "clip.pt", weights_only=True))
    call = cross_scan_calls(load_trained(lifter), lifter.clip[:, :FRAMES])[0]
    be = TritonBackend(interpret=True, chunk=32, block_d=32, seq_block_d=32, segments=2)  # few, large blocks
    ok, why = be.availability()
    assert ok, why
    return _errors(call, be.cross_scan)


@pytest.fixture(scope="module")
def results(trained_lifter, monkeypatch_module) -> dict:
    monkeypatch_module.setenv(ENV, str(trained_lifter.checkpoint.parent))
    return run_interpreted(__file__, timeout=900)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.xfail(strict=True, reason=(
    "issue 20: the Triton backward's sums over the steps drift further from float64 than the reference's on "
    "trained weights (here dA 2.2x; over the full clip also dD and d dt_bias, 2.4-3.4x); the CPU kernel's fix "
    "(each chunk's sum added in a wider type) applies"))
def test_triton_cross_scan_as_exact_as_the_float32_reference(results):
    from test_trained_fidelity import allowed

    got = results["float32"]
    assert "error" not in got, got.get("error")
    assert len(got) == 1 + len(GRAD_NAMES)
    worse = {k: f"{e:.3g} against {ref:.3g}" for k, (e, ref) in got.items() if e > allowed(ref)}
    assert not worse, worse


if __name__ == "__main__":  # the child process: TRITON_INTERPRET=1 is set before triton is imported
    report_cases({"float32": _run_case})
