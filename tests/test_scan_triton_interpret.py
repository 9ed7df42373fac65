"""The Triton selective-scan kernels, run by Triton's interpreter on the CPU, equal the float64 reference.

Triton decides at import whether it interprets, so the kernels run in one child process started with
TRITON_INTERPRET=1 (this file is also that child's script); each case below is then checked here.
Small shapes: odd lengths, several chunks, one and several time segments, batch 1 and 2, N not a power
of two, non-contiguous and bf16 inputs, both forward kernels ("scan" and "seq"); forward and every gradient.
"""

from __future__ import annotations

from functools import partial

import pytest
from helpers.interpret import report_cases, run_interpreted

# name: (batch, groups, per_group, N, L, chunk, block_d, segments, options)
CASES = {
    "odd_len_chunks": (1, 2, 4, 4, 37, 8, 2, 1, {}),
    "n16_batch2": (2, 1, 2, 16, 19, 8, 2, 1, {}),
    "segments": (1, 2, 2, 4, 45, 8, 2, 3, {}),
    "segments_batch2_n5": (2, 1, 3, 5, 29, 8, 1, 2, {}),
    "no_bias_no_d_no_softplus": (1, 2, 2, 4, 21, 8, 2, 2, {"plain": True}),
    "non_contiguous": (2, 2, 2, 4, 17, 8, 2, 1, {"transposed": True}),
    "bf16_inputs": (1, 2, 2, 4, 23, 8, 2, 2, {"bf16": True}),
    "seq_forward": (2, 2, 4, 5, 37, 8, 4, 1, {"seq": True}),
    "seq_forward_segments": (1, 2, 2, 4, 45, 8, 2, 3, {"seq": True, "transposed": True}),
    "seq_forward_plain": (1, 2, 2, 4, 21, 8, 2, 2, {"seq": True, "plain": True}),
}
GRAD_NAMES = ("u", "delta", "A", "B", "C", "D", "delta_bias")


def _make(batch, groups, per_group, n_state, length, seed, plain):
    import torch

    g = torch.Generator().manual_seed(seed)
    dim = groups * per_group
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    inputs = dict(
        u=r(batch, dim, length), delta=0.5 * r(batch, dim, length),
        A=-(torch.rand(dim, n_state, generator=g, dtype=torch.float64) * 5.5 + 0.5),
        B=r(batch, groups, n_state, length), C=r(batch, groups, n_state, length),
        D=r(dim), delta_bias=0.3 * r(dim),
    )
    if plain:
        inputs["delta"] = inputs["delta"].abs() + 0.01
        del inputs["D"], inputs["delta_bias"]
    return inputs


def _run_case(spec) -> dict[str, float]:
    """Relative max errors of y and every gradient against the float64 reference."""
    import torch

    from posemamba_cli.ops import selective_scan_reference
    from posemamba_cli.ops.scan_triton import TritonBackend
    from posemamba_cli.ops.selective_scan import _SelectiveScanFn

    batch, groups, per_group, n_state, length, chunk, block_d, segments, opts = spec
    plain, bf16 = opts.get("plain", False), opts.get("bf16", False)
    inputs = _make(batch, groups, per_group, n_state, length, seed=length, plain=plain)
    if bf16:  # the reference sees the same rounded inputs
        for k in ("u", "delta", "B", "C"):
            inputs[k] = inputs[k].to(torch.bfloat16).double()
    softplus = not plain
    weight = torch.randn(batch, groups * per_group, length, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(1))
    ref = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y_ref = selective_scan_reference(**ref, delta_softplus=softplus)
    (y_ref * weight).sum().backward()

    backend = TritonBackend(interpret=True, chunk=chunk, block_d=block_d, segments=segments,
                            fwd_impl="seq" if opts.get("seq") else "scan", seq_block_d=block_d, unroll=4)
    ok, why = backend.availability()
    assert ok, why
    ours = {}
    for k, v in inputs.items():
        t = v.to(torch.bfloat16 if bf16 and k in ("u", "delta", "B", "C") else torch.float32)
        if opts.get("transposed") and k in ("u", "delta", "B", "C"):
            t = t.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, L not the inner stride
            assert not t.is_contiguous()
        ours[k] = t.detach().requires_grad_(True)
    args = [ours.get(k) for k in GRAD_NAMES]
    y = _SelectiveScanFn.apply(backend, *args, softplus)
    assert y.dtype == ours["u"].dtype and y.shape == y_ref.shape
    (y.double() * weight).sum().backward()
    scale = lambda t: t.abs().max().item() or 1.0  # noqa: E731
    errors = {"y": (y.double() - y_ref).abs().max().item() / scale(y_ref)}
    for k in inputs:
        want = ref[k].grad
        got = ours[k].grad
        assert got is not None and got.dtype == ours[k].dtype and torch.isfinite(got).all(), k
        errors[k] = (got.double() - want).abs().max().item() / scale(want)
    return errors


@pytest.fixture(scope="module")
def results() -> dict:
    return run_interpreted(__file__, timeout=600)


@pytest.mark.parametrize("case", sorted(CASES))
def test_triton_interpreted_matches_float64_reference(results, case):
    got = results[case]
    assert "error" not in got, got.get("error")
    bf16 = CASES[case][-1].get("bf16", False)
    # bf16: the reference sees the same rounded inputs, but y, the incoming dy and the per-row gradients
    # are rounded to bf16 (2^-8 relative each): mamba's bf16 rtol, 3e-2
    y_tol, g_tol = (3e-2, 3e-2) if bf16 else (2e-6, 2e-5)
    assert got["y"] <= y_tol, got
    for name, err in got.items():
        assert err <= (y_tol if name == "y" else g_tol), (name, err)


if __name__ == "__main__":  # the child process: TRITON_INTERPRET=1 is set before triton is imported
    report_cases({name: partial(_run_case, spec) for name, spec in CASES.items()})
