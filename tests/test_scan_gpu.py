"""GPU selective-scan backends at full PoseMamba shapes (skipped without CUDA).

L = 243 frames x 17 joints = 4131, K*Di = 512 (S) and 1024 (B/L), K = 4 groups, N = 16, batch 1 to 64;
non-contiguous and bf16 inputs; every GPU backend present. Tolerances are mamba's (fp32: rtol 6e-4,
atol 2e-3; bf16: rtol 3e-2, atol 5e-2), atol scaled by the reference's largest magnitude. The float64
reference loop runs on a few batch rows (rows are independent); the gradients summed over the batch
(A, D, delta_bias) are checked against the float64 reference where the whole batch is small, and
against the chunked float32 torch backend at batch 64.
"""

from __future__ import annotations

import math

import pytest
import torch

from posemamba_cli.ops import get_backend, selective_scan, selective_scan_reference

# marked, not skipped at import, so a CPU run counts (and -rs lists) every GPU test it did not run
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

L = 243 * 17
GROUPS, N = 4, 16
NAMES = ("u", "delta", "A", "B", "C", "D", "delta_bias")
PER_ROW = ("u", "delta", "B", "C")


def gpu_backends() -> list[str]:
    names = []
    for name in ("triton", "cuda"):
        ok, _ = get_backend(name).availability()
        if ok:
            names.append(name)
    return names


