// Kernels of encoder models (BERT family): LayerNorm with a bias, and GELU in its exact erf form.
#include "internal.h"
#include "vecmath_x86.h"
#include <math.h>
#include <stdlib.h>

void vk_layer_norm_ref(const float *x, const float *w, const float *b, float *y, int64_t n, float eps) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    const double mean = sum / (double)n;
    double squares = 0;
    for (int64_t i = 0; i < n; i++) squares += (x[i] - mean) * (x[i] - mean);
    const double rstd = 1.0 / sqrt(squares / (double)n + eps);
    for (int64_t i = 0; i < n; i++) y[i] = (float)((x[i] - mean) * rstd) * w[i] + b[i];
}

/// Two passes over the row (mean, then the centred sum of squares, as torch's LayerNorm computes the variance),
/// each summed in 16 float lanes that the compiler vectorizes and then in double: BERT rows are a few hundred
/// values, so lanes of float partial sums stay within a few ulp of the serial double reference.
void vk_add_layer_norm(float *x, const float *y, const float *yb, const float *w, const float *b, int64_t n, float eps) {
    enum { LANES = 16 };
    float lanes[LANES] = {0};
    if (y) {
        if (yb) for (int64_t i = 0; i < n; i++) x[i] += y[i] + yb[i];
        else for (int64_t i = 0; i < n; i++) x[i] += y[i];
    }
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) for (int j = 0; j < LANES; j++) lanes[j] += x[i + j];
    double sum = 0;
    for (int j = 0; j < LANES; j++) sum += lanes[j];
    for (; i < n; i++) sum += x[i];
    const float mean = (float)(sum / (double)n);
    float squares[LANES] = {0};
    for (i = 0; i + LANES <= n; i += LANES) for (int j = 0; j < LANES; j++) {
        const float d = x[i + j] - mean;
        squares[j] += d * d;
    }
    double total = 0;
    for (int j = 0; j < LANES; j++) total += squares[j];
    for (; i < n; i++) total += (double)(x[i] - mean) * (double)(x[i] - mean);
    const float rstd = (float)(1.0 / sqrt(total / (double)n + eps));
    for (i = 0; i < n; i++) x[i] = ((x[i] - mean) * rstd) * w[i] + b[i];
}

void vk_gelu_erf_ref(const float *x, float *out, int64_t n) {
    // 1 + erf(z) = erfc(-z): no cancellation where gelu(x) is tiny (x << 0).
    for (int64_t i = 0; i < n; i++) out[i] = (float)(0.5 * x[i] * erfc(-x[i] / sqrt(2.0)));
}

// GELU through erfc: gelu(x) = x/2 erfc(-x/sqrt 2), and erfc(z) for z >= 0 from the Chebyshev fit
// t exp(-z^2 - 1.26551223 + t P(t)), t = 1 / (1 + z/2) (fractional error below 1.2e-7 for every z >= 0), with
// erfc(-z) = 2 - erfc(z). Relative accuracy holds on the negative side, where gelu tends to zero.
#define VK_ERFC_COEFFICIENTS(F) \
    F(0.17087277f) F(-0.82215223f) F(1.48851587f) F(-1.13520398f) F(0.27886807f) F(-0.18628806f) \
    F(0.09678418f) F(0.37409196f) F(1.00002368f)

static inline float vk_gelu_scalar(float v) {
    const float z = fabsf(v) * 0.70710678118654752f;
    const float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0;
#define STEP(c) p = p * t + (c);
    VK_ERFC_COEFFICIENTS(STEP)
#undef STEP
    const float erfc_z = t * expf(-z * z - 1.26551223f + t * p);
    // v >= 0: erfc(-z) = 2 - erfc(z); v < 0: erfc(z).
    return 0.5f * v * (v >= 0 ? 2.0f - erfc_z : erfc_z);
}

