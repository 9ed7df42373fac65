/*
 * Selective scan on the CPU, float32, one channel at a time, the N states vectorised.
 *
 *   h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t        (h_{-1} = 0)
 *   y_t = <C_t, h_t> + D * u_t
 *
 * Layouts (all contiguous, float32):
 *   u, delta, y, gy, du, ddelta : (batch, dim, L)  dt = softplus(delta + bias) is formed here
 *   bias                  : (dim,) or NULL
 *   A                     : (dim, N)
 *   B, C, dB, dC          : (batch, groups, L, N)  channel c belongs to group c / (dim / groups)
 *   D                     : (dim,) or NULL
 *   dA_part               : (batch, dim, N)        per-batch partial sums, reduced by the caller
 *   dD_part, dbias_part   : (batch, dim)
 *
 * cross_scan_fwd (inference only) runs K such scans over one shared grid in per-group orders, sixteen
 * channels to a vector; its layouts are described above it.
 *
 * The forward keeps only the N states of one channel. The backward recomputes the states chunk by
 * chunk from boundary states, so no (L, dim, N) buffer exists anywhere. Work is split by the caller:
 * the forward over flattened (batch, channel) rows, the backward over (batch, group) units so that
 * the dB / dC sums of a group are owned by one caller thread.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan_vec.h"

#define CHUNK 64
#define MAXN 64

/* exp for x <= 0 (and moderately positive x), ~2 ulp, written so that gcc vectorises it. */
static inline float exp_approx(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    union { int32_t i; float f; } s;
    s.i = ((int32_t)n + 127) << 23;
    return p * s.f;
}

static inline float log1p_unit(float e) {
    const float s = e / (2.0f + e), s2 = s * s;
    return 2.0f * s * ATANH_SERIES(s2);
}

/* dt = softplus(delta + bias) (threshold 20, as torch) or delta + bias; also d dt / d delta if wanted. */
static void make_dt(const float *restrict delta, float bias, int softplus, float *restrict dt,
                    float *restrict slope, int64_t L) {
    if (!softplus) {
        for (int64_t t = 0; t < L; t++) dt[t] = delta[t] + bias;
        if (slope) for (int64_t t = 0; t < L; t++) slope[t] = 1.0f;
        return;
    }
    for (int64_t t = 0; t < L; t++) {
        const float x = delta[t] + bias;
        const float ax = x < 0.0f ? -x : x;
        const float e = exp_approx(-ax);
        const float sp = (x > 0.0f ? x : 0.0f) + log1p_unit(e);
        dt[t] = x > 20.0f ? x : sp;
    }
    if (slope)
        for (int64_t t = 0; t < L; t++) {
            const float x = delta[t] + bias;
            slope[t] = x > 20.0f ? 1.0f : 1.0f / (1.0f + exp_approx(-x));
        }
}

/* Generic N: one row at a time. */
static void fwd_row(const float *restrict u, const float *restrict dt, const float *restrict A,
                    const float *restrict B, const float *restrict C, float dval, float *restrict y,
                    int64_t L, int N) {
    float h[MAXN];
    float a[MAXN];
    for (int n = 0; n < N; n++) { h[n] = 0.0f; a[n] = A[n]; }
    for (int64_t t = 0; t < L; t++) {
        const float d = dt[t], x = u[t], du = d * x;
        const float *restrict bt = B + t * N;
        const float *restrict ct = C + t * N;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int n = 0; n < N; n++) {
            h[n] = exp_approx(d * a[n]) * h[n] + du * bt[n];
            acc += ct[n] * h[n];
        }
        y[t] = acc + dval * x;
    }
}

/* N = 16: the state of a row is one 16-lane vector; ROWS rows of one group advance together so that
 * their independent recurrences overlap and B_t, C_t are loaded once for all of them. */
typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
#define ROWS 4 /* fwd_rows16 is written out for exactly four rows */

static inline v16 load16(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }

