// AVX-512 attention of one query (decode) for KV groups whose outputs do not fit in registers (group * head_dim / 16
// above 16) with head_dim 64 or 128: Qwen2.5's 6 heads of 128 and 7 of 64 a KV head, Llama 3's and Mistral's 4 of 128.
//
// vk_attn_one (attention_x86.c) keeps the group's output vectors in registers across the tiles, which caps it at 16,
// so these groups ran the per-query tile loop, one head at a time. Here each tile's K is converted and transposed once
// for up to 8 heads, their scores are computed 4 heads at a time from the transposed tile in L1, and P·V runs in
// passes of 2 output chunks, the accumulators loaded from and stored back to an L1 buffer once a tile. (Running the
// group through vk_attn_one in passes of 16 / C heads converts and transposes every tile once a pass: slower than the
// per-query loop at Qwen2.5's shapes, a 32-sequence decode step's attention 11.6 -> 13.5 ms.)
//
// Every value gets the per-query tile loop's operations in its order, so these models keep its bits: each score is
// 16 chains over the chunks, one per dimension lane, added in the tree of its transpose-reduction and times `scale`;
// then the tile maximum, the rescale of o and l by e^(m_old - m_new) when the maximum moves, e^(s - m) and its lane
// sum (vk_hsum16's tree, which is _mm512_reduce_add_ps's), o += e_j v_j in key order, and o / l at the end. The
// multi-query body's lane order (attention_block_x86.c) gives prefilled tokens the same bits.
#include "attention_x86.h"
#include <math.h>

#if VK_X86
#define VK_WIDE_MAX_G 8

/// The per-query tile loop's scores of the tile's 16 keys (vector lanes) for N heads at once: per head and dimension
/// lane L a chain over the chunks of q[16c + L] k[16c + L] (a product, then FMAs), the 16 chains added in vk_hsum16's
/// tree (L + L+8, then + 4, + 2, + 1), the order of the loop's transpose-reduction vk_sum16. kt holds the tile's K
/// transposed, kt[(16c + L) * 16 + key]; each of its vectors is loaded once for the N heads.
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_wide_lane_scores(const float *q, const float *kt, __m512 *s,
                                                                                   const int N, const int C) {
    const int D = 16 * C;
    __m512 half[2][4];
    _Pragma("clang loop unroll(full)")
    for (int h = 0; h < 2; h++) {
        __m512 r[2][4];
        _Pragma("clang loop unroll(full)")
        for (int i = 0; i < 2; i++) {
            __m512 quad[2][4];
            _Pragma("clang loop unroll(full)")
            for (int k = 0; k < 2; k++) {
                __m512 p[2][4];
                _Pragma("clang loop unroll(full)")
                for (int e = 0; e < 2; e++) {
                    const int L = h + 2 * i + 4 * k + 8 * e;
                    __m512 kv = _mm512_load_ps(kt + L * 16);
                    _Pragma("clang loop unroll(full)")
                    for (int b = 0; b < N; b++) p[e][b] = _mm512_mul_ps(_mm512_set1_ps(q[b * D + L]), kv);
                    _Pragma("clang loop unroll(full)")
                    for (int c = 1; c < C; c++) {
                        kv = _mm512_load_ps(kt + (16 * c + L) * 16);
                        _Pragma("clang loop unroll(full)")
                        for (int b = 0; b < N; b++) p[e][b] = _mm512_fmadd_ps(_mm512_set1_ps(q[b * D + 16 * c + L]), kv, p[e][b]);
                    }
                }
                _Pragma("clang loop unroll(full)")
                for (int b = 0; b < N; b++) quad[k][b] = _mm512_add_ps(p[0][b], p[1][b]);  // L + L+8
            }
            _Pragma("clang loop unroll(full)")
            for (int b = 0; b < N; b++) r[i][b] = _mm512_add_ps(quad[0][b], quad[1][b]);  // + L+4
        }
        _Pragma("clang loop unroll(full)")
        for (int b = 0; b < N; b++) half[h][b] = _mm512_add_ps(r[0][b], r[1][b]);  // + L+2
    }
    _Pragma("clang loop unroll(full)")
    for (int b = 0; b < N; b++) s[b] = _mm512_add_ps(half[0][b], half[1][b]);  // + L+1
}

