// Vector math shared by the AVX-512 and AVX2 kernels (attention softmax, SiLU, sampling softmax).
#ifndef VK_VECMATH_X86_H
#define VK_VECMATH_X86_H
#include "internal.h"
#if VK_X86
#include <immintrin.h>
#include <math.h>

/// e^x on 16 lanes: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split), a degree-6 polynomial for e^r, then
/// scalef by 2^n. Relative error below 2 ulp on [-87, 88]; inputs below -104 (and -inf) give exactly 0.
static inline __attribute__((always_inline)) VK_AVX512_FN __m512 vk_exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.7f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}
/// The sum of 8 lanes as ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)): the AVX2 attention paths' one order (the
/// loop tiles reproduce the generic loop's dot products with it).
static inline __attribute__((always_inline)) VK_AVX2_FN float vk_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// glibc's 2^(i/32) table for expf (expf_x86.c).
extern const uint64_t vk_expf_table[32];

static inline __attribute__((always_inline)) VK_AVX2_FN __m256d vk_pd_bits(uint64_t b) {
    return _mm256_castsi256_pd(_mm256_set1_epi64x((long long)b));
}

/// libm's expf on 4 lanes for |x| < 88, bit for bit: glibc's FMA build, step for step (expf_x86.c).
static inline __attribute__((always_inline)) VK_AVX2_FN __m128 vk_expf_libm128(__m128 x) {
    const __m256d inv = vk_pd_bits(0x40471547652b82feull), shift = vk_pd_bits(0x4338000000000000ull);  // 32/ln2, 1.5*2^52
    const __m256d xd = _mm256_cvtps_pd(x);
    __m256d kd = _mm256_fmadd_pd(inv, xd, shift);
    const __m256i ki = _mm256_castpd_si256(kd);
    kd = _mm256_sub_pd(kd, shift);
    const __m256d r = _mm256_fmsub_pd(inv, xd, kd);
    __m256i t = _mm256_i64gather_epi64((const long long *)(const void *)vk_expf_table,
                                       _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
    t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
    const __m256d z = _mm256_fmadd_pd(r, vk_pd_bits(0x3ebc6af84b912394ull), vk_pd_bits(0x3f2ebfce50fac4f3ull));
    const __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_fmadd_pd(r, vk_pd_bits(0x3f962e42ff0c52d6ull), _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(z, r2, y);
    return _mm256_cvtpd_ps(_mm256_mul_pd(y, _mm256_castsi256_pd(t)));
}

/// libm's expf on 8 lanes, bit for bit (expf_x86.c); lanes with |x| >= 88, inf or NaN call expf itself.
static inline __attribute__((always_inline)) VK_AVX2_FN __m256 vk_expf_libm256(__m256 x) {
    __m256 y = _mm256_set_m128(vk_expf_libm128(_mm256_extractf128_ps(x, 1)), vk_expf_libm128(_mm256_castps256_ps128(x)));
    const __m256i big = _mm256_cmpgt_epi32(_mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fffffff)),
                                           _mm256_set1_epi32(0x42afffff));
    const int special = _mm256_movemask_ps(_mm256_castsi256_ps(big));
    if (__builtin_expect(special != 0, 0)) {
        float xs[8], ys[8];
        _mm256_storeu_ps(xs, x);
        _mm256_storeu_ps(ys, y);
        for (int i = 0; i < 8; i++)
            if (special >> i & 1) ys[i] = expf(xs[i]);
        y = _mm256_loadu_ps(ys);
    }
    return y;
}

/// e^x on 8 lanes: Cody-Waite reduction and the degree-6 polynomial of vk_exp512, 2^n built in the exponent
/// field. Inputs below -87.3 (and -inf) give exactly 0.
static inline __attribute__((always_inline)) VK_AVX2_FN __m256 vk_exp256(__m256 x) {
    const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_GE_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), tiny);
}
#endif
#endif