/* 2^x for x <= 0 (and moderate x > 0): x = n + f, |f| <= 1/2, 2^f by a polynomial, scaled by 2^n. */
static inline v16 exp2_frac16(v16 f) { return EXP2_FRAC_POLY(f); }  /* scan_vec.h's polynomial, 16 lanes */

#ifdef __AVX512F__
static inline v16 vexp2_16(v16 x) {
    const __m512 xv = (__m512)x;
    const __m512 n = _mm512_roundscale_ps(xv, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const v16 f = (v16)_mm512_sub_ps(xv, n);
    const v16 p = exp2_frac16(f);
    return (v16)_mm512_scalef_ps((__m512)p, n); /* exact 2^n scaling; underflows cleanly to 0 */
}
#else
static inline v16 vexp2_16(v16 x) {
    const v16 zero = {0}, lo = zero - 126.0f, hi = zero + 126.0f;
    v16i m = x < lo;
    x = (v16)(((v16i)lo & m) | ((v16i)x & ~m));
    m = x > hi;
    x = (v16)(((v16i)hi & m) | ((v16i)x & ~m));
    const v16 magic = zero + 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const v16 t = x + magic;
    const v16i n = (v16i)t - (v16i)magic;
    const v16 f = x - (t - magic);
    return exp2_frac16(f) * (v16)((n + 127) << 23);
}
#endif

/* The 16-lane sums of four vectors, returned in lanes 0, 4, 8 and 12. */
static inline v16 hsum4x16(v16 p0, v16 p1, v16 p2, v16 p3) {
    const v16i lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
    const v16i hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
    const v16 x01 = __builtin_shuffle(p0, p1, lo8) + __builtin_shuffle(p0, p1, hi8);
    const v16 x23 = __builtin_shuffle(p2, p3, lo8) + __builtin_shuffle(p2, p3, hi8);
    const v16i lo4 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
    const v16i hi4 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
    v16 x = __builtin_shuffle(x01, x23, lo4) + __builtin_shuffle(x01, x23, hi4);
    const v16i s2 = {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};
    const v16i s1 = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14};
    x += __builtin_shuffle(x, s2);
    x += __builtin_shuffle(x, s1);
    return x;
}

static void fwd_rows16(const float *const *u, const float *const *dt, const float *A, const float *restrict B,
                       const float *restrict C, const float *dval, float *const *y, int64_t L) {
    v16 h0 = {0}, h1 = {0}, h2 = {0}, h3 = {0};
    const float log2e = 1.44269504088896341f;
    const v16 a0 = load16(A) * log2e, a1 = load16(A + 16) * log2e;
    const v16 a2 = load16(A + 32) * log2e, a3 = load16(A + 48) * log2e;
    for (int64_t t = 0; t < L; t++) {
        const v16 bt = load16(B + t * 16), ct = load16(C + t * 16);
        const float d0 = dt[0][t], d1 = dt[1][t], d2 = dt[2][t], d3 = dt[3][t];
        const float x0 = u[0][t], x1 = u[1][t], x2 = u[2][t], x3 = u[3][t];
        h0 = vexp2_16(d0 * a0) * h0 + (d0 * x0) * bt;
        h1 = vexp2_16(d1 * a1) * h1 + (d1 * x1) * bt;
        h2 = vexp2_16(d2 * a2) * h2 + (d2 * x2) * bt;
        h3 = vexp2_16(d3 * a3) * h3 + (d3 * x3) * bt;
        const v16 s = hsum4x16(ct * h0, ct * h1, ct * h2, ct * h3);
        y[0][t] = s[0] + dval[0] * x0;
        y[1][t] = s[4] + dval[1] * x1;
        y[2][t] = s[8] + dval[2] * x2;
        y[3][t] = s[12] + dval[3] * x3;
    }
}