/// One query's G heads (G <= 8) of D = 16 C dimensions (C 4 or 8) over keys lo..n-1, written to out[g * D + d].
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_attn_wide(
    const float *q, float *out, int64_t lo, int64_t n, const uint8_t *kbase, const uint8_t *vbase, const int kv_type,
    const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale, const int G, const int C) {
    const int D = 16 * C;
    float kt[8 * 16 * 16] __attribute__((aligned(64)));  // the tile's K transposed: kt[(16c + L) * 16 + key]
    const int CP = 2;  // output chunks a P·V pass (C is even): 2 G accumulators
    float o[VK_WIDE_MAX_G * 256] __attribute__((aligned(64)));
    float m[VK_WIDE_MAX_G], l[VK_WIDE_MAX_G], ea[VK_WIDE_MAX_G][VK_ATTN_KEYS] __attribute__((aligned(64)));
    __m512 corr[VK_WIDE_MAX_G];
    int rescale[VK_WIDE_MAX_G];
    for (int x = 0; x < G * C; x++) _mm512_store_ps(o + 16 * x, _mm512_setzero_ps());
    for (int g = 0; g < G; g++) { m[g] = -INFINITY; l[g] = 0; }
    for (int64_t p0 = lo - lo % VK_ATTN_KEYS; p0 < n; p0 += VK_ATTN_KEYS) {
        const int cnt = (int)(n - p0 < VK_ATTN_KEYS ? n - p0 : VK_ATTN_KEYS), first = (int)(lo > p0 ? lo - p0 : 0);
        const __mmask16 mask = vk_attn_live(first, cnt);
        const uint8_t *krow[VK_ATTN_KEYS], *vrow[VK_ATTN_KEYS];
        vk_attn_rows(p0, first, cnt, n, kbase, vbase, kv_type, block_table, block_size, slot_bytes, C, krow, vrow);
        __m512 s[VK_WIDE_MAX_G];  // the unscaled scores of the tile's 16 keys, per head
        for (int c = 0; c < C; c++) {
            __m512 r[16];
            for (int j = 0; j < 16; j++) r[j] = j >= first && j < cnt ? vk_load_kv16(krow[j], kv_type, c) : _mm512_setzero_ps();
            vk_transpose16(r);
            for (int x = 0; x < 16; x++) _mm512_store_ps(kt + (16 * c + x) * 16, r[x]);
        }
        for (int g = 0; g < G; g += 4) {  // 4 heads a pass: their 20 live vectors fit in registers
            if (G - g >= 4) vk_wide_lane_scores(q + g * D, kt, s + g, 4, C);
            else if (G - g == 3) vk_wide_lane_scores(q + g * D, kt, s + g, 3, C);
            else if (G - g == 2) vk_wide_lane_scores(q + g * D, kt, s + g, 2, C);
            else vk_wide_lane_scores(q + g * D, kt, s + g, 1, C);
        }
        for (int g = 0; g < G; g++) {
            __m512 sc = _mm512_mul_ps(s[g], _mm512_set1_ps(scale));
            sc = _mm512_mask_blend_ps(mask, _mm512_set1_ps(-INFINITY), sc);
            const float mt = _mm512_reduce_max_ps(sc);
            rescale[g] = 0;
            if (mt > m[g]) {
                if (m[g] != -INFINITY) {
                    corr[g] = vk_exp512(_mm512_set1_ps(m[g] - mt));
                    l[g] *= _mm512_cvtss_f32(corr[g]);
                    rescale[g] = 1;
                }
                m[g] = mt;
            }
            const __m512 e = _mm512_maskz_mov_ps(mask, vk_exp512(_mm512_sub_ps(sc, _mm512_set1_ps(m[g]))));
            l[g] += vk_hsum16(e);
            _mm512_store_ps(ea[g], e);
        }
        for (int c0 = 0; c0 < C; c0 += CP) {
            __m512 ov[2 * VK_WIDE_MAX_G];  // [g * CP + c]
            for (int g = 0; g < G; g++)
                for (int c = 0; c < CP; c++) {
                    const __m512 v = _mm512_load_ps(o + (g * C + c0 + c) * 16);
                    ov[g * CP + c] = rescale[g] ? _mm512_mul_ps(v, corr[g]) : v;
                }
            for (int j = first; j < cnt; j++)
                for (int c = 0; c < CP; c++) {
                    const __m512 vv = vk_load_kv16(vrow[j], kv_type, c0 + c);
                    for (int g = 0; g < G; g++) ov[g * CP + c] = _mm512_fmadd_ps(_mm512_set1_ps(ea[g][j]), vv, ov[g * CP + c]);
                }
            for (int g = 0; g < G; g++)
                for (int c = 0; c < CP; c++) _mm512_store_ps(o + (g * C + c0 + c) * 16, ov[g * CP + c]);
        }
    }
    for (int g = 0; g < G; g++) {
        const __m512 inv = _mm512_set1_ps(1.0f / l[g]);
        for (int c = 0; c < C; c++) _mm512_storeu_ps(out + (g * C + c) * 16, _mm512_mul_ps(_mm512_load_ps(o + (g * C + c) * 16), inv));
    }
}

VK_AVX512_FN void vk_attention_wide_avx512(const float *q, float *out, int64_t lo, int64_t n, const uint8_t *kbase,
                                           const uint8_t *vbase, int kv_type, const int32_t *block_table,
                                           int64_t block_size, int64_t slot_bytes, float scale, int group, int chunks) {
    // Each shape and cache type its own body, every loop bound a constant.
#define VK_WIDE_CASE(G, C) if (group == G && chunks == C) { \
        if (kv_type == VK_F16) vk_attn_wide(q, out, lo, n, kbase, vbase, VK_F16, block_table, block_size, slot_bytes, scale, G, C); \
        else vk_attn_wide(q, out, lo, n, kbase, vbase, VK_F32, block_table, block_size, slot_bytes, scale, G, C); \
        return; }
    VK_WIDE_CASE(1, 4) VK_WIDE_CASE(2, 4) VK_WIDE_CASE(3, 4) VK_WIDE_CASE(4, 4)
    VK_WIDE_CASE(5, 4) VK_WIDE_CASE(6, 4) VK_WIDE_CASE(7, 4) VK_WIDE_CASE(8, 4)
    VK_WIDE_CASE(1, 8) VK_WIDE_CASE(2, 8) VK_WIDE_CASE(3, 8) VK_WIDE_CASE(4, 8)
    VK_WIDE_CASE(5, 8) VK_WIDE_CASE(6, 8) VK_WIDE_CASE(7, 8) VK_WIDE_CASE(8, 8)
#undef VK_WIDE_CASE
}
#endif
