// The AVX2 kernel over the same packed 16-row panels as the VNNI kernel (layout in CVLLMKernels.h).
//
// A ymm register holds 8 of a panel's 16 rows (the low or the high 32 bytes of each 64-byte panel word), so a
// panel runs as two halves. For one token and one 32-column block, `vpmaddubsw` multiplies word g (4 quants of
// each of 8 rows) by the token's 4 activation quants broadcast to every lane:
//   unsigned quants (2-6 bits): products summed in 16 bits while they cannot overflow, then widened with
//                `vpmaddwd` (see vk_packed2_block);
//   Q8_0, IQ4:   signed quants (Q8_0's stored XOR 0x80, the IQ4 table's values) multiplied as |w| by x with w's
//                sign (|pair| <= 2 * 128 * 127 < 2^15), widened to 32 bits per word.
// Either way each half block's integer dot product is exact, then the float steps are those of the scalar
// reference (CVLLMKernels.h), so this kernel, the VNNI kernel and vk_matmul_packed_ref give the same bits
// whatever the batch. The 32-column types take VK_P8 rows (vk_packed2_block); the super-block types (Q2_K to
// Q6_K, IQ4_XS) VK_P8K rows, in the tile of matmul_packed_avx2_k.h.
#include "quant_block.h"

#if VK_X86
#include <immintrin.h>

// How far ahead the streaming tiles prefetch (bytes), as the VNNI kernel (matmul_packed_x86.c): 1.5B Q4_K_M
// decode under VLLM_CPU_ISA=avx2 took 4.04-4.11 s for 128 tokens at 8192, 4.68-4.84 at 4096, 5.43-5.47 at 512,
// 4.13-4.69 at 16384; the 0.5B's decode and prefill did not move.
#ifndef VK_PACKED2_PREFETCH
#define VK_PACKED2_PREFETCH 8192
#endif

#define VK_P2_INLINE static inline __attribute__((always_inline)) VK_AVX2_FN

VK_P2_INLINE __m256i vk_shift16_avx2(const __m256i v, const int n) {
    return n > 0 ? _mm256_slli_epi16(v, n) : n < 0 ? _mm256_srli_epi16(v, -n) : v;
}

/// Word s (columns 4s..4s+3 of rows 8h..8h+7) of a block's quants: unsigned, or signed for Q8_0 and the IQ4 types
/// (the table's own values), which this kernel multiplies as |w| by x with w's sign.
VK_P2_INLINE __m256i vk_word_avx2(const vk_packed_params P, const uint8_t *q, const int h, const int s) {
#define VK_LD(i) _mm256_load_si256((const __m256i *)(const void *)(q + 64 * (i) + 32 * h))
    if (P.bits == 8) return _mm256_xor_si256(VK_LD(s), _mm256_set1_epi8((char)0x80));
    if (P.bits <= 3) {
        __m256i w = _mm256_and_si256(_mm256_srli_epi16(VK_LD(s / 4), 2 * (s % 4)), _mm256_set1_epi8(3));
        if (P.bits == 3) w = _mm256_or_si256(w, _mm256_and_si256(vk_shift16_avx2(VK_LD(2), 2 - s), _mm256_set1_epi8(4)));
        return w;
    }
    const __m256i raw = VK_LD(s % 4), low = _mm256_set1_epi8(0x0F);
    __m256i w = _mm256_and_si256(s < 4 ? raw : _mm256_srli_epi16(raw, 4), low);
    if (P.bits == 5) w = _mm256_or_si256(w, _mm256_and_si256(vk_shift16_avx2(VK_LD(4), 4 - s), _mm256_set1_epi8(0x10)));
    if (P.bits == 6)
        w = _mm256_or_si256(w, _mm256_and_si256(vk_shift16_avx2(VK_LD(4 + s / 4), 4 - 2 * (s % 4)), _mm256_set1_epi8(0x30)));
    if (P.iq4)
        w = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)vk_iq4nl_values)), w);
    return w;
#undef VK_LD
}

VK_P2_INLINE __m256 vk_i8x8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}
VK_P2_INLINE __m256 vk_f16x8(const uint8_t *p) { return _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)p)); }