#if VK_X86
static VK_AVX512_FN void vk_gelu_erf_avx512(const float *x, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512 z = _mm512_mul_ps(_mm512_abs_ps(v), _mm512_set1_ps(0.70710678118654752f));
        const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
        __m512 p = _mm512_setzero_ps();
#define STEP(c) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c));
        VK_ERFC_COEFFICIENTS(STEP)
#undef STEP
        const __m512 e = _mm512_fmadd_ps(t, p, _mm512_fnmadd_ps(z, z, _mm512_set1_ps(-1.26551223f)));
        const __m512 erfc_z = _mm512_mul_ps(t, vk_exp512(e));
        const __mmask16 positive = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ);
        const __m512 f = _mm512_mask_sub_ps(erfc_z, positive, _mm512_set1_ps(2.0f), erfc_z);
        _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.5f)), f));
    }
    for (; i < n; i++) out[i] = vk_gelu_scalar(x[i]);
}

static VK_AVX2_FN void vk_gelu_erf_avx2(const float *x, float *out, int64_t n) {
    int64_t i = 0;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(0.70710678118654752f));
        const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
        __m256 p = _mm256_setzero_ps();
#define STEP(c) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c));
        VK_ERFC_COEFFICIENTS(STEP)
#undef STEP
        const __m256 e = _mm256_fmadd_ps(t, p, _mm256_fnmadd_ps(z, z, _mm256_set1_ps(-1.26551223f)));
        const __m256 erfc_z = _mm256_mul_ps(t, vk_exp256(e));
        const __m256 positive = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ);
        const __m256 f = _mm256_blendv_ps(erfc_z, _mm256_sub_ps(_mm256_set1_ps(2.0f), erfc_z), positive);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.5f)), f));
    }
    for (; i < n; i++) out[i] = vk_gelu_scalar(x[i]);
}
#endif

void vk_gelu_erf(const float *x, float *out, int64_t n) {
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX512) { vk_gelu_erf_avx512(x, out, n); return; }
    if (vk_get_isa() >= VK_ISA_AVX2) { vk_gelu_erf_avx2(x, out, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) out[i] = vk_gelu_scalar(x[i]);
}

void vk_encoder_attention_ref(const float *q, const float *k, const float *v, float *out, int64_t stride, int64_t n,
                              int64_t head_dim, float scale, int64_t q0, int64_t q1) {
    for (int64_t i = q0; i < q1; i++) {
        double m = -INFINITY, sum = 0;
        double s[n > 0 ? n : 1];
        for (int64_t j = 0; j < n; j++) {
            double dot = 0;
            for (int64_t d = 0; d < head_dim; d++) dot += (double)q[i * stride + d] * (double)k[j * stride + d];
            s[j] = dot * scale;
            if (s[j] > m) m = s[j];
        }
        for (int64_t j = 0; j < n; j++) { s[j] = exp(s[j] - m); sum += s[j]; }
        for (int64_t d = 0; d < head_dim; d++) {
            double o = 0;
            for (int64_t j = 0; j < n; j++) o += s[j] * (double)v[j * stride + d];
            out[i * stride + d] = (float)(o / sum);
        }
    }
}

