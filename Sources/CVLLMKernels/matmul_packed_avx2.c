// The AVX2 kernel over the same packed 16-row panels as the VNNI kernel (layout in CVLLMKernels.h).
//
// A ymm register holds 8 of a panel's 16 rows (the low or the high 32 bytes of each 64-byte panel word), so a
// panel runs as two halves. For one token and one 32-column block, `vpmaddubsw` multiplies word g (4 quants of
// each of 8 rows) by the token's 4 activation quants broadcast to every lane:
//   Q4_0 / Q4_1: the 8 products of a block are summed in 16 bits (|sum| <= 8 * 2 * 15 * 127 < 2^15) and widened
//                once with `vpmaddwd`;
//   Q8_0:        stored quants are XOR 0x80, so they are unbiased and multiplied as |w| by x with w's sign
//                (|pair| <= 2 * 128 * 127 < 2^15), widened to 32 bits per word.
// Either way the block's integer dot product is exact, then the float steps are those of the scalar reference
// (acc = fma(isum, dw * dx, acc), then the Q4_1 minimum term), so this kernel, the VNNI kernel and
// vk_matmul_packed_ref give the same bits whatever the batch.
#include "internal.h"

#if VK_X86
#include <immintrin.h>

#define VK_P2_INLINE static inline __attribute__((always_inline)) VK_AVX2_FN

/// out[u * ldo + i] for rows i < live of half h (rows 8h..8h+7 of the panel) and tokens u < n (a constant).
VK_P2_INLINE void vk_packed2_tile(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                  const int64_t xrb, const int64_t k, float *out, const int64_t ldo,
                                  const int h, const int live, const int prefetch, const int n) {
    const int64_t qb = vk_panel_quant_bytes(wtype), bb = vk_panel_block_bytes(wtype);
    const int has_min = wtype == VK_Q4_1, q8 = wtype == VK_Q8_0, q40 = wtype == VK_Q4_0;
    const __m256i low = _mm256_set1_epi8(0x0F), bias = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) acc[u] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *block = panel + b * bb;
        const uint8_t *scales = block + qb, *mins = scales + 32;
        if (prefetch)
            for (int64_t l = 0; l < bb; l += 64) _mm_prefetch((const char *)block + 4096 + l, _MM_HINT_T1);
        __m256i isum[4];
        if (q8) {
            _Pragma("clang loop unroll(full)")
            for (int u = 0; u < n; u++) isum[u] = _mm256_setzero_si256();
            _Pragma("clang loop unroll(full)")
            for (int g = 0; g < 8; g++) {
                const __m256i w = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(const void *)(block + 64 * g + 32 * h)), bias);
                const __m256i aw = _mm256_abs_epi8(w);
                _Pragma("clang loop unroll(full)")
                for (int u = 0; u < n; u++) {
                    const __m256i xv = _mm256_set1_epi32((int)vk_rd32(x + u * xrb + 32 * b + 4 * g));
                    const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, w));
                    isum[u] = _mm256_add_epi32(isum[u], _mm256_madd_epi16(p, ones));
                }
            }
        } else {
            __m256i s16[4];
            _Pragma("clang loop unroll(full)")
            for (int u = 0; u < n; u++) s16[u] = _mm256_setzero_si256();
            _Pragma("clang loop unroll(full)")
            for (int g = 0; g < 4; g++) {
                const __m256i raw = _mm256_load_si256((const __m256i *)(const void *)(block + 64 * g + 32 * h));
                const __m256i lo = _mm256_and_si256(raw, low), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
                _Pragma("clang loop unroll(full)")
                for (int u = 0; u < n; u++) {
                    const uint8_t *xq = x + u * xrb + 32 * b;
                    s16[u] = _mm256_add_epi16(s16[u], _mm256_maddubs_epi16(lo, _mm256_set1_epi32((int)vk_rd32(xq + 4 * g))));
                    s16[u] = _mm256_add_epi16(s16[u], _mm256_maddubs_epi16(hi, _mm256_set1_epi32((int)vk_rd32(xq + 16 + 4 * g))));
                }
            }
            _Pragma("clang loop unroll(full)")
            for (int u = 0; u < n; u++) {
                isum[u] = _mm256_madd_epi16(s16[u], ones);
                if (q40) {
                    const int32_t sum = ((const int32_t *)(const void *)(x + u * xrb + k + 8 * nb))[b];
                    isum[u] = _mm256_sub_epi32(isum[u], _mm256_set1_epi32(sum * 8));
                }
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)(scales + 16 * h)));
        const __m256 mw = has_min ? _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)(mins + 16 * h)))
                                  : _mm256_setzero_ps();
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) {
            const float *xd = (const float *)(const void *)(x + u * xrb + k);
            acc[u] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[u]), _mm256_mul_ps(dw, _mm256_set1_ps(xd[b])), acc[u]);
            if (has_min) acc[u] = _mm256_fmadd_ps(mw, _mm256_set1_ps(xd[nb + b]), acc[u]);
        }
    }
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), lanes);
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) {
        if (live == 8) _mm256_storeu_ps(out + u * ldo, acc[u]);
        else _mm256_maskstore_ps(out + u * ldo, mask, acc[u]);
    }
}

/// Tiles of up to 4 tokens (the register budget: 4 accumulators, 4 partial sums and the unpacked words). The
/// unroll pragmas matter: SwiftPM builds C at -O2, which kept the word loop rolled (perf annotate).
VK_P2_INLINE void vk_packed2_half(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                  const int64_t xrb, const int64_t k, const int64_t t0, const int64_t t1,
                                  float *out, const int64_t ldo, const int h, const int live) {
    for (int64_t t = t0; t < t1; t += 4) {
        const uint8_t *xt = x + t * xrb;
        float *ot = out + t * ldo + 8 * h;
        const int pf = h == 0 && t == t0;
        switch (t1 - t < 4 ? t1 - t : 4) {
        case 1: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, live, pf, 1); break;
        case 2: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, live, pf, 2); break;
        case 3: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, live, pf, 3); break;
        default: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, live, pf, 4); break;
        }
    }
}

VK_P2_INLINE void vk_packed2_rows(const int wtype, const uint8_t *wp, const int64_t k, const uint8_t *x,
                                  const int64_t xrb, const int64_t nt, float *out, const int64_t ldo,
                                  const int64_t r0, const int64_t r1) {
    const int64_t nb = k / 32, stride = vk_panel_bytes(wtype, nb);
    // Token blocks of 16, as in the VNNI kernel: the panel and the block's activations stay in L1.
    for (int64_t tb = 0; tb < nt; tb += 16) {
        const int64_t te = nt - tb < 16 ? nt : tb + 16;
        for (int64_t r = r0; r < r1; r += 16) {
            const int live = r1 - r < 16 ? (int)(r1 - r) : 16;
            const uint8_t *panel = wp + (r / 16) * stride;
            vk_packed2_half(wtype, panel, nb, x, xrb, k, tb, te, out + r, ldo, 0, live < 8 ? live : 8);
            if (live > 8) vk_packed2_half(wtype, panel, nb, x, xrb, k, tb, te, out + r, ldo, 1, live - 8);
        }
    }
}

VK_AVX2_FN void vk_matmul_packed_avx2(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                                      int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    switch (wtype) {
    case VK_Q4_0: vk_packed2_rows(VK_Q4_0, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    case VK_Q4_1: vk_packed2_rows(VK_Q4_1, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    case VK_Q8_0: vk_packed2_rows(VK_Q8_0, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    }
}
#else
void vk_matmul_packed_avx2(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                           int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {}
#endif
