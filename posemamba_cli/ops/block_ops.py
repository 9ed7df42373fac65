"""Fused inference steps around the cross scan, with the PyTorch composition beside them as the reference.

`conv3x3_silu`: SiLU(depthwise 3x3 conv + bias) over a (frames x joints) grid, channels-last, and optionally
the result plus its copy gathered along the joints. `layer_norm_gate`: LayerNorm(y) * SiLU(z). On the CPU,
float32 and without gradients, each runs as one pass of the C library the CPU scan backend loaded
(csrc/block_ops.c); anywhere else, or with a backend that has no such library, the composition runs.
"""

from __future__ import annotations

import ctypes

import torch
import torch.nn.functional as F
from torch import Tensor

from posemamba_cli.ops.cpu_threads import run_split
from posemamba_cli.ops.selective_scan import resolve_backend


def _native_lib(backend: str, *tensors: Tensor | None, width: int) -> ctypes.CDLL | None:
    """The CPU backend's C library for these float32 CPU tensors under `backend` when its vectors tile rows of
    `width`; None where the composition must run."""
    live = [t for t in tensors if t is not None]
    if any(t.device.type != "cpu" or t.dtype != torch.float32 for t in live):
        return None
    if torch.is_grad_enabled() and any(t.requires_grad for t in live):
        return None
    impl = resolve_backend(backend, "cpu", torch.float32)
    kernel = getattr(impl, "kernel", None)  # a CPU backend's loaded library; None for torch / reference
    if kernel is None or width % impl.lanes:
        return None
    return kernel.lib


def conv3x3_silu(x: Tensor, weight: Tensor, bias: Tensor | None, gather: Tensor | None = None,
                 backend: str = "auto") -> tuple[Tensor, Tensor | None]:
    """(act, gathered) for x (b, f, J, D) channels-last: act = SiLU(depthwise conv 3x3, padding 1, of x + bias)
    (b, f, J, D); gathered = act + act[:, :, gather] for gather (J,) joint indices, else None.

    weight (D, 1, 3, 3) as nn.Conv2d(D, D, 3, padding=1, groups=D) holds it, the frames as its height."""
    b, f, J, D = x.shape
    lib = _native_lib(backend, x, weight, bias, width=D)
    if lib is None:
        act = F.silu(F.conv2d(x.permute(0, 3, 1, 2), weight, bias, padding=1, groups=D)).permute(0, 2, 3, 1)
        return act, None if gather is None else act.index_select(2, gather) + act
    xc = x.contiguous()
    taps = weight.reshape(D, 9).t().contiguous()  # (9, D): tap (dy, dx) in row dy * 3 + dx
    bias = torch.zeros(D) if bias is None else bias.contiguous()
    act = torch.empty(b, f, J, D)
    gathered = None if gather is None else torch.empty(b, f, J, D)
    parent = None if gather is None else gather.to(torch.int64).contiguous()
    args = (xc.data_ptr(), taps.data_ptr(), bias.data_ptr(), None if parent is None else parent.data_ptr(),
            act.data_ptr(), None if gathered is None else gathered.data_ptr(), f, J, D)
    codes = run_split(lambda u0, u1: lib.conv3x3_silu(*args, u0, u1), b * f)
    assert not any(codes), codes
    return act, gathered


def layer_norm_gate(y: Tensor, z: Tensor, weight: Tensor, bias: Tensor, eps: float, backend: str = "auto",
                    inplace: bool = False) -> Tensor:
    """LayerNorm over the last dim of y (weight, bias, eps as nn.LayerNorm) times SiLU(z); same shapes.
    inplace: the result may be written into y (the fused kernel does, the composition does not)."""
    D = y.shape[-1]
    lib = _native_lib(backend, y, z, weight, bias, width=D)
    if lib is None or not (y.is_contiguous() and z.is_contiguous()):
        return F.layer_norm(y, (D,), weight, bias, eps) * F.silu(z)
    out = y if inplace else torch.empty_like(y)
    w, bvec = weight.contiguous(), bias.contiguous()
    args = (y.data_ptr(), z.data_ptr(), w.data_ptr(), bvec.data_ptr(), eps, out.data_ptr(), D)
    codes = run_split(lambda r0, r1: lib.layer_norm_gate(*args, r0, r1), y.numel() // D)
    assert not any(codes), codes
    return out
