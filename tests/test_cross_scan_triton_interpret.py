"""The fused Triton cross scan, run by Triton's interpreter on the CPU, equals the float64 composed reference.

As in test_scan_triton_interpret.py, the kernels run in one child process started with TRITON_INTERPRET=1
(this file is that child's script). Checked: the output and the gradient of every input (both sources,
x_proj_weight, dt_proj_weight, dt_proj_bias, A, D) at odd sizes: Di, R, N not powers of two, P not a
multiple of the chunk, one and several time segments, channels-last and channels-first sources, random
orders, no D, the forward one batch row per pass, the split-state forward (part of exp on the FMA
pipe, whose 2^x is also checked alone), bf16 sources with the float32 state, the one-launch forwards
("grid", "lane") and the "grouped" / "lanes" backwards (issue 23); and a small PoseMamba whose
blocks run the fused op, forward and backward, against the same model on the reference loop in float64.
"""

from __future__ import annotations

from functools import partial

import pytest
from helpers.interpret import report_cases, run_interpreted

# name: (batch, Di, R, N, frames, joints, K, chunk, fwd_block_d, bwd_block_d, segments, options)
CASES = {
    "odd_sizes_segments": (2, 5, 2, 4, 3, 5, 4, 4, 4, 2, 2, {"check_saves": True}),
    "one_segment_n5_channels_first": (1, 3, 1, 5, 2, 7, 4, 8, 2, 2, 1, {"channels_first": True}),
    "random_orders_no_d_two_groups_row_passes": (2, 4, 3, 3, 3, 4, 2, 4, 4, 4, 3,
                                                {"random": True, "no_d": True, "batch_block": 1}),
    "bf16_sources": (1, 6, 2, 4, 2, 5, 4, 4, 4, 2, 2, {"bf16": True}),
    "poly_exp_forward_n5_segments": (1, 3, 2, 5, 2, 7, 4, 4, 2, 2, 2, {"poly_exp": True}),
    # the one-launch forward (one thread per channel) and the grouped backward (issue 23)
    "grid_fwd_grouped_bwd_segments": (2, 5, 2, 4, 3, 5, 4, 4, 4, 2, 2, {"fwd": "grid", "bwd": "grouped"}),
    "lane_fwd_grouped_bwd_n5_one_segment_channels_first": (1, 3, 1, 5, 2, 7, 4, 8, 2, 2, 1,
                                                           {"channels_first": True, "fwd": "lane", "bwd": "grouped"}),
    "lane_fwd_random_orders_no_d_two_groups": (2, 4, 3, 3, 3, 4, 2, 4, 4, 4, 3,
                                               {"random": True, "no_d": True, "fwd": "lane", "bwd": "grouped"}),
    "lane_fwd_bf16_segments_plain_store_bwd": (1, 6, 2, 4, 2, 5, 4, 4, 4, 2, 2,
                                               {"bf16": True, "fwd": "lane", "bwd": "grouped", "bwd_group": 99}),
    "lanes_bwd_segments": (2, 5, 2, 4, 3, 5, 4, 4, 4, 2, 2, {"fwd": "grid", "bwd": "lanes"}),
    "lanes_bwd_legacy_fwd_n5_r3_no_d_random_two_groups": (2, 4, 3, 5, 3, 4, 2, 4, 4, 4, 3,
                                                          {"random": True, "no_d": True, "bwd": "lanes"}),
}
NAMES = ("x_proj_weight", "dt_proj_weight", "dt_proj_bias", "A", "D")


def _inputs(batch, Di, R, N, P, K, seed, channels_first):
    import torch

    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    src = lambda: r(batch, Di, P) if channels_first else r(batch, P, Di).transpose(1, 2)  # noqa: E731
    params = dict(
        x_proj_weight=r(K, R + 2 * N, Di) / Di**0.5, dt_proj_weight=r(K, Di, R) / R**0.5,
        dt_proj_bias=r(K, Di) - 1.0, A=-(torch.rand(K * Di, N, generator=g, dtype=torch.float64) * 5 + 0.5),
        D=r(K * Di),
    )
    return [src(), src()], params


