"""The lifter's forward builds no index tensor and sorts nothing per call (so a CUDA graph can capture it).

Every aten op a forward dispatches is recorded; an op that returns an integer tensor (an index made,
converted or sorted) or sorts is a per-call cost the model must not pay: its index tensors are buffers.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from posemamba_cli import PoseMamba
from posemamba_cli.model.posemamba import scan_orders_and_inverse
from posemamba_cli.ops import use_backend

SORTS = ("sort", "argsort", "topk", "randperm")


class IndexOps(TorchDispatchMode):
    """Records the ops that make an integer tensor (views of the index buffers are not new) or sort."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        outs = out if isinstance(out, (tuple, list)) else (out,)
        made_int = not func.is_view and any(
            torch.is_tensor(t) and not t.is_floating_point() and t.dtype != torch.bool for t in outs
        )
        if made_int or name in SORTS:
            self.seen.append(name)
        return out


def forward_ops(model: PoseMamba, x: torch.Tensor, grad: bool) -> list[str]:
    with torch.set_grad_enabled(grad):
        model(x)  # warm-up: a short clip length builds its indices once, here
        with IndexOps() as mode:
            y = model(x)
        if grad:
            y.sum().backward()  # the backward runs outside the recorder; it must still work
    return mode.seen


@pytest.mark.parametrize("frames", [9, 5], ids=["full_length", "short_clip"])
@pytest.mark.parametrize("grad", [False, True], ids=["inference", "autograd"])
@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_forward_makes_no_index_tensor_and_sorts_nothing(frames, grad, backend):
    torch.manual_seed(0)
    model = PoseMamba(num_frame=9, dim_feat=16, depth=2).eval()
    with use_backend(backend):
        seen = forward_ops(model, torch.randn(2, frames, 17, 2), grad)
    assert seen == [], f"forward made index tensors / sorted: {sorted(set(seen))}"


def test_the_recorder_sees_a_sort_and_an_index_made():
    """The check above can fail: the composed op without the inverse buffer argsorts every call."""
    from posemamba_cli.ops import cross_selective_scan

    orders, _ = scan_orders_and_inverse(3, 17)
    d = 4
    args = ((torch.randn(1, d, 51), torch.randn(1, d, 51)), (0, 1, 0, 1), orders, torch.randn(4, 3, d),
            torch.randn(4, d, 1), torch.randn(4, d), -torch.rand(4 * d, 1), torch.randn(4 * d))
    with IndexOps() as mode:
        cross_selective_scan(*args, backend="torch")
    assert "sort" in mode.seen or "argsort" in mode.seen
    with IndexOps() as mode:
        torch.tensor([0, 1, 2]).to(torch.int32)
    assert mode.seen


def test_index_buffers_are_inverse_pairs_and_not_in_the_state_dict():
    model = PoseMamba(num_frame=7, dim_feat=16, depth=1)
    names = {n for n, _ in model.named_buffers()}
    assert {"scan_order", "scan_inverse", "limb_parent"} <= names
    assert not names & set(model.state_dict())  # published checkpoints load unchanged
    for f in (7, 3):
        index = model.scan_index(f)
        assert index.orders.dtype == index.inverse.dtype == torch.int32 and index.orders.shape == (4, f * 17)
        steps = torch.arange(f * 17)
        for k in range(4):
            assert torch.equal(index.orders[k].long()[index.inverse[k].long()], steps)
        assert sorted(index.orders[1].tolist()) == steps.tolist()
    model.double()  # float casts leave the index buffers integer
    assert model.scan_order.dtype == torch.int32 and model.limb_parent.dtype == torch.int64
    assert model.scan_index(3).orders is model.scan_index(3).orders  # cached per length
