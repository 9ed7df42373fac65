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
 * cross_scan_fwd runs K such scans over one shared grid in per-group orders, one channel per vector lane;
 * cross_scan_bwd is its backward (training), in the same layout; their layouts are described above them.
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
typedef double v16d __attribute__((vector_size(128)));
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
 * live in memory between passes. yb holds the sum of C_n h_n alone: the terms cancel one another where the
 * states are large (slow decays), so they are summed in two halves from zero and only then added, once, to
 * D u and the other groups' outputs (summed into those, each term would be rounded at their size). The decays
 * take vexp2_fast (scan_vec.h); the backward recomputes them with vexp2. */
static inline __attribute__((always_inline)) void state_pass(
    vf *restrict hs, const vf *restrict as, const float *restrict bc, int64_t proj_step,
    const int32_t *restrict order, int64_t T, const vf *restrict dtb, const vf *restrict dtxb, vf *restrict yb) {
    vf h[SCAN_SPASS];
    for (int n = 0; n < SCAN_SPASS; n++) h[n] = hs[n];
    for (int64_t t = 0; t < T; t++) {
        const float *restrict q = bc + (int64_t)order[t] * proj_step;
        const vf dt = dtb[t], dtx = dtxb[t];
        vf yv[2] = {{0}, {0}};
#pragma GCC unroll 16
        for (int n = 0; n < SCAN_SPASS; n++) {
            h[n] = vexp2_fast(dt * as[n]) * h[n] + dtx * q[n];
            yv[n & 1] += q[16 + n] * h[n];
        }
        yb[t] += yv[0] + yv[1];
    }
    for (int n = 0; n < SCAN_SPASS; n++) hs[n] = h[n];
}

/* A group's per-channel constants as lane vectors for VL channels: the dt projection's weights wv[i] (from
 * w (VL, R)), and bias and D (either may be NULL: zeros). */
static inline void lane_constants(const float *w, int R, const float *bias, const float *D, vf *wv, vf *bv, vf *dv) {
    for (int i = 0; i < R; i++)
        for (int j = 0; j < VL; j++) wv[i][j] = w[j * R + i];
    for (int j = 0; j < VL; j++) {
        (*bv)[j] = bias ? bias[j] : 0.0f;
        (*dv)[j] = D ? D[j] : 0.0f;
    }
}

/* delta before the softplus at one step: bias + dt_w . dt_low, dt_low = q[0..R-1] shared by the lanes. */
static inline vf dt_input(const vf *wv, vf bv, const float *restrict q, int R) {
    vf x = bv;
    for (int i = 0; i < R; i++) x += wv[i] * q[i];
    return x;
}

/* One group's scan for VL channels (one per lane), N = 16 states. Step l visits grid position p = order[l];
 * the group's projections there are q = proj + p * proj_step: dt_low q[0..R-1], B q[R..R+15], C q[R+16..].
 * u and y hold the VL channels contiguously at u + p * u_step and y + p * y_step. The time axis is cut into
 * chunks; per chunk, delta and dt * u are formed once, then the states advance pass by pass. */