/// One query at a time over the whole sequence, from K transposed once per call (kt[d][j]): the scores are then
/// axpys over the keys (s += q_d kt[d], no horizontal sums), the max, e^(s - max) with the vector exp where there is
/// one, and out = sum_j e_j v_j / sum_j e_j as axpys over the head's dimensions. Each loop is element-wise, so the
/// compiler vectorizes it for the function's target; K and V of a sequence stay in L2.
#define VK_ENCODER_ATTENTION_BODY(EXP_ROW)                                                                          \
    float *kt = (float *)malloc((size_t)(n * head_dim + n) * sizeof(float));                                       \
    float *s = kt + n * head_dim;                                                                                    \
    for (int64_t j = 0; j < n; j++)                                                                                  \
        for (int64_t d = 0; d < head_dim; d++) kt[d * n + j] = k[j * stride + d];                                    \
    for (int64_t i = q0; i < q1; i++) {                                                                              \
        const float *qi = q + i * stride;                                                                            \
        for (int64_t j = 0; j < n; j++) s[j] = 0;                                                                    \
        for (int64_t d = 0; d < head_dim; d++) {                                                                     \
            const float qd = qi[d], *row = kt + d * n;                                                               \
            for (int64_t j = 0; j < n; j++) s[j] += qd * row[j];                                                     \
        }                                                                                                            \
        float m = -INFINITY;                                                                                         \
        for (int64_t j = 0; j < n; j++) { s[j] *= scale; m = s[j] > m ? s[j] : m; }                                  \
        const double sum = EXP_ROW(s, n, m);                                                                         \
        float *oi = out + i * stride;                                                                                \
        for (int64_t d = 0; d < head_dim; d++) oi[d] = 0;                                                            \
        for (int64_t j = 0; j < n; j++) {                                                                            \
            const float e = s[j];                                                                                    \
            const float *vj = v + j * stride;                                                                        \
            for (int64_t d = 0; d < head_dim; d++) oi[d] += e * vj[d];                                               \
        }                                                                                                            \
        const float inv = (float)(1.0 / sum);                                                                        \
        for (int64_t d = 0; d < head_dim; d++) oi[d] *= inv;                                                         \
    }                                                                                                                \
    free(kt);

static double vk_exp_row_scalar(float *s, int64_t n, float m) {
    double sum = 0;
    for (int64_t j = 0; j < n; j++) { s[j] = expf(s[j] - m); sum += s[j]; }
    return sum;
}

static void vk_encoder_attention_scalar(const float *q, const float *k, const float *v, float *out, int64_t stride, int64_t n,
                                        int64_t head_dim, float scale, int64_t q0, int64_t q1) {
    VK_ENCODER_ATTENTION_BODY(vk_exp_row_scalar)
}

