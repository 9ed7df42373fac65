"""Triton kernels of the fused cross scan (loaded by cross_scan_triton.py; compiled, or interpreted on CPU).

One launch runs one group k over the shared grid of P positions: step l visits position p = order[l]
and reads, at p, the group's input u (channels-last: the BD channels of a program are contiguous, so
every step's load is one coalesced row) and its projections xdbl = (dt_low (R), B (N), C (N)), which a
matmul formed on the un-permuted grid (a projection is per position, so it does not care about order).
delta = softplus(w . dt_low + bias) is formed in the kernel; nothing is gathered into scan order.

Work unit: a program owns BD channels of one batch row and a run of time chunks (a segment); segments
are chained two-level as in _triton_kernels.py (local pass, seg_combine_kernel, full pass), which gives
parallelism at batch 1. A launch owns its group's outputs at every grid position it visits and groups run
one after another on the stream, so accumulating into the shared y / du needs no atomics and the sum
over groups is deterministic; only the projection gradients (summed over channel tiles) use atomics.

Forward (cross_fwd_kernel): the state (BD, N) walks time step by step (UNROLL steps unrolled so their
loads are in flight together), saving the state entering every chunk of T steps when a backward will
follow. Backward (cross_bwd_kernel): chunks in reverse; the chunk's (BD, N, T) tile is recomputed from
its checkpoint by an associative scan, the adjoint G_t = dy_t C_t + a_{t+1} G_{t+1} by a reverse one.
"""

import triton
import triton.language as tl

from posemamba_cli.ops._triton_scan_parts import (
    LOG2E,
    _channel_rows,
    _chunk_adjoint,
    _chunk_edges,
    _chunk_grads,
    _chunk_state_ptr,
    _chunk_states,
    _reverse_chunk,
    _segment_start,
    _softplus,
    _state_tile,
    _store_segment_end,
)


@triton.jit
def _dt_projection(w_ptr, bias_ptr, D_ptr, offs_d, mask_d, R, BR: tl.constexpr, HAS_D: tl.constexpr):
    """The tile's (BR) rank offsets and mask, its rows of dt_proj w (BD, BR), bias (BD) and D (BD; zeros
    without D)."""
    offs_r = tl.arange(0, BR)
    mask_r = offs_r < R
    w = tl.load(w_ptr + offs_d[:, None] * R + offs_r[None, :], mask=mask_d[:, None] & mask_r[None, :], other=0.0)
    bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0)
    if HAS_D:
        dval = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0)
    else:
        dval = bias * 0.0
    return offs_r, mask_r, w, bias, dval


@triton.jit
def _step_inputs(t, P, ord_ptr, x_base, sx_p, u_base, su_p, offs_d, mask_d, offs_r, mask_r, w, bias):
    """Scan step t: (BD) mask of a real step, its grid position p, p's row of projections, u (BD) and
    dt = softplus(w . dt_low + bias) (BD; zero past the end)."""
    valid = mask_d & (offs_d * 0 + t < P)  # a tensor mask: interpreters reject scalar bools
    p = tl.load(ord_ptr + tl.minimum(t, P - 1)).to(tl.int64)  # past the end: a real row, dt = 0
    xrow = x_base + p * sx_p
    uv = tl.load(u_base + p * su_p, mask=mask_d, other=0.0).to(tl.float32)
    dtl = tl.load(xrow + offs_r, mask=mask_r, other=0.0).to(tl.float32)
    dt = tl.where(valid, _softplus(tl.sum(w * dtl[None, :], axis=1) + bias), 0.0)
    return valid, p, xrow, uv, dt


@triton.jit
def _store_y(y_ptrs, yv, uv, dval, valid, HAS_D: tl.constexpr, ACC: tl.constexpr):
    """y at one step (BD): the state's share yv, plus D u, plus what is there already when ACC."""
    if HAS_D:
        yv += uv * dval
    if ACC:
        yv += tl.load(y_ptrs, mask=valid, other=0.0)
    tl.store(y_ptrs, yv, mask=valid)