static void cross_group(const float *restrict u, int64_t u_step, const float *restrict proj, int64_t proj_step,
                        const int32_t *restrict order, const float *w, int R, const float *bias, const float *A,
                        const float *D, float *restrict y, int64_t y_step, int64_t P, int accumulate) {
    vf a[16], h[16], wv[MAXR], bv, dv;
    vf dtb[TCHUNK], dtxb[TCHUNK], yb[TCHUNK], base[TCHUNK];
    for (int n = 0; n < 16; n++) {
        h[n] = (vf){0};
        for (int j = 0; j < VL; j++) a[n][j] = A[j * 16 + n] * LOG2E;
    }
    lane_constants(w, R, bias, D, wv, &bv, &dv);
    for (int64_t l0 = 0; l0 < P; l0 += TCHUNK) {
        const int64_t T = P - l0 < TCHUNK ? P - l0 : TCHUNK;
        const int32_t *restrict ord = order + l0;
        for (int64_t t = 0; t < T; t++) {
            const int64_t p = ord[t];
            const float *restrict q = proj + p * proj_step;
            const vf x = dt_input(wv, bv, q, R);
            const vf dt = vsoftplus(x), uv = vload(u + p * u_step);
            dtb[t] = dt;
            dtxb[t] = dt * uv;
            base[t] = accumulate ? dv * uv + vload(y + p * y_step) : dv * uv; /* D u, plus the groups before */
            yb[t] = (vf){0};
        }
        for (int s0 = 0; s0 < 16; s0 += SCAN_SPASS)
            state_pass(h + s0, a + s0, proj + R + s0, proj_step, ord, T, dtb, dtxb, yb);
        for (int64_t t = 0; t < T; t++) vstore(y + (int64_t)ord[t] * y_step, yb[t] + base[t]);
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
    double gad[MAXN]; /* dA: each chunk's sum (ga) added in double, see bwd_rows16 */
    for (int n = 0; n < N; n++) { h[n] = 0.0f; a[n] = A[n]; gh[n] = 0.0f; gad[n] = 0.0; }
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
    double gD = 0.0;
    /* pass 2: chunks in reverse; recompute the chunk's states, then walk it backwards */
    for (int64_t k = nchunks - 1; k >= 0; k--) {
        const int64_t t0 = k * CHUNK, t1 = (k + 1) * CHUNK < L ? (k + 1) * CHUNK : L;
        memcpy(h, bound + k * N, sizeof(float) * N);
        for (int n = 0; n < N; n++) ga[n] = 0.0f;
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
        for (int n = 0; n < N; n++) gad[n] += ga[n];
    }
    for (int n = 0; n < N; n++) dA[n] = (float)gad[n];
    *dD = (float)gD;
}

/* N = 16 backward for four rows of one group at once (the forward's layout). ddt receives d y / d dt. */
static void bwd_rows16(const float *const *u, const float *const *dt, const float *A, const float *restrict B,
                       const float *restrict C, const float *dval, const float *const *gy, float *const *du,
                       float *const *ddt, float *dA, float *dD, float *restrict dB, float *restrict dC,
                       v16 *bound, v16 *hbuf, v16 *abuf, int64_t L) {
    const float log2e = 1.44269504088896341f;
    v16 a[ROWS], a2[ROWS], h[ROWS], gh[ROWS], ga[ROWS];
    v16d gad[ROWS]; /* dA and dD are sums over all L steps: dA's per chunk in float32 (ga), the chunks' in double */
    double gD[ROWS];
    for (int r = 0; r < ROWS; r++) {
        a[r] = load16(A + r * 16);
        a2[r] = a[r] * log2e;
        h[r] = gh[r] = (v16){0};
        gad[r] = (v16d){0};
        gD[r] = 0.0;
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
        for (int r = 0; r < ROWS; r++) {
            h[r] = bound[k * ROWS + r];
            ga[r] = (v16){0};
        }
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
        for (int r = 0; r < ROWS; r++) gad[r] += __builtin_convertvector(ga[r], v16d);
    }
    for (int r = 0; r < ROWS; r++) {
        const v16 sum = __builtin_convertvector(gad[r], v16);
        memcpy(dA + r * 16, &sum, sizeof(v16));
        dD[r] = (float)gD[r];
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
                double gbias = 0.0;
#pragma omp simd reduction(+ : gbias)
                for (int64_t t = 0; t < L; t++) {
                    dd[t] *= sl[t];
                    gbias += dd[t];
                }
                dbias_part[row + r] = (float)gbias;
            }
            c += rows;
        }
    }
done:
    free(bound); free(hbuf); free(abuf); free(dt); free(slope); free(vbound); free(vh); free(va);
    return status;
}

