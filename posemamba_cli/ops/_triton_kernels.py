"""Triton kernels of the selective scan (loaded by scan_triton.py, compiled or in interpreter mode).

Work unit: one program owns BD channels of one batch row (all in one group) and a run of time chunks
(a segment). A chunk is a (BD, N, T) tile held in registers: softplus(delta + bias), exp(delta * A),
the recurrence as an associative scan along T (carry folded into the first element) and the C
contraction all happen on it, so nothing of size L x D x N reaches memory.

scan_fwd_seq_kernel is the other forward (the default, faster on an H100): the same contract, but the
recurrence walks time step by step on a (BD, N) state with a few steps unrolled.

Two-level scan for parallelism at small batch: a "local" pass gives each segment's end state from a
zero start and its sum of delta; a tiny combine kernel chains the segments; the full pass then runs
every segment from its true start state. With one segment the local and combine passes are skipped.

The forward saves the state entering every chunk; the backward walks its chunks in reverse, recomputes
the chunk's states from that checkpoint and runs the adjoint recurrence
    G_t = dy_t C_t + a_{t+1} G_{t+1}           (G_t: total gradient into h_t, a_t = exp(dt_t A))
as a reverse associative scan whose elements carry their own first coefficient (so no shifted load is
needed). Segments of the backward are chained the same two-level way with the adjoint.
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
def _channel_tile(n_dblk, per_group, dim, N, BD: tl.constexpr, BN: tl.constexpr):
    """This program's batch row, channel group, (BD) channel and (BN) state offsets, masks and state offsets."""
    b, offs_d, mask_d = _channel_rows(n_dblk, dim, BD)
    g = (tl.program_id(0) % n_dblk) * BD // per_group  # the group of the tile's first channel
    offs_n, mask_n, mask_dn, state_off = _state_tile(offs_d, mask_d, N, BN)
    return b, g, offs_d, offs_n, mask_d, mask_n, mask_dn, state_off


@triton.jit
def scan_fwd_kernel(
    u_ptr, dl_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr, y_ptr, ck_ptr, hin_ptr, hout_ptr, dts_ptr,
    su_b, su_d, su_l, sd_b, sd_d, sd_l,
    sb_b, sb_g, sb_n, sb_l, sc_b, sc_g, sc_n, sc_l,
    dim, L, N, per_group, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, T: tl.constexpr,
    SOFTPLUS: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
    LOCAL: tl.constexpr, HAS_HIN: tl.constexpr,
):
    seg = tl.program_id(1)
    b, g, offs_d, offs_n, mask_d, mask_n, mask_dn, state_off = _channel_tile(n_dblk, per_group, dim, N, BD, BN)
    offs_t = tl.arange(0, T)
    A2 = tl.load(A_ptr + state_off, mask=mask_dn, other=0.0) * LOG2E
    zero = tl.zeros((BD, BN), dtype=tl.float32)
    h = _segment_start(hin_ptr, (b * n_seg + seg) * dim, N, state_off, mask_dn, zero, HAS_HIN)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0)
    if HAS_D:
        dval = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0)
    dsum = tl.zeros((BD,), dtype=tl.float32)
    u_base = u_ptr + b * su_b + offs_d[:, None] * su_d
    dl_base = dl_ptr + b * sd_b + offs_d[:, None] * sd_d
    B_base = B_ptr + b * sb_b + g * sb_g + offs_n[:, None] * sb_n
    C_base = C_ptr + b * sc_b + g * sc_g + offs_n[:, None] * sc_n
    y_base = y_ptr + b * dim * L + offs_d[:, None] * L
    first = (offs_t == 0)[None, None, :]
    last = (offs_t == T - 1)[None, None, :]
    c0 = seg * SEG_CHUNKS
    for i in range(SEG_CHUNKS):  # chunks past the end are fully masked (identity steps)
        c = c0 + i
        if not LOCAL:
            tl.store(_chunk_state_ptr(ck_ptr, b, c, n_chunks, dim, N) + state_off, h,
                     mask=mask_dn & (state_off * 0 + c < n_chunks))
        tt = c * T + offs_t
        mask_t = tt < L
        m2 = mask_d[:, None] & mask_t[None, :]
        mb = mask_n[:, None] & mask_t[None, :]
        uv = tl.load(u_base + tt[None, :] * su_l, mask=m2, other=0.0).to(tl.float32)
        dt = tl.load(dl_base + tt[None, :] * sd_l, mask=m2, other=0.0).to(tl.float32)
        if HAS_BIAS:
            dt = dt + bias[:, None]
        if SOFTPLUS:
            dt = _softplus(dt)
        dt = tl.where(m2, dt, 0.0)
        Bv = tl.load(B_base + tt[None, :] * sb_l, mask=mb, other=0.0).to(tl.float32)
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        hs = _chunk_states(a, (dt * uv)[:, None, :] * Bv[None, :, :], h, first)
        h = tl.sum(tl.where(last, hs, 0.0), axis=2)
        if LOCAL:
            dsum += tl.sum(dt, axis=1)
        else:
            Cv = tl.load(C_base + tt[None, :] * sc_l, mask=mb, other=0.0).to(tl.float32)
            yv = tl.sum(hs * Cv[None, :, :], axis=1)
            if HAS_D:
                yv += uv * dval[:, None]
            tl.store(y_base + tt[None, :], yv.to(y_ptr.dtype.element_ty), mask=m2)
    if LOCAL:
        _store_segment_end(hout_ptr, dts_ptr, (b * n_seg + seg) * dim, N, state_off, offs_d, h, dsum, mask_dn, mask_d)


