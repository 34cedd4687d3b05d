// AVX-512 P8 activation quantization sixteen 32-blocks at a time (the matmul input of every packed kernel).
//
// Per block the bytes are those of vk_quantize_q8_block with Q8_1 (convert.c): amax over the block, d = amax / 127,
// id = 127 / amax (0 for an all-zero block), q = round-to-nearest-even(x * id), s = f16(d * sum q), d stored
// f16-rounded. Doing one block at a time, the two horizontal reductions, the scalar divisions and the scalar f16
// conversions cost more than the quantization itself (about 50 cycles a block). Here the 16 blocks' maxima and
// sums are reduced together into one vector each (max and integer sums are exact in any order), the divisions
// and f16 roundings run once per 16 blocks in vector form, and only the multiply, round and narrow stay per block.
// vcvtps2ph rounds to nearest even like vk_f32_to_f16, so the bytes are the same (tests compare every path).
#include "internal.h"

#if VK_X86
#include <immintrin.h>

#define VK_Q_INLINE static inline __attribute__((always_inline)) VK_AVX512_FN

/// Combines v[0..15] so that lane j of the result is op over all lanes of v[j]. `op` must be exact in any order.
#define VK_TRANSPOSE_REDUCE(T, v, op, shuf, unlo, unhi, shps, perm, out)                                         \
    do {                                                                                                         \
        T x8[8], x4[4], t0, t1, u0;                                                                              \
        for (int i = 0; i < 8; i++) /* lanes 0-7: v[2i] folded to 8, lanes 8-15: v[2i+1] folded to 8 */          \
            x8[i] = op(shuf(v[2 * i], v[2 * i + 1], 0x44), shuf(v[2 * i], v[2 * i + 1], 0xEE));                  \
        for (int i = 0; i < 4; i++) /* 128-bit lane L of x4[i]: block 4i + L folded to 4 */                      \
            x4[i] = op(shuf(x8[2 * i], x8[2 * i + 1], 0x88), shuf(x8[2 * i], x8[2 * i + 1], 0xDD));              \
        t0 = op(unlo(x4[0], x4[1]), unhi(x4[0], x4[1]));                                                         \
        t1 = op(unlo(x4[2], x4[3]), unhi(x4[2], x4[3]));                                                         \
        u0 = op(shps(t0, t1, 0x44), shps(t0, t1, 0xEE));                                                         \
        /* element 4L + e now holds block 4e + L */                                                              \
        out = perm(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), u0);                 \
    } while (0)

#define VK_SHUF_PS(a, b, imm) _mm512_shuffle_f32x4(a, b, imm)
#define VK_SHUF_EPI(a, b, imm) _mm512_shuffle_i32x4(a, b, imm)
#define VK_SHPS_PS(a, b, imm) _mm512_shuffle_ps(a, b, imm)
#define VK_SHPS_EPI(a, b, imm) _mm512_castps_si512(_mm512_shuffle_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(b), imm))

VK_Q_INLINE void vk_p8_group16(const float *x, int8_t *q, float *d, float *s, int32_t *sums) {
    const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512 m[16];
    for (int j = 0; j < 16; j++)
        m[j] = _mm512_max_ps(_mm512_and_ps(_mm512_loadu_ps(x + 32 * j), abs_mask),
                             _mm512_and_ps(_mm512_loadu_ps(x + 32 * j + 16), abs_mask));
    __m512 amax;
    VK_TRANSPOSE_REDUCE(__m512, m, _mm512_max_ps, VK_SHUF_PS, _mm512_unpacklo_ps, _mm512_unpackhi_ps, VK_SHPS_PS,
                        _mm512_permutexvar_ps, amax);
    const __mmask16 nonzero = _mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    float id[16] __attribute__((aligned(64)));
    _mm512_store_ps(id, _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(127.f), amax));
    const __m512 dv = _mm512_div_ps(amax, _mm512_set1_ps(127.f));
    __m512i sv[16];
    for (int j = 0; j < 16; j++) {
        const __m512 idv = _mm512_set1_ps(id[j]);
        const __m512i qa = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * j), idv),
                                                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        const __m512i qb = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * j + 16), idv),
                                                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm_storeu_si128((__m128i *)(void *)(q + 32 * j), _mm512_cvtepi32_epi8(qa));
        _mm_storeu_si128((__m128i *)(void *)(q + 32 * j + 16), _mm512_cvtepi32_epi8(qb));
        sv[j] = _mm512_add_epi32(qa, qb);
    }
    __m512i sum;
    VK_TRANSPOSE_REDUCE(__m512i, sv, _mm512_add_epi32, VK_SHUF_EPI, _mm512_unpacklo_epi32, _mm512_unpackhi_epi32,
                        VK_SHPS_EPI, _mm512_permutexvar_epi32, sum);
    _mm512_storeu_si512((void *)sums, sum);
    _mm512_storeu_ps(d, _mm512_cvtph_ps(_mm512_cvtps_ph(dv, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    _mm512_storeu_ps(s, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_mul_ps(dv, _mm512_cvtepi32_ps(sum)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
}

VK_AVX512_FN int64_t vk_quantize_p8_groups_avx512(const float *x, uint8_t *o, int64_t n) {
    const int64_t nb = n / 32;
    float *d = (float *)(void *)(o + n), *s = d + nb;
    int32_t *sums = (int32_t *)(void *)(s + nb);
    int64_t b = 0;
    for (; b + 16 <= nb; b += 16) vk_p8_group16(x + 32 * b, (int8_t *)(o + 32 * b), d + b, s + b, sums + b);
    return b;
}
#endif