/*
 * Cross-scan backward: the gradients of cross_scan_fwd, in its layout (channels-last, VL channels of one
 * group per vector, no gathered copies). Per unit (batch, block of VL channels) and group: a first pass forms
 * delta and softplus' slope at every step and saves the states entering every chunk of BCHUNK steps; then,
 * chunk by chunk in reverse, each pass of SCAN_BPASS states is recomputed from its boundary (keeping h and
 * exp(delta A) of the chunk) and walked back. Sums over the states (d delta, du) are vertical; the sums over
 * channels (d dt_low, dB, dC at each position) are lane sums, added into the caller's dproj.
 *
 * The walk holds the state gradient and the dA sums of a pass in registers, twice the forward's state count,
 * so a pass covers fewer states than the forward's SCAN_SPASS. Measured on Zen 4, one PoseMamba-B cross-scan
 * backward (batch 1, Di 256, 243 x 17), ms for 2 / 4 / 8 / 16 states per pass: AVX-512 - / 84 / 58 / 59,
 * AVX2 108 / 76 / 99 / -, generic - / 246 / 256 / -; BCHUNK 16 / 32 / 64 at the chosen pass: AVX-512
 * 58 / 58-60 / 74, AVX2 102 / 76 / -. NEON's 8 follows its 32 registers (not measured on an ARM CPU).
 */
#ifdef SCAN_BPASS
#elif VL == 16
#define SCAN_BPASS 8 /* 32 zmm */
#elif VL == 8
#define SCAN_BPASS 4 /* 16 ymm */
#elif defined(__aarch64__)
#define SCAN_BPASS 8 /* 32 q registers */
#else
#define SCAN_BPASS 4 /* 16 xmm */
#endif
#ifndef BCHUNK
#define BCHUNK 32 /* steps per chunk: the chunk's h, exp factors and dB / dC terms stay near L1 */
#endif
#define BRED (((2 * SCAN_BPASS + VL - 1) / VL) * VL) /* dB and dC terms of one pass, padded to whole vectors */

/* (a's lanes, b's lanes) folded: the even s-lane blocks of the 2 VL lanes (a, b) plus the odd ones. */
static inline vf fold(vf a, vf b, vi even, vi odd) { return __builtin_shuffle(a, b, even) + __builtin_shuffle(a, b, odd); }

/* lane j of the result = the sum of the lanes of v[j], for VL vectors v (a transpose-add tree). */
static inline vf lane_sums(const vf *v) {
#if VL == 16
    const vi e8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}, o8 = e8 + 8;
    const vi e4 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27}, o4 = e4 + 4;
    const vi e2 = {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29}, o2 = e2 + 2;
    const vi e1 = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}, o1 = e1 + 1;
    vf a[8], b[4];
    for (int i = 0; i < 8; i++) a[i] = fold(v[2 * i], v[2 * i + 1], e8, o8);
    for (int i = 0; i < 4; i++) b[i] = fold(a[2 * i], a[2 * i + 1], e4, o4);
    return fold(fold(b[0], b[1], e2, o2), fold(b[2], b[3], e2, o2), e1, o1);
#elif VL == 8
    const vi e4 = {0, 1, 2, 3, 8, 9, 10, 11}, o4 = e4 + 4;
    const vi e2 = {0, 1, 4, 5, 8, 9, 12, 13}, o2 = e2 + 2;
    const vi e1 = {0, 2, 4, 6, 8, 10, 12, 14}, o1 = e1 + 1;
    vf a[4];
    for (int i = 0; i < 4; i++) a[i] = fold(v[2 * i], v[2 * i + 1], e4, o4);
    return fold(fold(a[0], a[1], e2, o2), fold(a[2], a[3], e2, o2), e1, o1);
#else
    const vi e2 = {0, 1, 4, 5}, o2 = e2 + 2;
    const vi e1 = {0, 2, 4, 6}, o1 = e1 + 1;
    return fold(fold(v[0], v[1], e2, o2), fold(v[2], v[3], e2, o2), e1, o1);
#endif
}

