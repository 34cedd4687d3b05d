// Rotary position embedding: the angle tables of a position, and the rotation of each head's pairs (AVX-512 beside
// the scalar loop, the same bits).
#include "internal.h"
#include <math.h>
#if VK_X86
#include <immintrin.h>
#endif

void vk_rope_angles(int32_t pos, const float *inv_freq, int64_t half, float *cs, float *sn) {
    for (int64_t k = 0; k < half; k++) {
        const float theta = (float)pos * inv_freq[k];
        cs[k] = cosf(theta);
        sn[k] = sinf(theta);
    }
}

#if VK_X86
/// vk_rope_rotate for n_rot a multiple of 32: 8 pairs (interleaved) or 16 pairs (neox) a vector, the scalar
/// path's products and sums (x0 c - x1 s, x0 s + x1 c, each product rounded, then the add).
static VK_AVX512_FN void vk_rope_rotate_avx512(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot,
                                              const float *cs, const float *sn, int neox) {
    const int64_t half = n_rot / 2;
    if (neox) {
        for (int64_t h = 0; h < n_heads; h++) {
            float *v = x + h * head_dim;
            for (int64_t k = 0; k < half; k += 16) {
                const __m512 a = _mm512_loadu_ps(v + k), b = _mm512_loadu_ps(v + k + half);
                const __m512 c = _mm512_loadu_ps(cs + k), s = _mm512_loadu_ps(sn + k);
                _mm512_storeu_ps(v + k, _mm512_sub_ps(_mm512_mul_ps(a, c), _mm512_mul_ps(b, s)));
                _mm512_storeu_ps(v + k + half, _mm512_add_ps(_mm512_mul_ps(a, s), _mm512_mul_ps(b, c)));
            }
        }
        return;
    }
    const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __mmask16 even = 0x5555;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t k = 0; k < half; k += 8) {
            const __m512 p = _mm512_loadu_ps(v + 2 * k);                       // x0 x1 of 8 pairs
            const __m512 q = _mm512_permute_ps(p, _MM_SHUFFLE(2, 3, 0, 1));    // x1 x0
            const __m512 c = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_loadu_ps(cs + k)));
            const __m512 s = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_loadu_ps(sn + k)));
            const __m512 pc = _mm512_mul_ps(p, c), qs = _mm512_mul_ps(q, s);  // x0 c, x1 c / x1 s, x0 s
            _mm512_storeu_ps(v + 2 * k, _mm512_mask_sub_ps(_mm512_add_ps(pc, qs), even, pc, qs));
        }
    }
}
#endif

void vk_rope_rotate(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float *cs, const float *sn, int neox) {
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX512 && n_rot % 32 == 0) { vk_rope_rotate_avx512(x, n_heads, head_dim, n_rot, cs, sn, neox); return; }
#endif
    const int64_t half = n_rot / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t k = 0; k < half; k++) {
            const int64_t a = neox ? k : 2 * k, b = neox ? k + half : 2 * k + 1;
            const float x0 = v[a], x1 = v[b];
            const float x0c = x0 * cs[k], x1s = x1 * sn[k], x0s = x0 * sn[k], x1c = x1 * cs[k];
            v[a] = x0c - x1s;
            v[b] = x0s + x1c;
        }
    }
}

void vk_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos,
             const float *inv_freq, int neox) {
    float cs[512], sn[512];
    const int64_t half = n_rot / 2 < 512 ? n_rot / 2 : 512;
    vk_rope_angles(pos, inv_freq, half, cs, sn);
    vk_rope_rotate(x, n_heads, head_dim, 2 * half, cs, sn, neox);
}
