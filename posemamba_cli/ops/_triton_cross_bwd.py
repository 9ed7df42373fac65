"""The cross scan's backward with d xdbl reduced over many channel tiles before any atomic ("grouped").

cross_bwd_kernel (_triton_cross_kernels.py) gives each program BD channels of a batch row, so every one of
Di / BD programs adds its (R + 2N) values of d xdbl per position with atomics. Here a program owns GROUP
channel tiles of a row: per chunk (in reverse) it loads the chunk's order indices and projections once,
then for each tile recomputes the (BD, BN, T) states from the forward's checkpoint, runs the adjoint from
the tile's carry and sums dB, dC and d dt_low over the tiles in registers; one add per chunk leaves the
program -- plain stores when one program covers every channel (deterministic), atomics otherwise.
A tile's adjoint carry and its dA / dD / d bias / d dt_proj_weight partials live in global scratch rows that
only this program touches (a barrier orders a tile's store before the next chunk's load). The math per
tile is that of cross_bwd_kernel (_chunk_adjoint, _chunk_states, _chunk_grads).
"""

import triton
import triton.language as tl

from posemamba_cli.ops._triton_scan_parts import (
    LOG2E,
    _chunk_adjoint,
    _chunk_edges,
    _chunk_grads,
    _chunk_state_ptr,
    _chunk_states,
    _reverse_chunk,
    _softplus,
)


@triton.jit
def _add_into(ptrs, value, mask):
    """ptrs += value (rows only this program writes)."""
    tl.store(ptrs, tl.load(ptrs, mask=mask, other=0.0) + value, mask=mask)


