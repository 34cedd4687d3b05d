// The AVX-512 VNNI kernel over packed 16-row panels (layout in CVLLMKernels.h).
//
// One zmm accumulator holds 16 rows of one token: `vpdpbusd` multiplies word g of a panel block (4 quants of
// each of 16 rows) by 4 activation quants of the token broadcast to every lane, so a 32-column block is 8
// instructions per token with no horizontal sums. A tile is one panel × up to 8 tokens: the panel block is
// loaded and unpacked once and used by every token of the tile. Per token and block the operations are
// fixed (exact integer sum, then fma with dw * dx, then the Q4_1 minimum term), so a value never depends on
// the tile, the batch or the row range: the scalar reference in matmul_packed.c gives the same bits.
#include "internal.h"

#if VK_X86
#include <immintrin.h>

#ifndef VK_PACKED_PREFETCH
#define VK_PACKED_PREFETCH 4096
#endif
#define VK_PACKED_INLINE static inline __attribute__((always_inline)) VK_VNNI_FN

/// out[u * ldo + i] for the panel's rows i < popcount(mask) and tokens u < n (n a constant after inlining).
VK_PACKED_INLINE void vk_packed_tile(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                     const int64_t xrb, const int64_t k, float *out, const int64_t ldo,
                                     const __mmask16 mask, const int n) {
    const int64_t qb = vk_panel_quant_bytes(wtype), bb = vk_panel_block_bytes(wtype);
    const int has_min = wtype == VK_Q4_1, q8 = wtype == VK_Q8_0;
    const int shift = q8 ? 7 : 3;  // the quant offset, 128 or 8, as a shift of the activation sum
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512 acc[8];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) acc[u] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m512i *q = (const __m512i *)(const void *)(panel + b * bb);
        const uint16_t *scales = (const uint16_t *)(const void *)(panel + b * bb + qb), *mins = scales + 16;
        // Streaming a matrix from DRAM: the hardware prefetcher alone leaves most of the bandwidth unused.
        for (int64_t l = 0; l < bb; l += 64) _mm_prefetch((const char *)q + VK_PACKED_PREFETCH + l, _MM_HINT_T1);
        __m512i w[8];
        if (q8) {
            for (int g = 0; g < 8; g++) w[g] = _mm512_load_si512(q + g);
        } else {
            for (int g = 0; g < 4; g++) {
                const __m512i raw = _mm512_load_si512(q + g);
                w[g] = _mm512_and_si512(raw, low);                         // columns 4g..4g+3
                w[4 + g] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low); // columns 16+4g..16+4g+3
            }
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)scales));
        const __m512 mw = has_min ? _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)mins))
                                  : _mm512_setzero_ps();
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) {
            const uint8_t *xr = x + u * xrb, *xq = xr + 32 * b;
            const float *xd = (const float *)(const void *)(xr + k);
            // Two chains of 4 `vpdpbusd`, added at the end (an exact integer sum in any order): one chain of 8
            // measured 3% slower at prefill sizes, four chains 5% slower (the extra adds).
            __m512i i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512();
            if (q8) {
                for (int g = 0; g < 8; g += 2) {
                    i0 = _mm512_dpbusd_epi32(i0, w[g], _mm512_set1_epi32((int)vk_rd32(xq + 4 * g)));
                    i1 = _mm512_dpbusd_epi32(i1, w[g + 1], _mm512_set1_epi32((int)vk_rd32(xq + 4 * g + 4)));
                }
            } else {
                for (int g = 0; g < 4; g++) i0 = _mm512_dpbusd_epi32(i0, w[g], _mm512_set1_epi32((int)vk_rd32(xq + 4 * g)));
                for (int g = 0; g < 4; g++) i1 = _mm512_dpbusd_epi32(i1, w[4 + g], _mm512_set1_epi32((int)vk_rd32(xq + 16 + 4 * g)));
            }
            __m512i isum = _mm512_add_epi32(i0, i1);
            if (!has_min) {
                const int32_t sum = ((const int32_t *)(const void *)(xd + 2 * nb))[b];
                isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_set1_epi32(sum), shift));
            }
            acc[u] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, _mm512_set1_ps(xd[b])), acc[u]);
            if (has_min) acc[u] = _mm512_fmadd_ps(mw, _mm512_set1_ps(xd[nb + b]), acc[u]);
        }
    }
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) _mm512_mask_storeu_ps(out + u * ldo, mask, acc[u]);
}

/// Tiles of up to 8 tokens; the switch gives every tile width its own fully unrolled body. The explicit
/// unroll pragmas and the inlining down to the weight-type switch matter: without them clang kept one loop over
/// the tile's tokens with the accumulators on the stack and the weight type tested inside it (25-40% slower).
VK_PACKED_INLINE void vk_packed_panel(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                      const int64_t xrb, const int64_t k, const int64_t t0, const int64_t t1,
                                      float *out, const int64_t ldo, const __mmask16 mask) {
    for (int64_t t = t0; t < t1; t += 8) {
        const uint8_t *xt = x + t * xrb;
        float *ot = out + t * ldo;
        switch (t1 - t < 8 ? t1 - t : 8) {
        case 1: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 1); break;
        case 2: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 2); break;
        case 3: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 3); break;
        case 4: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 4); break;
        case 5: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 5); break;
        case 6: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 6); break;
        case 7: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 7); break;
        default: vk_packed_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, mask, 8); break;
        }
    }
}

VK_PACKED_INLINE void vk_packed_rows(const int wtype, const uint8_t *wp, const int64_t k, const uint8_t *x,
                                      const int64_t xrb, const int64_t nt, float *out, const int64_t ldo,
                                      const int64_t r0, const int64_t r1) {
    const int64_t nb = k / 32, stride = vk_panel_bytes(wtype, nb);
    // Token blocks of 16: a panel (5-9 KiB) and the block's activations (10-25 KiB) both stay in L1 while the
    // panel's two tiles run, and the call's panels stay in L2 across blocks. Blocks of 64 (activations from L2
    // for every panel) measured 10% slower at 512 tokens; 8 (one tile) slower again.
    for (int64_t tb = 0; tb < nt; tb += 16) {
        const int64_t te = nt - tb < 16 ? nt : tb + 16;
        for (int64_t r = r0; r < r1; r += 16) {
            const int64_t live = r1 - r < 16 ? r1 - r : 16;
            const __mmask16 mask = (__mmask16)((1u << live) - 1);
            vk_packed_panel(wtype, wp + (r / 16) * stride, nb, x, xrb, k, tb, te, out + r, ldo, mask);
        }
    }
}

VK_VNNI_FN void vk_matmul_packed_vnni(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                           int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    switch (wtype) {
    case VK_Q4_0: vk_packed_rows(VK_Q4_0, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    case VK_Q4_1: vk_packed_rows(VK_Q4_1, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    case VK_Q8_0: vk_packed_rows(VK_Q8_0, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    }
}
#else
void vk_matmul_packed_vnni(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                           int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {}
#endif