@triton.jit
def _exp2_fma(x):
    """2^x for -125 <= x <= 0 on the FMA pipe, not the special-function unit: round by a magic number,
    a degree-5 polynomial for 2^f on [-1/2, 1/2] (relative error < 2e-7), the exponent added as an integer."""
    x = tl.maximum(x, -125.0)
    t = x + 12582912.0  # 1.5 * 2^23: the low mantissa bits of t hold round(x)
    f = x - (t - 12582912.0)
    p = f * 1.3264631541e-3 + 9.6714868816e-3
    p = p * f + 5.5507337428e-2
    p = p * f + 2.4022242493e-1
    p = p * f + 6.9314697778e-1
    p = p * f + 1.0
    shift = (t.to(tl.int32, bitcast=True) - 0x4B400000) << 23
    return (p.to(tl.int32, bitcast=True) + shift).to(tl.float32, bitcast=True)


@triton.jit
def _part_offsets(start, S: tl.constexpr, N, offs_d, mask_d):
    offs_n = start + tl.arange(0, S)
    mask = mask_d[:, None] & (offs_n < N)[None, :]
    return offs_n, mask, offs_d[:, None] * N + offs_n[None, :]


@triton.jit
def _part_step(h, A2, xrow, R, offs_n, N, dt, dtu, POLY: tl.constexpr, WANT_Y: tl.constexpr):
    """Advance the state (or one part of it: states offs_n) by a step; its share of y (zeros unless WANT_Y)."""
    Bt = tl.load(xrow + R + offs_n, mask=offs_n < N, other=0.0).to(tl.float32)
    x = dt[:, None] * A2
    if POLY:
        a = _exp2_fma(x)
    else:
        a = tl.exp2(x)
    h = a * h + dtu[:, None] * Bt[None, :]
    if WANT_Y:
        Ct = tl.load(xrow + R + N + offs_n, mask=offs_n < N, other=0.0).to(tl.float32)
        yv = tl.sum(h * Ct[None, :], axis=1)
    else:
        yv = dt * 0.0
    return h, yv


@triton.jit
def cross_fwd_kernel(
    u_ptr, x_ptr, ord_ptr, w_ptr, bias_ptr, A_ptr, D_ptr, y_ptr, ck_ptr, hin_ptr, hout_ptr, dts_ptr,
    su_b, su_p, su_d, sx_b, sx_p,
    Di, P, R, N, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, BR: tl.constexpr, T: tl.constexpr,
    UNROLL: tl.constexpr, HAS_D: tl.constexpr, ACC: tl.constexpr, SAVE: tl.constexpr,
    LOCAL: tl.constexpr, HAS_HIN: tl.constexpr,
):
    seg = tl.program_id(1)
    b, offs_d, mask_d = _channel_rows(n_dblk, Di, BD)
    offs_n, mask_n, mask_dn, state_off = _state_tile(offs_d, mask_d, N, BN)
    offs_r, mask_r, w, bias, dval = _dt_projection(w_ptr, bias_ptr, D_ptr, offs_d, mask_d, R, BR, HAS_D)
    A2 = tl.load(A_ptr + state_off, mask=mask_dn, other=0.0) * LOG2E
    h = _segment_start(hin_ptr, (b * n_seg + seg) * Di, N, state_off, mask_dn, A2 * 0.0, HAS_HIN)
    dsum = bias * 0.0
    u_base = u_ptr + b.to(tl.int64) * su_b + offs_d * su_d
    x_base = x_ptr + b.to(tl.int64) * sx_b
    y_base = y_ptr + b.to(tl.int64) * P * Di + offs_d
    c0 = seg * SEG_CHUNKS
    for i in range(SEG_CHUNKS):
        c = c0 + i
        if SAVE:
            tl.store(_chunk_state_ptr(ck_ptr, b, c, n_chunks, Di, N) + state_off, h,
                     mask=mask_dn & (state_off * 0 + c < n_chunks))
        for s0 in range(0, T, UNROLL):
            for s in tl.static_range(UNROLL):
                valid, p, xrow, uv, dt = _step_inputs(c * T + s0 + s, P, ord_ptr, x_base, sx_p, u_base, su_p,
                                                      offs_d, mask_d, offs_r, mask_r, w, bias)
                h, yv = _part_step(h, A2, xrow, R, offs_n, N, dt, dt * uv, False, not LOCAL)
                if LOCAL:
                    dsum += dt
                else:
                    _store_y(y_base + p * Di, yv, uv, dval, valid, HAS_D, ACC)
    if LOCAL:
        _store_segment_end(hout_ptr, dts_ptr, (b * n_seg + seg) * Di, N, state_off, offs_d, h, dsum, mask_dn, mask_d)


