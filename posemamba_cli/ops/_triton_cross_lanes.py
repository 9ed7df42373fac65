"""The cross scan's forward with one thread per channel (variants "grid" and "lane" of CrossScanTriton).

One launch runs every group: program (batch row x channel block, group k, time segment). The state tile is
(BN, BD) -- states along the first axis, channels along the second -- so with BD = 32 x num_warps each
thread owns one channel and all of its BN states in registers: the sum over states for y is in-thread (no
shuffles), dt = softplus(w . dt_low + bias) is formed once per (channel, step), and u / y rows are read and
written coalesced along channels. A group writes its own output y[k] (plain stores; the caller sums the K
outputs, so the result is deterministic and no group reads another's y). exp(dt A) = 2^(dt A log2 e) with
A pre-scaled: one MUFU.EX2 per (state, channel, step).

STAGE=False ("grid"): each step loads its order index, u row and y row. STAGE=True ("lane"): a chunk's T
order indices and its (T, BD) tile of u are loaded once per chunk, y is gathered into a (T, BD) tile and
stored once per chunk (each thread holds its channel's T values, so picking step s is a register move);
the step's projections (dt_low, B, C) are broadcast loads (the same row for every thread: L1 hits).
Segments (batch too small to fill the GPU) are chained as in _triton_cross_kernels.py (LOCAL pass,
seg_combine_kernel per group, full pass).
"""

import triton
import triton.language as tl

from posemamba_cli.ops._triton_scan_parts import LOG2E, _softplus


@triton.jit
def _lane_place(n_dblk, Di, N, R, BD: tl.constexpr, BN: tl.constexpr, BR: tl.constexpr):
    """A lanes program's place (grid: batch row x channel tile, group, segment): pid, group k, segment, batch row
    b, its channels, states and projection rows with their masks."""
    pid = tl.program_id(0)
    offs_d = (pid % n_dblk) * BD + tl.arange(0, BD)
    offs_n = tl.arange(0, BN)
    offs_r = tl.arange(0, BR)
    return (pid, tl.program_id(1), tl.program_id(2), pid // n_dblk, offs_d, offs_d < Di, offs_n, offs_n < N,
            offs_r, offs_r < R)


@triton.jit
def _rows(offs, n: tl.constexpr):
    """offs (n) as (n, 1) row offsets whose contiguity the compiler's analysis does not see (a select it
    does not follow; LLVM folds it back to constants). Loads along such rows then keep the state's layout,
    a whole column per thread (one thread per channel), rather than being vectorised along the rows, which
    would spread a channel's states over lanes and warps (shuffles, barriers, layout conversions)."""
    col = offs[:, None]
    return tl.where(col < n, col, 0)


@triton.jit
def _cols(offs, n: tl.constexpr):
    """offs (n) as (1, n) column offsets hidden from the contiguity analysis like _rows."""
    row = offs[None, :]
    return tl.where(row < n, row, 0)


@triton.jit
def _pick(k, p0, p1, p2, p3):
    """Group k's pointer among up to four (groups may share a source)."""
    p = p0
    if k == 1:
        p = p1
    elif k == 2:
        p = p2
    elif k == 3:
        p = p3
    return p


@triton.jit
def _lane_step(h, A2, xrow, rows_r, mask_r, rows_n, mask_n, R, N, w, bias, uv, valid, WANT_Y: tl.constexpr,
               EVEN: tl.constexpr):
    """One step on the (BN, BD) state: dt (BD) once per channel, the new state and its y share (BD).
    xrow (BD): the step's projection row, the same for every channel (so every load below is a broadcast
    with the state's layout: one thread per channel holds the whole column). EVEN: N and R fill their tiles
    (no masks, so no registers to zero before each load)."""
    if EVEN:
        dtl = tl.load(xrow[None, :] + rows_r).to(tl.float32)  # (BR, BD)
        Bt = tl.load(xrow[None, :] + R + rows_n).to(tl.float32)  # (BN, BD)
    else:
        dtl = tl.load(xrow[None, :] + rows_r, mask=mask_r[:, None], other=0.0).to(tl.float32)
        Bt = tl.load(xrow[None, :] + R + rows_n, mask=mask_n[:, None], other=0.0).to(tl.float32)
    dt = tl.where(valid, _softplus(tl.sum(w * dtl, axis=0) + bias), 0.0)  # (BD)
    h = tl.exp2(dt[None, :] * A2) * h + (dt * uv)[None, :] * Bt
    if WANT_Y:
        if EVEN:
            Ct = tl.load(xrow[None, :] + R + N + rows_n).to(tl.float32)
        else:
            Ct = tl.load(xrow[None, :] + R + N + rows_n, mask=mask_n[:, None], other=0.0).to(tl.float32)
        yv = tl.sum(h * Ct, axis=0)
    else:
        yv = dt
    return h, dt, yv


