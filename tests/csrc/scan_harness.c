/*
 * Runs the CPU scan kernels (and the fused block steps) on inputs read from stdin and writes its outputs to stdout, so that a build for
 * another architecture can be tested under an emulator (tests/test_kernel_aarch64.py). Little-endian int64
 * sizes, then float32 / int32 arrays, in the order read below; the layouts are scan_cpu.c's.
 *   mode 0: write the build's ISA name
 *   mode 1: cross_scan_fwd        K Di P R N batch | us proj order dt_w bias A D       -> y
 *   mode 2: scan_fwd + scan_bwd   batch dim groups L N softplus | u delta bias A B C D gy
 *                                 -> y du ddelta dA_part dD_part dbias_part dB dC
 *   mode 3: cross_scan_bwd        K Di P R N batch S source_index[K] | sources(S) proj order dt_w bias A D gy
 *                                 -> du(S) dproj dA_part dD_part dbias_part dw_part
 *   mode 4: conv3x3_silu          batch F J D | x taps(9, D) bias parent(J, int64)   -> act gathered
 *   mode 5: layer_norm_gate       rows D | y z weight bias eps(1)                     -> out
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *scan_isa(void);
int conv3x3_silu(const float *x, const float *w, const float *bias, const int64_t *parent, float *act,
                 float *gathered, int64_t F, int64_t J, int64_t D, int64_t unit0, int64_t unit1);
int layer_norm_gate(const float *y, const float *z, const float *weight, const float *bias, float eps, float *out,
                    int64_t D, int64_t row0, int64_t row1);
int cross_scan_fwd(const float *const *us, int64_t u_sb, int64_t u_sp, const float *const *proj, int64_t proj_sb,
                   int64_t proj_sp, const int32_t *order, const float *dt_w, const float *bias, const float *A,
                   const float *D, float *y, int64_t y_sb, int64_t y_sp, int64_t K, int64_t Di, int64_t P,
                   int64_t R, int64_t N, int64_t unit0, int64_t unit1);
int cross_scan_bwd(const float *const *us, int64_t u_sb, int64_t u_sp, const float *const *proj, int64_t proj_sb,
                   int64_t proj_sp, const int32_t *order, const float *dt_w, const float *bias, const float *A,
                   const float *D, const float *gy, int64_t gy_sb, int64_t gy_sp, float *const *du, int64_t du_sb,
                   int64_t du_sp, float *const *dproj, float *dA_part, float *dD_part, float *dbias_part,
                   float *dw_part, int64_t K, int64_t Di, int64_t P, int64_t R, int64_t N, int64_t unit0,
                   int64_t unit1);
int scan_lanes(void);
int scan_fwd(const float *u, const float *delta, const float *bias, int softplus, const float *A, const float *B,
             const float *C, const float *D, float *y, int64_t batch, int64_t dim, int64_t groups, int64_t L,
             int64_t N, int64_t row0, int64_t row1);
int scan_bwd(const float *u, const float *delta, const float *bias, int softplus, const float *A, const float *B,
             const float *C, const float *D, const float *gy, float *du, float *ddelta, float *dA_part,
             float *dD_part, float *dbias_part, float *dB, float *dC, int64_t batch, int64_t dim, int64_t groups,
             int64_t L, int64_t N, int64_t unit0, int64_t unit1);

static int64_t get_i64(void) {
    int64_t v;
    if (fread(&v, sizeof v, 1, stdin) != 1) exit(3);
    return v;
}

static void *get(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    if (!p || fread(p, size, count, stdin) != count) exit(3);
    return p;
}

static void put(const float *p, size_t count) { fwrite(p, sizeof(float), count, stdout); }

int main(void) {
    const int64_t mode = get_i64();
    if (mode == 0) {
        fputs(scan_isa(), stdout);
        return 0;
    }
    if (mode == 1) {
        const int64_t K = get_i64(), Di = get_i64(), P = get_i64(), R = get_i64(), N = get_i64(), b = get_i64();
        float *us = get(K * b * P * Di, 4), *proj = get(K * b * P * (R + 2 * N), 4);
        int32_t *order = get(K * P, 4);
        float *dt_w = get(K * Di * R, 4), *bias = get(K * Di, 4), *A = get(K * Di * N, 4), *D = get(K * Di, 4);
        const float *u_ptr[64], *p_ptr[64];
        if (K > 64) return 4;
        for (int64_t k = 0; k < K; k++) {
            u_ptr[k] = us + k * b * P * Di;
            p_ptr[k] = proj + k * b * P * (R + 2 * N);
        }
        float *y = calloc(b * P * Di, 4);
        const int rc = cross_scan_fwd(u_ptr, P * Di, Di, p_ptr, P * (R + 2 * N), R + 2 * N, order, dt_w, bias, A, D,
                                      y, P * Di, Di, K, Di, P, R, N, 0, b * Di / scan_lanes());
        if (rc) return 5;
        put(y, b * P * Di);
        return 0;
    }
    if (mode == 4) {
        const int64_t b = get_i64(), F = get_i64(), J = get_i64(), D = get_i64();
        float *x = get(b * F * J * D, 4), *taps = get(9 * D, 4), *bias = get(D, 4);
        int64_t *parent = get(J, 8);
        float *act = calloc(b * F * J * D, 4), *gathered = calloc(b * F * J * D, 4);
        if (conv3x3_silu(x, taps, bias, parent, act, gathered, F, J, D, 0, b * F)) return 7;
        put(act, b * F * J * D);
        put(gathered, b * F * J * D);
        return 0;
    }
    if (mode == 5) {
        const int64_t rows = get_i64(), D = get_i64();
        float *y = get(rows * D, 4), *z = get(rows * D, 4), *w = get(D, 4), *bias = get(D, 4), *eps = get(1, 4);
        float *out = calloc(rows * D, 4);
        if (layer_norm_gate(y, z, w, bias, *eps, out, D, 0, rows)) return 8;
        put(out, rows * D);
        return 0;
    }
    if (mode == 3) {
        const int64_t K = get_i64(), Di = get_i64(), P = get_i64(), R = get_i64(), N = get_i64(), b = get_i64();
        const int64_t S = get_i64(), C = R + 2 * N;
        int64_t src[64];
        if (K > 64) return 4;
        for (int64_t k = 0; k < K; k++) src[k] = get_i64();
        float *sources = get(S * b * P * Di, 4), *proj = get(K * b * P * C, 4);
        int32_t *order = get(K * P, 4);
        float *dt_w = get(K * Di * R, 4), *bias = get(K * Di, 4), *A = get(K * Di * N, 4), *D = get(K * Di, 4);
        float *gy = get(b * P * Di, 4);
        float *du = calloc(S * b * P * Di, 4), *dproj = calloc(K * b * P * C, 4);
        float *dA = calloc(b * K * Di * N, 4), *dD = calloc(b * K * Di, 4), *dbias = calloc(b * K * Di, 4);
        float *dw = calloc(b * K * Di * R, 4);
        const float *u_ptr[64], *p_ptr[64];
        float *du_ptr[64], *dp_ptr[64];
        for (int64_t k = 0; k < K; k++) {
            u_ptr[k] = sources + src[k] * b * P * Di;
            du_ptr[k] = du + src[k] * b * P * Di;
            p_ptr[k] = proj + k * b * P * C;
            dp_ptr[k] = dproj + k * b * P * C;
        }
        const int rc = cross_scan_bwd(u_ptr, P * Di, Di, p_ptr, P * C, C, order, dt_w, bias, A, D, gy, P * Di, Di,
                                      du_ptr, P * Di, Di, dp_ptr, dA, dD, dbias, dw, K, Di, P, R, N, 0,
                                      b * Di / scan_lanes());
        if (rc) return 5;
        put(du, S * b * P * Di); put(dproj, K * b * P * C); put(dA, b * K * Di * N); put(dD, b * K * Di);
        put(dbias, b * K * Di); put(dw, b * K * Di * R);
        return 0;
    }
    const int64_t b = get_i64(), dim = get_i64(), groups = get_i64(), L = get_i64(), N = get_i64();
    const int softplus = (int)get_i64();
    float *u = get(b * dim * L, 4), *delta = get(b * dim * L, 4), *bias = get(dim, 4), *A = get(dim * N, 4);
    float *B = get(b * groups * L * N, 4), *C = get(b * groups * L * N, 4), *D = get(dim, 4);
    float *gy = get(b * dim * L, 4);
    float *y = calloc(b * dim * L, 4), *du = calloc(b * dim * L, 4), *dd = calloc(b * dim * L, 4);
    float *dA = calloc(b * dim * N, 4), *dD = calloc(b * dim, 4), *dbias = calloc(b * dim, 4);
    float *dB = calloc(b * groups * L * N, 4), *dC = calloc(b * groups * L * N, 4);
    if (scan_fwd(u, delta, bias, softplus, A, B, C, D, y, b, dim, groups, L, N, 0, b * dim)) return 5;
    if (scan_bwd(u, delta, bias, softplus, A, B, C, D, gy, du, dd, dA, dD, dbias, dB, dC, b, dim, groups, L, N, 0,
                 b * groups))
        return 6;
    put(y, b * dim * L); put(du, b * dim * L); put(dd, b * dim * L); put(dA, b * dim * N);
    put(dD, b * dim); put(dbias, b * dim); put(dB, b * groups * L * N); put(dC, b * groups * L * N);
    return 0;
}
