"""The fast CPU backend: a small C kernel (csrc/scan_cpu.c) called through ctypes, threads over channels.

The kernel fuses delta_bias + softplus, exp(delta A), the recurrence and the C contraction. It is built per
instruction set (AVX-512, AVX2, NEON, generic); `cpu_kernel` finds the build for this CPU. ctypes releases
the GIL during the call, so `cpu_threads.run_split` splits rows across torch's thread count.
"""

from __future__ import annotations

import ctypes
import warnings

import torch
from torch import Tensor

from posemamba_cli.ops.backend import Grads
from posemamba_cli.ops.cpu_kernel import KernelLibrary, KernelUnavailable, load_scan_kernel
from posemamba_cli.ops.cpu_threads import run_split

_I64 = ctypes.c_int64
_PTR = ctypes.c_void_p
_warned = False


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _f32(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.to(torch.float32).contiguous()


class CpuNativeBackend:
    name = "cpu"
    device_type = "cpu"

    def __init__(self, isa: str | None = None) -> None:
        """isa: a build to use ("avx512", "avx2", "neon", "generic"); default: POSEMAMBA_CPU_ISA, else the
        fastest this CPU runs. The library is found on first use."""
        self._isa = isa
        self.name = "cpu" if isa is None else f"cpu-{isa}"
        self._kernel: KernelLibrary | None = None
        self._error: str | None = None  # None until a load was tried

    @property
    def _lib(self) -> ctypes.CDLL | None:
        if self._error is None:
            self._load()
        return None if self._kernel is None else self._kernel.lib

    def _load(self) -> None:
        try:
            kernel = load_scan_kernel(self._isa)
        except KernelUnavailable as exc:
            self._error = str(exc)
            if self._isa is None:
                _warn_once(f"posemamba: no compiled CPU scan kernel ({exc}); using the PyTorch scan, several "
                           "times slower (posemamba info shows the kernel in use).")
            return
        lib = kernel.lib
        lib.scan_fwd.argtypes = [_PTR] * 3 + [ctypes.c_int] + [_PTR] * 5 + [_I64] * 7
        lib.scan_fwd.restype = ctypes.c_int
        lib.scan_bwd.argtypes = [_PTR] * 3 + [ctypes.c_int] + [_PTR] * 12 + [_I64] * 7
        lib.scan_bwd.restype = ctypes.c_int
        lib.cross_scan_fwd.argtypes = [_PTR, _I64, _I64] * 2 + [_PTR] * 6 + [_I64] * 9
        lib.cross_scan_fwd.restype = ctypes.c_int
        lib.scan_lanes.restype = ctypes.c_int
        self._kernel, self._error, self._lanes = kernel, "", lib.scan_lanes()
        if kernel.origin == "jit" and self._isa is None:
            _warn_once(f"posemamba: this install has no prebuilt CPU scan kernel; compiled one at run time "
                       f"({kernel.describe()}). Reinstall posemamba-cli to build it once at install time.")

    @property
    def kernel(self) -> KernelLibrary | None:
        """The library in use (its ISA, origin and path), or None where there is none."""
        return self._kernel if self._lib is not None else None

    def availability(self) -> tuple[bool, str]:
        return (self._lib is not None, self._error or "")

    def _run(self, fn, total: int) -> list:
        return run_split(fn, total)

    @staticmethod
    def _prepare(u, delta, delta_bias, A, B, C, D):
        Bt = B.to(torch.float32).transpose(-1, -2).contiguous()  # (batch, groups, L, N)
        Ct = C.to(torch.float32).transpose(-1, -2).contiguous()
        return _f32(u), _f32(delta), _f32(delta_bias), _f32(A), Bt, Ct, _f32(D)

    def forward(self, u, delta, A, B, C, D, delta_bias, delta_softplus):
        assert self._lib is not None, self._error
        batch, dim, length = u.shape
        groups, n_state = B.shape[1], B.shape[2]
        uf, df, bf, Af, Bt, Ct, Df = self._prepare(u, delta, delta_bias, A, B, C, D)
        y = torch.empty(batch, dim, length, dtype=torch.float32)
        args = (uf.data_ptr(), df.data_ptr(), _ptr(bf), int(delta_softplus), Af.data_ptr(), Bt.data_ptr(),
                Ct.data_ptr(), _ptr(Df), y.data_ptr(), batch, dim, groups, length, n_state)
        codes = self._run(lambda r0, r1: self._lib.scan_fwd(*args, r0, r1), batch * dim)
        _check(codes, n_state)
        return y.to(u.dtype), ()

    def cross_forward(self, us: list[Tensor], x_proj_weight: Tensor, orders: Tensor, dt_weight: Tensor,
                      dt_bias: Tensor, A: Tensor, D: Tensor | None) -> Tensor | None:
        """The fused cross scan (see ops.cross_scan), no gradients; None where the kernel does not cover it.

        us: K (batch, P, Di) channels-last inputs, one per group. Returns y (batch, P, Di)."""
        assert self._lib is not None, self._error
        batch, length, dim = us[0].shape
        K, n_state, rank = len(us), A.shape[-1], dt_weight.shape[-1]
        lanes = self._lanes
        if n_state != 16 or rank > 16 or dim % lanes:
            return None
        proj_ptrs, proj_strides, keep = _projections(us, x_proj_weight)
        us = [_f32(t) for t in us]
        order = orders.to(torch.int32).contiguous()
        wf, bf, Af, Df = _f32(dt_weight.reshape(K * dim, rank)), _f32(dt_bias.reshape(-1)), _f32(A), _f32(D)
        y = torch.empty(batch, length, dim, dtype=torch.float32)
        u_ptrs, proj_ptrs = (_PTR * K)(*(t.data_ptr() for t in us)), (_PTR * K)(*proj_ptrs)
        args = (u_ptrs, length * dim, dim, proj_ptrs, *proj_strides, order.data_ptr(),
                wf.data_ptr(), bf.data_ptr(), Af.data_ptr(), _ptr(Df), y.data_ptr(), length * dim, dim,
                K, dim, length, rank, n_state)
        codes = self._run(lambda u0, u1: self._lib.cross_scan_fwd(*args, u0, u1), batch * dim // lanes)
        _check(codes, n_state)
        del keep
        return y

    def backward(self, u, delta, A, B, C, D, delta_bias, delta_softplus, saved, dy) -> Grads:
        assert self._lib is not None, self._error
        batch, dim, length = u.shape
        groups, n_state = B.shape[1], B.shape[2]
        uf, df, bf, Af, Bt, Ct, Df = self._prepare(u, delta, delta_bias, A, B, C, D)
        gy = dy.to(torch.float32).contiguous()
        du, ddelta = torch.empty_like(uf), torch.empty_like(uf)
        dA_part = torch.empty(batch, dim, n_state)
        dD_part, dbias_part = torch.empty(batch, dim), torch.empty(batch, dim)
        dBt, dCt = torch.zeros_like(Bt), torch.zeros_like(Ct)
        args = (uf.data_ptr(), df.data_ptr(), _ptr(bf), int(delta_softplus), Af.data_ptr(), Bt.data_ptr(),
                Ct.data_ptr(), _ptr(Df), gy.data_ptr(), du.data_ptr(), ddelta.data_ptr(), dA_part.data_ptr(),
                dD_part.data_ptr(), dbias_part.data_ptr(), dBt.data_ptr(), dCt.data_ptr(),
                batch, dim, groups, length, n_state)
        codes = self._run(lambda r0, r1: self._lib.scan_bwd(*args, r0, r1), batch * groups)
        _check(codes, n_state)
        dD = None if D is None else dD_part.sum(0).to(D.dtype)
        dbias = None if delta_bias is None else dbias_part.sum(0).to(delta_bias.dtype)
        return (du.to(u.dtype), ddelta.to(delta.dtype), dA_part.sum(0).to(A.dtype),
                dBt.transpose(-1, -2).to(B.dtype), dCt.transpose(-1, -2).to(C.dtype), dD, dbias)


def _projections(us: list[Tensor], x_proj_weight: Tensor) -> tuple[list[int], tuple[int, int], list[Tensor]]:
    """Every group's (dt_low, B, C) projections (batch, P, R + 2N) as (addresses, (batch, position) strides in
    floats, tensors to keep alive). Groups that scan the same source share one matmul against their stacked
    weights (fewer, wider matmuls run faster) when every source serves as many groups."""
    w = x_proj_weight.detach().float()  # a weight that requires grad sends matmul down a path ~7x slower
    by_source: dict[int, list[int]] = {}
    for k, u in enumerate(us):
        by_source.setdefault(id(u), []).append(k)
    width = w.shape[1] * 4  # bytes per group's projections
    if len({len(ks) for ks in by_source.values()}) == 1:
        ptrs = [0] * len(us)
        projs = []
        for ks in by_source.values():
            proj = torch.matmul(_f32(us[ks[0]]), w[ks].reshape(-1, w.shape[2]).t())  # (batch, P, len(ks)(R+2N))
            projs.append(proj)
            for i, k in enumerate(ks):
                ptrs[k] = proj.data_ptr() + i * width
        return ptrs, (projs[0].stride(0), projs[0].stride(1)), projs
    projs = [torch.matmul(_f32(u), w[k].t()) for k, u in enumerate(us)]
    return [p.data_ptr() for p in projs], (projs[0].stride(0), projs[0].stride(1)), projs


def _check(codes: list, n_state: int) -> None:
    if any(codes):
        why = f"N={n_state} states exceed 64" if min(codes) == -1 else "out of memory"
        raise RuntimeError(f"cpu selective-scan kernel failed: {why}")