@triton.jit
def cross_fwd_lanes_kernel(
    u0_ptr, u1_ptr, u2_ptr, u3_ptr, x0_ptr, x1_ptr, x2_ptr, x3_ptr,
    ord_ptr, w_ptr, bias_ptr, A_ptr, D_ptr, y_ptr, ck_ptr, hin_ptr, hout_ptr, dts_ptr,
    su_b, su_p, su_d, sx_b, sx_p,
    batch, Di, P, R, N, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, BR: tl.constexpr, T: tl.constexpr,
    UNROLL: tl.constexpr, HAS_D: tl.constexpr, SAVE: tl.constexpr, LOCAL: tl.constexpr, HAS_HIN: tl.constexpr,
    STAGE: tl.constexpr, EVEN: tl.constexpr,
):
    """u_k (batch, P, Di) any strides (shared by the groups), x_k (batch, P, R + 2N) rows of stride sx_p;
    ord (K, P) int32; w (K, Di, R), bias (K, Di), A (K*Di, N), D (K*Di) float32; y (K, batch, P, Di) float32,
    each group's own; ck (K, batch, n_chunks, Di, N) the state entering every chunk (SAVE); hin / hout
    (K, batch, n_seg, Di, N) and dts (K, batch, n_seg, Di): segment carries in / summaries out (LOCAL)."""
    pid, k, seg, b, offs_d, mask_d, offs_n, mask_n, offs_r, mask_r = _lane_place(n_dblk, Di, N, R, BD, BN, BR)
    mask_nd = mask_n[:, None] & mask_d[None, :]
    rows_n = _rows(offs_n, BN)
    rows_r = _rows(offs_r, BR)
    state_off = offs_d[None, :] * N + rows_n  # (BN, BD) into a (Di, N) state
    kd = k * Di
    w = tl.load(w_ptr + (kd + offs_d[None, :]) * R + rows_r, mask=mask_r[:, None] & mask_d[None, :],
                other=0.0)  # (BR, BD)
    bias = tl.load(bias_ptr + kd + offs_d, mask=mask_d, other=0.0)
    A2 = tl.load(A_ptr + kd * N + state_off, mask=mask_nd, other=0.0) * LOG2E
    if HAS_D:
        dval = tl.load(D_ptr + kd + offs_d, mask=mask_d, other=0.0)
    part = ((k * batch + b) * n_seg + seg) * Di  # this (group, row, segment)'s (Di) block of summaries
    h = tl.zeros((BN, BD), dtype=tl.float32)
    if HAS_HIN:
        h = tl.load(hin_ptr + part.to(tl.int64) * N + state_off, mask=mask_nd, other=0.0)
    dsum = tl.zeros((BD,), dtype=tl.float32)
    u_base = _pick(k, u0_ptr, u1_ptr, u2_ptr, u3_ptr) + b.to(tl.int64) * su_b + offs_d * su_d
    x_base = _pick(k, x0_ptr, x1_ptr, x2_ptr, x3_ptr) + b.to(tl.int64) * sx_b
    y_base = y_ptr + (k * batch + b).to(tl.int64) * P * Di + offs_d
    ord_k = ord_ptr + k * P
    if STAGE:  # (1, BD) channel offsets of the (UNROLL, BD) tiles, hidden as rows are: not vectorised along channels
        chan = (pid % n_dblk) * BD + _cols(tl.arange(0, BD), BD)
        u_tile = _pick(k, u0_ptr, u1_ptr, u2_ptr, u3_ptr) + b.to(tl.int64) * su_b + chan * su_d
        y_tile = y_ptr + (k * batch + b).to(tl.int64) * P * Di + chan
    offs_t = tl.arange(0, UNROLL)
    c0 = seg * SEG_CHUNKS
    for i in range(SEG_CHUNKS):
        c = c0 + i
        if SAVE:
            ck = ck_ptr + ((k * batch + b) * n_chunks + c).to(tl.int64) * Di * N
            tl.store(ck + state_off, h, mask=mask_nd & (state_off * 0 + c < n_chunks))
        for s0 in range(0, T, UNROLL):
            if STAGE:  # UNROLL steps' order indices and u rows at once, their y rows stored at once
                tt = c * T + s0 + offs_t
                mask_t = tt < P
                m_td = mask_t[:, None] & mask_d[None, :]
                # (UNROLL, BD): every thread loads the steps' positions (a broadcast), so a pick is in-thread
                PT = tl.load(ord_k + c * T + s0 + _rows(offs_t, UNROLL) + offs_d[None, :] * 0,
                             mask=mask_t[:, None], other=0)
                U = tl.load(u_tile + PT * su_p, mask=m_td, other=0.0).to(tl.float32)
                Y = tl.zeros((UNROLL, BD), dtype=tl.float32)
                for s in tl.static_range(UNROLL):
                    sel = offs_t[:, None] == s
                    p = tl.sum(tl.where(sel, PT, 0), axis=0)  # (BD), all equal: register picks once unrolled
                    uv = tl.sum(tl.where(sel, U, -0.0), axis=0)
                    valid = mask_d & (offs_d * 0 + c * T + s0 + s < P)
                    h, dt, yv = _lane_step(h, A2, x_base + p * sx_p, rows_r, mask_r, rows_n, mask_n, R, N, w, bias,
                                           uv, valid, not LOCAL, EVEN)
                    if LOCAL:
                        dsum += dt
                    else:
                        if HAS_D:
                            yv += dval * uv
                        Y = tl.where(sel, yv[None, :], Y)
                if not LOCAL:
                    tl.store(y_tile + PT * Di, Y, mask=m_td)
            else:
                for s in tl.static_range(UNROLL):
                    t = c * T + s0 + s
                    p = tl.load(ord_k + tl.minimum(t, P - 1))  # past the end: a real row, dt = 0
                    valid = mask_d & (offs_d * 0 + t < P)
                    uv = tl.load(u_base + p * su_p, mask=mask_d, other=0.0).to(tl.float32)
                    h, dt, yv = _lane_step(h, A2, x_base + p * sx_p + offs_d * 0, rows_r, mask_r, rows_n, mask_n,
                                           R, N, w, bias, uv, valid, not LOCAL, EVEN)
                    if LOCAL:
                        dsum += dt
                    else:
                        if HAS_D:
                            yv += dval * uv
                        tl.store(y_base + p * Di, yv, mask=valid)
    if LOCAL:
        tl.store(hout_ptr + part.to(tl.int64) * N + state_off, h, mask=mask_nd)
        tl.store(dts_ptr + part + offs_d, dsum, mask=mask_d)