/* The parameters' gradients (dA, dD, dbias, dt_w) are sums over all P steps: each chunk's part is summed in
 * float32, the chunks' parts in double (in float32, a sum over the 4131 steps of a 243-frame clip drifts
 * several times further from the exact one than the pairwise sums of the float32 reference). */
typedef double vd __attribute__((vector_size(VL * 8)));
static inline vd widen(vf v) { return __builtin_convertvector(v, vd); }

/* vsoftplus(x) (the same arithmetic) and its slope sigmoid(x) (1 above the threshold, as torch). */
static inline vf softplus_slope(vf x, vf *slope) {
    const vf zero = {0};
    const vf ax = (vf)((vi)x & 0x7fffffff);
    const vf e = vexp2(ax * -LOG2E);
    const vf s = e / (e + 2.0f), s2 = s * s;
    const vf sp = (vf)((vi)x & (x > zero)) + 2.0f * s * ATANH_SERIES(s2);
    const vi big = x > zero + 20.0f, pos = x > zero;
    const vf r = 1.0f / (e + 1.0f); /* sigmoid(|x|) */
    const vf sig = (vf)(((vi)r & pos) | ((vi)(e * r) & ~pos));
    *slope = (vf)(((vi)vsplat(1.0f) & big) | ((vi)sig & ~big));
    return (vf)(((vi)x & big) | ((vi)sp & ~big));
}

/* SCAN_SPASS states over T steps without an output: h_n = 2^(dt a_n) h_n + dt u B_n, B_n = bq[order[t] * step + n]. */
static inline __attribute__((always_inline)) void advance_pass(
    vf *restrict hs, const vf *restrict as, const float *restrict bq, int64_t proj_step,
    const int32_t *restrict order, int64_t T, const vf *restrict dtb, const vf *restrict dtxb) {
    vf h[SCAN_SPASS];
    for (int n = 0; n < SCAN_SPASS; n++) h[n] = hs[n];
    for (int64_t t = 0; t < T; t++) {
        const float *restrict q = bq + (int64_t)order[t] * proj_step;
        const vf dt = dtb[t], dtx = dtxb[t];
#pragma GCC unroll 16
        for (int n = 0; n < SCAN_SPASS; n++) h[n] = vexp2(dt * as[n]) * h[n] + dtx * q[n];
    }
    for (int n = 0; n < SCAN_SPASS; n++) hs[n] = h[n];
}

typedef struct {
    vf *dt, *slope;    /* (P,): delta and d delta / d (pre-softplus) at every step */
    vf *bound;         /* (chunks, 16): the states entering every chunk */
    vf *h, *e;         /* (BCHUNK + 1, SCAN_BPASS), (BCHUNK, SCAN_BPASS): one pass's states and exp factors */
    vf *red;           /* (BCHUNK, BRED): dB, dC terms of one pass, per step, before their lane sums */
    vf *dtx, *g;       /* (BCHUNK,): dt * u and the output gradient per step */
    vf *gA, *gB;       /* (BCHUNK,): sum_n d h_n / d (dt A_n) A_n, sum_n d h_n / d (dt u B_n) B_n */
    vf *tv;            /* (MAXR,): d dt_low terms before their lane sums, the padding zero */
} bwd_work;

/* One pass of SCAN_BPASS states (from s0) over chunk c: recompute the states, walk back. gh: the pass's state
 * gradients, carried from chunk to chunk; ga: its dA sums, the chunk's added. */