def _grads(fn, sources, params, dtype, src_dtype, weight):

    leaves = [s.to(src_dtype).detach().requires_grad_(True) for s in sources]
    ps = {k: v.to(dtype).detach().requires_grad_(True) for k, v in params.items()}
    y = fn(leaves, ps)
    (y.double() * weight).sum().backward()
    return y, {"source0": leaves[0].grad, "source1": leaves[1].grad, **{k: ps[k].grad for k in ps}}


def _errors(y, grads, y_ref, grads_ref) -> dict[str, float]:
    scale = lambda t: t.abs().max().item() or 1.0  # noqa: E731
    out = {"y": (y.double() - y_ref).abs().max().item() / scale(y_ref)}
    for k, want in grads_ref.items():
        got = grads[k]
        assert got is not None and got.shape == want.shape and bool(got.isfinite().all()), k
        out[k] = (got.double() - want).abs().max().item() / scale(want)
    return out


def _run_case(spec) -> dict[str, float]:
    import torch

    from posemamba_cli.model.posemamba import scan_orders
    from posemamba_cli.ops import cross_selective_scan
    from posemamba_cli.ops.scan_triton import TritonBackend

    batch, Di, R, N, f, J, K, chunk, fbd, bbd, segments, opts = spec
    P = f * J
    sources, params = _inputs(batch, Di, R, N, P, K, seed=P + Di, channels_first=opts.get("channels_first", False))
    if opts.get("no_d"):
        del params["D"]
    source_index = (0, 1, 0, 1)[:K]
    if opts.get("random"):
        g = torch.Generator().manual_seed(3)
        orders = torch.stack([torch.randperm(P, generator=g) for _ in range(K)]).int()
    else:
        orders = scan_orders(f, J)[:K]
    bf16 = opts.get("bf16", False)
    if bf16:  # the reference sees the same rounded sources
        sources = [s.to(torch.bfloat16).double() for s in sources]
    weight = torch.randn(batch, Di, P, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def op(backend):
        return lambda s, p: cross_selective_scan(s, source_index, orders, **p, backend=backend)

    y_ref, g_ref = _grads(op("reference"), sources, params, torch.float64, torch.float64, weight)
    be = TritonBackend(interpret=True, chunk=chunk, block_d=bbd, seq_block_d=fbd, unroll=2, segments=segments)
    be.cross.batch_block = opts.get("batch_block")  # 1: the forward scans one batch row at a time
    be.cross.poly_exp = opts.get("poly_exp", False)  # the split-state forward, part of exp on the FMA pipe
    be.cross.fwd_variant, be.cross.bwd_variant = opts.get("fwd", "legacy"), opts.get("bwd", "legacy")
    be.cross.lane_warps = 1  # one-launch forward: the channel tile is 32 (the interpreter wants small tiles)
    be.cross.bwd_group = opts.get("bwd_group", 2)  # channel tiles one backward program reduces over
    ok, why = be.availability()
    assert ok, why
    fused = lambda s, p: be.cross_scan(s, source_index, orders, *(p.get(k) for k in NAMES))  # noqa: E731
    y, grads = _grads(fused, sources, params, torch.float32, torch.bfloat16 if bf16 else torch.float32, weight)
    assert y.dtype == torch.float32 and y.shape == (batch, Di, P)
    assert grads["source0"].dtype == (torch.bfloat16 if bf16 else torch.float32)
    if opts.get("poly_exp"):  # the split kernel ran: its rounding differs from the one-part forward's
        with torch.no_grad():
            be.cross.poly_exp = False
            y_plain = fused([s.float() for s in sources], {k: v.float() for k, v in params.items()})
        assert not torch.equal(y_plain, y.detach()) and torch.allclose(y_plain, y.detach(), rtol=1e-5, atol=1e-6)
    if opts.get("check_saves"):  # inference saves no checkpoints, even with parameters that require grad
        saves, forward = [], be.cross.forward
        be.cross.forward = lambda *a: saves.append(a[-1]) or forward(*a)
        _grads(fused, sources, params, torch.float32, torch.float32, weight)
        with torch.no_grad():
            y_ng = fused([s.float() for s in sources], {k: v.float().requires_grad_(True) for k, v in params.items()})
        assert saves == [True, False], saves
        assert torch.equal(y_ng, y)
    return _errors(y, grads, y_ref, g_ref)


def _run_model() -> dict[str, float]:
    """A small PoseMamba (Di = 16, R = 1, N = 4, 2 frames) on the interpreted fused op vs float64 reference."""
    import torch

    from posemamba_cli import PoseMamba
    from posemamba_cli.ops import register_backend, use_backend
    from posemamba_cli.ops.scan_triton import TritonBackend

    interpreted = lambda: TritonBackend(interpret=True, chunk=16, block_d=16, segments=1)  # noqa: E731
    register_backend("triton-interpret", interpreted, priority=-1)
    torch.manual_seed(0)
    model = PoseMamba(num_frame=2, dim_feat=8, depth=1, d_state=4, drop_path_rate=0.0)
    model = model.double()
    x = torch.randn(1, 2, 17, 2, dtype=torch.float64)
    weight = torch.randn(1, 2, 17, 3, dtype=torch.float64)
    with use_backend("reference"):
        (model(x) * weight).sum().backward()
        y_ref = model(x).detach()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    with use_backend("triton-interpret"):
        y = model.float()(x.float())
        (y.double() * weight).sum().backward()
    got = {n: p.grad for n, p in model.named_parameters()}
    return _errors(y.detach(), got, y_ref, ref)


def _run_exp2() -> dict[str, float]:
    """_exp2_fma (2^x on the FMA pipe) over [-130, 0]: its largest relative error against float64."""
    import numpy as np
    import torch
    import triton
    import triton.language as tl

    from posemamba_cli.ops import _triton_cross_kernels

    globals()["_exp2_fma"] = _triton_cross_kernels._exp2_fma  # a jit function resolves names in module globals

    @triton.jit
    def apply(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(y_ptr + offs, _exp2_fma(tl.load(x_ptr + offs, mask=offs < n)), mask=offs < n)  # noqa: F821

    x = torch.cat([torch.linspace(-130.0, 0.0, 60001), -torch.rand(4000) * 2]).float()
    y = torch.empty_like(x)
    apply[(triton.cdiv(x.numel(), 1024),)](x, y, x.numel(), BLOCK=1024)
    want = np.exp2(np.maximum(x.double().numpy(), -125.0))
    return {"exp2": float(np.max(np.abs(y.double().numpy() - want) / want))}


@pytest.fixture(scope="module")
def results() -> dict:
    return run_interpreted(__file__, timeout=900)


def test_exp2_on_the_fma_pipe_is_accurate(results):
    assert "error" not in results["exp2_fma"], results["exp2_fma"]
    assert results["exp2_fma"]["exp2"] < 5e-7, results["exp2_fma"]


@pytest.mark.parametrize("case", [*sorted(CASES), "posemamba_model"])
def test_fused_cross_scan_interpreted_matches_float64_reference(results, case):
    got = results[case]
    assert "error" not in got, got.get("error")
    bf16 = case in CASES and CASES[case][-1].get("bf16", False)
    tol = 3e-2 if bf16 else 2e-5  # bf16: the projections and gradients are formed from bf16 sources
    for name, err in got.items():
        assert err <= tol, (name, err, got)


if __name__ == "__main__":  # the child process: TRITON_INTERPRET=1 is set before triton is imported
    report_cases({**{name: partial(_run_case, spec) for name, spec in CASES.items()},
                  "posemamba_model": _run_model, "exp2_fma": _run_exp2})