/* Forward over rows [row0, row1) of the flattened (batch, dim) grid. Returns 0, or < 0 on failure. */
int scan_fwd(const float *u, const float *delta, const float *bias, int softplus, const float *A, const float *B,
             const float *C, const float *D, float *y, int64_t batch, int64_t dim, int64_t groups, int64_t L,
             int64_t N, int64_t row0, int64_t row1) {
    (void)batch;
    if (N > MAXN) return -1;
    const int64_t per_group = dim / groups;
    float *dtbuf = (float *)malloc(sizeof(float) * (size_t)(ROWS * L));
    if (!dtbuf) return -2;
    int64_t row = row0;
    while (row < row1) {
        const int64_t b = row / dim, c = row % dim, g = c / per_group;
        const float *bb = B + (b * groups + g) * L * N;
        const float *cc = C + (b * groups + g) * L * N;
        /* rows [row, row + ROWS) must share the batch and group to go together */
        const int64_t group_end = b * dim + (g + 1) * per_group;
        if (SCAN_ROWS16 && N == 16 && row + ROWS <= row1 && row + ROWS <= group_end) {
            const float *us[ROWS], *dts[ROWS];
            float *ys[ROWS], dv[ROWS];
            for (int r = 0; r < ROWS; r++) {
                make_dt(delta + (row + r) * L, bias ? bias[c + r] : 0.0f, softplus, dtbuf + r * L, NULL, L);
                us[r] = u + (row + r) * L;
                dts[r] = dtbuf + r * L;
                ys[r] = y + (row + r) * L;
                dv[r] = D ? D[c + r] : 0.0f;
            }
            fwd_rows16(us, dts, A + c * N, bb, cc, dv, ys, L);
            row += ROWS;
        } else {
            make_dt(delta + row * L, bias ? bias[c] : 0.0f, softplus, dtbuf, NULL, L);
            fwd_row(u + row * L, dtbuf, A + c * N, bb, cc, D ? D[c] : 0.0f, y + row * L, L, (int)N);
            row += 1;
        }
    }
    free(dtbuf);
    return 0;
}

#define MAXR 16
#define TCHUNK 64 /* time steps per chunk: their dt, dt * u and partial y stay in L1 between state passes */

/* SCAN_SPASS states of VL channels over the T steps of a chunk: h_n = 2^(dt a_n) h_n + dt u B_n and
 * y += C_n h_n, where B_n = bc[order[t] * proj_step + n] and C_n the same + 16. a is A * log2(e); the states
 * live in memory between passes. */
static inline __attribute__((always_inline)) void state_pass(
    vf *restrict hs, const vf *restrict as, const float *restrict bc, int64_t proj_step,
    const int32_t *restrict order, int64_t T, const vf *restrict dtb, const vf *restrict dtxb, vf *restrict yb) {
    vf h[SCAN_SPASS];
    for (int n = 0; n < SCAN_SPASS; n++) h[n] = hs[n];
    for (int64_t t = 0; t < T; t++) {
        const float *restrict q = bc + (int64_t)order[t] * proj_step;
        const vf dt = dtb[t], dtx = dtxb[t];
        vf yv = yb[t];
#pragma GCC unroll 16
        for (int n = 0; n < SCAN_SPASS; n++) {
            h[n] = vexp2(dt * as[n]) * h[n] + dtx * q[n];
            yv += q[16 + n] * h[n];
        }
        yb[t] = yv;
    }
    for (int n = 0; n < SCAN_SPASS; n++) hs[n] = h[n];
}

/* One group's scan for VL channels (one per lane), N = 16 states. Step l visits grid position p = order[l];
 * the group's projections there are q = proj + p * proj_step: dt_low q[0..R-1], B q[R..R+15], C q[R+16..].
 * u and y hold the VL channels contiguously at u + p * u_step and y + p * y_step. The time axis is cut into
 * chunks; per chunk, delta and dt * u are formed once, then the states advance pass by pass. */