static inline __attribute__((always_inline)) void bwd_pass(
    const bwd_work *w, int64_t c, int s0, const float *restrict proj, int64_t proj_step, float *restrict dproj,
    int R, const int32_t *restrict ord, int64_t l0, int64_t T, const vf *a2, const vf *an, vf *gh, vd *ga) {
    enum { S = SCAN_BPASS };
    const float *restrict bq = proj + R + s0; /* B_n at bq[n], C_n at bq[16 + n] */
    vf *restrict hb = w->h, *restrict eb = w->e, *restrict red = w->red;
    const vf *restrict dtb = w->dt + l0, *restrict dtxb = w->dtx, *restrict gb = w->g;
    vf h[S];
    for (int n = 0; n < S; n++) hb[n] = h[n] = w->bound[c * 16 + s0 + n];
    for (int64_t t = 0; t < T; t++) {
        const float *restrict q = bq + (int64_t)ord[t] * proj_step;
        const vf dt = dtb[t], dtx = dtxb[t];
#pragma GCC unroll 16
        for (int n = 0; n < S; n++) {
            const vf e = vexp2(dt * a2[s0 + n]);
            h[n] = e * h[n] + dtx * q[n];
            eb[t * S + n] = e;
            hb[(t + 1) * S + n] = h[n];
        }
    }
    vf g_h[S], g_a[S]; /* g_a: this chunk's dA terms, added to ga after it (a sum over P steps, summed chunk-wise) */
    for (int n = 0; n < S; n++) { g_h[n] = gh[s0 + n]; g_a[n] = (vf){0}; }
    for (int64_t t = T - 1; t >= 0; t--) {
        const float *restrict q = bq + (int64_t)ord[t] * proj_step;
        const vf dt = dtb[t], dtx = dtxb[t], g = gb[t];
        vf sa[2] = {{0}, {0}}, sb[2] = {{0}, {0}}; /* sums over the states, in two halves (see state_pass) */
        vf *restrict rd = red + t * BRED;
#pragma GCC unroll 16
        for (int n = 0; n < S; n++) {
            const vf e = eb[t * S + n];
            const vf ghn = g_h[n] + g * q[16 + n]; /* total gradient into h_t */
            rd[S + n] = g * hb[(t + 1) * S + n];   /* dC */
            const vf gexp = ghn * hb[t * S + n] * e; /* gradient of the exponent dt * A */
            sa[n & 1] += gexp * an[s0 + n];
            g_a[n] += gexp * dt;
            rd[n] = ghn * dtx; /* dB */
            sb[n & 1] += ghn * q[n];
            g_h[n] = ghn * e;
        }
        w->gA[t] += sa[0] + sa[1];
        w->gB[t] += sb[0] + sb[1];
    }
    for (int n = 0; n < S; n++) { gh[s0 + n] = g_h[n]; ga[s0 + n] += widen(g_a[n]); }
    for (int64_t t = 0; t < T; t++) {
        float sums[BRED];
        for (int m = 0; m < BRED; m += VL) vstore(sums + m, lane_sums(red + t * BRED + m));
        float *restrict dq = dproj + (int64_t)ord[t] * proj_step + R + s0;
        for (int j = 0; j < S; j++) {
            dq[j] += sums[j];
            dq[16 + j] += sums[S + j];
        }
    }
}

/* One group's backward for VL channels (one per lane); the forward's arguments as in cross_group, plus: gy the
 * output gradient (read at gy + p * gy_step), du the input gradient (written, or added to when du_acc),
 * dproj the projections' gradient (same layout as proj, added to), dA (VL, 16), dD, dbias (VL,), dw (VL, R)
 * the channels' partial sums (written). */