@triton.jit
def cross_bwd_grouped_kernel(
    u_ptr, x_ptr, ord_ptr, w_ptr, bias_ptr, A_ptr, D_ptr, dy_ptr, ck_ptr, carry_ptr, dts_ptr,
    du_ptr, dx_ptr, dA_ptr, dD_ptr, dbias_ptr, dw_ptr,
    su_b, su_p, su_d, sx_b, sx_p, sy_b, sy_p, sy_d,
    Di, P, R, N, n_dgrp, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, GROUP: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, BR: tl.constexpr,
    T: tl.constexpr, HAS_D: tl.constexpr, ACC: tl.constexpr, LOCAL: tl.constexpr, ATOMIC: tl.constexpr,
):
    """One group's gradients. carry (b, n_seg, Di, N): the adjoint entering each segment from its end
    (zeros or the combine pass's), updated in place -- after a LOCAL pass it holds each segment's own carry;
    dts (b, n_seg, Di) zeroed: LOCAL's sums of dt. du (b, P, Di) float32 (+= when ACC); dx (b, P, R + 2N)
    float32, zeroed when ATOMIC; dA, dD, dbias, dw (b, n_seg, Di[, N | R]) zeroed per-segment partials."""
    pid = tl.program_id(0)
    seg = tl.program_id(1)
    b = pid // n_dgrp
    g = pid % n_dgrp
    b64 = b.to(tl.int64)
    offs_t = tl.arange(0, T)
    offs_n = tl.arange(0, BN)
    mask_n = offs_n < N
    offs_r = tl.arange(0, BR)
    mask_r = offs_r < R
    part = (b * n_seg + seg) * Di
    x_base = x_ptr + b64 * sx_b
    dx_base = dx_ptr + b64 * P * (R + 2 * N)
    first, last = _chunk_edges(offs_t)
    for i in range(SEG_CHUNKS):  # chunks past the end are fully masked (identity steps)
        c, tt, mask_t = _reverse_chunk(seg, i, SEG_CHUNKS, offs_t, P)
        pos = tl.load(ord_ptr + tt, mask=mask_t, other=0)  # (T) grid positions, once for every tile
        mb = mask_n[:, None] & mask_t[None, :]
        mr = mask_r[:, None] & mask_t[None, :]
        xcol = x_base + pos[None, :] * sx_p
        dtl = tl.load(xcol + offs_r[:, None], mask=mr, other=0.0).to(tl.float32)  # (BR, T)
        Cv = tl.load(xcol + R + N + offs_n[:, None], mask=mb, other=0.0).to(tl.float32)  # (BN, T)
        Bv = tl.load(xcol + R + offs_n[:, None], mask=mb, other=0.0).to(tl.float32)
        acc_dB = tl.zeros((BN, T), dtype=tl.float32)
        acc_dC = tl.zeros((BN, T), dtype=tl.float32)
        acc_dtl = tl.zeros((BR, T), dtype=tl.float32)
        for j in range(GROUP):
            offs_d = (g * GROUP + j) * BD + tl.arange(0, BD)
            mask_d = offs_d < Di
            mask_dn = mask_d[:, None] & mask_n[None, :]
            state_off = offs_d[:, None] * N + offs_n[None, :]
            m2 = mask_d[:, None] & mask_t[None, :]
            w = tl.load(w_ptr + offs_d[:, None] * R + offs_r[None, :], mask=mask_d[:, None] & mask_r[None, :],
                        other=0.0)  # (BD, BR)
            bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0)
            A_nat = tl.load(A_ptr + state_off, mask=mask_dn, other=0.0)
            xr = tl.sum(w[:, :, None] * dtl[None, :, :], axis=1) + bias[:, None]  # (BD, T) pre-softplus
            dt = tl.where(m2, _softplus(xr), 0.0)
            a = tl.exp2(dt[:, None, :] * (A_nat * LOG2E)[:, :, None])
            dyv = tl.load(dy_ptr + b64 * sy_b + offs_d[:, None] * sy_d + pos[None, :] * sy_p, mask=m2,
                          other=0.0).to(tl.float32)
            carry_ptrs = carry_ptr + part * N + state_off
            G, carry = _chunk_adjoint(a, dyv, Cv, tl.load(carry_ptrs, mask=mask_dn, other=0.0), first, last)
            tl.store(carry_ptrs, carry, mask=mask_dn)
            if LOCAL:
                _add_into(dts_ptr + part + offs_d, tl.sum(dt, axis=1), mask_d)
            else:
                uv = tl.load(u_ptr + b64 * su_b + offs_d[:, None] * su_d + pos[None, :] * su_p, mask=m2,
                             other=0.0).to(tl.float32)
                h0 = tl.load(_chunk_state_ptr(ck_ptr, b, c, n_chunks, Di, N) + state_off,
                             mask=mask_dn & (state_off * 0 + c < n_chunks), other=0.0)
                dtu = dt * uv
                xb = dtu[:, None, :] * Bv[None, :, :]
                hs = _chunk_states(a, xb, h0, first)
                acc_dC += tl.sum(dyv[:, None, :] * hs, axis=0)
                acc_dB += tl.sum(G * dtu[:, None, :], axis=0)
                ddt, dA_chunk, duv = _chunk_grads(G, hs, xb, Bv, A_nat, dt, uv)
                _add_into(dA_ptr + part * N + state_off, dA_chunk, mask_dn)
                if HAS_D:
                    dval = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0)
                    duv += dyv * dval[:, None]
                    _add_into(dD_ptr + part + offs_d, tl.sum(dyv * uv, axis=1), mask_d)
                ddt = tl.where(m2, ddt / (1.0 + tl.exp(-xr)), 0.0)  # through the softplus
                _add_into(dbias_ptr + part + offs_d, tl.sum(ddt, axis=1), mask_d)
                _add_into(dw_ptr + part * R + offs_d[:, None] * R + offs_r[None, :],
                          tl.sum(ddt[:, None, :] * dtl[None, :, :], axis=2), mask_d[:, None] & mask_r[None, :])
                acc_dtl += tl.sum(w[:, :, None] * ddt[:, None, :], axis=0)
                du_ptrs = du_ptr + b64 * P * Di + offs_d[:, None] + pos[None, :] * Di
                if ACC:
                    duv += tl.load(du_ptrs, mask=m2, other=0.0)
                tl.store(du_ptrs, duv, mask=m2)
            tl.debug_barrier()  # this tile's scratch rows are read again at the next chunk
        if not LOCAL:
            dxcol = dx_base + pos[None, :] * (R + 2 * N)
            if ATOMIC:
                tl.atomic_add(dxcol + R + N + offs_n[:, None], acc_dC, mask=mb)
                tl.atomic_add(dxcol + R + offs_n[:, None], acc_dB, mask=mb)
                tl.atomic_add(dxcol + offs_r[:, None], acc_dtl, mask=mr)
            else:
                tl.store(dxcol + R + N + offs_n[:, None], acc_dC, mask=mb)
                tl.store(dxcol + R + offs_n[:, None], acc_dB, mask=mb)
                tl.store(dxcol + offs_r[:, None], acc_dtl, mask=mr)
