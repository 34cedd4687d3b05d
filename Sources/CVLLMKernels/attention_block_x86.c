// AVX-512 attention for up to 16 queries of one KV group at once (prefill, and decode steps with several new
// tokens of a sequence), with the queries in the vector lanes.
//
// The queries are transposed once per call (qt[g][d] holds the 16 queries' dimension d of head g), and each
// 16-key tile is converted once to f32 rows. A key's scores for 16 queries are then broadcast FMAs of one
// f32 (the key's dimension d) into qt[g][d]; the softmax state (max, sum) is one vector per head, so the tile's
// max and sum are element-wise over 16 key vectors, with no horizontal reduction; and the outputs are
// transposed too (ot[g][d] over the queries), so P·V is broadcast FMAs of V's f32 elements into the
// probabilities. Per query every operation is the one vk_attn_one (attention_x86.c) does, in the same order:
// the two FMA chains over d < D/2 and d >= D/2, the max, e^(s - m), the sum tree of vk_hsum16, the rescale of
// o and l by e^(m_old - m_new) (exactly 1 when the max did not move), then o += e_j v_j in key order (keys a
// query cannot see add e = 0 times a finite v). So a query's bits never depend on the others in its block.
// With `lane_order` (the passes of a group too wide for vk_attn_one, attention_wide_x86.c) each score is
// instead the per-query tile loop's: 16 chains over the chunks, one per dimension lane, added in the same tree,
// so those groups keep that loop's bits whether decoded or prefilled.
// With a sliding window each lane also masks keys before its own first visible one; the tiles start at the one
// holding the earliest of those, rows before it are zeros (never read), and a lane that has seen no key yet keeps
// its zero state (its rescale factor is 1, where e^(-inf - -inf) would be NaN), as vk_attn_one skips the rescale.
#include "attention_x86.h"
#include <math.h>

#if VK_X86
#define VK_BLOCK_INLINE static inline __attribute__((always_inline)) VK_AVX512_FN

/// Elementwise over the 16 vectors s[0..15]: the sum in vk_hsum16's tree (j + j+8, then +4, +2, +1).
VK_BLOCK_INLINE __m512 vk_tree_sum16(const __m512 *s) {
    __m512 a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm512_add_ps(s[j], s[j + 8]);
    for (int j = 0; j < 4; j++) a[j] = _mm512_add_ps(a[j], a[j + 4]);
    for (int j = 0; j < 2; j++) a[j] = _mm512_add_ps(a[j], a[j + 2]);
    return _mm512_add_ps(a[0], a[1]);
}

