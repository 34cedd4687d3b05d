// The AVX-512 VNNI kernel over packed 16-row panels (layout in CVLLMKernels.h).
//
// One zmm accumulator holds 16 rows of one token: `vpdpbusd` multiplies word g of a panel block (4 quants of
// each of 16 rows) by 4 activation quants of the token broadcast to every lane, so a 32-column block is 8
// instructions per token with no horizontal sums. A tile is one panel × up to 8 tokens: the panel block is
// loaded and unpacked once and used by every token of the tile. Per token and block the operations are
// fixed (an exact integer sum, an fma with d * dx, then the min term; CVLLMKernels.h), so a value never depends on
// the tile, the batch or the row range: the scalar reference in matmul_packed.c gives the same bits. The
// super-block types (Q2_K to Q6_K, IQ4_XS) take VK_P8K rows instead, in the tile of matmul_packed_x86_k.h.
#include "quant_block.h"

#if VK_X86
#include <immintrin.h>

#ifndef VK_PACKED_PREFETCH
#define VK_PACKED_PREFETCH 8192
#endif
#define VK_PACKED_INLINE static inline __attribute__((always_inline)) VK_VNNI_FN

/// Shifts every 16-bit lane left by n (right by -n; n a constant after inlining).
VK_PACKED_INLINE __m512i vk_shift16(const __m512i v, const int n) {
    return n > 0 ? _mm512_slli_epi16(v, (unsigned)n) : n < 0 ? _mm512_srli_epi16(v, (unsigned)-n) : v;
}

/// The 8 words of a block's unsigned quants (word s: columns 4s..4s+3 of the 16 rows), from its quant section.
VK_PACKED_INLINE void vk_unpack(const vk_packed_params P, const uint8_t *q, __m512i w[8]) {
    const __m512i *v = (const __m512i *)(const void *)q;
    const __m512i low = _mm512_set1_epi8(0x0F);
    if (P.bits == 8) {
        for (int s = 0; s < 8; s++) w[s] = _mm512_load_si512(v + s);
    } else if (P.bits <= 3) {
        const __m512i p0 = _mm512_load_si512(v), p1 = _mm512_load_si512(v + 1), three = _mm512_set1_epi8(3);
        for (int s = 0; s < 8; s++) w[s] = _mm512_and_si512(_mm512_srli_epi16(s < 4 ? p0 : p1, (unsigned)(2 * (s % 4))), three);
        if (P.bits == 3) {
            const __m512i hb = _mm512_load_si512(v + 2), four = _mm512_set1_epi8(4);
            for (int s = 0; s < 8; s++) w[s] = _mm512_or_si512(w[s], _mm512_and_si512(vk_shift16(hb, 2 - s), four));
        }
    } else {
        for (int g = 0; g < 4; g++) {
            const __m512i raw = _mm512_load_si512(v + g);
            w[g] = _mm512_and_si512(raw, low);                          // columns 4g..4g+3
            w[4 + g] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low); // columns 16+4g..16+4g+3
        }
        if (P.bits == 5) {
            const __m512i hb = _mm512_load_si512(v + 4), bit = _mm512_set1_epi8(0x10);
            for (int s = 0; s < 8; s++) w[s] = _mm512_or_si512(w[s], _mm512_and_si512(vk_shift16(hb, 4 - s), bit));
        } else if (P.bits == 6) {
            const __m512i h0 = _mm512_load_si512(v + 4), h1 = _mm512_load_si512(v + 5), bits = _mm512_set1_epi8(0x30);
            for (int s = 0; s < 8; s++)
                w[s] = _mm512_or_si512(w[s], _mm512_and_si512(vk_shift16(s < 4 ? h0 : h1, 4 - 2 * (s % 4)), bits));
        } else if (P.iq4) {
            // The table's values biased by 128 (offset 128), as unsigned bytes for `vpdpbusd`.
            const __m512i table = _mm512_broadcast_i32x4(_mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, (char)118, (char)129,
                (char)141, (char)153, (char)166, (char)181, (char)197, (char)217, (char)241));
            for (int s = 0; s < 8; s++) w[s] = _mm512_shuffle_epi8(table, w[s]);
        }
    }
}

