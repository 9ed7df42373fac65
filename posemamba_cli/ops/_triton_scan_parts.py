"""Triton building blocks shared by the selective-scan kernels (_triton_kernels.py) and the fused cross-scan
kernels (_triton_cross_kernels.py): the scan combine functions, softplus, a program's channel/state tile,
chunk checkpoints, segment summaries of the two-level scan, and the per-chunk tile math of the backward.

Tile shapes: BD channels, BN states, T time steps of one chunk; a: exp(dt A) per (BD, BN, T).
"""

import triton
import triton.language as tl

LOG2E = tl.constexpr(1.4426950408889634)


@triton.jit
def _fwd_combine(a1, b1, a2, b2):
    # earlier (a1, b1) then later (a2, b2): h -> a2 (a1 h + b1) + b2
    return a1 * a2, b1 * a2 + b2


@triton.jit
def _bwd_combine(f_late, p_late, q_late, f_early, p_early, q_early):
    # Range summary (f, p, q): f = a at the range's first step; G_first = q + p * carry_after_range.
    m = p_early * f_late
    return f_early, m * p_late, q_early + m * q_late


@triton.jit
def _chunk_edges(offs_t):
    """(first, last): masks (1, 1, T) of a chunk's first and last step."""
    return (offs_t == 0)[None, None, :], (offs_t == offs_t.shape[0] - 1)[None, None, :]


@triton.jit
def _reverse_chunk(seg, i, SEG_CHUNKS: tl.constexpr, offs_t, length):
    """The i-th chunk of segment `seg` counted from its end: (chunk index, its steps (T,), their mask)."""
    c = seg * SEG_CHUNKS + SEG_CHUNKS - 1 - i
    tt = c * offs_t.shape[0] + offs_t
    return c, tt, tt < length


@triton.jit
def _softplus(x):
    # log1p(exp(x)) accurately for every x (the log1p(z) = log(w) z / (w - 1) trick, w = 1 + z)
    z = tl.exp(-tl.abs(x))
    w = 1.0 + z
    lp = tl.where(w == 1.0, z, tl.log(w) * (z / (w - 1.0)))
    return tl.maximum(x, 0.0) + lp


@triton.jit
def _channel_rows(n_dblk, dim, BD: tl.constexpr):
    """This program's batch row, its (BD) channel offsets and their mask (program axis 0 = batch x blocks)."""
    pid = tl.program_id(0)
    b = pid // n_dblk
    offs_d = (pid % n_dblk) * BD + tl.arange(0, BD)
    return b, offs_d, offs_d < dim


@triton.jit
def _state_tile(offs_d, mask_d, N, BN: tl.constexpr):
    """(BN) state offsets and mask, the (BD, BN) mask and offsets into a (dim, N) state."""
    offs_n = tl.arange(0, BN)
    mask_n = offs_n < N
    mask_dn = mask_d[:, None] & mask_n[None, :]
    return offs_n, mask_n, mask_dn, offs_d[:, None] * N + offs_n[None, :]


@triton.jit
def _chunk_state_ptr(ck_ptr, b, c, n_chunks, dim, N):
    """Start of the (dim, N) checkpoint of the state entering chunk c of batch row b."""
    return ck_ptr + (b * n_chunks + c).to(tl.int64) * dim * N


@triton.jit
def _segment_start(h_ptr, part, N, state_off, mask, zero, HAS: tl.constexpr):
    """The state (or adjoint carry) entering segment part = (b * n_seg + seg) * dim from the combine pass
    when HAS, else `zero` (a zero tile of the state's shape)."""
    h = zero
    if HAS:
        h = tl.load(h_ptr + part * N + state_off, mask=mask, other=0.0)
    return h


@triton.jit
def _store_segment_end(h_ptr, dts_ptr, part, N, state_off, offs_d, h, dsum, mask_dn, mask_d):
    """Segment summary for the two-level scan at part = (b * n_seg + seg) * dim: its end state (or adjoint
    carry) h (BD, BN) and its sum of dt (BD)."""
    tl.store(h_ptr + part * N + state_off, h, mask=mask_dn)
    tl.store(dts_ptr + part + offs_d, dsum, mask=mask_d)


@triton.jit
def _chunk_states(a, xb, h0, first):
    """States (BD, BN, T) of one chunk from its entering state h0 (BD, BN): h_t = a_t h_{t-1} + xb_t."""
    xf = tl.where(first, xb + a * h0[:, :, None], xb)
    _, hs = tl.associative_scan((a, xf), axis=2, combine_fn=_fwd_combine)
    return hs


@triton.jit
def _chunk_adjoint(a, dyv, Cv, carry, first, last):
    """Adjoint G (BD, BN, T) of one chunk, G_t = dy_t C_t + a_{t+1} G_{t+1}, from the carry after the chunk;
    returns G and the carry before it. dyv (BD, T), Cv (BN, T)."""
    xg = dyv[:, None, :] * Cv[None, :, :]
    xg = tl.where(last, xg + carry[:, :, None], xg)
    _, _, G = tl.associative_scan((a, tl.full(a.shape, 1.0, tl.float32), xg), axis=2,
                                  combine_fn=_bwd_combine, reverse=True)
    return G, tl.sum(tl.where(first, a * G, 0.0), axis=2)


@triton.jit
def _chunk_grads(G, hs, xb, Bv, A_nat, dt, uv):
    """One chunk's gradients from its adjoint G and states hs: d dt (BD, T) before any softplus, this chunk's
    share of dA (BD, BN), and du (BD, T) without the D term."""
    gexp = G * (hs - xb)  # G_t * a_t * h_{t-1}
    GB = tl.sum(G * Bv[None, :, :], axis=1)
    ddt = tl.sum(gexp * A_nat[:, :, None], axis=1) + GB * uv
    return ddt, tl.sum(gexp * dt[:, None, :], axis=2), GB * dt
