// Element-wise helpers: RMS norm (double sum as ggml, AVX-512 and AVX2 beside the scalar reference), SiLU gating,
// sampling softmax and argmax, residual add. Rotary embedding is in rope.c.
#include "vecmath_x86.h"
#include <math.h>

void vk_rms_norm_ref(const float *x, const float *w, float *y, int64_t n, float eps) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

#if VK_X86
/// The reference's arithmetic (float squares summed in double, then one float scale) with the sum split over
/// 32 double lanes: a serial double sum cost about 4 cycles an element, 25 us for a 32-token batch at width 576.
/// When `y` is given, x += y (+ b) first, in the same pass: (y + b) is added to x, then squared.
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_add_rms_norm_avx512(
    float *x, const float *y, const float *b, const float *w, float *h, int64_t n, float eps) {
    __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (y) {
            for (int j = 0; j < 2; j++) {
                __m512 d = _mm512_loadu_ps(y + i + 16 * j);
                if (b) d = _mm512_add_ps(d, _mm512_loadu_ps(b + i + 16 * j));
                _mm512_storeu_ps(x + i + 16 * j, _mm512_add_ps(_mm512_loadu_ps(x + i + 16 * j), d));
            }
        }
        for (int j = 0; j < 4; j++) {
            const __m256 v = _mm256_loadu_ps(x + i + 8 * j);
            acc[j] = _mm512_add_pd(acc[j], _mm512_cvtps_pd(_mm256_mul_ps(v, v)));
        }
    }
    double sum = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3])));
    for (; i < n; i++) {
        if (y) x[i] += b ? y[i] + b[i] : y[i];
        sum += (double)(x[i] * x[i]);
    }
    const float mean = (float)(sum / (double)n);
    const __m512 scale = _mm512_set1_ps(1.0f / sqrtf(mean + eps));
    i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(h + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), scale), _mm512_loadu_ps(w + i)));
    for (; i < n; i++) h[i] = (x[i] * _mm512_cvtss_f32(scale)) * w[i];
}

/// The AVX-512 version's 32 double lanes as eight 4-lane vectors (the same sums in the same order).
static inline __attribute__((always_inline)) VK_AVX2_FN void vk_add_rms_norm_avx2(
    float *x, const float *y, const float *b, const float *w, float *h, int64_t n, float eps) {
    __m256d acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (y) {
            for (int j = 0; j < 4; j++) {
                __m256 d = _mm256_loadu_ps(y + i + 8 * j);
                if (b) d = _mm256_add_ps(d, _mm256_loadu_ps(b + i + 8 * j));
                _mm256_storeu_ps(x + i + 8 * j, _mm256_add_ps(_mm256_loadu_ps(x + i + 8 * j), d));
            }
        }
        for (int j = 0; j < 8; j++) {
            const __m128 v = _mm_loadu_ps(x + i + 4 * j);
            acc[j] = _mm256_add_pd(acc[j], _mm256_cvtps_pd(_mm_mul_ps(v, v)));
        }
    }
    for (int j = 0; j < 4; j++) acc[j] = _mm256_add_pd(acc[j], acc[j + 4]);
    const __m256d a = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
    const __m128d hs = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(hs, _mm_unpackhi_pd(hs, hs)));
    for (; i < n; i++) {
        if (y) x[i] += b ? y[i] + b[i] : y[i];
        sum += (double)(x[i] * x[i]);
    }
    const float mean = (float)(sum / (double)n);
    const float s = 1.0f / sqrtf(mean + eps);
    const __m256 scale = _mm256_set1_ps(s);
    i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(h + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), scale), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) h[i] = (x[i] * s) * w[i];
}

static VK_AVX512_FN void vk_add_rms_norm_avx512_any(float *x, const float *y, const float *b, const float *w, float *h,
                                                    int64_t n, float eps) {
    if (!y) vk_add_rms_norm_avx512(x, NULL, NULL, w, h, n, eps);
    else if (!b) vk_add_rms_norm_avx512(x, y, NULL, w, h, n, eps);
    else vk_add_rms_norm_avx512(x, y, b, w, h, n, eps);
}

static VK_AVX2_FN void vk_add_rms_norm_avx2_any(float *x, const float *y, const float *b, const float *w, float *h,
                                                int64_t n, float eps) {
    if (!y) vk_add_rms_norm_avx2(x, NULL, NULL, w, h, n, eps);
    else if (!b) vk_add_rms_norm_avx2(x, y, NULL, w, h, n, eps);
    else vk_add_rms_norm_avx2(x, y, b, w, h, n, eps);
}
#endif

void vk_add_rms_norm(float *x, const float *y, const float *b, const float *w, float *h, int64_t n, float eps) {
#if VK_X86
    const int isa = vk_get_isa();
    if (isa >= VK_ISA_AVX512) { vk_add_rms_norm_avx512_any(x, y, b, w, h, n, eps); return; }
    if (isa >= VK_ISA_AVX2) { vk_add_rms_norm_avx2_any(x, y, b, w, h, n, eps); return; }
#endif
    if (y)
        for (int64_t i = 0; i < n; i++) x[i] += b ? y[i] + b[i] : y[i];
    vk_rms_norm_ref(x, w, h, n, eps);
}