/// Stores the tile's accumulators: tokens u < n, halves h0..h0+nh-1 (rows 0..live-1 of the panel's 16 when nh = 2).
VK_P2_INLINE void vk_packed2_store(const __m256 *acc, float *out, const int64_t ldo, const int h0, const int nh,
                                   const int live, const int n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) {
        _Pragma("clang loop unroll(full)")
        for (int hh = 0; hh < nh; hh++) {
            const int rows = nh == 2 ? (hh == 0 ? 8 : live - 8) : live;
            float *o = out + u * ldo + 8 * (h0 + hh);
            if (rows == 8) _mm256_storeu_ps(o, acc[u * nh + hh]);
            else _mm256_maskstore_ps(o, _mm256_cmpgt_epi32(_mm256_set1_epi32(rows), lanes), acc[u * nh + hh]);
        }
    }
}

/// 1 when vk_word_avx2 gives signed words: Q8_0 and the IQ4 tables.
VK_P2_INLINE int vk_word_signed(const vk_packed_params P) { return P.bits == 8 || P.iq4; }

/// A word's products with a token's 4 activation quants broadcast (`xv`), adjacent pairs summed in 16 bits: unsigned
/// words as they are, signed ones as |w| (`aw`, taken once a word) by x with w's sign (|pair| <= 2 * 128 * 127).
VK_P2_INLINE __m256i vk_word_products(const __m256i w, const __m256i aw, const __m256i xv, const int is_signed) {
    return _mm256_maddubs_epi16(aw, is_signed ? _mm256_sign_epi8(xv, w) : xv);
}

#include "matmul_packed_avx2_k.h"

/// One 32-column block of half h (rows 8h..8h+7) of a 32-column type (VK_P8 rows) for tokens u < n (a constant),
/// added to acc[u * stride]. Integer sums: `vpmaddubsw` pairs summed in 16 bits while they cannot overflow
/// (|pair| <= 2 * 31 * 127: 8 words of 4-bit quants, 4 of 5-bit), then widened with `vpmaddwd`; signed words one at
/// a time.
VK_P2_INLINE void vk_packed2_block(const vk_packed_params P, const uint8_t *q, const uint8_t *sec, const int64_t slot,
                                   const uint8_t *x, const int64_t xrb, const int64_t k, const int64_t nb,
                                   const int64_t b, const int h, const int n, const int stride, __m256 *acc) {
    const int is_signed = vk_word_signed(P), off = is_signed ? 0 : P.offset;
    const int run = is_signed ? 1 : P.bits == 4 ? 8 : 4;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i i0[4], s16[4];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) { i0[u] = _mm256_setzero_si256(); s16[u] = i0[u]; }
    _Pragma("clang loop unroll(full)")
    for (int s = 0; s < 8; s++) {
        const __m256i w = vk_word_avx2(P, q, h, s), aw = is_signed ? _mm256_abs_epi8(w) : w;
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) {
            const __m256i xv = _mm256_set1_epi32((int)vk_rd32(x + u * xrb + 32 * b + 4 * s));
            s16[u] = _mm256_add_epi16(s16[u], vk_word_products(w, aw, xv, is_signed));
            if ((s + 1) % run == 0) {
                i0[u] = _mm256_add_epi32(i0[u], _mm256_madd_epi16(s16[u], ones));
                s16[u] = _mm256_setzero_si256();
            }
        }
    }
    const __m256 d = vk_f16x8(sec + 32 * slot + 16 * h);
    const __m256 dm = P.has_min ? vk_f16x8(sec + vk_sec_dm(&P) + 32 * slot + 16 * h) : d;
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) {
        const float *xd = (const float *)(const void *)(x + u * xrb + k);
        const int32_t sum = ((const int32_t *)(const void *)(xd + 2 * nb))[b];
        __m256i isum = i0[u];
        if (off) isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(off * sum));
        __m256 a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, _mm256_set1_ps(xd[b])), acc[u * stride]);
        if (P.has_min) a = _mm256_fmadd_ps(dm, _mm256_set1_ps(xd[nb + b]), a);
        acc[u * stride] = a;
    }
}

