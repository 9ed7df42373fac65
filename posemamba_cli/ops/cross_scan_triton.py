"""The fused cross scan on the Triton backend: forward and backward, no gathered copies (kernels in
_triton_cross_kernels.py; the op in cross_scan.py, its contract and autograd function in backend.py).

Forward: per group k, one matmul on the un-permuted grid gives xdbl_k = u_k W_k^T (batch, P, R + 2N)
(dt_low, B, C at every position); the kernel then walks the grid in the group's order, forms delta
in-kernel, scans with a float32 state and adds the group's output into y (batch, P, Di, float32) at the
positions it visits. Inputs may be float32, bfloat16 or float16. Backward: the kernel recomputes each
chunk from the checkpoints the forward saved and writes du (summed over the groups sharing a source),
d xdbl (d dt_low, dB, dC), dA, dD, d bias and d dt_proj_weight; two matmuls per group carry d xdbl back to
the inputs and to x_proj_weight.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from posemamba_cli import settings
from posemamba_cli.ops.cross_scan_groups import group_args

_IO_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
FWD_VARIANTS = ("legacy", "grid", "lane")  # see CrossScanTriton
BWD_VARIANTS = ("legacy", "grouped", "lanes")


class CrossScanTriton:
    """Launches the cross-scan kernels. chunk: steps per checkpoint (forward) and per tile (backward);
    fwd_block_d / bwd_block_d: channels per program; segments: time segments (None: from the GPU size);
    batch_block: batch rows per forward pass over the groups (None: all; "l2": fit y's rows in L2; or a count);
    poly_exp: the forward computes a quarter of its exponentials on the FMA pipe (cross_fwd_split_kernel).
    fwd_variant (env POSEMAMBA_CROSS_FWD): "legacy" one launch per group, read-modify-write of y
    (_triton_cross_kernels); "grid" all groups in one launch, one thread per channel, each group its own y
    (_triton_cross_lanes, per-step loads); "lane" the same with u, y and the order staged per chunk.
    lane_warps: warps per program of grid / lane (32 channels each). bwd_variant (env POSEMAMBA_CROSS_BWD):
    "legacy", "grouped" (_triton_cross_bwd: a program loops over bwd_group channel tiles and reduces
    d xdbl over them before one atomic per chunk; plain stores when one program covers every channel) or
    "lanes" (_triton_cross_lanes_bwd: all groups in one launch, a thread per channel, states recomputed
    per chunk from the checkpoints, d xdbl reduced over the program's channels before one atomic per step).
    full_programs: programs of one launch from which no time segments are used (None: the SM count)."""

    def __init__(self, interpret: bool, chunk: int = 32, fwd_block_d: int = 32, bwd_block_d: int = 4,
                 unroll: int = 8, fwd_warps: int = 4, bwd_warps: int = 4, segments: int | None = None,
                 batch_block: int | str | None = None, poly_exp: bool = False, fwd_variant: str | None = None,
                 bwd_variant: str | None = None, lane_warps: int = 4, bwd_group: int = 16,
                 full_programs: int | None = None) -> None:
        self.poly_exp = poly_exp
        fwd_default, bwd_default = settings.cross_scan_variants()
        self.fwd_variant = fwd_variant or fwd_default
        self.bwd_variant = bwd_variant or bwd_default
        if self.fwd_variant not in FWD_VARIANTS or self.bwd_variant not in BWD_VARIANTS:
            raise ValueError(f"cross-scan variants: forward {FWD_VARIANTS}, backward {BWD_VARIANTS}; "
                             f"got {self.fwd_variant!r}, {self.bwd_variant!r}")
        self.lane_warps, self.bwd_group, self.full_programs = lane_warps, bwd_group, full_programs
        self.interpret, self.chunk, self.unroll, self.batch_block = interpret, chunk, unroll, batch_block
        self.fwd_block_d, self.bwd_block_d = fwd_block_d, bwd_block_d
        self.fwd_warps, self.bwd_warps, self.segments = fwd_warps, bwd_warps, segments

    def covers(self, sources: Sequence[Tensor], A: Tensor) -> bool:
        shape = sources[0].shape
        return all(s.dtype in _IO_DTYPES and s.shape == shape and s.dim() == 3 for s in sources) and A.dim() == 2

    def _geometry(self, batch: int, Di: int, P: int, block_d: int, device: torch.device,
                  groups: int = 1) -> dict:
        """Tiles and time segments of a launch of batch x channel blocks x `groups` programs (per segment)."""
        import triton

        bd = min(block_d, triton.next_power_of_2(Di))
        n_dblk = triton.cdiv(Di, bd)
        n_chunks = triton.cdiv(P, self.chunk)
        programs = batch * n_dblk * groups
        if self.segments is not None:
            n_seg = self.segments
        elif self.interpret:
            n_seg = 1
        else:  # segments cost a second pass: only where the launch alone leaves SMs idle
            sms = torch.cuda.get_device_properties(device).multi_processor_count
            full = self.full_programs or sms
            n_seg = 1 if programs >= full else triton.cdiv(4 * sms, programs)
        n_seg = max(1, min(n_seg, n_chunks))
        seg_chunks = triton.cdiv(n_chunks, n_seg)
        return dict(BD=bd, n_dblk=n_dblk, n_chunks=n_chunks, n_seg=triton.cdiv(n_chunks, seg_chunks),
                    seg_chunks=seg_chunks)

    @staticmethod
    def _combine(A_k: Tensor, loc: Tensor, dts: Tensor, geo: dict, reverse: bool) -> Tensor:
        from posemamba_cli.ops._triton_kernels import seg_combine_kernel

        batch, n_seg, Di, N = loc.shape
        out = torch.empty_like(loc)
        seg_combine_kernel[(batch * geo["n_dblk"],)](A_k, loc, dts, out, Di, N, geo["n_dblk"], n_seg,
                                                     BD=geo["BD"], BN=triton_pow2(N), REVERSE=reverse, num_warps=1)
        return out

    def forward(self, us: list[Tensor], xdbl: list[Tensor], orders: Tensor, dt_w: Tensor, dt_b: Tensor,
                A: Tensor, D: Tensor | None, save: bool) -> tuple[Tensor, list[Tensor]]:
        """us: K (batch, P, Di) inputs (any strides); xdbl: K contiguous (batch, P, R + 2N); orders (K, P)
        int32; dt_w (K, Di, R), dt_b (K, Di), A (K*Di, N), D (K*Di,) float32 contiguous.
        Returns y (batch, P, Di) float32 and, when save, each group's chunk checkpoints."""
        import triton

        if self.fwd_variant != "legacy" and self._lanes_cover(us, xdbl):
            from posemamba_cli.ops.cross_scan_lanes import forward_lanes

            return forward_lanes(self, us, xdbl, orders, dt_w, dt_b, A, D, save, stage=self.fwd_variant == "lane")
        batch, P, Di = us[0].shape
        f32 = dict(device=us[0].device, dtype=torch.float32)
        y = torch.empty(batch, P, Di, **f32)
        n_chunks = triton.cdiv(P, self.chunk)
        checkpoints = [torch.empty(batch, n_chunks, Di, A.shape[1], **f32) if save else None for _ in us]
        rows = self._rows_per_pass(batch, P, Di, us[0].device)
        for b0 in range(0, batch, rows):
            part = slice(b0, b0 + rows)
            self._forward_rows([u[part] for u in us], [x[part] for x in xdbl], orders, dt_w, dt_b, A, D, y[part],
                               [None if ck is None else ck[part] for ck in checkpoints])
        return y, checkpoints

    @staticmethod
    def _lanes_cover(us: list[Tensor], xdbl: list[Tensor]) -> bool:
        """The one-launch kernels take up to 4 groups whose inputs share strides and dtype."""
        return (len(us) <= 4 and all(u.stride() == us[0].stride() and u.dtype == us[0].dtype for u in us)
                and all(x.stride() == xdbl[0].stride() and x.dtype == xdbl[0].dtype for x in xdbl))

    def _rows_per_pass(self, batch: int, P: int, Di: int, device: torch.device) -> int:
        """Batch rows that all K groups scan before the next rows start: all of them by default; with
        batch_block="l2", as many as keep y's rows (P x Di float32 each) within half the L2 cache, so the
        K-1 read-modify-writes of y hit L2 rather than HBM (more, smaller launches)."""
        if self.batch_block is None:
            return batch
        if self.batch_block == "l2":
            l2 = torch.cuda.get_device_properties(device).L2_cache_size
            return max(1, min(batch, l2 // 2 // (P * Di * 4)))
        return max(1, int(self.batch_block))

    def _forward_rows(self, us, xdbl, orders, dt_w, dt_b, A, D, y, checkpoints) -> None:
        from posemamba_cli.ops import _triton_cross_kernels as kernels

        batch, P, Di = us[0].shape
        K, N, R = len(us), A.shape[1], dt_w.shape[2]
        split = self.poly_exp and triton_pow2(N) >= 4
        cross_fwd_kernel = kernels.cross_fwd_split_kernel if split else kernels.cross_fwd_kernel
        geo = self._geometry(batch, Di, P, self.fwd_block_d, us[0].device)
        f32 = dict(device=us[0].device, dtype=torch.float32)
        n_seg = geo["n_seg"]
        common = dict(SEG_CHUNKS=geo["seg_chunks"], BD=geo["BD"], BN=triton_pow2(N), BR=max(2, triton_pow2(R)),
                      T=self.chunk, UNROLL=min(self.unroll, self.chunk), HAS_D=D is not None,
                      num_warps=self.fwd_warps)
        sizes = (Di, P, R, N, geo["n_dblk"], geo["n_chunks"], n_seg)
        grid = (batch * geo["n_dblk"], n_seg)
        for k in range(K):
            u, x, weights, strides = group_args(k, us, xdbl, orders, dt_w, dt_b, A, D)
            ck, A_k = checkpoints[k], weights[3]
            hin = None
            if n_seg > 1:
                hout = torch.empty(batch, n_seg, Di, N, **f32)
                dts = torch.empty(batch, n_seg, Di, **f32)
                cross_fwd_kernel[grid](u, x, *weights, y, None, None, hout, dts, *strides, *sizes,
                                       ACC=False, SAVE=False, LOCAL=True, HAS_HIN=False, **common)
                hin = self._combine(A_k, hout, dts, geo, reverse=False)
            cross_fwd_kernel[grid](u, x, *weights, y, ck, hin, None, None, *strides, *sizes,
                                   ACC=k > 0, SAVE=ck is not None, LOCAL=False, HAS_HIN=hin is not None, **common)

    def backward(self, us, xdbl, orders, dt_w, dt_b, A, D, checkpoints, source_index, dy):
        """dy (batch, P, Di) float32 (any strides). Returns du per source (batch, P, Di) float32, d xdbl per
        group, and dA (K*Di, N), dD (K*Di,) or None, d dt_b (K, Di), d dt_w (K, Di, R), all float32."""
        from posemamba_cli.ops._triton_cross_kernels import cross_bwd_kernel

        if self.bwd_variant == "grouped":
            from posemamba_cli.ops.cross_scan_lanes import backward_grouped

            return backward_grouped(self, us, xdbl, orders, dt_w, dt_b, A, D, checkpoints, source_index, dy)
        if self.bwd_variant == "lanes" and self._lanes_cover(us, xdbl):
            from posemamba_cli.ops.cross_scan_lanes import backward_lanes

            return backward_lanes(self, us, xdbl, orders, dt_w, dt_b, A, D, checkpoints, source_index, dy)
        batch, P, Di = us[0].shape
        K, N, R = len(us), A.shape[1], dt_w.shape[2]
        geo = self._geometry(batch, Di, P, self.bwd_block_d, us[0].device)
        f32 = dict(device=us[0].device, dtype=torch.float32)
        n_seg = geo["n_seg"]
        du = {s: torch.empty(batch, P, Di, **f32) for s in sorted(set(source_index))}
        dxs = [torch.zeros(batch, P, R + 2 * N, **f32) for _ in range(K)]
        dA = torch.empty(K, batch, n_seg, Di, N, **f32)
        dD = torch.empty(K, batch, n_seg, Di, **f32)
        dbias = torch.empty(K, batch, n_seg, Di, **f32)
        dw = torch.empty(K, batch, n_seg, Di, R, **f32)
        common = dict(SEG_CHUNKS=geo["seg_chunks"], BD=geo["BD"], BN=triton_pow2(N), BR=max(2, triton_pow2(R)),
                      T=self.chunk, HAS_D=D is not None, num_warps=self.bwd_warps)
        sizes = (Di, P, R, N, geo["n_dblk"], geo["n_chunks"], n_seg)
        grid = (batch * geo["n_dblk"], n_seg)
        written: set[int] = set()
        for k in range(K):
            u, x, weights, strides = group_args(k, us, xdbl, orders, dt_w, dt_b, A, D, *dy.stride())
            s, A_k = source_index[k], weights[3]
            grads = (du[s], dxs[k], dA[k], dD[k], dbias[k], dw[k])
            gin = None
            if n_seg > 1:
                gout = torch.empty(batch, n_seg, Di, N, **f32)
                dts = torch.empty(batch, n_seg, Di, **f32)
                cross_bwd_kernel[grid](u, x, *weights, dy, None, None, gout, dts, *grads, *strides, *sizes,
                                       ACC=False, LOCAL=True, HAS_GIN=False, **common)
                gin = self._combine(A_k, gout, dts, geo, reverse=True)
            cross_bwd_kernel[grid](u, x, *weights, dy, checkpoints[k], gin, None, None, *grads, *strides, *sizes,
                                   ACC=s in written, LOCAL=False, HAS_GIN=gin is not None, **common)
            written.add(s)
        return (du, dxs, dA.sum((1, 2)).reshape(K * Di, N), None if D is None else dD.sum((1, 2)).reshape(-1),
                dbias.sum((1, 2)), dw.sum((1, 2)))


def triton_pow2(n: int) -> int:
    """The tile size for n lanes (the R tiles take at least two, so no tile has a size-1 dimension)."""
    import triton

    return triton.next_power_of_2(n)