@triton.jit
def cross_bwd_kernel(
    u_ptr, x_ptr, ord_ptr, w_ptr, bias_ptr, A_ptr, D_ptr, dy_ptr, ck_ptr, gin_ptr, gout_ptr, dts_ptr,
    du_ptr, dx_ptr, dA_ptr, dD_ptr, dbias_ptr, dw_ptr,
    su_b, su_p, su_d, sx_b, sx_p, sy_b, sy_p, sy_d,
    Di, P, R, N, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, BR: tl.constexpr, T: tl.constexpr,
    HAS_D: tl.constexpr, ACC: tl.constexpr, LOCAL: tl.constexpr, HAS_GIN: tl.constexpr,
):
    """Gradients of one group. du (b, P, Di) float32, accumulated when ACC (another group shares the
    source); dx (b, P, R + 2N) float32, zeroed: d dt_low, dB, dC by atomics; dA, dD, dbias, dw: per
    (batch row, segment) partials. LOCAL: only the adjoint carry leaving each segment (and its sum of dt)."""
    seg = tl.program_id(1)
    b, offs_d, mask_d = _channel_rows(n_dblk, Di, BD)
    offs_n, mask_n, mask_dn, state_off = _state_tile(offs_d, mask_d, N, BN)
    offs_r, mask_r, w, bias, dval = _dt_projection(w_ptr, bias_ptr, D_ptr, offs_d, mask_d, R, BR, HAS_D)
    offs_t = tl.arange(0, T)
    mask_dr = mask_d[:, None] & mask_r[None, :]
    A_nat = tl.load(A_ptr + state_off, mask=mask_dn, other=0.0)
    A2 = A_nat * LOG2E
    zero = tl.zeros((BD, BN), dtype=tl.float32)
    carry = _segment_start(gin_ptr, (b * n_seg + seg) * Di, N, state_off, mask_dn, zero, HAS_GIN)
    dsum = tl.zeros((BD,), dtype=tl.float32)
    dA_acc = tl.zeros((BD, BN), dtype=tl.float32)
    dD_acc = tl.zeros((BD,), dtype=tl.float32)
    db_acc = tl.zeros((BD,), dtype=tl.float32)
    dw_acc = tl.zeros((BD, BR), dtype=tl.float32)
    b64 = b.to(tl.int64)
    u_base = u_ptr + b64 * su_b + offs_d[:, None] * su_d
    x_base = x_ptr + b64 * sx_b
    dx_base = dx_ptr + b64 * P * (R + 2 * N)
    dy_base = dy_ptr + b64 * sy_b + offs_d[:, None] * sy_d
    du_base = du_ptr + b64 * P * Di + offs_d[:, None]
    first, last = _chunk_edges(offs_t)
    for i in range(SEG_CHUNKS):  # chunks past the end are fully masked (identity steps)
        c, tt, mask_t = _reverse_chunk(seg, i, SEG_CHUNKS, offs_t, P)
        pos = tl.load(ord_ptr + tt, mask=mask_t, other=0).to(tl.int64)  # (T,) grid positions
        m2 = mask_d[:, None] & mask_t[None, :]
        mb = mask_n[:, None] & mask_t[None, :]
        mr = mask_r[:, None] & mask_t[None, :]
        xcol = x_base + pos[None, :] * sx_p
        dtl = tl.load(xcol + offs_r[:, None], mask=mr, other=0.0).to(tl.float32)  # (BR, T)
        xr = tl.sum(w[:, :, None] * dtl[None, :, :], axis=1) + bias[:, None]  # (BD, T) pre-softplus
        dt = tl.where(m2, _softplus(xr), 0.0)
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        dyv = tl.load(dy_base + pos[None, :] * sy_p, mask=m2, other=0.0).to(tl.float32)
        Cv = tl.load(xcol + R + N + offs_n[:, None], mask=mb, other=0.0).to(tl.float32)
        G, carry = _chunk_adjoint(a, dyv, Cv, carry, first, last)
        if LOCAL:
            dsum += tl.sum(dt, axis=1)
        else:
            uv = tl.load(u_base + pos[None, :] * su_p, mask=m2, other=0.0).to(tl.float32)
            Bv = tl.load(xcol + R + offs_n[:, None], mask=mb, other=0.0).to(tl.float32)
            h0 = tl.load(_chunk_state_ptr(ck_ptr, b, c, n_chunks, Di, N) + state_off,
                         mask=mask_dn & (state_off * 0 + c < n_chunks), other=0.0)
            dtu = dt * uv
            xb = dtu[:, None, :] * Bv[None, :, :]
            hs = _chunk_states(a, xb, h0, first)
            dxcol = dx_base + pos[None, :] * (R + 2 * N)
            tl.atomic_add(dxcol + R + N + offs_n[:, None], tl.sum(dyv[:, None, :] * hs, axis=0), mask=mb)  # dC
            tl.atomic_add(dxcol + R + offs_n[:, None], tl.sum(G * dtu[:, None, :], axis=0), mask=mb)  # dB
            ddt, dA_chunk, duv = _chunk_grads(G, hs, xb, Bv, A_nat, dt, uv)
            dA_acc += dA_chunk
            if HAS_D:
                duv += dyv * dval[:, None]
                dD_acc += tl.sum(dyv * uv, axis=1)
            ddt = tl.where(m2, ddt / (1.0 + tl.exp(-xr)), 0.0)  # through the softplus
            db_acc += tl.sum(ddt, axis=1)
            dw_acc += tl.sum(ddt[:, None, :] * dtl[None, :, :], axis=2)
            tl.atomic_add(dxcol + offs_r[:, None], tl.sum(w[:, :, None] * ddt[:, None, :], axis=0), mask=mr)
            du_ptrs = du_base + pos[None, :] * Di
            if ACC:
                duv += tl.load(du_ptrs, mask=m2, other=0.0)
            tl.store(du_ptrs, duv, mask=m2)
    part = (b * n_seg + seg) * Di
    if LOCAL:
        _store_segment_end(gout_ptr, dts_ptr, part, N, state_off, offs_d, carry, dsum, mask_dn, mask_d)
    else:
        tl.store(dA_ptr + part * N + state_off, dA_acc, mask=mask_dn)
        tl.store(dD_ptr + part + offs_d, dD_acc, mask=mask_d)
        tl.store(dbias_ptr + part + offs_d, db_acc, mask=mask_d)
        tl.store(dw_ptr + part * R + offs_d[:, None] * R + offs_r[None, :], dw_acc, mask=mask_dr)