def make_inputs(batch: int, dim: int, seed: int, layout: str = "contiguous") -> dict[str, torch.Tensor]:
    """Inputs like the lifter's: mamba's dt / A initialisation, float64 on the GPU."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    dev = dict(device="cuda", dtype=torch.float64)
    dt = torch.exp(torch.rand(dim, generator=g, **dev) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    x = dict(
        u=torch.randn(batch, dim, L, generator=g, **dev),
        delta=0.5 * torch.randn(batch, dim, L, generator=g, **dev),
        A=-torch.arange(1, N + 1, **dev).repeat(dim, 1) * (1 + 0.1 * torch.rand(dim, N, generator=g, **dev)),
        B=torch.randn(batch, GROUPS, N, L, generator=g, **dev),
        C=torch.randn(batch, GROUPS, N, L, generator=g, **dev),
        D=torch.randn(dim, generator=g, **dev),
        delta_bias=dt + torch.log(-torch.expm1(-dt)),  # softplus^-1(dt)
    )
    if layout == "strided":  # (batch, L, dim) storage as after a linear layer; B, C sliced from one buffer
        x["u"] = x["u"].transpose(1, 2).contiguous().transpose(1, 2)
        x["delta"] = x["delta"].transpose(1, 2).contiguous().transpose(1, 2)
        both = torch.cat([x["B"], x["C"]], dim=2)
        x["B"], x["C"] = both[:, :, :N], both[:, :, N:]
        assert not x["u"].is_contiguous() and not x["B"].is_contiguous()
    return x


def close(got: torch.Tensor, want: torch.Tensor, rtol: float, atol: float, what: str) -> None:
    assert torch.isfinite(got).all(), f"{what}: non-finite values"
    scale = want.abs().max().item() or 1.0
    torch.testing.assert_close(got.double(), want.double(), rtol=rtol, atol=atol * scale, msg=what)


def run(backend: str, inputs: dict, weight: torch.Tensor, dtype: torch.dtype):
    leaves = {}
    for k, v in inputs.items():
        t = v.to(dtype if k in PER_ROW else torch.float32)
        leaves[k] = t.detach().requires_grad_(True)
    y = selective_scan(**leaves, backend=backend)
    (y.float() * weight).sum().backward()
    return y, {k: t.grad for k, t in leaves.items()}


def reference(inputs: dict, weight: torch.Tensor, rows: list[int], dtype: torch.dtype):
    """float64 reference on a few batch rows of the (dtype-rounded) inputs."""
    leaves = {}
    for k, v in inputs.items():
        t = v.to(dtype).double() if k in PER_ROW else v.float().double()
        if k in PER_ROW:
            t = t[rows]
        leaves[k] = t.detach().requires_grad_(True)
    y = selective_scan_reference(**leaves)
    (y * weight[rows].double()).sum().backward()
    return y, {k: t.grad for k, t in leaves.items()}


CASES = [  # batch, dim, layout, dtype
    (1, 512, "contiguous", torch.float32),
    (1, 1024, "contiguous", torch.float32),
    (2, 1024, "strided", torch.float32),
    (2, 512, "contiguous", torch.bfloat16),
    (64, 1024, "contiguous", torch.float32),
    (64, 512, "strided", torch.bfloat16),
]


@pytest.mark.parametrize("backend", ["triton", "cuda"])
@pytest.mark.parametrize("batch,dim,layout,dtype", CASES, ids=lambda v: str(v).replace("torch.", ""))
def test_full_shape_matches_reference(backend, batch, dim, layout, dtype):
    if backend not in gpu_backends():
        pytest.skip(f"{backend} backend unavailable: {get_backend(backend).availability()[1]}")
    rtol, atol = (6e-4, 2e-3) if dtype == torch.float32 else (3e-2, 5e-2)
    inputs = make_inputs(batch, dim, seed=batch * 7 + dim)
    if layout == "strided":
        inputs = make_inputs(batch, dim, seed=batch * 7 + dim, layout="strided")
    weight = torch.randn(batch, dim, L, device="cuda")
    y, grads = run(backend, inputs, weight, dtype)
    assert y.dtype == dtype and y.shape == (batch, dim, L)
    rows = sorted({0, batch - 1})
    y_ref, g_ref = reference(inputs, weight, rows, dtype)
    close(y[rows], y_ref, rtol, atol, f"{backend} y")
    for k in PER_ROW:
        close(grads[k][rows], g_ref[k], rtol, atol, f"{backend} d{k}")
    if len(rows) == batch:
        for k in ("A", "D", "delta_bias"):
            close(grads[k], g_ref[k], rtol, atol, f"{backend} d{k}")
    else:  # the batch-summed gradients against the chunked float32 torch backend on the whole batch
        _, g_torch = run("torch", inputs, weight, dtype)
        for k in ("A", "D", "delta_bias"):
            close(grads[k], g_torch[k], rtol, atol, f"{backend} d{k} vs torch backend")


def test_auto_picks_a_gpu_backend_for_cuda_tensors():
    from posemamba_cli.ops import resolve_backend

    present = gpu_backends()
    if not present:
        pytest.skip("no GPU scan backend available")
    chosen = resolve_backend("auto", "cuda", torch.float32)
    assert chosen is not None and chosen.name in present


@pytest.mark.parametrize("batch,dim,layout,dtype", [(1, 1024, "strided", torch.float32),
                                                    (64, 512, "contiguous", torch.bfloat16)],
                         ids=lambda v: str(v).replace("torch.", ""))
def test_triton_seq_forward_matches_reference(batch, dim, layout, dtype):
    """The step-by-step Triton forward kernel (fwd_impl="seq") with the tile backward."""
    from posemamba_cli.ops.scan_triton import TritonBackend
    from posemamba_cli.ops.selective_scan import _SelectiveScanFn

    backend = TritonBackend(fwd_impl="seq")
    ok, why = backend.availability()
    if not ok:
        pytest.skip(why)
    rtol, atol = (6e-4, 2e-3) if dtype == torch.float32 else (3e-2, 5e-2)
    inputs = make_inputs(batch, dim, seed=batch + dim, layout=layout)
    weight = torch.randn(batch, dim, L, device="cuda")
    leaves = {k: v.to(dtype if k in PER_ROW else torch.float32).detach().requires_grad_(True)
              for k, v in inputs.items()}
    y = _SelectiveScanFn.apply(backend, *[leaves[k] for k in NAMES], True)
    (y.float() * weight).sum().backward()
    rows = sorted({0, batch - 1})
    y_ref, g_ref = reference(inputs, weight, rows, dtype)
    close(y[rows], y_ref, rtol, atol, "seq y")
    for k in PER_ROW:
        close(leaves[k].grad[rows], g_ref[k], rtol, atol, f"seq d{k}")


# -- the fused cross scan (ops.cross_scan on the Triton backend) at PoseMamba-B shapes ----------------------

def cross_inputs(batch: int, seed: int, Di: int = 256, R: int = 8, frames: int = 243, joints: int = 17):
    """Two channels-last sources on the grid and the BiSTSSM weights with mamba's initialisation, float64."""
    from posemamba_cli.model.posemamba import scan_orders_and_inverse

    g = torch.Generator(device="cuda").manual_seed(seed)
    dev = dict(device="cuda", dtype=torch.float64)
    P, K = frames * joints, 4
    dt = torch.exp(torch.rand(K, Di, generator=g, **dev) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    sources = [torch.randn(batch, P, Di, generator=g, **dev).transpose(1, 2) for _ in range(2)]
    params = dict(
        x_proj_weight=torch.randn(K, R + 2 * N, Di, generator=g, **dev) / Di**0.5,
        dt_proj_weight=torch.randn(K, Di, R, generator=g, **dev) / R**0.5,
        dt_proj_bias=dt + torch.log(-torch.expm1(-dt)),
        A=-torch.arange(1, N + 1, **dev).repeat(K * Di, 1), D=torch.ones(K * Di, **dev),
    )
    orders, inverse = scan_orders_and_inverse(frames, joints, "cuda")
    return sources, params, orders, inverse


def cross_run(fn, sources, params, src_dtype, weight):
    srcs = [s.to(src_dtype).detach().requires_grad_(True) for s in sources]
    ps = {k: v.float().detach().requires_grad_(True) for k, v in params.items()}
    y = fn(srcs, ps)
    (y.float() * weight).sum().backward()
    return y, {"source0": srcs[0].grad, "source1": srcs[1].grad, **{k: p.grad for k, p in ps.items()}}


@pytest.mark.parametrize("batch,dtype", [(1, torch.float32), (2, torch.bfloat16)], ids=["b1-fp32", "b2-bf16"])
def test_fused_cross_scan_full_shape_matches_float64_reference(batch, dtype):
    from posemamba_cli.ops import cross_selective_scan

    if "triton" not in gpu_backends():
        pytest.skip("triton backend unavailable")
    sources, params, orders, inverse = cross_inputs(batch, seed=batch)
    weight = torch.randn(batch, 256, orders.shape[1], device="cuda")
    fused = lambda s, p: get_backend("triton").cross_scan(s, (0, 1, 0, 1), orders, *p.values())  # noqa: E731
    y, grads = cross_run(fused, sources, params, dtype, weight)
    assert y.dtype == torch.float32 and grads["source0"].dtype == dtype
    rounded = [s.to(dtype).double() for s in sources]
    leaves = [s.detach().requires_grad_(True) for s in rounded]
    ps = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    y_ref = cross_selective_scan(leaves, (0, 1, 0, 1), orders, **ps, backend="reference", inverse_orders=inverse)
    (y_ref * weight.double()).sum().backward()
    rtol, atol = (6e-4, 2e-3) if dtype == torch.float32 else (3e-2, 5e-2)
    close(y, y_ref, rtol, atol, "cross y")
    close(grads["source0"], leaves[0].grad, rtol, atol, "cross d source0")
    close(grads["source1"], leaves[1].grad, rtol, atol, "cross d source1")
    for k, p in ps.items():
        close(grads[k], p.grad, rtol, atol, f"cross d {k}")


def test_fused_cross_scan_batch64_matches_the_composed_triton_path():
    from posemamba_cli.ops.cross_scan import _composed

    if "triton" not in gpu_backends():
        pytest.skip("triton backend unavailable")
    sources, params, orders, inverse = cross_inputs(64, seed=64)
    weight = torch.randn(64, 256, orders.shape[1], device="cuda")
    fused = lambda s, p: get_backend("triton").cross_scan(s, (0, 1, 0, 1), orders, *p.values())  # noqa: E731
    composed = lambda s, p: _composed(s, (0, 1, 0, 1), orders, *p.values(), "triton", None, inverse)  # noqa: E731
    y, grads = cross_run(fused, sources, params, torch.float32, weight)
    y_c, grads_c = cross_run(composed, sources, params, torch.float32, weight)
    close(y, y_c, 6e-4, 2e-3, "cross y vs composed")
    for k in grads:
        close(grads[k], grads_c[k], 6e-4, 2e-3, f"cross d {k} vs composed")


@pytest.mark.parametrize("fwd,bwd", [("grid", "legacy"), ("lane", "grouped"), ("legacy", "grouped"), ("lane", "lanes")])
@pytest.mark.parametrize("batch", [3, 64])
def test_fused_cross_scan_variants_match_the_default(fwd, bwd, batch):
    """The forward / backward variants of CrossScanTriton (issue 23) against the default kernels, output and
    every gradient; batch 3 runs time segments, batch 64 one segment."""
    if "triton" not in gpu_backends():
        pytest.skip("triton backend unavailable")
    cross = get_backend("triton").cross
    sources, params, orders, _ = cross_inputs(batch, seed=batch + 7)
    weight = torch.randn(batch, 256, orders.shape[1], device="cuda")
    fused = lambda s, p: get_backend("triton").cross_scan(s, (0, 1, 0, 1), orders, *p.values())  # noqa: E731
    saved = (cross.fwd_variant, cross.bwd_variant)
    y_ref, grads_ref = cross_run(fused, sources, params, torch.float32, weight)
    try:
        cross.fwd_variant, cross.bwd_variant = fwd, bwd
        y, grads = cross_run(fused, sources, params, torch.float32, weight)
    finally:
        cross.fwd_variant, cross.bwd_variant = saved
    close(y, y_ref, 6e-4, 2e-3, f"cross y {fwd}")
    for k in grads:
        close(grads[k], grads_ref[k], 6e-4, 2e-3, f"cross d {k} {fwd}/{bwd}")
