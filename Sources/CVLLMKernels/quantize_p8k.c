// VK_P8K activation rows (layout in CVLLMKernels.h): llama.cpp's Q8_K quantization of each 256-column super-block
// (quantize_row_q8_K_ref: max = the first element of largest magnitude, iscale = -127 / max, q = min(127,
// nearest_int(iscale * x)), d = 1 / iscale; an all-zero super-block gives d = 0 and zero quants), then the int16 sum
// of the quants of every 16 and every 32 columns, which the AVX2 kernel's offset and min terms read.
#include "internal.h"
#include <math.h>

/// The 16- and 32-column sums of a row's quants.
static void vk_p8k_sums(uint8_t *o, int64_t n) {
    const int8_t *q = (const int8_t *)o;
    int16_t *s16 = (int16_t *)(void *)(o + n + 4 * (n / 256)), *s32 = s16 + n / 16;
    for (int64_t h = 0; h < n / 16; h++) {
        int32_t sum = 0;
        for (int j = 0; j < 16; j++) sum += q[16 * h + j];
        s16[h] = (int16_t)sum;
    }
    for (int64_t b = 0; b < n / 32; b++) s32[b] = (int16_t)(s16[2 * b] + s16[2 * b + 1]);
}

#if VK_X86
#include <immintrin.h>

/// One super-block with the scalar path's bits: the maximum magnitude and its first element are exact in any
/// order, iscale * x is the same single product, and `vcvtps2dq` rounds to nearest even as nearest_int does
/// (|iscale * x| <= 127.5 here, far inside its range).
static VK_AVX2_FN float vk_p8k_block_avx2(const float *x, int8_t *q) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 amax8 = _mm256_setzero_ps();
    // max(|x|, acc) keeps acc where x is NaN, as the scalar comparison skips it.
    for (int j = 0; j < 256; j += 8) amax8 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), amax8);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax8), _mm256_extractf128_ps(amax8, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    const float amax = _mm_cvtss_f32(m4);
    if (amax == 0) { memset(q, 0, 256); return 0; }
    float max = 0;
    for (int j = 0; j < 256; j++) if (fabsf(x[j]) == amax) { max = x[j]; break; }
    const float iscale = -127.f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    for (int j = 0; j < 256; j += 32) {
        __m256i v[4];
        for (int i = 0; i < 4; i++)
            v[i] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(x + j + 8 * i))), top);
        // packs work within 128-bit lanes: (0 1 | 2 3) words of v0 v1 then v2 v3, restored by one dword permute.
        const __m256i w = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
        _mm256_storeu_si256((__m256i *)(void *)(q + j), _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
    return 1 / iscale;
}
#endif

void vk_quantize_p8k_row(const float *x, uint8_t *o, int64_t n) {
    float *d = (float *)(void *)(o + n);
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX2) {
        for (int64_t g = 0; g < n / 256; g++) d[g] = vk_p8k_block_avx2(x + 256 * g, (int8_t *)(o + 256 * g));
        vk_p8k_sums(o, n);
        return;
    }
#endif
    uint8_t block[292];  // Q8_K: f32 d, int8 q[256], int16 bsums[16]
    for (int64_t g = 0; g < n / 256; g++) {
        vk_quantize_row(VK_Q8_K, x + 256 * g, block, 256);
        memcpy(&d[g], block, 4);
        memcpy(o + 256 * g, block + 4, 256);
    }
    vk_p8k_sums(o, n);
}