static void cross_group_bwd(const bwd_work *w, const float *restrict u, int64_t u_step, const float *restrict proj,
                            int64_t proj_step, const int32_t *restrict order, const float *wt, int R, const float *bias,
                            const float *A, const float *D, const float *restrict gy, int64_t gy_step,
                            float *restrict du, int64_t du_step, int du_acc, float *restrict dproj, float *dA,
                            float *dD, float *dbias, float *dw, int64_t P) {
    vf a2[16], an[16], h[16], gh[16], wv[MAXR], bv, dv;
    vd ga[16], dwv[MAXR];
    for (int n = 0; n < 16; n++) {
        h[n] = gh[n] = (vf){0};
        ga[n] = (vd){0};
        for (int j = 0; j < VL; j++) an[n][j] = A[j * 16 + n];
        a2[n] = an[n] * LOG2E;
    }
    for (int i = 0; i < R; i++) dwv[i] = (vd){0};
    lane_constants(wt, R, bias, D, wv, &bv, &dv);
    const int64_t chunks = (P + BCHUNK - 1) / BCHUNK;
    for (int64_t c = 0; c < chunks; c++) { /* pass 1: delta everywhere, the states entering every chunk */
        const int64_t l0 = c * BCHUNK, T = P - l0 < BCHUNK ? P - l0 : BCHUNK;
        const int32_t *restrict ord = order + l0;
        for (int64_t t = 0; t < T; t++) {
            const int64_t p = ord[t];
            const float *restrict q = proj + p * proj_step;
            const vf x = dt_input(wv, bv, q, R);
            const vf dt = softplus_slope(x, w->slope + l0 + t);
            w->dt[l0 + t] = dt;
            w->dtx[t] = dt * vload(u + p * u_step);
        }
        for (int n = 0; n < 16; n++) w->bound[c * 16 + n] = h[n];
        for (int s0 = 0; s0 < 16; s0 += SCAN_SPASS)
            advance_pass(h + s0, a2 + s0, proj + R + s0, proj_step, ord, T, w->dt + l0, w->dtx);
    }
    vd dDv = {0}, dbv = {0};
    const int RT = (R + VL - 1) / VL * VL;
    for (int64_t c = chunks - 1; c >= 0; c--) { /* pass 2: chunks in reverse */
        const int64_t l0 = c * BCHUNK, T = P - l0 < BCHUNK ? P - l0 : BCHUNK;
        const int32_t *restrict ord = order + l0;
        for (int64_t t = 0; t < T; t++) {
            const int64_t p = ord[t];
            w->dtx[t] = w->dt[l0 + t] * vload(u + p * u_step);
            w->g[t] = vload(gy + p * gy_step);
            w->gA[t] = w->gB[t] = (vf){0};
        }
        for (int s0 = 0; s0 < 16; s0 += SCAN_BPASS)
            bwd_pass(w, c, s0, proj, proj_step, dproj, R, ord, l0, T, a2, an, gh, ga);
        vf dbc = {0}, dwc[MAXR]; /* the chunk's part of the sums over steps, added to them once */
        for (int i = 0; i < R; i++) dwc[i] = (vf){0};
        for (int64_t t = 0; t < T; t++) { /* the step's d delta, du, and the sums over steps */
            const int64_t p = ord[t];
            const float *restrict q = proj + p * proj_step;
            const vf g = w->g[t], uv = vload(u + p * u_step), dt = w->dt[l0 + t], gB = w->gB[t];
            vf duv = dv * g + dt * gB;
            if (du_acc) duv += vload(du + p * du_step);
            vstore(du + p * du_step, duv);
            dDv += widen(g * uv); /* exact terms: summed in double as they come */
            const vf dx = (w->gA[t] + gB * uv) * w->slope[l0 + t]; /* d (dt_w . dt_low + bias) */
            dbc += dx;
            for (int i = 0; i < R; i++) {
                dwc[i] += dx * q[i];
                w->tv[i] = dx * wv[i];
            }
            float sums[MAXR];
            for (int m = 0; m < RT; m += VL) vstore(sums + m, lane_sums(w->tv + m));
            float *restrict dq = dproj + p * proj_step;
            for (int i = 0; i < R; i++) dq[i] += sums[i];
        }
        dbv += widen(dbc);
        for (int i = 0; i < R; i++) dwv[i] += widen(dwc[i]);
    }
    for (int j = 0; j < VL; j++) {
        for (int n = 0; n < 16; n++) dA[j * 16 + n] = (float)ga[n][j];
        for (int i = 0; i < R; i++) dw[j * R + i] = (float)dwv[i][j];
        dD[j] = (float)dDv[j];
        dbias[j] = (float)dbv[j];
    }
}