/// G heads of D = 16 C dimensions; KB keys of a tile per pass of the score FMAs and DB output dimensions per pass
/// of the P·V FMAs, so that 2 G KB score and G DB output accumulators stay in registers.
VK_BLOCK_INLINE void vk_attn_block(const float *q, int64_t q_stride, float *out, int64_t out_stride, int nq,
                                   const int32_t *q_pos, const uint8_t *kbase, const uint8_t *vbase, const int kv_type,
                                   const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale,
                                   const int G, const int C, int64_t window, const int lane_order) {
    const int D = 16 * C, H = D / 2, GD = G * D;
    const int KB = G == 3 ? 4 : 8 / G, DB = G == 3 ? 8 : 16 / G;
    float qt[256 * 16] __attribute__((aligned(64)));     // [g * D + d][16 queries]
    float ot[256 * 16] __attribute__((aligned(64)));     // [g * D + d][16 queries] output accumulators
    float kf[16 * 256] __attribute__((aligned(64)));     // [16 keys][D]
    float vf[16 * 256] __attribute__((aligned(64)));     // [16 keys][D]
    float st[4 * 16 * 16] __attribute__((aligned(64)));  // [g][key][16 queries]: scores, then probabilities
    int32_t pos[16] __attribute__((aligned(64))), los[16] __attribute__((aligned(64)));
    int64_t n = 0, lo = INT64_MAX;
    for (int i = 0; i < 16; i++) {
        pos[i] = i < nq ? q_pos[i] : -1;  // lanes past the block see no key and are never stored
        los[i] = i < nq ? (int32_t)vk_window_start(q_pos[i], window) : 0;
        if ((int64_t)pos[i] + 1 > n) n = (int64_t)pos[i] + 1;
        if (i < nq && los[i] < lo) lo = los[i];
    }
    const __m512i posv = _mm512_load_si512((const void *)pos), lov = _mm512_load_si512((const void *)los);
    const int64_t start = lo - lo % VK_ATTN_KEYS;  // the first tile
    for (int x = 0; x < GD / 16; x++) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = i < nq ? _mm512_loadu_ps(q + i * q_stride + 16 * x) : _mm512_setzero_ps();
        vk_transpose16(r);
        for (int d = 0; d < 16; d++) _mm512_store_ps(qt + (16 * x + d) * 16, r[d]);
    }
    __m512 mv[4], lv[4], corr[4];
    for (int g = 0; g < G; g++) { mv[g] = _mm512_set1_ps(-INFINITY); lv[g] = _mm512_setzero_ps(); }
    for (int64_t p0 = start; p0 < n; p0 += VK_ATTN_KEYS) {
        const int cnt = (int)(n - p0 < VK_ATTN_KEYS ? n - p0 : VK_ATTN_KEYS), first = (int)(lo > p0 ? lo - p0 : 0);
        const uint8_t *krow[VK_ATTN_KEYS], *vrow[VK_ATTN_KEYS];
        vk_attn_rows(p0, first, cnt, n, kbase, vbase, kv_type, block_table, block_size, slot_bytes, C, krow, vrow);
        for (int j = 0; j < VK_ATTN_KEYS; j++)
            for (int c = 0; c < C; c++) {
                const int live = j >= first && j < cnt;
                _mm512_store_ps(kf + j * D + 16 * c, live ? vk_load_kv16(krow[j], kv_type, c) : _mm512_setzero_ps());
                _mm512_store_ps(vf + j * D + 16 * c, live ? vk_load_kv16(vrow[j], kv_type, c) : _mm512_setzero_ps());
            }
        // Scores: per pass KB keys of every head, the d < H chain then the d >= H chain, as in vk_attn_one; or per key
        // and head the 16 lane chains of the per-query tile loop, added in vk_hsum16's tree (vk_wide_lane_score).
        if (lane_order) {
            // 4 keys a pass: each query vector is loaded once for them. The 8 pair sums L + L+8 go through a small
            // buffer, then the rest of the tree (+ 4, + 2, + 1): unrolled whole, the pass ran 18% slower.
            for (int j0 = 0; j0 < VK_ATTN_KEYS; j0 += 4)
                for (int g = 0; g < G; g++) {
                    const float *qg = qt + (g * D) * 16;
                    __m512 pairs[8][4];
                    for (int L = 0; L < 8; L++) {
                        __m512 p[2][4];
                        _Pragma("clang loop unroll(full)")
                        for (int e = 0; e < 2; e++) {
                            __m512 qv = _mm512_load_ps(qg + (L + 8 * e) * 16);
                            _Pragma("clang loop unroll(full)")
                            for (int b = 0; b < 4; b++) p[e][b] = _mm512_mul_ps(qv, _mm512_set1_ps(kf[(j0 + b) * D + L + 8 * e]));
                            _Pragma("clang loop unroll(full)")
                            for (int c = 1; c < C; c++) {
                                qv = _mm512_load_ps(qg + (16 * c + L + 8 * e) * 16);
                                _Pragma("clang loop unroll(full)")
                                for (int b = 0; b < 4; b++)
                                    p[e][b] = _mm512_fmadd_ps(qv, _mm512_set1_ps(kf[(j0 + b) * D + 16 * c + L + 8 * e]), p[e][b]);
                            }
                        }
                        _Pragma("clang loop unroll(full)")
                        for (int b = 0; b < 4; b++) pairs[L][b] = _mm512_add_ps(p[0][b], p[1][b]);  // L + L+8
                    }
                    _Pragma("clang loop unroll(full)")
                    for (int b = 0; b < 4; b++) {
                        const __m512 r0 = _mm512_add_ps(pairs[0][b], pairs[4][b]), r1 = _mm512_add_ps(pairs[1][b], pairs[5][b]);
                        const __m512 r2 = _mm512_add_ps(pairs[2][b], pairs[6][b]), r3 = _mm512_add_ps(pairs[3][b], pairs[7][b]);
                        const __m512 sum = _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
                        _mm512_store_ps(st + (g * 16 + j0 + b) * 16, _mm512_mul_ps(sum, _mm512_set1_ps(scale)));
                    }
                }
        } else for (int j0 = 0; j0 < VK_ATTN_KEYS; j0 += KB) {
            __m512 s0[16], s1[16];  // [g * KB + key]
            for (int g = 0; g < G; g++) {
                const __m512 qa = _mm512_load_ps(qt + (g * D) * 16), qb = _mm512_load_ps(qt + (g * D + H) * 16);
                for (int j = 0; j < KB; j++) {
                    s0[g * KB + j] = _mm512_mul_ps(qa, _mm512_set1_ps(kf[(j0 + j) * D]));
                    s1[g * KB + j] = _mm512_mul_ps(qb, _mm512_set1_ps(kf[(j0 + j) * D + H]));
                }
            }
            for (int d = 1; d < H; d++)
                for (int g = 0; g < G; g++) {
                    const __m512 qa = _mm512_load_ps(qt + (g * D + d) * 16), qb = _mm512_load_ps(qt + (g * D + H + d) * 16);
                    for (int j = 0; j < KB; j++) {
                        s0[g * KB + j] = _mm512_fmadd_ps(qa, _mm512_set1_ps(kf[(j0 + j) * D + d]), s0[g * KB + j]);
                        s1[g * KB + j] = _mm512_fmadd_ps(qb, _mm512_set1_ps(kf[(j0 + j) * D + H + d]), s1[g * KB + j]);
                    }
                }
            for (int g = 0; g < G; g++)
                for (int j = 0; j < KB; j++)
                    _mm512_store_ps(st + (g * 16 + j0 + j) * 16,
                                    _mm512_mul_ps(_mm512_add_ps(s0[g * KB + j], s1[g * KB + j]), _mm512_set1_ps(scale)));
        }
        // Softmax: key j is visible to lane i when los[i] <= p0 + j <= pos[i].
        __mmask16 vis[VK_ATTN_KEYS];
        for (int j = 0; j < VK_ATTN_KEYS; j++) {
            const __m512i pj = _mm512_set1_epi32((int)(p0 + j));
            vis[j] = _mm512_cmpge_epi32_mask(posv, pj) & _mm512_cmple_epi32_mask(lov, pj);
        }
        for (int g = 0; g < G; g++) {
            __m512 s[VK_ATTN_KEYS], mt = _mm512_set1_ps(-INFINITY);
            for (int j = 0; j < VK_ATTN_KEYS; j++) {
                s[j] = _mm512_mask_blend_ps(vis[j], _mm512_set1_ps(-INFINITY), _mm512_load_ps(st + (g * 16 + j) * 16));
                mt = _mm512_max_ps(mt, s[j]);
            }
            const __m512 m = _mm512_max_ps(mv[g], mt);
            if (p0 > start) {  // before the first tile o and l are 0 and m is -inf: nothing to rescale
                // A lane that has seen no key yet (its window starts later) keeps o = l = 0: factor 1, not NaN.
                const __mmask16 unseen = _mm512_cmp_ps_mask(mv[g], _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ);
                corr[g] = _mm512_mask_blend_ps(unseen, vk_exp512(_mm512_sub_ps(mv[g], m)), _mm512_set1_ps(1.0f));
                lv[g] = _mm512_mul_ps(lv[g], corr[g]);
            }
            mv[g] = m;
            for (int j = 0; j < VK_ATTN_KEYS; j++) {
                s[j] = _mm512_maskz_mov_ps(vis[j], vk_exp512(_mm512_sub_ps(s[j], m)));
                _mm512_store_ps(st + (g * 16 + j) * 16, s[j]);
            }
            lv[g] = _mm512_add_ps(lv[g], vk_tree_sum16(s));
        }
        // Outputs: per pass DB dimensions of every head, rescaled, then += p_j v_j over the tile's keys in order.
        for (int d0 = 0; d0 < D; d0 += DB) {
            __m512 acc[24];  // [g * DB + d]
            for (int g = 0; g < G; g++)
                for (int d = 0; d < DB; d++)
                    acc[g * DB + d] = p0 == start ? _mm512_setzero_ps()
                                              : _mm512_mul_ps(_mm512_load_ps(ot + (g * D + d0 + d) * 16), corr[g]);
            for (int j = 0; j < cnt; j++)
                for (int g = 0; g < G; g++) {
                    const __m512 p = _mm512_load_ps(st + (g * 16 + j) * 16);
                    for (int d = 0; d < DB; d++)
                        acc[g * DB + d] = _mm512_fmadd_ps(p, _mm512_set1_ps(vf[j * D + d0 + d]), acc[g * DB + d]);
                }
            for (int g = 0; g < G; g++)
                for (int d = 0; d < DB; d++) _mm512_store_ps(ot + (g * D + d0 + d) * 16, acc[g * DB + d]);
        }
    }
    for (int g = 0; g < G; g++) {
        const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), lv[g]);
        for (int c = 0; c < C; c++) {
            __m512 r[16];
            for (int d = 0; d < 16; d++) r[d] = _mm512_mul_ps(_mm512_load_ps(ot + (g * D + 16 * c + d) * 16), inv);
            vk_transpose16(r);
            for (int i = 0; i < nq; i++) _mm512_storeu_ps(out + i * out_stride + g * D + 16 * c, r[i]);
        }
    }
}

