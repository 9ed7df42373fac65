"""Fused inference steps around the cross scan, with the PyTorch composition beside them as the reference.

`conv3x3_silu`: SiLU(depthwise 3x3 conv + bias) over a (frames x joints) grid, channels-last, and optionally
the result plus its copy gathered along the joints. `layer_norm_gate`: LayerNorm(y) * SiLU(z). On the CPU,
float32 and without gradients, the backend runs each fused where it has them (ScanBackend.conv3x3_silu /
layer_norm_gate: the CPU kernel's csrc/block_ops.c); anywhere else the composition runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from posemamba_cli.ops.backend import ScanBackend
from posemamba_cli.ops.selective_scan import resolve_backend


def _fused_backend(backend: str, *tensors: Tensor | None, width: int) -> ScanBackend | None:
    """The backend that runs the fused step on these float32 CPU tensors, rows of `width`, under `backend`
    (ScanBackend.fuses_blocks); None where the composition must run."""
    live = [t for t in tensors if t is not None]
    if any(t.device.type != "cpu" or t.dtype != torch.float32 for t in live):
        return None
    if torch.is_grad_enabled() and any(t.requires_grad for t in live):
        return None
    impl = resolve_backend(backend, "cpu", torch.float32)
    return impl if impl is not None and impl.fuses_blocks(width) else None


def conv3x3_silu(x: Tensor, weight: Tensor, bias: Tensor | None, gather: Tensor | None = None,
                 backend: str = "auto") -> tuple[Tensor, Tensor | None]:
    """(act, gathered) for x (b, f, J, D) channels-last: act = SiLU(depthwise conv 3x3, padding 1, of x + bias)
    (b, f, J, D); gathered = act + act[:, :, gather] for gather (J,) joint indices, else None.

    weight (D, 1, 3, 3) as nn.Conv2d(D, D, 3, padding=1, groups=D) holds it, the frames as its height."""
    impl = _fused_backend(backend, x, weight, bias, width=x.shape[-1])
    if impl is not None:
        return impl.conv3x3_silu(x, weight, bias, gather)
    act = F.silu(F.conv2d(x.permute(0, 3, 1, 2), weight, bias, padding=1, groups=x.shape[-1])).permute(0, 2, 3, 1)
    return act, None if gather is None else act.index_select(2, gather) + act


def layer_norm_gate(y: Tensor, z: Tensor, weight: Tensor, bias: Tensor, eps: float, backend: str = "auto",
                    inplace: bool = False) -> Tensor:
    """LayerNorm over the last dim of y (weight, bias, eps as nn.LayerNorm) times SiLU(z); same shapes.
    inplace: the result may be written into y (the fused kernel does, the composition does not)."""
    impl = _fused_backend(backend, y, z, weight, bias, width=y.shape[-1])
    if impl is not None and y.is_contiguous() and z.is_contiguous():
        return impl.layer_norm_gate(y, z, weight, bias, eps, inplace)
    return F.layer_norm(y, (y.shape[-1],), weight, bias, eps) * F.silu(z)