/*
 * Cross-scan backward: the gradients of cross_scan_fwd (its arguments and layouts), given gy, the gradient of
 * y (gy[b * gy_sb + pos * gy_sp + d]). Writes, per group k (channels c = k * Di + d):
 *   du[k]    : du[k][b * du_sb + pos * du_sp + d]  the gradient of us[k]; groups with the same du pointer add
 *              up (the first one, in k order, writes)
 *   dproj[k] : the gradient of proj[k], same layout and strides; ADDED to (zero it first). Each caller thread
 *              needs its own: units of one batch row share positions
 *   dA_part (batch, K * Di, N), dD_part, dbias_part (batch, K * Di), dw_part (batch, K * Di, R): per batch row
 * Work is split over units = (batch, block of scan_lanes() channels), as the forward. Returns -1 unless N == 16,
 * R <= 16 and Di is a multiple of scan_lanes(); -2 when out of memory.
 */
int cross_scan_bwd(const float *const *us, int64_t u_sb, int64_t u_sp, const float *const *proj, int64_t proj_sb,
                   int64_t proj_sp, const int32_t *order, const float *dt_w, const float *bias, const float *A,
                   const float *D, const float *gy, int64_t gy_sb, int64_t gy_sp, float *const *du, int64_t du_sb,
                   int64_t du_sp, float *const *dproj, float *dA_part, float *dD_part, float *dbias_part,
                   float *dw_part, int64_t K, int64_t Di, int64_t P, int64_t R, int64_t N, int64_t unit0,
                   int64_t unit1) {
    if (N != 16 || R > MAXR || Di % VL) return -1;
    const int64_t chunks = (P + BCHUNK - 1) / BCHUNK;
    const size_t vecs = (size_t)(2 * P + chunks * 16 + (2 * BCHUNK + 1) * SCAN_BPASS + BCHUNK * BRED + 4 * BCHUNK
                                 + MAXR);
    vf *buf = (vf *)aligned_alloc(64, (sizeof(vf) * vecs + 63) / 64 * 64);
    if (!buf) return -2;
    memset(buf, 0, sizeof(vf) * vecs);
    bwd_work w;
    vf *at = buf;
    w.dt = at; at += P;
    w.slope = at; at += P;
    w.bound = at; at += chunks * 16;
    w.h = at; at += (BCHUNK + 1) * SCAN_BPASS;
    w.e = at; at += BCHUNK * SCAN_BPASS;
    w.red = at; at += BCHUNK * BRED;
    w.dtx = at; at += BCHUNK;
    w.g = at; at += BCHUNK;
    w.gA = at; at += BCHUNK;
    w.gB = at; at += BCHUNK;
    w.tv = at;
    const int64_t blocks = Di / VL;
    for (int64_t unit = unit0; unit < unit1; unit++) {
        const int64_t b = unit / blocks, d0 = (unit % blocks) * VL;
        for (int64_t k = 0; k < K; k++) {
            const int64_t c = k * Di + d0, row = b * K * Di + c;
            int du_acc = 0;
            for (int64_t j = 0; j < k; j++) du_acc |= du[j] == du[k];
            cross_group_bwd(&w, us[k] + b * u_sb + d0, u_sp, proj[k] + b * proj_sb, proj_sp, order + k * P,
                            dt_w + c * R, (int)R, bias ? bias + c : NULL, A + c * N, D ? D + c : NULL,
                            gy + b * gy_sb + d0, gy_sp, du[k] + b * du_sb + d0, du_sp, du_acc,
                            dproj[k] + b * proj_sb, dA_part + row * N, dD_part + row, dbias_part + row,
                            dw_part + row * R, P);
        }
    }
    free(buf);
    return 0;
}

/* The digest of the sources this library was built from (set by setup.py; empty in run-time builds). */
#ifndef POSEMAMBA_KERNEL_DIGEST
#define POSEMAMBA_KERNEL_DIGEST ""
#endif
const char *kernel_source_digest(void) { return POSEMAMBA_KERNEL_DIGEST; }
