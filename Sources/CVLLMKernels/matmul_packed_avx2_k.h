// The AVX2 tile of the super-block types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) by VK_P8K rows (numerics in
// CVLLMKernels.h), included by matmul_packed_avx2.c after vk_word_avx2.
//
// With one activation scale a 256-column super-block, a block's 16-bit partial sums are widened by `vpmaddwd`
// with the block's (Q2_K, Q3_K, Q6_K: the half's) int8 scale in place of ones, so the super-block accumulates
// exactly in 32-bit lanes, and the float steps run once a super-block: the offset (Q3_K, Q6_K) and min (Q2_K,
// Q4_K, Q5_K) terms are a few `vpmaddwd` of scale pairs by the activations' 16- or 32-column sums. The float work per block and token
// was as large as the integer work (1.5B Q4_K_M prefill on Zen 3: 74 -> 97 G MAC/s a core for Q4_K).
#ifndef VK_MATMUL_PACKED_AVX2_K_H
#define VK_MATMUL_PACKED_AVX2_K_H

/// Rows 8h..8h+7 of two int8 multiplier slots (a, b) as int16 pairs, a in the low half of each row's 32-bit lane:
/// the `vpmaddwd` operand that scales a row's two 16-bit sums (a = b) or two activation sums (a != b).
VK_P2_INLINE __m256i vk_sc_pair(const uint8_t *a, const uint8_t *b) {
    const __m256i lo = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)a));
    const __m256i hi = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)b));
    return _mm256_blend_epi16(lo, _mm256_slli_epi32(hi, 16), 0xAA);
}

/// vk_packed2_tile for the P8K types: the same arguments, tokens u < n, halves h0..h0+nh-1, n * nh <= 4.
VK_P2_INLINE void vk_packed2_k_tile(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                    const int64_t xrb, const int64_t k, float *out, const int64_t ldo,
                                    const int h0, const int nh, const int live, const int prefetch, const int n) {
    const vk_packed_params P = vk_pp(wtype);
    const int64_t qb = vk_panel_quant_bytes_of(&P), gb = vk_panel_group_bytes_of(&P);
    const int64_t scs = vk_sec_sc(&P), mns = vk_sec_mn(&P);
    // Words summed in 16 bits before widening: |pair| <= 2 * 127 * (2^bits - 1), so 8 words at 2-4 bits, 4 at 5, 2 at
    // 6, and never across a half's scale; IQ4_XS's signed table values one word at a time (as |w| by x with w's sign).
    const int is_signed = vk_word_signed(P);
    const int run = is_signed ? 1 : P.bits == 6 ? 2 : (P.bits == 5 || P.halves == 2) ? 4 : 8;
    __m256 acc[4];
    _Pragma("clang loop unroll(full)")
    for (int a = 0; a < n * nh; a++) acc[a] = _mm256_setzero_ps();
    for (int64_t g = 0; g < nb / 8; g++) {
        const uint8_t *group = panel + g * gb, *sec = group + 8 * qb;
        __m256i isb[4];
        _Pragma("clang loop unroll(full)")
        for (int a = 0; a < n * nh; a++) isb[a] = _mm256_setzero_si256();
        for (int slot = 0; slot < 8; slot++) {
            const uint8_t *q = group + slot * qb;
            const int64_t b = 8 * g + slot;
            if (prefetch)
                for (int64_t l = 0; l < gb / 8; l += 64) _mm_prefetch((const char *)panel + b * gb / 8 + VK_PACKED2_PREFETCH + l, _MM_HINT_T1);
            _Pragma("clang loop unroll(full)")
            for (int hh = 0; hh < nh; hh++) {
                const int h = h0 + hh;
                const uint8_t *sc = sec + scs + 16 * P.halves * slot + 8 * h;
                const __m256i sc0 = vk_sc_pair(sc, sc), sc1 = P.halves == 2 ? vk_sc_pair(sc + 16, sc + 16) : sc0;
                __m256i s16[4];
                _Pragma("clang loop unroll(full)")
                for (int u = 0; u < n; u++) s16[u] = _mm256_setzero_si256();
                _Pragma("clang loop unroll(full)")
                for (int s = 0; s < 8; s++) {
                    const __m256i w = vk_word_avx2(P, q, h, s), aw = is_signed ? _mm256_abs_epi8(w) : w;
                    _Pragma("clang loop unroll(full)")
                    for (int u = 0; u < n; u++) {
                        const __m256i xv = _mm256_set1_epi32((int)vk_rd32(x + u * xrb + 32 * b + 4 * s));
                        s16[u] = _mm256_add_epi16(s16[u], vk_word_products(w, aw, xv, is_signed));
                        if ((s + 1) % run == 0) {
                            isb[u * nh + hh] = _mm256_add_epi32(isb[u * nh + hh], _mm256_madd_epi16(s16[u], s < 4 ? sc0 : sc1));
                            s16[u] = _mm256_setzero_si256();
                        }
                    }
                }
            }
        }
        _Pragma("clang loop unroll(full)")
        for (int hh = 0; hh < nh; hh++) {
            const int h = h0 + hh;
            // The offset (Q3_K, Q6_K; IQ4_XS's words are signed here) or min (Q2_K, Q4_K, Q5_K) term's multipliers
            // as int16 pairs: with a scale a half, each block's (half 0, half 1) by the activations' 16-column sums;
            // with one a block, blocks (2p, 2p + 1) by their 32-column sums.
            const int off = is_signed ? 0 : P.offset;
            const int64_t ps = off ? scs : mns;
            const int np = P.halves == 2 ? 8 : 4;
            __m256i pairs[8];
            if (off || P.has_min) {
                _Pragma("clang loop unroll(full)")
                for (int p = 0; p < np; p++) pairs[p] = vk_sc_pair(sec + ps + 32 * p + 8 * h, sec + ps + 32 * p + 16 + 8 * h);
            }
            const __m256 d = vk_f16x8(sec + 16 * h), dm = P.has_min ? vk_f16x8(sec + vk_sec_dm(&P) + 16 * h) : d;
            _Pragma("clang loop unroll(full)")
            for (int u = 0; u < n; u++) {
                const uint8_t *xr = x + u * xrb, *x16 = xr + k + 4 * (k / 256), *x32 = x16 + 2 * (k / 16);
                const __m256 dx = _mm256_set1_ps(((const float *)(const void *)(xr + k))[g]);
                const uint8_t *xs = P.halves == 2 ? x16 + 4 * 8 * g : x32 + 2 * 8 * g;
                __m256i dot = isb[u * nh + hh], c = _mm256_setzero_si256();
                if (off || P.has_min) {
                    _Pragma("clang loop unroll(full)")
                    for (int p = 0; p < np; p++)
                        c = _mm256_add_epi32(c, _mm256_madd_epi16(pairs[p], _mm256_set1_epi32((int)vk_rd32(xs + 4 * p))));
                }
                if (off) dot = _mm256_sub_epi32(dot, _mm256_mullo_epi32(c, _mm256_set1_epi32(off)));
                __m256 a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(d, dx), acc[u * nh + hh]);
                if (P.has_min) a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), _mm256_mul_ps(dm, dx), a);
                acc[u * nh + hh] = a;
            }
        }
    }
    vk_packed2_store(acc, out, ldo, h0, nh, live, n);
}

#endif