void vk_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps) {
    vk_add_rms_norm((float *)x, NULL, NULL, w, y, n, eps);  // without y, x is only read
}

#if VK_X86
static VK_AVX512_FN void vk_silu_mul_avx512(const float *gate, const float *up, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 g = _mm512_loadu_ps(gate + i);
        const __m512 e = vk_exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
        const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_storeu_ps(out + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = (gate[i] / (1.0f + expf(-gate[i]))) * up[i];
}

static VK_AVX512_FN double vk_exp_scaled_avx512(const float *x, float *out, int64_t n, float shift, float scale) {
    __m512 sum = _mm512_setzero_ps();
    double total = 0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 e = vk_exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(shift)), _mm512_set1_ps(scale)));
        _mm512_storeu_ps(out + i, e);
        sum = _mm512_add_ps(sum, e);
        // Flush the f32 lanes into the double total every 4096 values, so long rows keep full precision.
        if ((i & 4095) == 4080) { total += _mm512_reduce_add_ps(sum); sum = _mm512_setzero_ps(); }
    }
    total += _mm512_reduce_add_ps(sum);
    for (; i < n; i++) { out[i] = expf((x[i] - shift) * scale); total += out[i]; }
    return total;
}

static VK_AVX512_FN int64_t vk_argmax_avx512(const float *x, int64_t n) {
    if (n < 16) { int64_t best = 0; for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = i; return best; }
    __m512 m = _mm512_loadu_ps(x);
    int64_t i = 16;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    float best = _mm512_reduce_max_ps(m);
    for (int64_t j = i; j < n; j++) if (x[j] > best) best = x[j];
    // The first index of the maximum, 16 at a time (a scalar scan was most of a 262,144-logit argmax).
    const __m512 b = _mm512_set1_ps(best);
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const __mmask16 eq = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + j), b, _CMP_EQ_OQ);
        if (eq) return j + __builtin_ctz(eq);
    }
    for (; j < n; j++) if (x[j] == best) return j;
    return 0;
}

static VK_AVX2_FN void vk_silu_mul_avx2(const float *gate, const float *up, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = vk_exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
        const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = (gate[i] / (1.0f + expf(-gate[i]))) * up[i];
}

static VK_AVX2_FN double vk_exp_scaled_avx2(const float *x, float *out, int64_t n, float shift, float scale) {
    __m256 sum = _mm256_setzero_ps();
    double total = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = vk_exp256(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(shift)), _mm256_set1_ps(scale)));
        _mm256_storeu_ps(out + i, e);
        sum = _mm256_add_ps(sum, e);
        if ((i & 4095) == 4088) {
            float lanes[8];
            _mm256_storeu_ps(lanes, sum);
            for (int j = 0; j < 8; j++) total += lanes[j];
            sum = _mm256_setzero_ps();
        }
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    for (int j = 0; j < 8; j++) total += lanes[j];
    for (; i < n; i++) { out[i] = expf((x[i] - shift) * scale); total += out[i]; }
    return total;
}

static VK_AVX2_FN int64_t vk_argmax_avx2(const float *x, int64_t n) {
    if (n < 8) { int64_t best = 0; for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = i; return best; }
    // Four running maxima (one was a chain of dependent vmaxps), then the first index of the maximum 8 at a time.
    __m256 m0 = _mm256_loadu_ps(x), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 8;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
        m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
        m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    float best = lanes[0];
    for (int j = 1; j < 8; j++) if (lanes[j] > best) best = lanes[j];
    for (int64_t j = i; j < n; j++) if (x[j] > best) best = x[j];
    const __m256 b = _mm256_set1_ps(best);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const int eq = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j), b, _CMP_EQ_OQ));
        if (eq) return j + __builtin_ctz((unsigned)eq);
    }
    for (; j < n; j++) if (x[j] == best) return j;
    return 0;
}
#endif

double vk_exp_scaled(const float *x, float *out, int64_t n, float shift, float scale) {
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX512) return vk_exp_scaled_avx512(x, out, n, shift, scale);
    if (vk_get_isa() >= VK_ISA_AVX2) return vk_exp_scaled_avx2(x, out, n, shift, scale);
#endif
    double total = 0;
    for (int64_t i = 0; i < n; i++) { out[i] = expf((x[i] - shift) * scale); total += out[i]; }
    return total;
}

int64_t vk_argmax(const float *x, int64_t n) {
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX512) return vk_argmax_avx512(x, n);
    if (vk_get_isa() >= VK_ISA_AVX2) return vk_argmax_avx2(x, n);
#endif
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

void vk_silu_mul(const float *gate, const float *up, float *out, int64_t n) {
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX512) { vk_silu_mul_avx512(gate, up, out, n); return; }
    if (vk_get_isa() >= VK_ISA_AVX2) { vk_silu_mul_avx2(gate, up, out, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = (g / (1.0f + expf(-g))) * up[i];
    }
}

void vk_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}