@triton.jit
def cross_fwd_split_kernel(
    u_ptr, x_ptr, ord_ptr, w_ptr, bias_ptr, A_ptr, D_ptr, y_ptr, ck_ptr, hin_ptr, hout_ptr, dts_ptr,
    su_b, su_p, su_d, sx_b, sx_p,
    Di, P, R, N, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, BR: tl.constexpr, T: tl.constexpr,
    UNROLL: tl.constexpr, HAS_D: tl.constexpr, ACC: tl.constexpr, SAVE: tl.constexpr,
    LOCAL: tl.constexpr, HAS_HIN: tl.constexpr,
):
    """cross_fwd_kernel's contract, with the state in three parts of N/4, N/4 and N/2 states; the first
    part's exp(dt A) runs on the FMA pipe (_exp2_fma), the others on the special-function unit, to spread
    the exponentials of a MUFU-bound forward over both pipes. Needs BN >= 4."""
    Q: tl.constexpr = BN // 4
    H: tl.constexpr = BN // 2
    seg = tl.program_id(1)
    b, offs_d, mask_d = _channel_rows(n_dblk, Di, BD)
    offs_r, mask_r, w, bias, dval = _dt_projection(w_ptr, bias_ptr, D_ptr, offs_d, mask_d, R, BR, HAS_D)
    n0, m0, s0_off = _part_offsets(0, Q, N, offs_d, mask_d)
    n1, m1, s1_off = _part_offsets(Q, Q, N, offs_d, mask_d)
    n2, m2, s2_off = _part_offsets(H, H, N, offs_d, mask_d)
    A0 = tl.load(A_ptr + s0_off, mask=m0, other=0.0) * LOG2E
    A1 = tl.load(A_ptr + s1_off, mask=m1, other=0.0) * LOG2E
    A2 = tl.load(A_ptr + s2_off, mask=m2, other=0.0) * LOG2E
    part = (b * n_seg + seg) * Di
    state = part * N
    h0 = _segment_start(hin_ptr, part, N, s0_off, m0, A0 * 0.0, HAS_HIN)
    h1 = _segment_start(hin_ptr, part, N, s1_off, m1, A1 * 0.0, HAS_HIN)
    h2 = _segment_start(hin_ptr, part, N, s2_off, m2, A2 * 0.0, HAS_HIN)
    dsum = bias * 0.0
    u_base = u_ptr + b.to(tl.int64) * su_b + offs_d * su_d
    x_base = x_ptr + b.to(tl.int64) * sx_b
    y_base = y_ptr + b.to(tl.int64) * P * Di + offs_d
    c0 = seg * SEG_CHUNKS
    for i in range(SEG_CHUNKS):
        c = c0 + i
        if SAVE:
            ck = _chunk_state_ptr(ck_ptr, b, c, n_chunks, Di, N)
            tl.store(ck + s0_off, h0, mask=m0 & (s0_off * 0 + c < n_chunks))
            tl.store(ck + s1_off, h1, mask=m1 & (s1_off * 0 + c < n_chunks))
            tl.store(ck + s2_off, h2, mask=m2 & (s2_off * 0 + c < n_chunks))
        for s0 in range(0, T, UNROLL):
            for s in tl.static_range(UNROLL):
                valid, p, xrow, uv, dt = _step_inputs(c * T + s0 + s, P, ord_ptr, x_base, sx_p, u_base, su_p,
                                                      offs_d, mask_d, offs_r, mask_r, w, bias)
                dtu = dt * uv
                h0, y0 = _part_step(h0, A0, xrow, R, n0, N, dt, dtu, True, not LOCAL)
                h1, y1 = _part_step(h1, A1, xrow, R, n1, N, dt, dtu, False, not LOCAL)
                h2, y2 = _part_step(h2, A2, xrow, R, n2, N, dt, dtu, False, not LOCAL)
                if LOCAL:
                    dsum += dt
                else:
                    _store_y(y_base + p * Di, y0 + y1 + y2, uv, dval, valid, HAS_D, ACC)
    if LOCAL:
        tl.store(hout_ptr + state + s0_off, h0, mask=m0)
        tl.store(hout_ptr + state + s1_off, h1, mask=m1)
        tl.store(hout_ptr + state + s2_off, h2, mask=m2)
        tl.store(dts_ptr + part + offs_d, dsum, mask=mask_d)
