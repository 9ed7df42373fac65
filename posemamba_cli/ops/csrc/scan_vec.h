/*
 * The vector type and the few primitives the CPU scan kernels need, sized to the instruction set the file
 * is compiled for. scan_cpu.c is built once per ISA (see ops/cbuild.py and setup.py):
 *
 *   SCAN_ISA  lanes  states per pass  exp2 by
 *   avx512    16     16               reduce + scalef (32 zmm registers hold h[16] and the temporaries)
 *   avx2       8      8               round + integer exponent add (16 ymm: h[8], a[8] from memory)
 *   neon       4      8               vrndn + integer exponent add (32 q registers)
 *   generic    4      8               plain vector C (SSE2 on x86-64, whatever the compiler targets elsewhere)
 *
 * A "lane" is one channel: the fused cross scan advances VL channels of one group together, so the state
 * contraction needs no horizontal sums. SCAN_SPASS states are kept in registers at a time; the others wait
 * in memory for their own pass over the same time chunk.
 *
 * SCAN_ROWS16: whether the plain scan (scan_fwd / scan_bwd, the training path) runs N = 16 four channels at a
 * time with the 16 states as one 64-byte vector. Where that vector is two ymm registers (AVX2) the state no
 * longer fits and the auto-vectorised one-channel loops are 1.7x (forward) and 2.8x (backward) faster.
 */
#ifndef POSEMAMBA_SCAN_VEC_H
#define POSEMAMBA_SCAN_VEC_H

#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define SCAN_ISA "avx512"
#define VL 16
#define SCAN_SPASS 16
#define SCAN_ROWS16 1
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SCAN_ISA "avx2"
#define VL 8
#define SCAN_SPASS 8
#define SCAN_ROWS16 0
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define SCAN_ISA "neon"
#define VL 4
#define SCAN_SPASS 8
#define SCAN_ROWS16 1
#else
#define SCAN_ISA "generic"
#define VL 4
#define SCAN_SPASS 8
#define SCAN_ROWS16 1
#endif

typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));

#define LOG2E 1.44269504088896341f

static inline vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf vsplat(float x) { return (vf){0} + x; }

/* 2^f for |f| <= 1/2: 1 + f (ln2 + c2 f + ... + c6 f^5), c1 = ln2 in float32, c2..c6 minimax for the relative
   error (3e-9 in exact arithmetic, 6.7e-8 with float32 FMAs: a correctly rounded 2^f has up to 6e-8). Degree 6
   with the linear term exact: the scan's slow states (f just below 0, kept for thousands of steps) and the
   gradients of dt through them take the error of every factor as a drift; the near-minimax degree 5 below
   (9e-8, its c1 off by 3e-7) gave the training path twice the float32 reference's error in d dt and dA on
   trained weights. One polynomial for every vector width (this header's lanes and scan_cpu.c's 16-lane rows). */
#define EXP2_FRAC_POLY(f) \
    (((((((f) * 1.5324314882e-4f + 1.3390958775e-3f) * (f) + 9.6185179427e-3f) * (f) + 5.5503595620e-2f) * (f) \
      + 2.4022647738e-1f) * (f) + 6.9314718246e-1f) * (f) + 1.0f)

/* Degree 5, near-minimax (relative error < 1e-7 exact, 1.7e-7 in float32): the fused forward's state decays
   only (vexp2_fast). There it keeps the output within 1.1-1.3x of the float32 reference's error on trained
   weights (degree 6: 1.0-1.2x), and saves 5-7% of a PoseMamba-S inference on one thread (AVX2, AVX-512). */
#define EXP2_FRAC_POLY5(f) \
    ((((((f) * 1.3264631541e-3f + 9.6714868816e-3f) * (f) + 5.5507337428e-2f) * (f) + 2.4022242493e-1f) * (f) \
      + 6.9314697778e-1f) * (f) + 1.0f)

/* 2^f by the polynomial `fast` picks (a constant wherever this is inlined). */
static inline __attribute__((always_inline)) vf exp2_frac(vf f, int fast) {
    return fast ? EXP2_FRAC_POLY5(f) : EXP2_FRAC_POLY(f);
}

