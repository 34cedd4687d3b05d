// The AVX-512 VNNI tile of the super-block types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) by VK_P8K rows (numerics
// in CVLLMKernels.h), included by matmul_packed_x86.c after vk_unpack.
//
// With one activation scale a 256-column super-block, each block's `vpdpbusd` sums are multiplied by the block's
// (Q2_K, Q3_K, Q6_K: the half's) int8 scale in 32-bit lanes and the super-block accumulates exactly; the float
// steps run once a super-block, the offset (Q3_K, Q6_K, IQ4_XS) and min (Q2_K, Q4_K, Q5_K) terms as a few
// `vpdpwssd` of scale pairs by the activations' 16- or 32-column sums. Per block and token that leaves one multiply and one add beside the 8 `vpdpbusd`, where
// the per-block float steps (scales converted, multiplied, a convert and two fmas a token) cost as much again.
#ifndef VK_MATMUL_PACKED_X86_K_H
#define VK_MATMUL_PACKED_X86_K_H

/// 16 int8 multipliers as int32 lanes.
VK_PACKED_INLINE __m512i vk_i8x16_epi32(const uint8_t *p) {
    return _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(const void *)p));
}

/// 16 rows' int16 pairs (a in the low half of each 32-bit lane, b in the high): the `vpdpwssd` operand.
VK_PACKED_INLINE __m512i vk_pair16(const uint8_t *a, const uint8_t *b) {
    return _mm512_mask_blend_epi16(0xAAAAAAAAu, vk_i8x16_epi32(a), _mm512_slli_epi32(vk_i8x16_epi32(b), 16));
}

/// vk_packed_tile for the P8K types: the same arguments, tokens u < n <= 8.
VK_PACKED_INLINE void vk_packed_k_tile(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                       const int64_t xrb, const int64_t k, float *out, const int64_t ldo,
                                       const __mmask16 mask, const int n) {
    const vk_packed_params P = vk_pp(wtype);
    const int64_t qb = vk_panel_quant_bytes_of(&P), gb = vk_panel_group_bytes_of(&P);
    const int64_t scs = vk_sec_sc(&P), mns = vk_sec_mn(&P);
    __m512 acc[8];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) acc[u] = _mm512_setzero_ps();
    for (int64_t g = 0; g < nb / 8; g++) {
        const uint8_t *group = panel + g * gb, *sec = group + 8 * qb;
        __m512i isb[8];
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) isb[u] = _mm512_setzero_si512();
        for (int slot = 0; slot < 8; slot++) {
            const int64_t b = 8 * g + slot;
            const uint8_t *ahead = panel + b * gb / 8 + VK_PACKED_PREFETCH;
            for (int64_t l = 0; l < gb / 8; l += 64) _mm_prefetch((const char *)ahead + l, _MM_HINT_T1);
            __m512i w[8];
            vk_unpack(P, group + slot * qb, w);
            const uint8_t *sc = sec + scs + 16 * P.halves * slot;
            const __m512i sc0 = vk_i8x16_epi32(sc), sc1 = P.halves == 2 ? vk_i8x16_epi32(sc + 16) : sc0;
            _Pragma("clang loop unroll(full)")
            for (int u = 0; u < n; u++) {
                const uint8_t *xq = x + u * xrb + 32 * b;
                __m512i i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512();
                for (int s = 0; s < 4; s++) i0 = _mm512_dpbusd_epi32(i0, w[s], _mm512_set1_epi32((int)vk_rd32(xq + 4 * s)));
                for (int s = 0; s < 4; s++) i1 = _mm512_dpbusd_epi32(i1, w[4 + s], _mm512_set1_epi32((int)vk_rd32(xq + 16 + 4 * s)));
                if (P.halves == 2) isb[u] = _mm512_add_epi32(isb[u], _mm512_add_epi32(_mm512_mullo_epi32(i0, sc0), _mm512_mullo_epi32(i1, sc1)));
                else isb[u] = _mm512_add_epi32(isb[u], _mm512_mullo_epi32(_mm512_add_epi32(i0, i1), sc0));
            }
        }
        // The offset (Q3_K, Q6_K, IQ4_XS) or min (Q2_K, Q4_K, Q5_K) term's multipliers as int16 pairs: with a scale
        // a half, each block's (half 0, half 1) by the activations' 16-column sums; with one a block, blocks
        // (2p, 2p + 1) by their 32-column sums.
        const int64_t ps = P.offset ? scs : mns;
        const int np = P.halves == 2 ? 8 : 4;
        __m512i pairs[8];
        if (P.offset || P.has_min) {
            _Pragma("clang loop unroll(full)")
            for (int p = 0; p < np; p++) pairs[p] = vk_pair16(sec + ps + 32 * p, sec + ps + 32 * p + 16);
        }
        const __m512 d = vk_f16x16(sec), dm = P.has_min ? vk_f16x16(sec + vk_sec_dm(&P)) : d;
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) {
            const uint8_t *xr = x + u * xrb, *x16 = xr + k + 4 * (k / 256), *x32 = x16 + 2 * (k / 16);
            const __m512 dx = _mm512_set1_ps(((const float *)(const void *)(xr + k))[g]);
            const uint8_t *xs = P.halves == 2 ? x16 + 4 * 8 * g : x32 + 2 * 8 * g;
            __m512i dot = isb[u], c = _mm512_setzero_si512();
            if (P.offset || P.has_min) {
                _Pragma("clang loop unroll(full)")
                for (int p = 0; p < np; p++) c = _mm512_dpwssd_epi32(c, pairs[p], _mm512_set1_epi32((int)vk_rd32(xs + 4 * p)));
            }
            if (P.offset) dot = _mm512_sub_epi32(dot, _mm512_mullo_epi32(c, _mm512_set1_epi32(P.offset)));
            __m512 a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(d, dx), acc[u]);
            if (P.has_min) a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(c), _mm512_mul_ps(dm, dx), a);
            acc[u] = a;
        }
    }
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) _mm512_mask_storeu_ps(out + u * ldo, mask, acc[u]);
}

#endif
