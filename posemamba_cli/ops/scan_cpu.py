"""The fast CPU backend: a small C kernel (csrc/scan_cpu.c) called through ctypes, threads over channels.

delta_bias and softplus are applied here in torch (vectorised, cheap); the kernel scans the rest.
ctypes releases the GIL during the call, so a thread pool splits rows across torch's thread count.
"""

from __future__ import annotations

import ctypes
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from posemamba_cli.ops.backend import Grads
from posemamba_cli.ops.cbuild import BuildError, load_library

_SOURCE = Path(__file__).parent / "csrc" / "scan_cpu.c"
_I64 = ctypes.c_int64
_PTR = ctypes.c_void_p


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(parts, total))
    bounds = [total * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i + 1] > bounds[i]]


def _dt(delta: Tensor, delta_bias: Tensor | None, delta_softplus: bool) -> Tensor:
    x = delta.float()
    if delta_bias is not None:
        x = x + delta_bias.float()[:, None]
    return F.softplus(x) if delta_softplus else x


class CpuNativeBackend:
    name = "cpu"
    device_type = "cpu"

    def __init__(self) -> None:
        self._lib: ctypes.CDLL | None = None
        self._error = ""
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        try:
            lib = load_library(_SOURCE)
            lib.scan_fwd.argtypes = [_PTR] * 7 + [_I64] * 7
            lib.scan_fwd.restype = None
            lib.scan_bwd.argtypes = [_PTR] * 13 + [_I64] * 7
            lib.scan_bwd.restype = ctypes.c_int
            self._lib = lib
        except BuildError as exc:
            self._error = str(exc)

    def availability(self) -> tuple[bool, str]:
        return (self._lib is not None, self._error)

    def _run(self, fn, total: int) -> list:
        threads = max(1, torch.get_num_threads())
        chunks = _split(total, threads)
        if len(chunks) == 1:
            return [fn(*chunks[0])]
        if self._pool is None or self._pool_size != len(chunks):
            if self._pool is not None:
                self._pool.shutdown()
            self._pool = ThreadPoolExecutor(len(chunks), thread_name_prefix="posemamba-scan")
            self._pool_size = len(chunks)
        return list(self._pool.map(lambda c: fn(*c), chunks))

    @staticmethod
    def _prepare(u, A, B, C, D):
        f32 = torch.float32
        u = u.to(f32).contiguous()
        A = A.to(f32).contiguous()
        Bt = B.to(f32).transpose(-1, -2).contiguous()  # (batch, groups, L, N)
        Ct = C.to(f32).transpose(-1, -2).contiguous()
        D = None if D is None else D.to(f32).contiguous()
        return u, A, Bt, Ct, D

    def forward(self, u, delta, A, B, C, D, delta_bias, delta_softplus):
        assert self._lib is not None, self._error
        batch, dim, length = u.shape
        groups, n_state = B.shape[1], B.shape[2]
        dt = _dt(delta, delta_bias, delta_softplus).contiguous()
        uf, Af, Bt, Ct, Df = self._prepare(u, A, B, C, D)
        y = torch.empty(batch, dim, length, dtype=torch.float32)
        args = (uf.data_ptr(), dt.data_ptr(), Af.data_ptr(), Bt.data_ptr(), Ct.data_ptr(), _ptr(Df),
                y.data_ptr(), batch, dim, groups, length, n_state)
        self._run(lambda r0, r1: self._lib.scan_fwd(*args, r0, r1), batch * dim)
        return y.to(u.dtype), ()

    def backward(self, u, delta, A, B, C, D, delta_bias, delta_softplus, saved, dy) -> Grads:
        assert self._lib is not None, self._error
        batch, dim, length = u.shape
        groups, n_state = B.shape[1], B.shape[2]
        with torch.enable_grad():
            x = delta.detach().float().requires_grad_(True)
            bias = None if delta_bias is None else delta_bias.detach().float().requires_grad_(True)
            dt = _dt(x, bias, delta_softplus)
        uf, Af, Bt, Ct, Df = self._prepare(u, A, B, C, D)
        dtc = dt.detach().contiguous()
        gy = dy.float().contiguous()
        du = torch.empty_like(uf)
        ddt = torch.empty_like(uf)
        dA_part = torch.empty(batch, dim, n_state)
        dD_part = torch.empty(batch, dim)
        dBt = torch.zeros_like(Bt)
        dCt = torch.zeros_like(Ct)
        args = (uf.data_ptr(), dtc.data_ptr(), Af.data_ptr(), Bt.data_ptr(), Ct.data_ptr(), _ptr(Df),
                gy.data_ptr(), du.data_ptr(), ddt.data_ptr(), dA_part.data_ptr(), dD_part.data_ptr(),
                dBt.data_ptr(), dCt.data_ptr(), batch, dim, groups, length, n_state)
        codes = self._run(lambda r0, r1: self._lib.scan_bwd(*args, r0, r1), batch * groups)
        if any(codes):
            raise RuntimeError(f"cpu selective-scan backward failed (code {max(codes)}; N={n_state} > 64?)")
        inputs = [x] + ([bias] if bias is not None else [])
        grads = torch.autograd.grad(dt, inputs, ddt)
        ddelta = grads[0].to(delta.dtype)
        dbias = grads[1].to(delta_bias.dtype) if bias is not None else None
        dD = None if D is None else dD_part.sum(0).to(D.dtype)
        return (du.to(u.dtype), ddelta, dA_part.sum(0).to(A.dtype), dBt.transpose(-1, -2).to(B.dtype),
                dCt.transpose(-1, -2).to(C.dtype), dD, dbias)