/* 2^x lane-wise for x <= 0 (and moderate x > 0), x = n + f with n = round(x), |f| <= 1/2. Below -125 the result
 * is 2^-125 or 0, not the exact tiny value: in the scan it multiplies a state that is then negligible either way.
 * Rounding to nearest matters: near x = 0- (a slow decay, exp(dt A) just below 1) 2^f = 1 + f ln2 + ... is then
 * rounded once, like exp's own. Split at floor(x) instead (as the AVX-512 build once did), f = 1 + x loses x's
 * low bits and the polynomial's error at f = 1 becomes a bias of the factor, which a state kept for thousands
 * of steps (small dt |A|, as trained weights have) multiplies into a drift: 7x the float32 reference's error. */
#if defined(__AVX512F__)
static inline __attribute__((always_inline)) vf vexp2_poly(vf x, int fast) {
    const __m512 f = _mm512_reduce_ps((__m512)x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); /* x - n */
    return (vf)_mm512_scalef_ps((__m512)exp2_frac((vf)f, fast), _mm512_sub_ps((__m512)x, f)); /* exact; 0 below */
}
#elif defined(__AVX2__) && defined(__FMA__)
static inline __attribute__((always_inline)) vf vexp2_poly(vf x, int fast) {
    x = (vf)_mm256_max_ps((__m256)x, _mm256_set1_ps(-125.0f));
    const __m256 n = _mm256_round_ps((__m256)x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const vf p = exp2_frac(x - (vf)n, fast);
    return (vf)((vi)p + ((vi)_mm256_cvtps_epi32(n) << 23)); /* p in [0.7, 1.5): add n to its exponent */
}
#elif defined(__ARM_NEON) && defined(__aarch64__)
static inline __attribute__((always_inline)) vf vexp2_poly(vf x, int fast) {
    x = (vf)vmaxq_f32((float32x4_t)x, vdupq_n_f32(-125.0f));
    const float32x4_t n = vrndnq_f32((float32x4_t)x);
    const vf p = exp2_frac(x - (vf)n, fast);
    return (vf)((vi)p + ((vi)vcvtq_s32_f32(n) << 23));
}
#else
static inline __attribute__((always_inline)) vf vexp2_poly(vf x, int fast) {
    const vi low = x < -125.0f;
    x = (vf)(((vi)vsplat(-125.0f) & low) | ((vi)x & ~low));
    const vf magic = vsplat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    const vf t = x + magic;
    const vf p = exp2_frac(x - (t - magic), fast);
    return (vf)((vi)p + (((vi)t - (vi)magic) << 23));
}
#endif

static inline vf vexp2(vf x) { return vexp2_poly(x, 0); }
static inline vf vexp2_fast(vf x) { return vexp2_poly(x, 1); } /* the fused forward's decays: see EXP2_FRAC_POLY5 */

/* log1p(e) = 2 atanh(s), s = e / (2 + e) <= 1/3: 2 s (1 + s^2/3 + ... + s^12/13), ~3e-8. */
#define ATANH_SERIES(s2) \
    (((((((s2) * (1.0f / 13.0f) + 1.0f / 11.0f) * (s2) + 1.0f / 9.0f) * (s2) + 1.0f / 7.0f) * (s2) + 1.0f / 5.0f) \
      * (s2) + 1.0f / 3.0f) * (s2) + 1.0f)

/* softplus(x) with torch's threshold (x > 20 passes through): max(x, 0) + log1p(exp(-|x|)), lane-wise. */
static inline vf vsoftplus(vf x) {
    const vf zero = {0};
    const vf ax = (vf)((vi)x & 0x7fffffff);
    const vf e = vexp2(ax * -LOG2E);
    const vf s = e / (e + 2.0f), s2 = s * s;
    const vf sp = (vf)((vi)x & (x > zero)) + 2.0f * s * ATANH_SERIES(s2);
    const vi big = x > zero + 20.0f;
    return (vf)(((vi)x & big) | ((vi)sp & ~big));
}

#endif
