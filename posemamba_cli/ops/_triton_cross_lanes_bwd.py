"""The cross scan's backward with one thread per channel (bwd_variant "lanes" of CrossScanTriton).

The layout of _triton_cross_lanes.py: program (batch row x channel block, group k, time segment), state
tiles (BN, BD) with a channel's BN states in one thread. Per chunk, in reverse: the states are recomputed
from the forward's checkpoint step by step, each step's entering state h_{t-1} written to a scratch row
that only its own thread reads back; then the steps run in reverse with the adjoint in registers:

    h_t = a_t h_{t-1} + dt_t u_t B_t,  G_t = dy_t C_t + g,  g <- a_t G_t   (a_t = 2^(dt_t A log2 e))
    dC_t = sum_d dy_t h_t,  dB_t = sum_d G_t dt_t u_t,  du_t = dt_t sum_n G_t B_t + D dy_t,
    d dt_t = sum_n G_t a_t h_{t-1} A + u_t sum_n G_t B_t,  dA += G_t a_t h_{t-1} dt_t,

d dt through the softplus to dbias, d dt_proj_weight and d dt_low_t = sum_d w dx_t. The sums over channels
(dB_t, dC_t, d dt_low_t: R + 2N values per step) are reduced over the program's BD channels before one
atomic add each; per-channel sums (dA, dD, dbias, dw) stay in registers to the end. Each group writes its
own du (the caller sums the groups sharing a source in order: deterministic). A LOCAL pass (segments)
runs only the adjoint carry g and the sum of dt, for seg_combine_kernel.
"""

import triton
import triton.language as tl

from posemamba_cli.ops._triton_cross_lanes import _lane_place, _pick, _rows
from posemamba_cli.ops._triton_scan_parts import LOG2E, _softplus


