"""Every CPU fast path is as exact as the float32 reference on a trained lifter (helpers.trained), not only on
random weights: the cross scans of its spatial and temporal blocks over 243 x 17 steps, forward (the fused
no-grad op and the composed op) and the training path's output and gradients (fused backward and composed),
and the fused block steps, each compared with float64 and held to 1.5x the float32 reference's own error
(plus one float32 ulp)."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F
from helpers.trained import GRAD_NAMES, CrossScanCall, allowed, cross_scan_calls, grads, load_trained, max_error

from posemamba_cli.ops import cross_selective_scan, get_backend
from posemamba_cli.ops.block_ops import _fused_backend, conv3x3_silu, layer_norm_gate


@pytest.fixture(scope="module")
def scans(trained_lifter) -> list[CrossScanCall]:
    """The trained lifter's two cross scans (spatial block, temporal block) on its clip."""
    calls = cross_scan_calls(load_trained(trained_lifter), trained_lifter.clip)
    assert len(calls) == 2 and calls[0].orders.shape == (4, 243 * 17)
    return calls


def run(call: CrossScanCall, backend: str, composed: bool = False):
    with torch.no_grad():
        return cross_selective_scan(*call, backend=backend, trace={} if composed else None)


@pytest.fixture(scope="module")
def forward_refs(scans) -> list[tuple[torch.Tensor, float]]:
    """Per scan: (y in float64, the float32 reference's error)."""
    refs = []
    for call in scans:
        want = run(call.cast(torch.float64), "reference")
        refs.append((want, max_error(run(call, "reference"), want)))
    return refs


@contextlib.contextmanager
def counting(backend_name: str, method: str):
    """Count the calls of a backend's `method` (the fused ops) while the block runs."""
    backend = get_backend(backend_name)
    calls, real = [], getattr(backend, method)
    setattr(backend, method, lambda *a, **k: calls.append(1) or real(*a, **k))
    try:
        yield calls
    finally:
        delattr(backend, method)


@pytest.mark.parametrize("composed", [False, True], ids=["fused", "composed"])
def test_forward_as_exact_as_the_float32_reference(cpu_variant, scans, forward_refs, composed):
    for i, (call, (want, ref_err)) in enumerate(zip(scans, forward_refs)):
        with counting(cpu_variant, "cross_forward") as fused_calls:
            err = max_error(run(call, cpu_variant, composed), want)
        assert len(fused_calls) == (0 if composed else 1)
        assert err <= allowed(ref_err), f"scan {i}: {err:.3g} against the float32 reference's {ref_err:.3g}"


@pytest.fixture(scope="module")
def training_refs(scans):
    """Per scan: float64's (y, gradients) and the float32 reference's errors of each."""
    refs = []
    for call in scans:
        y64, g64 = grads(call, torch.float64, "reference", per_group=True)
        y32, g32 = grads(call, torch.float32, "reference")
        errs = {"y": max_error(y32, y64), **{k: max_error(g32[k], g64[k]) for k in GRAD_NAMES}}
        refs.append((y64, g64, errs))
    return refs


@pytest.mark.parametrize("fused", [True, False], ids=["fused_backward", "composed"])
def test_training_path_as_exact_as_the_float32_reference(cpu_variant, scans, training_refs, fused):
    backend = get_backend(cpu_variant)
    backend.fused_backward = fused
    try:
        for i, (call, (y64, g64, ref_errs)) in enumerate(zip(scans, training_refs)):
            with counting(cpu_variant, "cross_backward") as fused_calls:
                y, got = grads(call, torch.float32, cpu_variant)
            assert len(fused_calls) == (1 if fused else 0)
            errs = {"y": max_error(y, y64), **{k: max_error(got[k], g64[k]) for k in GRAD_NAMES}}
            worse = {k: f"{e:.3g} against {ref_errs[k]:.3g}" for k, e in errs.items() if e > allowed(ref_errs[k])}
            assert not worse, f"scan {i}: {worse}"
    finally:
        backend.fused_backward = None


def test_block_steps_as_exact_as_pytorch(cpu_variant, trained_lifter):
    """The fused conv + SiLU + limb gather and LayerNorm + gate of the trained blocks, on the inputs they see,
    against float64: no worse than 1.5x PyTorch's float32 ops."""
    torch.set_grad_enabled(False)  # inference: the fused steps run without gradients
    try:
        _block_steps(cpu_variant, trained_lifter)
    finally:
        torch.set_grad_enabled(True)


def _block_steps(cpu_variant, trained_lifter):
    model = load_trained(trained_lifter)
    seen = {}
    hooks = [m.register_forward_pre_hook(lambda m, a, name=name: seen.update({name: a[0].detach()}))
             for name, m in model.named_modules() if name.endswith(".op")]
    try:
        model(trained_lifter.clip)
    finally:
        for h in hooks:
            h.remove()
    assert len(seen) == 2
    for name, u in seen.items():
        op = dict(model.named_modules())[name]
        xz = F.linear(u, op.in_proj.weight)
        x, z = xz[..., : op.d_inner].contiguous(), xz[..., op.d_inner :].contiguous()  # (1, 243, 17, Di)
        assert _fused_backend(cpu_variant, x, width=op.d_inner) is not None  # this build's C kernel runs below
        w, b, gather = op.conv2d.weight, op.conv2d.bias, model.limb_parent

        def conv(t, w, b):
            act = F.silu(F.conv2d(t.permute(0, 3, 1, 2), w, b, padding=1, groups=t.shape[-1])).permute(0, 2, 3, 1)
            return act, act + act.index_select(2, gather)

        want, torch32 = conv(x.double(), w.double(), b.double()), conv(x, w, b)
        got = conv3x3_silu(x, w, b, gather, backend=cpu_variant)
        for g, t, ref in zip(got, torch32, want):
            assert max_error(g, ref) <= allowed(max_error(t, ref)), name
        norm = op.out_norm
        y = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        gate = lambda y, z, w, b: F.layer_norm(y, y.shape[-1:], w, b, norm.eps) * F.silu(z)  # noqa: E731
        want = gate(y.double(), z.double(), norm.weight.double(), norm.bias.double())
        got = layer_norm_gate(y, z, norm.weight, norm.bias, norm.eps, cpu_variant)
        assert max_error(got, want) <= allowed(max_error(gate(y, z, norm.weight, norm.bias), want)), name
