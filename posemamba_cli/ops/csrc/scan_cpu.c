/*
 * Selective scan on the CPU, float32, one channel at a time, the N states vectorised.
 *
 *   h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t        (h_{-1} = 0)
 *   y_t = <C_t, h_t> + D * u_t
 *
 * Layouts (all contiguous, float32):
 *   u, dt, y, gy, du, ddt : (batch, dim, L)        dt already has bias and softplus applied
 *   A                     : (dim, N)
 *   B, C, dB, dC          : (batch, groups, L, N)  channel c belongs to group c / (dim / groups)
 *   D                     : (dim,) or NULL
 *   dA_part               : (batch, dim, N)        per-batch partial sums, reduced by the caller
 *   dD_part               : (batch, dim)
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

static inline void fwd_row(const float *restrict u, const float *restrict dt, const float *restrict A,
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
        for (int n = 0; n < N; n++) {
            h[n] = exp_approx(d * a[n]) * h[n] + du * bt[n];
            acc += ct[n] * h[n];
        }
        y[t] = acc + dval * x;
    }
}

/* Forward over rows [row0, row1) of the flattened (batch, dim) grid. */
void scan_fwd(const float *u, const float *dt, const float *A, const float *B, const float *C, const float *D,
              float *y, int64_t batch, int64_t dim, int64_t groups, int64_t L, int64_t N, int64_t row0,
              int64_t row1) {
    (void)batch;
    const int64_t per_group = dim / groups;
    for (int64_t row = row0; row < row1; row++) {
        const int64_t b = row / dim, c = row % dim, g = c / per_group;
        const float *bb = B + (b * groups + g) * L * N;
        const float *cc = C + (b * groups + g) * L * N;
        const float dval = D ? D[c] : 0.0f;
        if (N == 16)
            fwd_row(u + row * L, dt + row * L, A + c * N, bb, cc, dval, y + row * L, L, 16);
        else
            fwd_row(u + row * L, dt + row * L, A + c * N, bb, cc, dval, y + row * L, L, (int)N);
    }
}

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

/* Backward over units [unit0, unit1) of the flattened (batch, groups) grid. dB and dC must be zeroed. */
int scan_bwd(const float *u, const float *dt, const float *A, const float *B, const float *C, const float *D,
             const float *gy, float *du, float *ddt, float *dA_part, float *dD_part, float *dB, float *dC,
             int64_t batch, int64_t dim, int64_t groups, int64_t L, int64_t N, int64_t unit0, int64_t unit1) {
    (void)batch;
    if (N > MAXN) return -1;
    const int64_t per_group = dim / groups;
    const int64_t nchunks = (L + CHUNK - 1) / CHUNK;
    float *bound = (float *)malloc(sizeof(float) * (size_t)(nchunks * N));
    float *hbuf = (float *)malloc(sizeof(float) * (size_t)(CHUNK * N));
    float *abuf = (float *)malloc(sizeof(float) * (size_t)(CHUNK * N));
    if (!bound || !hbuf || !abuf) { free(bound); free(hbuf); free(abuf); return -2; }
    for (int64_t unit = unit0; unit < unit1; unit++) {
        const int64_t b = unit / groups, g = unit % groups;
        const float *bb = B + unit * L * N, *cc = C + unit * L * N;
        float *dbb = dB + unit * L * N, *dcc = dC + unit * L * N;
        for (int64_t c = g * per_group; c < (g + 1) * per_group; c++) {
            const int64_t row = b * dim + c, o = row * L;
            const float dval = D ? D[c] : 0.0f;
            if (N == 16)
                bwd_row(u + o, dt + o, A + c * N, bb, cc, dval, gy + o, du + o, ddt + o, dA_part + row * N,
                        dD_part + row, dbb, dcc, bound, hbuf, abuf, L, 16);
            else
                bwd_row(u + o, dt + o, A + c * N, bb, cc, dval, gy + o, du + o, ddt + o, dA_part + row * N,
                        dD_part + row, dbb, dcc, bound, hbuf, abuf, L, (int)N);
        }
    }
    free(bound); free(hbuf); free(abuf);
    return 0;
}