@triton.jit
def cross_bwd_lanes_kernel(
    u0_ptr, u1_ptr, u2_ptr, u3_ptr, x0_ptr, x1_ptr, x2_ptr, x3_ptr, ck0_ptr, ck1_ptr, ck2_ptr, ck3_ptr,
    ord_ptr, w_ptr, bias_ptr, A_ptr, D_ptr, dy_ptr, gin_ptr, gout_ptr, dts_ptr, hs_ptr,
    du_ptr, dx_ptr, dA_ptr, dD_ptr, dbias_ptr, dw_ptr,
    su_b, su_p, su_d, sx_b, sx_p, sy_b, sy_p, sy_d,
    batch, Di, P, R, N, n_dblk, n_chunks, n_seg,
    SEG_CHUNKS: tl.constexpr, BD: tl.constexpr, BN: tl.constexpr, BR: tl.constexpr, T: tl.constexpr,
    HAS_D: tl.constexpr, LOCAL: tl.constexpr, HAS_GIN: tl.constexpr,
):
    """u_k, x_k, ord, w, bias, A, D as in cross_fwd_lanes_kernel; ck_k (batch, n_chunks, Di, N) group k's
    checkpoints; dy (batch, P, Di) any strides; gin / gout (K, batch, n_seg, Di, N), dts (K, batch, n_seg, Di);
    hs: scratch of (T, BN, BD) float32 per program; du (K, batch, P, Di); dx (K, batch, P, R + 2N) zeroed
    (atomics); dA, dD, dbias, dw (K, batch, n_seg, Di[, N | R]) per-program partials (plain stores)."""
    pid, k, seg, b, offs_d, mask_d, offs_n, mask_n, offs_r, mask_r = _lane_place(n_dblk, Di, N, R, BD, BN, BR)
    rows_n = _rows(offs_n, BN)
    rows_r = _rows(offs_r, BR)
    mask_nd = mask_n[:, None] & mask_d[None, :]
    mask_rd = mask_r[:, None] & mask_d[None, :]
    state_off = offs_d[None, :] * N + rows_n  # (BN, BD) into a (Di, N) state
    kd = k * Di
    w = tl.load(w_ptr + (kd + offs_d[None, :]) * R + rows_r, mask=mask_rd, other=0.0)  # (BR, BD)
    bias = tl.load(bias_ptr + kd + offs_d, mask=mask_d, other=0.0)
    A_nat = tl.load(A_ptr + kd * N + state_off, mask=mask_nd, other=0.0)
    A2 = A_nat * LOG2E
    dval = bias * 0.0
    if HAS_D:
        dval = tl.load(D_ptr + kd + offs_d, mask=mask_d, other=0.0)
    kb = k * batch + b
    part = (kb * n_seg + seg) * Di
    g = tl.zeros((BN, BD), dtype=tl.float32)  # the adjoint carried in from later steps: a_{t+1} G_{t+1}
    if HAS_GIN:
        g = tl.load(gin_ptr + part.to(tl.int64) * N + state_off, mask=mask_nd, other=0.0)
    dsum = tl.zeros((BD,), dtype=tl.float32)
    dA_acc = tl.zeros((BN, BD), dtype=tl.float32)
    dD_acc = tl.zeros((BD,), dtype=tl.float32)
    db_acc = tl.zeros((BD,), dtype=tl.float32)
    dw_acc = tl.zeros((BR, BD), dtype=tl.float32)
    b64 = b.to(tl.int64)
    u_base = _pick(k, u0_ptr, u1_ptr, u2_ptr, u3_ptr) + b64 * su_b + offs_d * su_d
    x_base = _pick(k, x0_ptr, x1_ptr, x2_ptr, x3_ptr) + b64 * sx_b + offs_d * 0
    ck_base = _pick(k, ck0_ptr, ck1_ptr, ck2_ptr, ck3_ptr) + b64 * n_chunks * Di * N + state_off
    dy_base = dy_ptr + b64 * sy_b + offs_d * sy_d
    du_base = du_ptr + kb.to(tl.int64) * P * Di + offs_d
    dx_base = dx_ptr + kb.to(tl.int64) * P * (R + 2 * N)
    hs_base = hs_ptr + ((kb * n_dblk + pid % n_dblk) * n_seg + seg).to(tl.int64) * (T * BN * BD) \
        + rows_n * BD + tl.arange(0, BD)[None, :]
    ord_k = ord_ptr + k * P
    c0 = seg * SEG_CHUNKS
    for i in range(SEG_CHUNKS):  # chunks past the end are fully masked (identity steps)
        c = c0 + SEG_CHUNKS - 1 - i
        if not LOCAL:  # the chunk's entering states, h_{t-1} of each step into the scratch
            h = tl.load(ck_base + c.to(tl.int64) * Di * N, mask=mask_nd & (state_off * 0 + c < n_chunks), other=0.0)
            for s in range(T):
                t = c * T + s
                p = tl.load(ord_k + tl.minimum(t, P - 1))
                valid = mask_d & (offs_d * 0 + t < P)
                xrow = x_base + p * sx_p
                dtl = tl.load(xrow[None, :] + rows_r, mask=mask_r[:, None], other=0.0).to(tl.float32)
                dt = tl.where(valid, _softplus(tl.sum(w * dtl, axis=0) + bias), 0.0)
                uv = tl.load(u_base + p * su_p, mask=mask_d, other=0.0).to(tl.float32)
                Bt = tl.load(xrow[None, :] + R + rows_n, mask=mask_n[:, None], other=0.0).to(tl.float32)
                tl.store(hs_base + s * (BN * BD), h)
                h = tl.exp2(dt[None, :] * A2) * h + (dt * uv)[None, :] * Bt
        for j in range(T):
            s = T - 1 - j
            t = c * T + s
            p = tl.load(ord_k + tl.minimum(t, P - 1))
            valid = mask_d & (offs_d * 0 + t < P)
            xrow = x_base + p * sx_p
            dtl = tl.load(xrow[None, :] + rows_r, mask=mask_r[:, None], other=0.0).to(tl.float32)  # (BR, BD)
            xr = tl.sum(w * dtl, axis=0) + bias
            dt = tl.where(valid, _softplus(xr), 0.0)
            a = tl.exp2(dt[None, :] * A2)
            dyv = tl.load(dy_base + p * sy_p, mask=valid, other=0.0).to(tl.float32)
            Ct = tl.load(xrow[None, :] + R + N + rows_n, mask=mask_n[:, None], other=0.0).to(tl.float32)
            G = dyv[None, :] * Ct + g
            g = a * G
            if LOCAL:
                dsum += dt
            else:
                uv = tl.load(u_base + p * su_p, mask=mask_d, other=0.0).to(tl.float32)
                Bt = tl.load(xrow[None, :] + R + rows_n, mask=mask_n[:, None], other=0.0).to(tl.float32)
                hp = tl.load(hs_base + s * (BN * BD))  # h_{t-1}
                dtu = dt * uv
                ah = a * hp
                h = ah + dtu[None, :] * Bt
                GB = tl.sum(G * Bt, axis=0)  # (BD)
                gah = G * ah
                dA_acc += gah * dt[None, :]
                ddt = tl.sum(gah * A_nat, axis=0) + uv * GB
                duv = GB * dt + dval * dyv
                dD_acc += dyv * uv
                dx = tl.where(valid, ddt / (1.0 + tl.exp(-xr)), 0.0)  # through the softplus
                db_acc += dx
                dw_acc += dx[None, :] * dtl
                tl.store(du_base + p * Di, duv, mask=valid)
                dxrow = dx_base + p * (R + 2 * N)
                tl.atomic_add(dxrow + R + N + offs_n, tl.sum(dyv[None, :] * h, axis=1), mask=mask_n)  # dC
                tl.atomic_add(dxrow + R + offs_n, tl.sum(G * dtu[None, :], axis=1), mask=mask_n)  # dB
                tl.atomic_add(dxrow + offs_r, tl.sum(w * dx[None, :], axis=1), mask=mask_r)  # d dt_low
    if LOCAL:
        tl.store(gout_ptr + part.to(tl.int64) * N + state_off, g, mask=mask_nd)
        tl.store(dts_ptr + part + offs_d, dsum, mask=mask_d)
    else:
        tl.store(dA_ptr + part.to(tl.int64) * N + state_off, dA_acc, mask=mask_nd)
        tl.store(dD_ptr + part + offs_d, dD_acc, mask=mask_d)
        tl.store(dbias_ptr + part + offs_d, db_acc, mask=mask_d)
        tl.store(dw_ptr + part.to(tl.int64) * R + offs_d[None, :] * R + rows_r, dw_acc, mask=mask_rd)
