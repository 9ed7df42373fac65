"""The lifter on a GPU (skipped without CUDA): the fused cross scan inside the model, and CUDA-graph replay.

The model on the default backend (Triton: the fused cross scan, forward and backward) against the same
model on the chunked PyTorch backend (the composed op), at 243 frames; the captured forward against the
eager one, fp32 and bf16 autocast, replayed with fresh inputs.
"""

from __future__ import annotations

import pytest
import torch

from posemamba_cli import PoseMamba
from posemamba_cli.model.cuda_graph import GraphedForward, capture_forward
from posemamba_cli.ops import get_backend, use_backend

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def triton_or_skip() -> None:
    ok, why = get_backend("triton").availability()
    if not ok:
        pytest.skip(f"triton backend unavailable: {why}")


def close(got, want, tol, what):
    scale = want.abs().max().item() or 1.0
    torch.testing.assert_close(got.float(), want.float(), rtol=tol, atol=tol * scale, msg=what)


def test_fused_model_forward_and_gradients_match_the_composed_op():
    triton_or_skip()
    torch.manual_seed(0)
    model = PoseMamba.from_preset("S", drop_path_rate=0.0).cuda()
    x = torch.randn(2, 243, 17, 2, device="cuda")
    weight = torch.randn(2, 243, 17, 3, device="cuda")
    runs = {}
    for backend in ("auto", "torch"):
        model.zero_grad()
        with use_backend(backend):
            y = model(x)
            (y * weight).sum().backward()
        runs[backend] = (y.detach(), {n: p.grad.clone() for n, p in model.named_parameters()})
    close(runs["auto"][0], runs["torch"][0], 1e-3, "y")
    for name, g in runs["torch"][1].items():
        close(runs["auto"][1][name], g, 2e-3, name)


@pytest.mark.parametrize("amp", [None, torch.bfloat16], ids=["fp32", "bf16"])
def test_captured_forward_equals_eager(amp):
    triton_or_skip()
    torch.manual_seed(0)
    model = PoseMamba.from_preset("S").cuda().eval()
    x = torch.randn(1, 243, 17, 2, device="cuda")
    captured = capture_forward(model, x, autocast_dtype=amp)
    for trial in range(2):
        x = torch.randn(1, 243, 17, 2, device="cuda")
        with torch.no_grad(), torch.autocast("cuda", dtype=amp or torch.float32, enabled=amp is not None):
            want = model(x)
        close(captured(x), want, 1e-5 if amp is None else 2e-2, f"replay {trial}")
    with pytest.raises(ValueError, match="captured for"):
        captured(torch.randn(2, 243, 17, 2, device="cuda"))


def test_graphed_forward_keeps_one_graph_per_small_shape():
    triton_or_skip()
    model = PoseMamba.from_preset("S").cuda().eval()
    graphed = GraphedForward(model, max_batch=2)
    with torch.no_grad():
        for batch, frames in ((1, 243), (1, 81), (1, 243), (4, 243)):
            x = torch.randn(batch, frames, 17, 2, device="cuda")
            close(graphed(x), model(x), 1e-5, f"batch {batch} frames {frames}")
    assert len(graphed._graphs) == 2  # (1, 243) and (1, 81); batch 4 ran eagerly