@triton.jit
def scan_fwd_seq_kernel(
    u_ptr, dl_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr, y_ptr, ck_ptr, hin_ptr, hout_ptr, dts_ptr,
    su_b, su_d, su_l, sd_b, sd_d, sd_l,
    sb_b, sb_g, sb_n, sb_l, sc_b, sc_g, sc_n, sc_l,
    dim, L, N, per_group, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, T: tl.constexpr,
    SOFTPLUS: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
    LOCAL: tl.constexpr, HAS_HIN: tl.constexpr, UNROLL: tl.constexpr,
):
    """Same contract as scan_fwd_kernel; the recurrence walks time step by step on a (BD, N) state
    (UNROLL steps unrolled so their loads overlap) instead of an associative scan over a tile."""
    seg = tl.program_id(1)
    b, g, offs_d, offs_n, mask_d, mask_n, mask_dn, state_off = _channel_tile(n_dblk, per_group, dim, N, BD, BN)
    A2 = tl.load(A_ptr + state_off, mask=mask_dn, other=0.0) * LOG2E
    h = _segment_start(hin_ptr, (b * n_seg + seg) * dim, N, state_off, mask_dn, A2 * 0.0, HAS_HIN)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0)
    if HAS_D:
        dval = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0)
    dsum = tl.sum(A2, axis=1) * 0.0
    u_base = u_ptr + b * su_b + offs_d * su_d
    dl_base = dl_ptr + b * sd_b + offs_d * sd_d
    B_base = B_ptr + b * sb_b + g * sb_g + offs_n * sb_n
    C_base = C_ptr + b * sc_b + g * sc_g + offs_n * sc_n
    y_base = y_ptr + b * dim * L + offs_d * L
    c0 = seg * SEG_CHUNKS
    for i in range(SEG_CHUNKS):
        c = c0 + i
        if not LOCAL:
            tl.store(_chunk_state_ptr(ck_ptr, b, c, n_chunks, dim, N) + state_off, h,
                     mask=mask_dn & (state_off * 0 + c < n_chunks))
        for s0 in range(0, T, UNROLL):
            for s in tl.static_range(UNROLL):
                t = c * T + s0 + s
                md = mask_d & (offs_d * 0 + t < L)  # a tensor mask: interpreters reject scalar bools
                uv = tl.load(u_base + t * su_l, mask=md, other=0.0).to(tl.float32)
                dt = tl.load(dl_base + t * sd_l, mask=md, other=0.0).to(tl.float32)
                if HAS_BIAS:
                    dt = dt + bias
                if SOFTPLUS:
                    dt = tl.where(dt <= 20.0, tl.log(1.0 + tl.exp(dt)), dt)
                dt = tl.where(md, dt, 0.0)
                Bt = tl.load(B_base + t * sb_l, mask=mask_n & (offs_n * 0 + t < L), other=0.0).to(tl.float32)
                h = tl.exp2(dt[:, None] * A2) * h + (dt * uv)[:, None] * Bt[None, :]
                if LOCAL:
                    dsum += dt
                else:
                    Ct = tl.load(C_base + t * sc_l, mask=mask_n & (offs_n * 0 + t < L), other=0.0).to(tl.float32)
                    yv = tl.sum(h * Ct[None, :], axis=1)
                    if HAS_D:
                        yv += uv * dval
                    tl.store(y_base + t, yv.to(y_ptr.dtype.element_ty), mask=md)
    if LOCAL:
        _store_segment_end(hout_ptr, dts_ptr, (b * n_seg + seg) * dim, N, state_off, offs_d, h, dsum, mask_dn, mask_d)