/// out[u * ldo + i] for tokens u < n and the panel's rows i < live of half h0, or of both halves (nh = 2: rows
/// 0..live-1). n and nh are constants after inlining; n * nh <= 4.
VK_P2_INLINE void vk_packed2_tile(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                  const int64_t xrb, const int64_t k, float *out, const int64_t ldo,
                                  const int h0, const int nh, const int live, const int prefetch, const int n) {
    if (vk_p8k_weight(wtype)) { vk_packed2_k_tile(wtype, panel, nb, x, xrb, k, out, ldo, h0, nh, live, prefetch, n); return; }
    const vk_packed_params P = vk_pp(wtype);
    const int64_t qb = vk_panel_quant_bytes_of(&P), gb = vk_panel_group_bytes_of(&P), G = P.group;
    __m256 acc[4];
    _Pragma("clang loop unroll(full)")
    for (int a = 0; a < n * nh; a++) acc[a] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *group = panel + (b / G) * gb, *sec = group + G * qb, *q = group + (b % G) * qb;
        const int64_t slot = b % G;
        if (prefetch)
            for (int64_t l = 0; l < gb / G; l += 64) _mm_prefetch((const char *)panel + b * gb / G + VK_PACKED2_PREFETCH + l, _MM_HINT_T1);
        _Pragma("clang loop unroll(full)")
        for (int hh = 0; hh < nh; hh++) vk_packed2_block(P, q, sec, slot, x, xrb, k, nb, b, h0 + hh, n, nh, acc + hh);
    }
    vk_packed2_store(acc, out, ldo, h0, nh, live, n);
}

/// Tiles of up to 4 tokens (the register budget: 4 accumulators, 4 partial sums and the unpacked words). The
/// unroll pragmas matter: SwiftPM builds C at -O2, which kept the word loop rolled (perf annotate).
VK_P2_INLINE void vk_packed2_half(const int wtype, const uint8_t *panel, const int64_t nb, const uint8_t *x,
                                  const int64_t xrb, const int64_t k, const int64_t t0, const int64_t t1,
                                  float *out, const int64_t ldo, const int h, const int live) {
    for (int64_t t = t0; t < t1; t += 4) {
        const uint8_t *xt = x + t * xrb;
        float *ot = out + t * ldo;
        const int pf = h == 0 && t == t0;
        switch (t1 - t < 4 ? t1 - t : 4) {
        case 1: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, 1, live, pf, 1); break;
        case 2: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, 1, live, pf, 2); break;
        case 3: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, 1, live, pf, 3); break;
        default: vk_packed2_tile(wtype, panel, nb, xt, xrb, k, ot, ldo, h, 1, live, pf, 4); break;
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
            // One or two tokens stream the weights from DRAM: both halves in one pass over the panel, so that
            // its read-ahead runs the whole time. Panel half by half, the second half read the panel again from
            // L2 with no prefetch issued (65536 x 1536, one token, one core: Q4_K 2.55 -> 1.76 ms, Q4_0 2.89 ->
            // 2.06, Q6_K 4.34 -> 2.86; every type in BENCHMARKS.md, 2026-12-07). From 3 tokens on the tile is
            // compute-bound and the halves' separate passes keep more tokens in registers.
            if (te - tb <= 2 && live > 8) {
                const uint8_t *xt = x + tb * xrb;
                if (te - tb == 1) vk_packed2_tile(wtype, panel, nb, xt, xrb, k, out + r + tb * ldo, ldo, 0, 2, live, 1, 1);
                else vk_packed2_tile(wtype, panel, nb, xt, xrb, k, out + r + tb * ldo, ldo, 0, 2, live, 1, 2);
                continue;
            }
            vk_packed2_half(wtype, panel, nb, x, xrb, k, tb, te, out + r, ldo, 0, live < 8 ? live : 8);
            if (live > 8) vk_packed2_half(wtype, panel, nb, x, xrb, k, tb, te, out + r, ldo, 1, live - 8);
        }
    }
}

VK_AVX2_FN void vk_matmul_packed_avx2(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                                      int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    switch (wtype) {
#define VK_CASE(T) case T: vk_packed2_rows(T, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1); break;
    VK_CASE(VK_Q4_0) VK_CASE(VK_Q4_1) VK_CASE(VK_Q5_0) VK_CASE(VK_Q5_1) VK_CASE(VK_Q8_0) VK_CASE(VK_IQ4_NL)
    VK_CASE(VK_Q2_K) VK_CASE(VK_Q3_K) VK_CASE(VK_Q4_K) VK_CASE(VK_Q5_K) VK_CASE(VK_Q6_K) VK_CASE(VK_IQ4_XS)
#undef VK_CASE
    }
}
#else
void vk_matmul_packed_avx2(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                           int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {}
#endif