#if VK_X86
static inline double vk_exp_row_vector(float *s, int64_t n, float m) { return vk_exp_scaled(s, s, n, m, 1.0f); }
/// Heads of 16 C dimensions (C = 2, 4 or 8, a constant in each body) with the accumulators in registers: scores of
/// 64 keys at a time (four independent FMA chains over the dimensions) from the transposed keys (kt[d][j], padded
/// to a multiple of 16 with zeros), then o += e_j v_j with even and odd keys in two sets of C vectors, so no FMA
/// waits on the one before it.
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_encoder_tiles(
    const float *q, const float *k, const float *v, float *out, int64_t stride, int64_t n, float scale, int64_t q0, int64_t q1,
    const int C) {
    const int64_t head_dim = 16 * C, padded = (n + 15) & ~(int64_t)15;
    float *kt = (float *)aligned_alloc(64, (size_t)(padded * head_dim + padded) * sizeof(float));
    float *s = kt + padded * head_dim;
    for (int64_t d = 0; d < head_dim; d++) {
        for (int64_t j = 0; j < n; j++) kt[d * padded + j] = k[j * stride + d];
        for (int64_t j = n; j < padded; j++) kt[d * padded + j] = 0;
    }
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int64_t i = q0; i < q1; i++) {
        const float *qi = q + i * stride;
        int64_t j = 0;
        __m512 mv = _mm512_set1_ps(-INFINITY);  // running max of the live scores (padding keys excluded)
        for (; j + 64 <= padded; j += 64) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t d = 0; d < head_dim; d++) {
                const __m512 qd = _mm512_set1_ps(qi[d]);
                const float *row = kt + d * padded + j;
                a0 = _mm512_fmadd_ps(qd, _mm512_load_ps(row), a0);
                a1 = _mm512_fmadd_ps(qd, _mm512_load_ps(row + 16), a1);
                a2 = _mm512_fmadd_ps(qd, _mm512_load_ps(row + 32), a2);
                a3 = _mm512_fmadd_ps(qd, _mm512_load_ps(row + 48), a3);
            }
            _mm512_store_ps(s + j, _mm512_mul_ps(a0, vscale));
            _mm512_store_ps(s + j + 16, _mm512_mul_ps(a1, vscale));
            _mm512_store_ps(s + j + 32, _mm512_mul_ps(a2, vscale));
            _mm512_store_ps(s + j + 48, _mm512_mul_ps(a3, vscale));
        }
        // The full 64-key groups hold no padding (padding is at most the last 15 keys of the last 16-key tile).
        for (int64_t t = 0; t < j; t += 16) mv = _mm512_max_ps(mv, _mm512_load_ps(s + t));
        for (; j < padded; j += 16) {
            __m512 a0 = _mm512_setzero_ps();
            for (int64_t d = 0; d < head_dim; d++) a0 = _mm512_fmadd_ps(_mm512_set1_ps(qi[d]), _mm512_load_ps(kt + d * padded + j), a0);
            _mm512_store_ps(s + j, _mm512_mul_ps(a0, vscale));
            const __mmask16 live = j + 16 <= n ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
            mv = _mm512_mask_max_ps(mv, live, mv, _mm512_load_ps(s + j));
        }
        const double sum = vk_exp_scaled(s, s, n, _mm512_reduce_max_ps(mv), 1.0f);
        __m512 oa[8], ob[8];
        for (int c = 0; c < C; c++) { oa[c] = _mm512_setzero_ps(); ob[c] = _mm512_setzero_ps(); }
        int64_t jj = 0;
        for (; jj + 2 <= n; jj += 2) {
            const __m512 e0 = _mm512_set1_ps(s[jj]), e1 = _mm512_set1_ps(s[jj + 1]);
            const float *v0 = v + jj * stride, *v1 = v0 + stride;
            for (int c = 0; c < C; c++) {
                oa[c] = _mm512_fmadd_ps(e0, _mm512_loadu_ps(v0 + 16 * c), oa[c]);
                ob[c] = _mm512_fmadd_ps(e1, _mm512_loadu_ps(v1 + 16 * c), ob[c]);
            }
        }
        if (jj < n) {
            const __m512 e0 = _mm512_set1_ps(s[jj]);
            for (int c = 0; c < C; c++) oa[c] = _mm512_fmadd_ps(e0, _mm512_loadu_ps(v + jj * stride + 16 * c), oa[c]);
        }
        const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
        for (int c = 0; c < C; c++) _mm512_storeu_ps(out + i * stride + 16 * c, _mm512_mul_ps(_mm512_add_ps(oa[c], ob[c]), inv));
    }
    free(kt);
}

static VK_AVX512_FN void vk_encoder_attention_avx512(const float *q, const float *k, const float *v, float *out, int64_t stride,
                                                     int64_t n, int64_t head_dim, float scale, int64_t q0, int64_t q1) {
    switch (head_dim) {
    case 32: vk_encoder_tiles(q, k, v, out, stride, n, scale, q0, q1, 2); return;
    case 64: vk_encoder_tiles(q, k, v, out, stride, n, scale, q0, q1, 4); return;
    case 128: vk_encoder_tiles(q, k, v, out, stride, n, scale, q0, q1, 8); return;
    default: break;
    }
    VK_ENCODER_ATTENTION_BODY(vk_exp_row_vector)
}
static VK_AVX2_FN void vk_encoder_attention_avx2(const float *q, const float *k, const float *v, float *out, int64_t stride,
                                                 int64_t n, int64_t head_dim, float scale, int64_t q0, int64_t q1) {
    VK_ENCODER_ATTENTION_BODY(vk_exp_row_vector)
}
#endif

void vk_encoder_attention(const float *q, const float *k, const float *v, float *out, int64_t stride, int64_t n,
                          int64_t head_dim, float scale, int64_t q0, int64_t q1) {
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX512) { vk_encoder_attention_avx512(q, k, v, out, stride, n, head_dim, scale, q0, q1); return; }
    if (vk_get_isa() >= VK_ISA_AVX2) { vk_encoder_attention_avx2(q, k, v, out, stride, n, head_dim, scale, q0, q1); return; }
#endif
    vk_encoder_attention_scalar(q, k, v, out, stride, n, head_dim, scale, q0, q1);
}
