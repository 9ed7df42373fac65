"""The fast CPU backend: a small C kernel (csrc/scan_cpu.c) called through ctypes, threads over channels.

The kernel fuses delta_bias + softplus, exp(delta A), the recurrence and the C contraction. It is built per
instruction set (AVX-512, AVX2, NEON, generic); `cpu_kernel` finds the build for this CPU. ctypes releases
the GIL during the call, so `cpu_threads` splits rows across torch's thread count. The block's whole cross
scan runs fused (ScanBackend's cross_forward / cross_backward), and the block steps around it
(conv3x3_silu, layer_norm_gate: csrc/block_ops.c) in inference.
"""

from __future__ import annotations

import ctypes
import warnings

import torch
from torch import Tensor

from posemamba_cli.ops.backend import CrossGrads, Grads, Projections, ScanBackend
from posemamba_cli.ops.cpu_kernel import KernelLibrary, KernelUnavailable, load_scan_kernel
from posemamba_cli.ops.cpu_threads import map_chunks, run_split, split

_I64 = ctypes.c_int64
_PTR = ctypes.c_void_p
_warned = False
# The builds whose fused cross-scan backward beats the composed op (gather, projections, scan_bwd, scatter) in
# training; any other keeps the composed op. Measured with benchmarks/bench_scan_cpu_train.py on Zen 4, 1 thread:
# a PoseMamba-B training step 1.5x faster (AVX-512), 2.0x (AVX2), 2.0x (generic, SSE2). NEON is not measured
# on an ARM CPU; it is in by analogy with the generic build, which has the same 4 lanes.
FUSED_BACKWARD_ISAS = frozenset({"avx512", "avx2", "neon", "generic"})


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _f32(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.to(torch.float32).contiguous()


class CpuNativeBackend(ScanBackend):
    name = "cpu"
    device_type = "cpu"

    def __init__(self, isa: str | None = None) -> None:
        """isa: a build to use ("avx512", "avx2", "neon", "generic"); default: POSEMAMBA_CPU_ISA, else the
        fastest this CPU runs. The library is found on first use."""
        self._isa = isa
        self.name = "cpu" if isa is None else f"cpu-{isa}"
        self._kernel: KernelLibrary | None = None
        self._error: str | None = None  # None until a load was tried
        self._fused_backward: bool | None = None  # None: FUSED_BACKWARD_ISAS decides

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
        lib.cross_scan_bwd.argtypes = ([_PTR, _I64, _I64] * 2 + [_PTR] * 6 + [_I64] * 2 + [_PTR, _I64, _I64]
                                       + [_PTR] * 5 + [_I64] * 7)
        lib.cross_scan_bwd.restype = ctypes.c_int
        lib.conv3x3_silu.argtypes = [_PTR] * 6 + [_I64] * 5  # csrc/block_ops.c, used by ops.block_ops
        lib.conv3x3_silu.restype = ctypes.c_int
        lib.layer_norm_gate.argtypes = [_PTR] * 4 + [ctypes.c_float, _PTR] + [_I64] * 3
        lib.layer_norm_gate.restype = ctypes.c_int
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

    def _covers(self, u: Tensor, A: Tensor, dt_weight: Tensor) -> bool:
        """Whether the fused cross-scan kernels take these sizes: N = 16 states, R <= 16, Di a multiple of the
        lanes."""
        return A.shape[-1] == 16 and dt_weight.shape[-1] <= 16 and u.shape[-1] % self._lanes == 0

    def cross_covers(self, sources, A, dt_w, grad: bool) -> bool:
        """The fused kernels' sizes (_covers); for a gradient also where this build's fused backward is the faster
        (fused_backward) and the sources are float32 (batch, Di, P) alike."""
        if self._lib is None or not self._covers(sources[0].transpose(1, 2), A, dt_w):
            return False
        return not grad or (self.fused_backward and all(
            s.dtype == torch.float32 and s.dim() == 3 and s.shape == sources[0].shape for s in sources))

    def cross_forward(self, us, x_proj_weight, orders, dt_weight, dt_bias, A, D, save) -> tuple[Tensor, Projections,
                                                                                               tuple]:
        """ScanBackend.cross_forward: the projections are _projections' (groups of a source side by side)."""
        batch, length, dim = us[0].shape
        K, n_state, rank = len(us), A.shape[-1], dt_weight.shape[-1]
        projs = _projections(us, x_proj_weight)
        us = [_f32(t) for t in us]
        order = orders.to(torch.int32).contiguous()
        wf, bf, Af, Df = _f32(dt_weight.reshape(K * dim, rank)), _f32(dt_bias.reshape(-1)), _f32(A), _f32(D)
        y = torch.empty(batch, length, dim, dtype=torch.float32)
        u_ptrs, proj_ptrs = (_PTR * K)(*(t.data_ptr() for t in us)), (_PTR * K)(*_group_ptrs(projs, K))
        args = (u_ptrs, length * dim, dim, proj_ptrs, *_strides(projs), order.data_ptr(),
                wf.data_ptr(), bf.data_ptr(), Af.data_ptr(), _ptr(Df), y.data_ptr(), length * dim, dim,
                K, dim, length, rank, n_state)
        codes = self._run(lambda u0, u1: self._lib.cross_scan_fwd(*args, u0, u1), batch * dim // self._lanes)
        _check(codes, n_state)
        return y, projs, ()

    @property
    def fused_backward(self) -> bool:
        """Whether training takes the fused cross scan (cross_scan) rather than the composed op: where this
        build's fused backward is the faster (benchmarks/bench_scan_cpu_train.py). Settable, for benchmarks."""
        if self._fused_backward is not None:
            return self._fused_backward
        return self._lib is not None and self._kernel.isa in FUSED_BACKWARD_ISAS

    @fused_backward.setter
    def fused_backward(self, value: bool | None) -> None:
        self._fused_backward = value

    def cross_backward(self, us, projs, saved, orders, dt_weight, dt_bias, A, D, source_index, gy) -> CrossGrads:
        """ScanBackend.cross_backward (the fused backward kernel)."""
        assert self._lib is not None, self._error
        f32 = {id(u): _f32(u) for u in us}  # once per source
        us = [f32[id(u)] for u in us]
        batch, length, dim = us[0].shape
        K, n_state, rank = len(us), A.shape[-1], dt_weight.shape[-1]
        order = orders.to(torch.int32).contiguous()
        wf, bf, Af, Df = _f32(dt_weight.reshape(K * dim, rank)), _f32(dt_bias.reshape(-1)), _f32(A), _f32(D)
        gy = _f32(gy)
        du = {s: torch.empty(batch, length, dim) for s in source_index}
        dA = torch.empty(batch, K * dim, n_state)
        dD, dbias, dw = torch.empty(batch, K * dim), torch.empty(batch, K * dim), torch.empty(batch, K * dim, rank)
        chunks = split(batch * dim // self._lanes, max(1, torch.get_num_threads()))
        dprojs = [[(torch.zeros_like(p), ks) for p, ks in projs] for _ in chunks]  # one per thread: they add
        u_ptrs = (_PTR * K)(*(t.data_ptr() for t in us))
        proj_ptrs = (_PTR * K)(*_group_ptrs(projs, K))
        du_ptrs = (_PTR * K)(*(du[s].data_ptr() for s in source_index))
        args = (u_ptrs, length * dim, dim, proj_ptrs, *_strides(projs), order.data_ptr(), wf.data_ptr(),
                bf.data_ptr(), Af.data_ptr(), _ptr(Df), gy.data_ptr(), gy.stride(0), gy.stride(1), du_ptrs,
                length * dim, dim)
        sizes = (dA.data_ptr(), dD.data_ptr(), dbias.data_ptr(), dw.data_ptr(), K, dim, length, rank, n_state)

        def run(part: list, u0: int, u1: int) -> int:
            return self._lib.cross_scan_bwd(*args, (_PTR * K)(*_group_ptrs(part, K)), *sizes, u0, u1)

        codes = map_chunks(run, [(part, *c) for part, c in zip(dprojs, chunks)])
        _check(codes, n_state)
        dproj = [d for d, _ in dprojs[0]]
        for part in dprojs[1:]:
            for total, (d, _) in zip(dproj, part):
                total += d
        return (du, list(zip(dproj, (ks for _, ks in projs))), dA.sum(0), dD.sum(0), dbias.sum(0).view(K, dim),
                dw.sum(0).view(K, dim, rank))

    def fuses_blocks(self, width: int) -> bool:
        """Where this build's vectors tile the channels."""
        return self._lib is not None and width % self._lanes == 0

    def conv3x3_silu(self, x, weight, bias, gather):
        """ops.block_ops.conv3x3_silu in one pass of csrc/block_ops.c."""
        b, f, J, D = x.shape
        xc = x.contiguous()
        taps = weight.reshape(D, 9).t().contiguous()  # (9, D): tap (dy, dx) in row dy * 3 + dx
        bias = torch.zeros(D) if bias is None else bias.contiguous()
        act = torch.empty(b, f, J, D)
        gathered = None if gather is None else torch.empty(b, f, J, D)
        parent = None if gather is None else gather.to(torch.int64).contiguous()
        args = (xc.data_ptr(), taps.data_ptr(), bias.data_ptr(), _ptr(parent), act.data_ptr(), _ptr(gathered), f, J, D)
        codes = run_split(lambda u0, u1: self._lib.conv3x3_silu(*args, u0, u1), b * f)
        assert not any(codes), codes
        return act, gathered

    def layer_norm_gate(self, y, z, weight, bias, eps, inplace):
        """ops.block_ops.layer_norm_gate (contiguous y, z) in one pass of csrc/block_ops.c."""
        D = y.shape[-1]
        out = y if inplace else torch.empty_like(y)
        w, bvec = weight.contiguous(), bias.contiguous()
        args = (y.data_ptr(), z.data_ptr(), w.data_ptr(), bvec.data_ptr(), eps, out.data_ptr(), D)
        codes = run_split(lambda r0, r1: self._lib.layer_norm_gate(*args, r0, r1), y.numel() // D)
        assert not any(codes), codes
        return out

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


def _projections(us: list[Tensor], x_proj_weight: Tensor) -> list[tuple[Tensor, list[int]]]:
    """Every group's (dt_low, B, C) projections as (tensor (batch, P, len(ks) (R + 2N)), the groups ks it holds,
    side by side). Groups that scan the same source share one matmul against their stacked weights (fewer,
    wider matmuls run faster) when every source serves as many groups; else one per group."""
    w = x_proj_weight.detach().float()  # a weight that requires grad sends matmul down a path ~7x slower
    by_source: dict[int, list[int]] = {}
    for k, u in enumerate(us):
        by_source.setdefault(id(u), []).append(k)
    if len({len(ks) for ks in by_source.values()}) == 1:
        return [(torch.matmul(_f32(us[ks[0]]), w[ks].reshape(-1, w.shape[2]).t()), ks) for ks in by_source.values()]
    return [(torch.matmul(_f32(u), w[k].t()), [k]) for k, u in enumerate(us)]


def _group_ptrs(projs: list[tuple[Tensor, list[int]]], K: int) -> list[int]:
    """Each group's address in _projections' tensors (or in tensors of the same shapes)."""
    ptrs = [0] * K
    for proj, ks in projs:
        width = proj.shape[-1] // len(ks) * proj.element_size()
        for i, k in enumerate(ks):
            ptrs[k] = proj.data_ptr() + i * width
    return ptrs


def _strides(projs: list[tuple[Tensor, list[int]]]) -> tuple[int, int]:
    """The (batch, position) strides, in floats, shared by _projections' tensors."""
    return projs[0][0].stride(0), projs[0][0].stride(1)


def _check(codes: list, n_state: int) -> None:
    if any(codes):
        why = f"N={n_state} states exceed 64" if min(codes) == -1 else "out of memory"
        raise RuntimeError(f"cpu selective-scan kernel failed: {why}")