static void cross_group(const float *restrict u, int64_t u_step, const float *restrict proj, int64_t proj_step,
                        const int32_t *restrict order, const float *w, int R, const float *bias, const float *A,
                        const float *D, float *restrict y, int64_t y_step, int64_t P, int accumulate) {
    vf a[16], h[16], wv[MAXR], bv, dv;
    vf dtb[TCHUNK], dtxb[TCHUNK], yb[TCHUNK];
    for (int n = 0; n < 16; n++) {
        h[n] = (vf){0};
        for (int j = 0; j < VL; j++) a[n][j] = A[j * 16 + n] * LOG2E;
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < VL; j++) wv[i][j] = w[j * R + i];
    for (int j = 0; j < VL; j++) {
        bv[j] = bias ? bias[j] : 0.0f;
        dv[j] = D ? D[j] : 0.0f;
    }
    for (int64_t l0 = 0; l0 < P; l0 += TCHUNK) {
        const int64_t T = P - l0 < TCHUNK ? P - l0 : TCHUNK;
        const int32_t *restrict ord = order + l0;
        for (int64_t t = 0; t < T; t++) {
            const int64_t p = ord[t];
            const float *restrict q = proj + p * proj_step;
            vf x = bv;
            for (int i = 0; i < R; i++) x += wv[i] * q[i];
            const vf dt = vsoftplus(x), uv = vload(u + p * u_step);
            dtb[t] = dt;
            dtxb[t] = dt * uv;
            yb[t] = accumulate ? dv * uv + vload(y + p * y_step) : dv * uv;
        }
        for (int s0 = 0; s0 < 16; s0 += SCAN_SPASS)
            state_pass(h + s0, a + s0, proj + R + s0, proj_step, ord, T, dtb, dtxb, yb);
        for (int64_t t = 0; t < T; t++) vstore(y + (int64_t)ord[t] * y_step, yb[t]);
    }
}

/*
 * Cross-scan forward (no gradients): K groups of Di channels each scan a shared grid of P positions in their
 * own order, and their outputs are summed back onto the grid. delta = softplus(dt_w[c] . dt_low + bias[c]).
 * Per group k (channels c = k * Di + d):
 *   u      : us[k][b * u_sb + pos * u_sp + d]       the group's input, channels-last
 *   proj   : proj[k] + b * proj_sb + pos * proj_sp  its projections there: dt_low (R), B (N), C (N)
 *   order  : order[k * P + l] is the grid position visited at step l
 *   dt_w   : (K * Di, R); bias, D: (K * Di,) or NULL; A: (K * Di, N)
 *   y      : y[b * y_sb + pos * y_sp + d], overwritten with the sum over groups, channels-last
 * Work is split over units = (batch, block of scan_lanes() channels); each unit owns its part of y.
 * Returns -1 unless N == 16, R <= 16 and Di is a multiple of scan_lanes().
 */
int cross_scan_fwd(const float *const *us, int64_t u_sb, int64_t u_sp, const float *const *proj, int64_t proj_sb,
                   int64_t proj_sp, const int32_t *order, const float *dt_w, const float *bias, const float *A,
                   const float *D, float *y, int64_t y_sb, int64_t y_sp, int64_t K, int64_t Di, int64_t P,
                   int64_t R, int64_t N, int64_t unit0, int64_t unit1) {
    if (N != 16 || R > MAXR || Di % VL) return -1;
    const int64_t blocks = Di / VL;
    for (int64_t unit = unit0; unit < unit1; unit++) {
        const int64_t b = unit / blocks, d0 = (unit % blocks) * VL;
        for (int64_t k = 0; k < K; k++) {
            const int64_t c = k * Di + d0;
            cross_group(us[k] + b * u_sb + d0, u_sp, proj[k] + b * proj_sb, proj_sp, order + k * P, dt_w + c * R,
                        (int)R, bias ? bias + c : NULL, A + c * N, D ? D + c : NULL, y + b * y_sb + d0, y_sp, P,
                        k > 0);
        }
    }
    return 0;
}

/* The instruction set this copy was compiled for, and its lanes (channels per cross-scan unit). */
const char *scan_isa(void) { return SCAN_ISA; }
int scan_lanes(void) { return VL; }


