"""The Triton backend: fused selective-scan forward and backward for CUDA tensors (kernels in _triton_kernels.py).

`TritonBackend(interpret=True)` runs the same kernels through Triton's interpreter on CPU tensors
(tests in CI). Triton decides at its import whether it interprets, so that mode needs TRITON_INTERPRET=1
in the environment before triton is first imported (the tests run it in a child process).
"""

from __future__ import annotations

from types import ModuleType

import torch
from torch import Tensor

from posemamba_cli.ops.backend import CrossGrads, Grads, Projections, ScanBackend
from posemamba_cli.ops.cross_scan_triton import CrossScanTriton


def _interpreter_active() -> bool:
    """True when triton was imported with TRITON_INTERPRET=1 (its library functions are interpreted)."""
    import triton.language as tl
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(tl.standard.sum, InterpretedFunction)


def _largest_pow2_divisor(n: int, cap: int) -> int:
    p = 1
    while p * 2 <= cap and n % (p * 2) == 0:
        p *= 2
    return p


class TritonBackend(ScanBackend):
    """Selective scan in Triton. Tunables: chunk (T), block_d (channels per program), warps, segments.

    Defaults are the fastest configuration measured on an H100 (benchmarks/tune_scan_triton.py): the
    step-by-step forward ("seq", 32 channels per program, 8 steps unrolled) and the tile backward (T = 32,
    4 channels per program, 4 warps).
    """

    name = "triton"

    def __init__(self, interpret: bool = False, chunk: int = 32, block_d: int = 4,
                 fwd_warps: int = 4, bwd_warps: int = 4, segments: int | None = None,
                 fwd_impl: str = "seq", seq_block_d: int = 32, unroll: int = 8) -> None:
        self.interpret = interpret
        self.device_type = "cpu" if interpret else "cuda"
        self.chunk, self.block_d = chunk, block_d
        self.fwd_warps, self.bwd_warps = fwd_warps, bwd_warps
        self.segments = segments  # None: chosen from the grid size and the GPU's multiprocessor count
        # forward kernel: "scan" (associative scan over (BD, N, T) tiles) or "seq" (step-by-step on (BD, N))
        self.fwd_impl, self.seq_block_d, self.unroll = fwd_impl, seq_block_d, unroll
        self._kernels: ModuleType | None = None
        # the fused cross scan (ops.cross_scan): checkpoint chunk shared with the tile backward's default
        self.cross = CrossScanTriton(interpret, chunk=chunk, fwd_block_d=seq_block_d, bwd_block_d=block_d,
                                     unroll=unroll, fwd_warps=fwd_warps, bwd_warps=bwd_warps, segments=segments)
        self._error = ""
        try:
            import triton  # noqa: F401
        except ImportError as exc:
            self._error = f"triton is not installed ({exc})"
            return
        if interpret and not _interpreter_active():
            self._error = "interpreter mode needs TRITON_INTERPRET=1 set before triton is imported"
        elif not interpret and _interpreter_active():
            self._error = "TRITON_INTERPRET=1 is set: triton kernels would run in the interpreter"
        elif not interpret and not torch.cuda.is_available():
            self._error = "no CUDA device (torch.cuda.is_available() is False)"

    def availability(self) -> tuple[bool, str]:
        return (not self._error, self._error)

    # -- helpers ---------------------------------------------------------------------------------------
    def _k(self) -> ModuleType:
        if self._kernels is None:
            from posemamba_cli.ops import _triton_kernels

            self._kernels = _triton_kernels
        return self._kernels

    def _geometry(self, u: Tensor, B: Tensor, block_d: int | None = None) -> dict:
        import triton

        batch, dim, length = u.shape
        groups, n_state = B.shape[1], B.shape[2]
        per_group = dim // groups
        bd = _largest_pow2_divisor(per_group, block_d or self.block_d)
        n_dblk = dim // bd
        T = self.chunk
        n_chunks = triton.cdiv(length, T)
        progs = batch * n_dblk
        if self.segments is not None:
            n_seg = self.segments
        elif self.interpret:
            n_seg = 1
        else:
            sms = torch.cuda.get_device_properties(u.device).multi_processor_count
            n_seg = triton.cdiv(4 * sms, progs)
        n_seg = max(1, min(n_seg, n_chunks))
        seg_chunks = triton.cdiv(n_chunks, n_seg)
        n_seg = triton.cdiv(n_chunks, seg_chunks)
        return dict(batch=batch, dim=dim, L=length, G=groups, N=n_state, per_group=per_group, BD=bd,
                    BN=triton.next_power_of_2(n_state), T=T, n_dblk=n_dblk, n_chunks=n_chunks,
                    n_seg=n_seg, seg_chunks=seg_chunks)

    @staticmethod
    def _strides(u, delta, B, C) -> tuple[int, ...]:
        return (*u.stride(), *delta.stride(), *B.stride(), *C.stride())

    def _combine(self, A, loc, dts, geo, reverse: bool) -> Tensor:
        out = torch.empty_like(loc)
        self._k().seg_combine_kernel[(geo["batch"] * geo["n_dblk"],)](
            A, loc, dts, out, geo["dim"], geo["N"], geo["n_dblk"], geo["n_seg"],
            BD=geo["BD"], BN=geo["BN"], REVERSE=reverse, num_warps=1)
        return out

    # -- the fused cross scan (ScanBackend's contract; kernels launched by CrossScanTriton) ---------------
    def cross_covers(self, sources, A, dt_w, grad: bool) -> bool:
        return self.cross.covers(sources, A)

    @staticmethod
    def _cross_weights(orders, dt_w, dt_b, A, D) -> tuple:
        """orders int32, the rest float32, all contiguous (what the kernels read)."""
        f32 = lambda t: None if t is None else t.detach().float().contiguous()  # noqa: E731
        order = orders if orders.dtype == torch.int32 and orders.is_contiguous() else orders.int().contiguous()
        return order, f32(dt_w), f32(dt_b), f32(A), f32(D)

    def cross_forward(self, us, x_proj_weight, orders, dt_w, dt_b, A, D, save) -> tuple[Tensor, Projections, tuple]:
        """One projection per group on the un-permuted grid (autocast may make it bf16); the saved tensors are the
        groups' chunk checkpoints."""
        xdbl = [torch.matmul(u, x_proj_weight[k].t().to(u.dtype)).contiguous() for k, u in enumerate(us)]
        y, checkpoints = self.cross.forward(us, xdbl, *self._cross_weights(orders, dt_w, dt_b, A, D), save)
        return y, [(x, [k]) for k, x in enumerate(xdbl)], tuple(checkpoints) if save else ()

    def cross_backward(self, us, projs, saved, orders, dt_w, dt_b, A, D, source_index, dy) -> CrossGrads:
        du, dxs, *rest = self.cross.backward(us, [x for x, _ in projs], *self._cross_weights(orders, dt_w, dt_b, A, D),
                                             list(saved), source_index, dy)
        return (du, [(d, [k]) for k, d in enumerate(dxs)], *rest)

    # -- protocol --------------------------------------------------------------------------------------
    def forward(self, u, delta, A, B, C, D, delta_bias, delta_softplus):
        k = self._k()
        seq = self.fwd_impl == "seq"
        geo = self._geometry(u, B, self.seq_block_d if seq else None)
        kernel = k.scan_fwd_seq_kernel if seq else k.scan_fwd_kernel
        extra = dict(UNROLL=min(self.unroll, geo["T"])) if seq else {}
        f32 = dict(device=u.device, dtype=torch.float32)
        Af = A.detach().float().contiguous()
        Df = None if D is None else D.detach().float().contiguous()
        bf = None if delta_bias is None else delta_bias.detach().float().contiguous()
        batch, dim, N, n_seg = geo["batch"], geo["dim"], geo["N"], geo["n_seg"]
        y = torch.empty(batch, dim, geo["L"], device=u.device, dtype=u.dtype)
        ck = torch.empty(batch, geo["n_chunks"], dim, N, **f32)
        common = dict(SEG_CHUNKS=geo["seg_chunks"], BD=geo["BD"], BN=geo["BN"], T=geo["T"],
                      SOFTPLUS=bool(delta_softplus), HAS_D=Df is not None, HAS_BIAS=bf is not None,
                      num_warps=self.fwd_warps)
        sizes = (dim, geo["L"], N, geo["per_group"], geo["n_dblk"], geo["n_chunks"], n_seg)
        strides = self._strides(u, delta, B, C)
        grid = (batch * geo["n_dblk"], n_seg)
        hin = None
        if n_seg > 1:
            hout = torch.empty(batch, n_seg, dim, N, **f32)
            dts = torch.empty(batch, n_seg, dim, **f32)
            kernel[grid](u, delta, Af, B, C, Df, bf, y, ck, None, hout, dts, *strides, *sizes,
                         LOCAL=True, HAS_HIN=False, **common, **extra)
            hin = self._combine(Af, hout, dts, geo, reverse=False)
        kernel[grid](u, delta, Af, B, C, Df, bf, y, ck, hin, None, None, *strides, *sizes,
                     LOCAL=False, HAS_HIN=hin is not None, **common, **extra)
        return y, (ck,)

    def backward(self, u, delta, A, B, C, D, delta_bias, delta_softplus, saved, dy) -> Grads:
        (ck,) = saved
        k = self._k()
        geo = self._geometry(u, B)
        f32 = dict(device=u.device, dtype=torch.float32)
        Af = A.detach().float().contiguous()
        Df = None if D is None else D.detach().float().contiguous()
        bf = None if delta_bias is None else delta_bias.detach().float().contiguous()
        batch, dim, N, n_seg, L = geo["batch"], geo["dim"], geo["N"], geo["n_seg"], geo["L"]
        dy = dy.contiguous()
        du = torch.empty(batch, dim, L, device=u.device, dtype=u.dtype)
        ddl = torch.empty(batch, dim, L, device=u.device, dtype=delta.dtype)
        dA = torch.empty(batch, n_seg, dim, N, **f32)
        dD = torch.empty(batch, n_seg, dim, **f32)
        dbias = torch.empty(batch, n_seg, dim, **f32)
        dB = torch.zeros(batch, geo["G"], N, L, **f32)
        dC = torch.zeros(batch, geo["G"], N, L, **f32)
        common = dict(SEG_CHUNKS=geo["seg_chunks"], BD=geo["BD"], BN=geo["BN"], T=geo["T"],
                      SOFTPLUS=bool(delta_softplus), HAS_D=Df is not None, HAS_BIAS=bf is not None,
                      num_warps=self.bwd_warps)
        sizes = (dim, L, N, geo["per_group"], geo["G"], geo["n_dblk"], geo["n_chunks"], n_seg)
        strides = self._strides(u, delta, B, C)
        grid = (batch * geo["n_dblk"], n_seg)
        gin = None
        if n_seg > 1:
            gout = torch.empty(batch, n_seg, dim, N, **f32)
            dts = torch.empty(batch, n_seg, dim, **f32)
            k.scan_bwd_kernel[grid](u, delta, Af, B, C, Df, bf, dy, ck, None, gout, dts,
                                    du, ddl, dA, dD, dbias, dB, dC, *strides, *sizes,
                                    LOCAL=True, HAS_GIN=False, **common)
            gin = self._combine(Af, gout, dts, geo, reverse=True)
        k.scan_bwd_kernel[grid](u, delta, Af, B, C, Df, bf, dy, ck, gin, None, None,
                                du, ddl, dA, dD, dbias, dB, dC, *strides, *sizes,
                                LOCAL=False, HAS_GIN=gin is not None, **common)
        return (
            du, ddl, dA.sum((0, 1)).to(A.dtype), dB.to(B.dtype), dC.to(C.dtype),
            None if D is None else dD.sum((0, 1)).to(D.dtype),
            None if delta_bias is None else dbias.sum((0, 1)).to(delta_bias.dtype),
        )
