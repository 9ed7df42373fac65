"""Launchers of the cross scan's newer Triton variants, selected by CrossScanTriton (cross_scan_triton.py):
the one-launch forward with a thread per channel (_triton_cross_lanes.py; "grid" and "lane") and the
backward that reduces d xdbl over many channel tiles before any atomic (_triton_cross_bwd.py; "grouped").
The arguments and results are those of CrossScanTriton.forward / backward."""

from __future__ import annotations

import torch
from torch import Tensor


def _pow2(n: int) -> int:
    import triton

    return triton.next_power_of_2(n)


def _combine_groups(runner, A: Tensor, loc: Tensor, dts: Tensor, Di: int, reverse: bool) -> Tensor:
    """Segment carries per group: loc (K, batch, n_seg, Di, N) segment summaries, dts (K, batch, n_seg, Di)."""
    import triton

    geo = dict(BD=min(32, _pow2(Di)))
    geo["n_dblk"] = triton.cdiv(Di, geo["BD"])
    return torch.stack([runner._combine(A[k * Di:(k + 1) * Di], loc[k], dts[k], geo, reverse)
                        for k in range(loc.shape[0])])


def forward_lanes(runner, us: list[Tensor], xdbl: list[Tensor], orders: Tensor, dt_w: Tensor, dt_b: Tensor,
                  A: Tensor, D: Tensor | None, save: bool, stage: bool) -> tuple[Tensor, list[Tensor | None]]:
    """All K (<= 4) groups in one launch, each writing its own y; y = the sum over groups (batch, P, Di)."""
    from posemamba_cli.ops._triton_cross_lanes import cross_fwd_lanes_kernel

    batch, P, Di = us[0].shape
    K, N, R = len(us), A.shape[1], dt_w.shape[2]
    bd = min(32 * runner.lane_warps, _pow2(Di))
    geo = runner._geometry(batch, Di, P, bd, us[0].device, groups=K)
    n_seg, n_chunks = geo["n_seg"], geo["n_chunks"]
    f32 = dict(device=us[0].device, dtype=torch.float32)
    ys = torch.empty(K, batch, P, Di, **f32)
    ck = torch.empty(K, batch, n_chunks, Di, N, **f32) if save else None
    u4, x4 = [*us, *us[:1] * (4 - K)], [*xdbl, *xdbl[:1] * (4 - K)]
    args = (*u4, *x4, orders, dt_w, dt_b, A, D)
    strides = (*us[0].stride(), xdbl[0].stride(0), xdbl[0].stride(1))
    sizes = (batch, Di, P, R, N, geo["n_dblk"], n_chunks, n_seg)
    common = dict(SEG_CHUNKS=geo["seg_chunks"], BD=geo["BD"], BN=_pow2(N), BR=max(2, _pow2(R)), T=runner.chunk,
                  UNROLL=min(runner.unroll, runner.chunk), HAS_D=D is not None, STAGE=stage,
                  EVEN=_pow2(N) == N and max(2, _pow2(R)) == R,
                  num_warps=max(1, geo["BD"] // 32))
    grid = (batch * geo["n_dblk"], K, n_seg)
    hin = None
    if n_seg > 1:
        hout = torch.empty(K, batch, n_seg, Di, N, **f32)
        dts = torch.empty(K, batch, n_seg, Di, **f32)
        cross_fwd_lanes_kernel[grid](*args, ys, None, None, hout, dts, *strides, *sizes,
                                     SAVE=False, LOCAL=True, HAS_HIN=False, **common)
        hin = _combine_groups(runner, A, hout, dts, Di, reverse=False)
    cross_fwd_lanes_kernel[grid](*args, ys, ck, hin, None, None, *strides, *sizes,
                                 SAVE=save, LOCAL=False, HAS_HIN=hin is not None, **common)
    y = ys[0] if K == 1 else ys.sum(0)  # deterministic: a fixed-order reduction over the groups
    return y, [None if ck is None else ck[k] for k in range(K)]


def backward_grouped(runner, us, xdbl, orders, dt_w, dt_b, A, D, checkpoints, source_index, dy):
    """CrossScanTriton.backward's contract; one launch per group (du of a shared source summed in order)."""
    import triton

    from posemamba_cli.ops._triton_cross_bwd import cross_bwd_grouped_kernel
    from posemamba_cli.ops.cross_scan_groups import group_args

    batch, P, Di = us[0].shape
    K, N, R = len(us), A.shape[1], dt_w.shape[2]
    bd = min(runner.bwd_block_d, _pow2(Di))
    n_dblk = triton.cdiv(Di, bd)
    group = min(runner.bwd_group, n_dblk)
    n_dgrp = triton.cdiv(n_dblk, group)
    geo = runner._geometry(batch * n_dgrp, Di, P, Di, us[0].device)  # programs: batch x channel groups
    n_seg = geo["n_seg"]
    f32 = dict(device=us[0].device, dtype=torch.float32)
    atomic = n_dgrp > 1
    du = {s: torch.empty(batch, P, Di, **f32) for s in sorted(set(source_index))}
    dxs = [(torch.zeros if atomic else torch.empty)(batch, P, R + 2 * N, **f32) for _ in range(K)]
    dA = torch.zeros(K, batch, n_seg, Di, N, **f32)
    dD = torch.zeros(K, batch, n_seg, Di, **f32)
    dbias = torch.zeros(K, batch, n_seg, Di, **f32)
    dw = torch.zeros(K, batch, n_seg, Di, R, **f32)
    common = dict(SEG_CHUNKS=geo["seg_chunks"], GROUP=group, BD=bd, BN=_pow2(N), BR=max(2, _pow2(R)),
                  T=runner.chunk, HAS_D=D is not None, ATOMIC=atomic, num_warps=runner.bwd_warps)
    sizes = (Di, P, R, N, n_dgrp, geo["n_chunks"], n_seg)
    grid = (batch * n_dgrp, n_seg)
    written: set[int] = set()
    for k in range(K):
        u, x, weights, strides = group_args(k, us, xdbl, orders, dt_w, dt_b, A, D, *dy.stride())
        s, A_k = source_index[k], weights[3]
        grads = (du[s], dxs[k], dA[k], dD[k], dbias[k], dw[k])
        carry = torch.zeros(batch, n_seg, Di, N, **f32)
        if n_seg > 1:  # each segment's own adjoint carry, then the carries entering them from the end
            dts = torch.zeros(batch, n_seg, Di, **f32)
            cross_bwd_grouped_kernel[grid](u, x, *weights, dy, None, carry, dts, *grads, *strides, *sizes,
                                           ACC=False, LOCAL=True, **common)
            geo_c = dict(BD=min(32, _pow2(Di)))
            geo_c["n_dblk"] = triton.cdiv(Di, geo_c["BD"])
            carry = runner._combine(A_k, carry, dts, geo_c, reverse=True)
        cross_bwd_grouped_kernel[grid](u, x, *weights, dy, checkpoints[k], carry, None, *grads, *strides, *sizes,
                                       ACC=s in written, LOCAL=False, **common)
        written.add(s)
    return (du, dxs, dA.sum((1, 2)).reshape(K * Di, N), None if D is None else dD.sum((1, 2)).reshape(-1),
            dbias.sum((1, 2)), dw.sum((1, 2)))


def backward_lanes(runner, us, xdbl, orders, dt_w, dt_b, A, D, checkpoints, source_index, dy):
    """CrossScanTriton.backward's contract in one launch for every group, a thread per channel."""
    from posemamba_cli.ops._triton_cross_lanes_bwd import cross_bwd_lanes_kernel

    batch, P, Di = us[0].shape
    K, N, R = len(us), A.shape[1], dt_w.shape[2]
    BN = _pow2(N)
    bd = min(32 * runner.lane_warps, _pow2(Di))
    geo = runner._geometry(batch, Di, P, bd, us[0].device, groups=K)
    n_seg, n_dblk, T = geo["n_seg"], geo["n_dblk"], runner.chunk
    f32 = dict(device=us[0].device, dtype=torch.float32)
    du_all = torch.empty(K, batch, P, Di, **f32)
    dx = torch.zeros(K, batch, P, R + 2 * N, **f32)
    dA = torch.empty(K, batch, n_seg, Di, N, **f32)
    dD = torch.empty(K, batch, n_seg, Di, **f32)
    dbias = torch.empty(K, batch, n_seg, Di, **f32)
    dw = torch.empty(K, batch, n_seg, Di, R, **f32)
    hs = torch.empty(K * batch * n_dblk * n_seg, T, BN, geo["BD"], **f32)  # per program: h_{t-1} of a chunk
    u4, x4, c4 = ([*v, *v[:1] * (4 - K)] for v in (us, xdbl, checkpoints))
    args = (*u4, *x4, *c4, orders, dt_w, dt_b, A, D, dy)
    grads = (du_all, dx, dA, dD, dbias, dw)
    strides = (*us[0].stride(), xdbl[0].stride(0), xdbl[0].stride(1), *dy.stride())
    sizes = (batch, Di, P, R, N, n_dblk, geo["n_chunks"], n_seg)
    common = dict(SEG_CHUNKS=geo["seg_chunks"], BD=geo["BD"], BN=BN, BR=max(2, _pow2(R)), T=T, HAS_D=D is not None,
                  num_warps=max(1, geo["BD"] // 32))
    grid = (batch * n_dblk, K, n_seg)
    gin = None
    if n_seg > 1:
        gout = torch.empty(K, batch, n_seg, Di, N, **f32)
        dts = torch.empty(K, batch, n_seg, Di, **f32)
        cross_bwd_lanes_kernel[grid](*args, None, gout, dts, hs, *grads, *strides, *sizes,
                                     LOCAL=True, HAS_GIN=False, **common)
        gin = _combine_groups(runner, A, gout, dts, Di, reverse=True)
    cross_bwd_lanes_kernel[grid](*args, gin, None, None, hs, *grads, *strides, *sizes,
                                 LOCAL=False, HAS_GIN=gin is not None, **common)
    du: dict[int, Tensor] = {}
    for k, s in enumerate(source_index):  # in group order: deterministic
        du[s] = du_all[k] if s not in du else du[s] + du_all[k]
    return (du, list(dx.unbind(0)), dA.sum((1, 2)).reshape(K * Di, N),
            None if D is None else dD.sum((1, 2)).reshape(-1), dbias.sum((1, 2)), dw.sum((1, 2)))