static inline void bwd_row(const float *restrict u, const float *restrict dt, const float *restrict A,
                           const float *restrict B, const float *restrict C, float dval,
                           const float *restrict gy, float *restrict du, float *restrict ddt,
                           float *restrict dA, float *restrict dD, float *restrict dB, float *restrict dC,
                           float *restrict bound, float *restrict hbuf, float *restrict abuf, int64_t L, int N) {
    float h[MAXN], a[MAXN], gh[MAXN], ga[MAXN];
    for (int n = 0; n < N; n++) { h[n] = 0.0f; a[n] = A[n]; gh[n] = 0.0f; ga[n] = 0.0f; }
    const int64_t nchunks = (L + CHUNK - 1) / CHUNK;
    /* pass 1: the state entering every chunk */
    for (int64_t k = 0; k < nchunks; k++) {
        memcpy(bound + k * N, h, sizeof(float) * N);
        const int64_t t1 = (k + 1) * CHUNK < L ? (k + 1) * CHUNK : L;
        for (int64_t t = k * CHUNK; t < t1; t++) {
            const float d = dt[t], dux = d * u[t];
            const float *restrict bt = B + t * N;
            for (int n = 0; n < N; n++) h[n] = exp_approx(d * a[n]) * h[n] + dux * bt[n];
        }
    }
    float gD = 0.0f;
    /* pass 2: chunks in reverse; recompute the chunk's states, then walk it backwards */
    for (int64_t k = nchunks - 1; k >= 0; k--) {
        const int64_t t0 = k * CHUNK, t1 = (k + 1) * CHUNK < L ? (k + 1) * CHUNK : L;
        memcpy(h, bound + k * N, sizeof(float) * N);
        for (int64_t t = t0; t < t1; t++) {
            const float d = dt[t], dux = d * u[t];
            const float *restrict bt = B + t * N;
            float *restrict ht = hbuf + (t - t0) * N;
            float *restrict at = abuf + (t - t0) * N;
            for (int n = 0; n < N; n++) {
                at[n] = exp_approx(d * a[n]);
                h[n] = at[n] * h[n] + dux * bt[n];
                ht[n] = h[n];
            }
        }
        for (int64_t t = t1 - 1; t >= t0; t--) {
            const float d = dt[t], x = u[t], g = gy[t];
            const float *restrict bt = B + t * N;
            const float *restrict ct = C + t * N;
            float *restrict dbt = dB + t * N;
            float *restrict dct = dC + t * N;
            const float *restrict ht = hbuf + (t - t0) * N;
            const float *restrict hp = t > t0 ? hbuf + (t - t0 - 1) * N : bound + k * N;
            const float *restrict at = abuf + (t - t0) * N;
            float gdt = 0.0f, gu = 0.0f;
#pragma omp simd reduction(+ : gdt, gu)
            for (int n = 0; n < N; n++) {
                const float ghn = gh[n] + g * ct[n];         /* total gradient into h_t */
                dct[n] += g * ht[n];
                const float gexp = ghn * hp[n] * at[n];      /* gradient of the exponent dt * A */
                gdt += gexp * a[n] + ghn * bt[n] * x;
                ga[n] += gexp * d;
                dbt[n] += ghn * d * x;
                gu += ghn * bt[n];
                gh[n] = ghn * at[n];
            }
            du[t] = g * dval + gu * d;
            ddt[t] = gdt;
            gD += g * x;
        }
    }
    for (int n = 0; n < N; n++) dA[n] = ga[n];
    *dD = gD;
}