VK_AVX512_FN void vk_attention_block_avx512(const float *q, int64_t q_stride, float *out, int64_t out_stride, int nq,
                                            const int32_t *q_pos, const uint8_t *kbase, const uint8_t *vbase, int kv_type,
                                            const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale,
                                            int group, int chunks, int64_t window, int lane_order) {
    // Each shape, score order and cache type gets its own body with every loop bound a constant.
#define VK_BLOCK_BODY(G, C, O)                                                                                        \
    {                                                                                                                 \
        if (kv_type == VK_F16)                                                                                        \
            vk_attn_block(q, q_stride, out, out_stride, nq, q_pos, kbase, vbase, VK_F16, block_table, block_size,    \
                          slot_bytes, scale, G, C, window, O);                                                        \
        else                                                                                                          \
            vk_attn_block(q, q_stride, out, out_stride, nq, q_pos, kbase, vbase, VK_F32, block_table, block_size,    \
                          slot_bytes, scale, G, C, window, O);                                                        \
        return;                                                                                                       \
    }
#define VK_BLOCK_CASE(G, C) if (group == G && chunks == C) { if (lane_order) VK_BLOCK_BODY(G, C, 1) else VK_BLOCK_BODY(G, C, 0) }
    VK_BLOCK_CASE(1, 4) VK_BLOCK_CASE(2, 4) VK_BLOCK_CASE(3, 4) VK_BLOCK_CASE(4, 4)
    VK_BLOCK_CASE(1, 8) VK_BLOCK_CASE(2, 8)
#undef VK_BLOCK_CASE
    if (group == 1 && chunks == 16) VK_BLOCK_BODY(1, 16, 0)
#undef VK_BLOCK_BODY
}
#endif