/// 16 int8 scale multipliers as f32.
VK_PACKED_INLINE __m512 vk_i8x16(const uint8_t *p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(const void *)p)));
}
VK_PACKED_INLINE __m512 vk_f16x16(const uint8_t *p) {
    return _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)p));
}

#include "matmul_packed_x86_k.h"

/// out[u * ldo + i] for the panel's rows i < popcount(mask) and tokens u < n (n a constant after inlining): the
/// 32-column types by VK_P8 rows here, the super-block types by VK_P8K rows in vk_packed_k_tile.
VK_PACKED_INLINE void vk_packed_tile(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                     const int64_t xrb, const int64_t k, float *out, const int64_t ldo,
                                     const __mmask16 mask, const int n) {
    if (vk_p8k_weight(wtype)) { vk_packed_k_tile(wtype, panel, nb, x, xrb, k, out, ldo, mask, n); return; }
    const vk_packed_params P = vk_pp(wtype);
    const int64_t qb = vk_panel_quant_bytes_of(&P), gb = vk_panel_group_bytes_of(&P), G = P.group;
    const int32_t off = P.offset;
    __m512 acc[8];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) acc[u] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *group = panel + (b / G) * gb, *sec = group + G * qb;
        const int64_t slot = b % G;
        // Streaming a matrix from DRAM: the hardware prefetcher alone leaves most of the bandwidth unused (it stops at
        // 4 KiB boundaries). 8192 bytes ahead, as the AVX2 kernel: a decode step of 8 sequences on the 1.5B Q4_K_M
        // took 90 ms at 512 (a tile of 8 tokens spends 8x longer on each block, so 512 bytes came too late), 50 ms at
        // 4096-16384; one sequence and prefill are the same or a little faster (BENCHMARKS.md, 2026-12-06 21:45).
        const uint8_t *ahead = panel + b * gb / G + VK_PACKED_PREFETCH;
        for (int64_t l = 0; l < gb / G; l += 64) _mm_prefetch((const char *)ahead + l, _MM_HINT_T1);
        __m512i w[8];
        vk_unpack(P, group + slot * qb, w);
        const __m512 d = vk_f16x16(sec + 32 * slot), dm = P.has_min ? vk_f16x16(sec + vk_sec_dm(&P) + 32 * slot) : d;
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) {
            const uint8_t *xr = x + u * xrb, *xq = xr + 32 * b;
            const float *xd = (const float *)(const void *)(xr + k), dx = xd[b];
            const int32_t sum = ((const int32_t *)(const void *)(xd + 2 * nb))[b];
            // Two chains of 4 `vpdpbusd` (columns 0-15 and 16-31), added at the end (an exact integer sum in any
            // order): one chain of 8 measured 3% slower at prefill sizes. The unsigned quants' offset enters as
            // the first chain's start.
            __m512i i0 = off ? _mm512_set1_epi32(-off * sum) : _mm512_setzero_si512(), i1 = _mm512_setzero_si512();
            for (int g = 0; g < 4; g++) i0 = _mm512_dpbusd_epi32(i0, w[g], _mm512_set1_epi32((int)vk_rd32(xq + 4 * g)));
            for (int g = 0; g < 4; g++) i1 = _mm512_dpbusd_epi32(i1, w[4 + g], _mm512_set1_epi32((int)vk_rd32(xq + 16 + 4 * g)));
            acc[u] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)), _mm512_mul_ps(d, _mm512_set1_ps(dx)), acc[u]);
            if (P.has_min) acc[u] = _mm512_fmadd_ps(dm, _mm512_set1_ps(xd[nb + b]), acc[u]);
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
#define VK_CASE(T) case T: vk_packed_rows(T, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    VK_CASE(VK_Q4_0) VK_CASE(VK_Q4_1) VK_CASE(VK_Q5_0) VK_CASE(VK_Q5_1) VK_CASE(VK_Q8_0) VK_CASE(VK_IQ4_NL)
    VK_CASE(VK_Q2_K) VK_CASE(VK_Q3_K) VK_CASE(VK_Q4_K) VK_CASE(VK_Q5_K) VK_CASE(VK_Q6_K) VK_CASE(VK_IQ4_XS)
#undef VK_CASE
    }
}
#else
void vk_matmul_packed_vnni(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                           int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {}
#endif