/* N = 16 backward for four rows of one group at once (the forward's layout). ddt receives d y / d dt. */
static void bwd_rows16(const float *const *u, const float *const *dt, const float *A, const float *restrict B,
                       const float *restrict C, const float *dval, const float *const *gy, float *const *du,
                       float *const *ddt, float *dA, float *dD, float *restrict dB, float *restrict dC,
                       v16 *bound, v16 *hbuf, v16 *abuf, int64_t L) {
    const float log2e = 1.44269504088896341f;
    v16 a[ROWS], a2[ROWS], h[ROWS], gh[ROWS], ga[ROWS];
    float gD[ROWS];
    for (int r = 0; r < ROWS; r++) {
        a[r] = load16(A + r * 16);
        a2[r] = a[r] * log2e;
        h[r] = gh[r] = ga[r] = (v16){0};
        gD[r] = 0.0f;
    }
    const int64_t nchunks = (L + CHUNK - 1) / CHUNK;
    for (int64_t k = 0; k < nchunks; k++) { /* pass 1: the states entering every chunk */
        for (int r = 0; r < ROWS; r++) bound[k * ROWS + r] = h[r];
        const int64_t t1 = (k + 1) * CHUNK < L ? (k + 1) * CHUNK : L;
        for (int64_t t = k * CHUNK; t < t1; t++) {
            const v16 bt = load16(B + t * 16);
            for (int r = 0; r < ROWS; r++) {
                const float d = dt[r][t];
                h[r] = vexp2_16(d * a2[r]) * h[r] + (d * u[r][t]) * bt;
            }
        }
    }
    for (int64_t k = nchunks - 1; k >= 0; k--) { /* pass 2: recompute a chunk, then walk it backwards */
        const int64_t t0 = k * CHUNK, t1 = (k + 1) * CHUNK < L ? (k + 1) * CHUNK : L;
        for (int r = 0; r < ROWS; r++) h[r] = bound[k * ROWS + r];
        for (int64_t t = t0; t < t1; t++) {
            const v16 bt = load16(B + t * 16);
            for (int r = 0; r < ROWS; r++) {
                const float d = dt[r][t];
                const v16 e = vexp2_16(d * a2[r]);
                h[r] = e * h[r] + (d * u[r][t]) * bt;
                abuf[(t - t0) * ROWS + r] = e;
                hbuf[(t - t0) * ROWS + r] = h[r];
            }
        }
        for (int64_t t = t1 - 1; t >= t0; t--) {
            const v16 bt = load16(B + t * 16), ct = load16(C + t * 16);
            v16 dbt = (v16){0}, dct = (v16){0}, gexpA[ROWS], gub[ROWS];
            for (int r = 0; r < ROWS; r++) {
                const float d = dt[r][t], x = u[r][t], g = gy[r][t];
                const v16 e = abuf[(t - t0) * ROWS + r];
                const v16 hp = t > t0 ? hbuf[(t - t0 - 1) * ROWS + r] : bound[k * ROWS + r];
                const v16 ghn = gh[r] + g * ct;            /* total gradient into h_t */
                dct += g * hbuf[(t - t0) * ROWS + r];
                const v16 gexp = ghn * hp * e;             /* gradient of the exponent dt * A */
                gexpA[r] = gexp * a[r];
                gub[r] = ghn * bt;
                ga[r] += gexp * d;
                dbt += ghn * (d * x);
                gh[r] = ghn * e;
                gD[r] += g * x;
            }
            const v16 sa = hsum4x16(gexpA[0], gexpA[1], gexpA[2], gexpA[3]);
            const v16 sb = hsum4x16(gub[0], gub[1], gub[2], gub[3]);
            for (int r = 0; r < ROWS; r++) {
                const float d = dt[r][t], x = u[r][t];
                du[r][t] = gy[r][t] * dval[r] + sb[4 * r] * d;
                ddt[r][t] = sa[4 * r] + sb[4 * r] * x;
            }
            const v16 ob = load16(dB + t * 16) + dbt, oc = load16(dC + t * 16) + dct;
            memcpy(dB + t * 16, &ob, sizeof ob);
            memcpy(dC + t * 16, &oc, sizeof oc);
        }
    }
    for (int r = 0; r < ROWS; r++) {
        memcpy(dA + r * 16, &ga[r], sizeof(v16));
        dD[r] = gD[r];
    }
}

/* Backward over units [unit0, unit1) of the flattened (batch, groups) grid. dB and dC must be zeroed.
 * ddelta receives the gradient of delta (through softplus); dbias_part the per-row sums for bias. */
