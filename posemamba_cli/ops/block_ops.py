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

_I64, _PTR = ctypes.c_int64, ctypes.c_void_p


def _native_lib(backend: str, *tensors: Tensor | None) -> ctypes.CDLL | None:
    """The C library for these float32 CPU tensors under `backend`, or None where the composition must run."""
    live = [t for t in tensors if t is not None]
    if any(t.device.type != "cpu" or t.dtype != torch.float32 for t in live):
        return None
    if torch.is_grad_enabled() and any(t.requires_grad for t in live):
        return None
    impl = resolve_backend(backend, "cpu", torch.float32)
    kernel = getattr(impl, "kernel", None)  # the CPU backend's library; None for torch / reference / fallbacks
    lib = None if kernel is None else kernel.lib
    if lib is None or not hasattr(lib, "conv3x3_silu"):
        return None
    if lib.conv3x3_silu.argtypes is None:  # first use of this library
        lib.conv3x3_silu.argtypes = [_PTR] * 6 + [_I64] * 5
        lib.conv3x3_silu.restype = ctypes.c_int
        lib.layer_norm_gate.argtypes = [_PTR] * 4 + [ctypes.c_float, _PTR] + [_I64] * 3
        lib.layer_norm_gate.restype = ctypes.c_int
    return lib


def _lanes_fit(lib: ctypes.CDLL, d: int) -> bool:
    lib.scan_lanes.restype = ctypes.c_int
    return d % lib.scan_lanes() == 0


def conv3x3_silu(x: Tensor, weight: Tensor, bias: Tensor | None, gather: Tensor | None = None,
                 backend: str = "auto") -> tuple[Tensor, Tensor | None]:
    """(act, gathered) for x (b, f, J, D) channels-last: act = SiLU(depthwise conv 3x3, padding 1, of x + bias)
    (b, f, J, D); gathered = act + act[:, :, gather] for gather (J,) joint indices, else None.

    weight (D, 1, 3, 3) as nn.Conv2d(D, D, 3, padding=1, groups=D) holds it, the frames as its height."""
    b, f, J, D = x.shape
    lib = _native_lib(backend, x, weight, bias)
    if lib is None or not _lanes_fit(lib, D):
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
    lib = _native_lib(backend, y, z, weight, bias)
    if lib is None or not _lanes_fit(lib, D) or not (y.is_contiguous() and z.is_contiguous()):
        return F.layer_norm(y, (D,), weight, bias, eps) * F.silu(z)
    out = y if inplace else torch.empty_like(y)
    w, bvec = weight.contiguous(), bias.contiguous()
    args = (y.data_ptr(), z.data_ptr(), w.data_ptr(), bvec.data_ptr(), eps, out.data_ptr(), D)
    codes = run_split(lambda r0, r1: lib.layer_norm_gate(*args, r0, r1), y.numel() // D)
    assert not any(codes), codes
    return out
