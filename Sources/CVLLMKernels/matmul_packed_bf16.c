// The AVX-512 BF16 kernel over packed 16-row BF16 panels (layout in CVLLMKernels.h).
//
// One zmm accumulator holds 16 rows of one token: `vdpbf16ps` multiplies word c of a panel (the bf16 pair of
// columns 2c, 2c + 1 of each of 16 rows) by that token's pair of bf16 activations broadcast to every lane, so a
// 32-column block is 16 instructions per token with no horizontal sums: twice the multiply-adds of an f32 FMA
// per instruction. A tile is one panel × up to 8 tokens: each panel word is loaded once for every token of the
// tile. Every lane sums its column pairs in order whatever the tile, the batch or the row range, so the scalar
// reference in matmul_packed.c gives the same bits.
#include "internal.h"

#if VK_X86
#include <immintrin.h>

#ifndef VK_PACKED_PREFETCH
#define VK_PACKED_PREFETCH 4096
#endif
#define VK_BF16_INLINE static inline __attribute__((always_inline)) VK_BF16_FN

/// out[u * ldo + i] for the panel's rows i < popcount(mask) and tokens u < n (n a constant after inlining).
VK_BF16_INLINE void vk_bf16_tile(const uint8_t *panel, const int64_t k, const uint8_t *x, const int64_t xrb,
                                 float *out, const int64_t ldo, const __mmask16 mask, const int n) {
    __m512 acc[8];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) acc[u] = _mm512_setzero_ps();
    for (int64_t c0 = 0; c0 < k / 2; c0 += 16) {
        const __m512i *q = (const __m512i *)(const void *)(panel + 64 * c0);
        for (int l = 0; l < 16; l++) _mm_prefetch((const char *)(q + l) + VK_PACKED_PREFETCH, _MM_HINT_T1);
        _Pragma("clang loop unroll(full)")
        for (int g = 0; g < 16; g++) {
            const __m512bh w = (__m512bh)_mm512_load_si512(q + g);
            _Pragma("clang loop unroll(full)")
            for (int u = 0; u < n; u++) {
                const __m512i xp = _mm512_set1_epi32((int)vk_rd32(x + u * xrb + 4 * (c0 + g)));
                acc[u] = _mm512_dpbf16_ps(acc[u], w, (__m512bh)xp);
            }
        }
    }
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) _mm512_mask_storeu_ps(out + u * ldo, mask, acc[u]);
}

/// Tiles of up to 8 tokens, each width its own unrolled body (as the VNNI kernel).
VK_BF16_INLINE void vk_bf16_panel(const uint8_t *panel, const int64_t k, const uint8_t *x, const int64_t xrb,
                                  const int64_t t0, const int64_t t1, float *out, const int64_t ldo,
                                  const __mmask16 mask) {
    for (int64_t t = t0; t < t1; t += 8) {
        const uint8_t *xt = x + t * xrb;
        float *ot = out + t * ldo;
        switch (t1 - t < 8 ? t1 - t : 8) {
        case 1: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 1); break;
        case 2: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 2); break;
        case 3: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 3); break;
        case 4: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 4); break;
        case 5: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 5); break;
        case 6: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 6); break;
        case 7: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 7); break;
        default: vk_bf16_tile(panel, k, xt, xrb, ot, ldo, mask, 8); break;
        }
    }
}

VK_BF16_FN void vk_matmul_packed_bf16(const void *wp, int64_t k, const void *x, int64_t x_row_bytes, int64_t nt,
                                      float *out, int64_t ldo, int64_t r0, int64_t r1) {
    const int64_t stride = vk_panel_bytes(VK_BF16, k / 32);
    // Token blocks of 16, panels inside: the block's activations stay in L1 and the call's panels in L2.
    for (int64_t tb = 0; tb < nt; tb += 16) {
        const int64_t te = nt - tb < 16 ? nt : tb + 16;
        for (int64_t r = r0; r < r1; r += 16) {
            const int64_t live = r1 - r < 16 ? r1 - r : 16;
            const __mmask16 mask = (__mmask16)((1u << live) - 1);
            vk_bf16_panel((const uint8_t *)wp + (r / 16) * stride, k, (const uint8_t *)x, x_row_bytes, tb, te,
                          out + r, ldo, mask);
        }
    }
}

VK_BF16_FN void vk_quantize_pb16_row_bf16(const float *x, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), (__m256i)h);
    }
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
        _mm256_mask_storeu_epi16(dst + i, m, (__m256i)h);
    }
}
#else
void vk_matmul_packed_bf16(const void *wp, int64_t k, const void *x, int64_t x_row_bytes, int64_t nt, float *out,
                           int64_t ldo, int64_t r0, int64_t r1) {}
void vk_quantize_pb16_row_bf16(const float *x, uint16_t *dst, int64_t n) {}
#endif