@triton.jit
def seg_combine_kernel(A_ptr, loc_ptr, dts_ptr, out_ptr, dim, N, n_dblk, n_seg: tl.constexpr,
                       BD: tl.constexpr, BN: tl.constexpr, REVERSE: tl.constexpr):
    """out[s] = state entering segment s (forward) / adjoint carry after segment s (REVERSE)."""
    b, offs_d, mask_d = _channel_rows(n_dblk, dim, BD)
    _, _, mask_dn, state_off = _state_tile(offs_d, mask_d, N, BN)
    A2 = tl.load(A_ptr + state_off, mask=mask_dn, other=0.0) * LOG2E
    h = tl.zeros((BD, BN), dtype=tl.float32)
    for i in range(n_seg):
        if REVERSE:
            s = n_seg - 1 - i
        else:
            s = i
        base = (b * n_seg + s) * dim
        tl.store(out_ptr + base * N + state_off, h, mask=mask_dn)
        dts = tl.load(dts_ptr + base + offs_d, mask=mask_d, other=0.0)
        loc = tl.load(loc_ptr + base * N + state_off, mask=mask_dn, other=0.0)
        h = tl.exp2(A2 * dts[:, None]) * h + loc


@triton.jit
def scan_bwd_kernel(
    u_ptr, dl_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr, dy_ptr, ck_ptr, gin_ptr, gout_ptr, dts_ptr,
    du_ptr, ddl_ptr, dA_ptr, dD_ptr, dbias_ptr, dB_ptr, dC_ptr,
    su_b, su_d, su_l, sd_b, sd_d, sd_l,
    sb_b, sb_g, sb_n, sb_l, sc_b, sc_g, sc_n, sc_l,
    dim, L, N, per_group, n_groups, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, T: tl.constexpr,
    SOFTPLUS: tl.constexpr, HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr,
    LOCAL: tl.constexpr, HAS_GIN: tl.constexpr,
):
    seg = tl.program_id(1)
    b, g, offs_d, offs_n, mask_d, mask_n, mask_dn, state_off = _channel_tile(n_dblk, per_group, dim, N, BD, BN)
    offs_t = tl.arange(0, T)
    A_nat = tl.load(A_ptr + state_off, mask=mask_dn, other=0.0)
    A2 = A_nat * LOG2E
    zero = tl.zeros((BD, BN), dtype=tl.float32)
    carry = _segment_start(gin_ptr, (b * n_seg + seg) * dim, N, state_off, mask_dn, zero, HAS_GIN)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0)
    if HAS_D:
        dval = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0)
    dsum = tl.zeros((BD,), dtype=tl.float32)
    dA_acc = tl.zeros((BD, BN), dtype=tl.float32)
    dD_acc = tl.zeros((BD,), dtype=tl.float32)
    db_acc = tl.zeros((BD,), dtype=tl.float32)
    u_base = u_ptr + b * su_b + offs_d[:, None] * su_d
    dl_base = dl_ptr + b * sd_b + offs_d[:, None] * sd_d
    B_base = B_ptr + b * sb_b + g * sb_g + offs_n[:, None] * sb_n
    C_base = C_ptr + b * sc_b + g * sc_g + offs_n[:, None] * sc_n
    row_base = b * dim * L + offs_d[:, None] * L
    bc_base = (b * n_groups + g) * N * L + offs_n[:, None] * L
    first, last = _chunk_edges(offs_t)
    for i in range(SEG_CHUNKS):  # chunks past the end are fully masked (identity steps)
        c, tt, mask_t = _reverse_chunk(seg, i, SEG_CHUNKS, offs_t, L)
        m2 = mask_d[:, None] & mask_t[None, :]
        mb = mask_n[:, None] & mask_t[None, :]
        xr = tl.load(dl_base + tt[None, :] * sd_l, mask=m2, other=0.0).to(tl.float32)
        if HAS_BIAS:
            xr = xr + bias[:, None]
        if SOFTPLUS:
            dt = _softplus(xr)
        else:
            dt = xr
        dt = tl.where(m2, dt, 0.0)
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        dyv = tl.load(dy_ptr + row_base + tt[None, :], mask=m2, other=0.0).to(tl.float32)
        Cv = tl.load(C_base + tt[None, :] * sc_l, mask=mb, other=0.0).to(tl.float32)
        G, carry = _chunk_adjoint(a, dyv, Cv, carry, first, last)
        if LOCAL:
            dsum += tl.sum(dt, axis=1)
        else:
            uv = tl.load(u_base + tt[None, :] * su_l, mask=m2, other=0.0).to(tl.float32)
            Bv = tl.load(B_base + tt[None, :] * sb_l, mask=mb, other=0.0).to(tl.float32)
            h0 = tl.load(_chunk_state_ptr(ck_ptr, b, c, n_chunks, dim, N) + state_off,
                         mask=mask_dn & (state_off * 0 + c < n_chunks), other=0.0)
            dtu = dt * uv
            xb = dtu[:, None, :] * Bv[None, :, :]
            hs = _chunk_states(a, xb, h0, first)
            dC_t = tl.sum(dyv[:, None, :] * hs, axis=0)
            tl.atomic_add(dC_ptr + bc_base + tt[None, :], dC_t, mask=mb)
            dB_t = tl.sum(G * dtu[:, None, :], axis=0)
            tl.atomic_add(dB_ptr + bc_base + tt[None, :], dB_t, mask=mb)
            ddt, dA_chunk, duv = _chunk_grads(G, hs, xb, Bv, A_nat, dt, uv)
            dA_acc += dA_chunk
            if HAS_D:
                duv += dyv * dval[:, None]
                dD_acc += tl.sum(dyv * uv, axis=1)
            if SOFTPLUS:
                ddt = ddt / (1.0 + tl.exp(-xr))
            ddt = tl.where(m2, ddt, 0.0)
            db_acc += tl.sum(ddt, axis=1)
            tl.store(du_ptr + row_base + tt[None, :], duv.to(du_ptr.dtype.element_ty), mask=m2)
            tl.store(ddl_ptr + row_base + tt[None, :], ddt.to(ddl_ptr.dtype.element_ty), mask=m2)
    part = (b * n_seg + seg) * dim
    if LOCAL:
        _store_segment_end(gout_ptr, dts_ptr, part, N, state_off, offs_d, carry, dsum, mask_dn, mask_d)
    else:
        tl.store(dA_ptr + part * N + state_off, dA_acc, mask=mask_dn)
        tl.store(dD_ptr + part + offs_d, dD_acc, mask=mask_d)
        tl.store(dbias_ptr + part + offs_d, db_acc, mask=mask_d)