int scan_bwd(const float *u, const float *delta, const float *bias, int softplus, const float *A, const float *B,
             const float *C, const float *D, const float *gy, float *du, float *ddelta, float *dA_part,
             float *dD_part, float *dbias_part, float *dB, float *dC, int64_t batch, int64_t dim, int64_t groups,
             int64_t L, int64_t N, int64_t unit0, int64_t unit1) {
    (void)batch;
    if (N > MAXN) return -1;
    const int64_t per_group = dim / groups;
    const int64_t nchunks = (L + CHUNK - 1) / CHUNK;
    float *bound = (float *)malloc(sizeof(float) * (size_t)(nchunks * N));
    float *hbuf = (float *)malloc(sizeof(float) * (size_t)(CHUNK * N));
    float *abuf = (float *)malloc(sizeof(float) * (size_t)(CHUNK * N));
    float *dt = (float *)malloc(sizeof(float) * (size_t)(ROWS * L));
    float *slope = (float *)malloc(sizeof(float) * (size_t)(ROWS * L));
    v16 *vbound = (v16 *)aligned_alloc(64, sizeof(v16) * (size_t)(nchunks * ROWS));
    v16 *vh = (v16 *)aligned_alloc(64, sizeof(v16) * (size_t)(CHUNK * ROWS));
    v16 *va = (v16 *)aligned_alloc(64, sizeof(v16) * (size_t)(CHUNK * ROWS));
    int status = 0;
    if (!bound || !hbuf || !abuf || !dt || !slope || !vbound || !vh || !va) { status = -2; goto done; }
    for (int64_t unit = unit0; unit < unit1; unit++) {
        const int64_t b = unit / groups, g = unit % groups;
        const float *bb = B + unit * L * N, *cc = C + unit * L * N;
        float *dbb = dB + unit * L * N, *dcc = dC + unit * L * N;
        int64_t c = g * per_group;
        const int64_t c_end = (g + 1) * per_group;
        while (c < c_end) {
            const int rows = (SCAN_ROWS16 && N == 16 && c + ROWS <= c_end) ? ROWS : 1;
            const int64_t row = b * dim + c;
            for (int r = 0; r < rows; r++)
                make_dt(delta + (row + r) * L, bias ? bias[c + r] : 0.0f, softplus, dt + r * L, slope + r * L, L);
            if (rows == ROWS) {
                const float *us[ROWS], *dts[ROWS], *gys[ROWS];
                float *dus[ROWS], *ddts[ROWS], dv[ROWS];
                for (int r = 0; r < ROWS; r++) {
                    us[r] = u + (row + r) * L;
                    dts[r] = dt + r * L;
                    gys[r] = gy + (row + r) * L;
                    dus[r] = du + (row + r) * L;
                    ddts[r] = ddelta + (row + r) * L;
                    dv[r] = D ? D[c + r] : 0.0f;
                }
                bwd_rows16(us, dts, A + c * N, bb, cc, dv, gys, dus, ddts, dA_part + row * N, dD_part + row,
                           dbb, dcc, vbound, vh, va, L);
            } else {
                const int64_t o = row * L;
                bwd_row(u + o, dt, A + c * N, bb, cc, D ? D[c] : 0.0f, gy + o, du + o, ddelta + o,
                        dA_part + row * N, dD_part + row, dbb, dcc, bound, hbuf, abuf, L, (int)N);
            }
            for (int r = 0; r < rows; r++) {
                float *dd = ddelta + (row + r) * L;
                const float *sl = slope + r * L;
                float gbias = 0.0f;
#pragma omp simd reduction(+ : gbias)
                for (int64_t t = 0; t < L; t++) {
                    dd[t] *= sl[t];
                    gbias += dd[t];
                }
                dbias_part[row + r] = gbias;
            }
            c += rows;
        }
    }
done:
    free(bound); free(hbuf); free(abuf); free(dt); free(slope); free(vbound); free(vh); free(va);
    return status;
}

/* The digest of the sources this library was built from (set by setup.py; empty in run-time builds). */
#ifndef POSEMAMBA_KERNEL_DIGEST
#define POSEMAMBA_KERNEL_DIGEST ""
#endif
const char *kernel_source_digest(void) { return POSEMAMBA_KERNEL_DIGEST; }
