/*
 * The memory-bound steps around the cross scan, fused so that each reads its inputs once (float32, inference).
 * Built into the same per-ISA library as scan_cpu.c; VL channels per vector, channels-last rows.
 *
 *   conv3x3_silu  act = silu(depthwise_conv3x3(x) + bias) over a (frames x joints) grid, zero padding, and
 *                 optionally gathered = act + act[:, :, parent] (the parent joint's channels added)
 *   layer_norm_gate  out = layer_norm(y) * silu(z), row by row; out may be y
 *
 * Work is split by the caller over units: (batch, frame) rows for the conv, rows for the norm.
 */
#include <math.h>
#include <stdint.h>

#include "scan_vec.h"

static inline vf vmin_f(vf a, vf b) {
    const vi m = a < b;
    return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* x * sigmoid(x) = x / (1 + 2^(-x log2 e)); the exponent is capped where sigmoid(x) is 0 in float32 anyway. */
static inline vf vsilu(vf x) { return x / (1.0f + vexp2(vmin_f(x * -LOG2E, vsplat(126.0f)))); }

static inline float hsum(vf v) {
    float s = 0.0f;
    for (int i = 0; i < VL; i++) s += v[i];
    return s;
}

/* x, act, gathered: (batch, F, J, D) contiguous; w: (3, 3, D), tap (dy, dx) at (dy * 3 + dx) * D; bias: (D,).
 * parent: (J,) joint indices, or NULL for no gathered output. Units are (batch * F + frame). Returns -1 unless
 * D is a multiple of VL. */
int conv3x3_silu(const float *x, const float *w, const float *bias, const int64_t *parent, float *act,
                 float *gathered, int64_t F, int64_t J, int64_t D, int64_t unit0, int64_t unit1) {
    if (D % VL) return -1;
    for (int64_t unit = unit0; unit < unit1; unit++) {
        const int64_t b = unit / F, f = unit % F;
        float *row = act + unit * J * D;
        for (int64_t j = 0; j < J; j++) {
            for (int64_t d = 0; d < D; d += VL) {
                vf acc = vload(bias + d);
                for (int64_t dy = 0; dy < 3; dy++) {
                    const int64_t ff = f + dy - 1;
                    if (ff < 0 || ff >= F) continue;
                    const float *xr = x + ((b * F + ff) * J) * D + d;
                    for (int64_t dx = 0; dx < 3; dx++) {
                        const int64_t jj = j + dx - 1;
                        if (jj < 0 || jj >= J) continue;
                        acc += vload(w + (dy * 3 + dx) * D + d) * vload(xr + jj * D);
                    }
                }
                vstore(row + j * D + d, vsilu(acc));
            }
        }
        if (!parent) continue;
        float *out = gathered + unit * J * D;
        for (int64_t j = 0; j < J; j++) {
            const float *p = row + parent[j] * D, *s = row + j * D;
            for (int64_t d = 0; d < D; d += VL) vstore(out + j * D + d, vload(s + d) + vload(p + d));
        }
    }
    return 0;
}

/* y, z, out: (rows, D) contiguous; weight, bias: (D,). Mean and variance in two passes over the row (biased
 * variance, as layer_norm). Returns -1 unless D is a multiple of VL. */
int layer_norm_gate(const float *y, const float *z, const float *weight, const float *bias, float eps, float *out,
                    int64_t D, int64_t row0, int64_t row1) {
    if (D % VL) return -1;
    const float inv_d = 1.0f / (float)D;
    for (int64_t r = row0; r < row1; r++) {
        const float *yr = y + r * D, *zr = z + r * D;
        float *o = out + r * D;
        vf s = {0};
        for (int64_t d = 0; d < D; d += VL) s += vload(yr + d);
        const float mean = hsum(s) * inv_d;
        vf q = {0};
        for (int64_t d = 0; d < D; d += VL) {
            const vf c = vload(yr + d) - mean;
            q += c * c;
        }
        const float rstd = 1.0f / sqrtf(hsum(q) * inv_d + eps);
        for (int64_t d = 0; d < D; d += VL) {
            const vf n = (vload(yr + d) - mean) * rstd;
            vstore(o + d, (n * vload(weight + d) + vload(bias + d)) * vsilu(vload(zr + d)));
        }
    }
    return 0;
}
