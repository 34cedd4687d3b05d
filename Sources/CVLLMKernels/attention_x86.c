// AVX-512 paged attention for head_dim a multiple of 16 (up to 256).
//
// Keys are visited in tiles of 16 absolute positions with one online softmax. For head_dim 64, 128 and 256: vk_attn_one
// (one query, a group whose outputs fit in 16 registers, or Gemma 3's heads of 256 one at a time) converts and
// transposes the tile's K once, so each head's 16 scores are broadcast FMAs with no reduction, and keeps its outputs
// in registers; several queries of one KV group go to vk_attention_block_avx512 (attention_block_x86.c), which has
// the queries in the vector lanes and gives each query the same bits as vk_attn_one. Wider groups (Qwen2.5's) take the
// wide body (attention_wide_x86.c) and the block body in passes of heads, both in vk_attn_tile's score order.
// vk_attn_tile (any other head_dim, and the tests' per-query reference) takes one query: per key a zmm of partial
// products, a 16-vector transpose-reduction for the tile's scores, the outputs in memory. Tiles are fixed by absolute
// position, so results never depend on how keys fall into blocks. With a sliding window the first tile is the one
// holding the query's first visible key, its earlier keys masked out of the softmax and never read (their blocks may
// be freed).
#include "attention_x86.h"
#include <math.h>

#if VK_X86
#define VK_ATTN_MAX_CHUNKS 16  // head_dim / 16

/// Lane sums of v[0..15] in one vector: lane L holds the sum of v[L / 4 + 4 * (L % 4)]. The caller passes
/// v[i] = partials of key 4 * (i % 4) + i / 4, so lane L holds key L's score.
static inline __attribute__((always_inline)) VK_AVX512_FN __m512 vk_sum16(const __m512 *v) {
    __m512 w[8], x[4], y[2];
    for (int k = 0; k < 8; k++) {
        w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    for (int k = 0; k < 4; k++) {
        x[k] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    }
    for (int k = 0; k < 2; k++) {
        y[k] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * k], x[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(x[2 * k], x[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    return _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/// One query against one tile's keys first..cnt-1 for the `group` heads starting at `h0`; state o/m/l per head in memory.
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_attn_tile(
    const float *q, float *o, float *m, float *l, int64_t group, const float *kt, const float *vt, int first, int cnt,
    int64_t head_dim, float scale, const int chunks) {
    const __mmask16 live = vk_attn_live(first, cnt);
    for (int64_t g = 0; g < group; g++) {
        const float *qh = q + g * head_dim;
        __m512 qv[VK_ATTN_MAX_CHUNKS], part[VK_ATTN_KEYS];
        for (int c = 0; c < chunks; c++) qv[c] = _mm512_loadu_ps(qh + 16 * c);
        for (int i = 0; i < VK_ATTN_KEYS; i++) {
            const int key = 4 * (i % 4) + i / 4;
            const float *kr = kt + key * head_dim;
            __m512 acc = _mm512_mul_ps(qv[0], _mm512_load_ps(kr));
            for (int c = 1; c < chunks; c++) acc = _mm512_fmadd_ps(qv[c], _mm512_load_ps(kr + 16 * c), acc);
            part[i] = acc;
        }
        __m512 s = _mm512_mul_ps(vk_sum16(part), _mm512_set1_ps(scale));
        s = _mm512_mask_blend_ps(live, _mm512_set1_ps(-INFINITY), s);
        const float mt = _mm512_reduce_max_ps(s);
        float *oh = o + g * head_dim;
        __m512 ov[VK_ATTN_MAX_CHUNKS];
        for (int c = 0; c < chunks; c++) ov[c] = _mm512_load_ps(oh + 16 * c);
        if (mt > m[g]) {
            if (m[g] != -INFINITY) {
                const float corr = _mm512_cvtss_f32(vk_exp512(_mm512_set1_ps(m[g] - mt)));
                l[g] *= corr;
                for (int c = 0; c < chunks; c++) ov[c] = _mm512_mul_ps(ov[c], _mm512_set1_ps(corr));
            }
            m[g] = mt;
        }
        const __m512 e = _mm512_maskz_mov_ps(live, vk_exp512(_mm512_sub_ps(s, _mm512_set1_ps(m[g]))));
        l[g] += _mm512_reduce_add_ps(e);
        float ea[VK_ATTN_KEYS] __attribute__((aligned(64)));
        _mm512_store_ps(ea, e);
        for (int j = first; j < cnt; j++) {
            const __m512 ej = _mm512_set1_ps(ea[j]);
            const float *vr = vt + j * head_dim;
            for (int c = 0; c < chunks; c++) ov[c] = _mm512_fmadd_ps(ej, _mm512_load_ps(vr + 16 * c), ov[c]);
        }
        for (int c = 0; c < chunks; c++) _mm512_store_ps(oh + 16 * c, ov[c]);
    }
}

/// One query (decode), with the same operations in the same order as vk_attention_block_avx512, so the same
/// bits: each transposed K chunk feeds its FMAs straight from registers, V is converted as it is read, and the
/// outputs stay in registers (staging through memory made a decode step's in-cache attention 2.3x slower).
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_attn_one(
    const float *q, float *out, int64_t lo, int64_t n, const uint8_t *kbase, const uint8_t *vbase, const int kv_type,
    const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale, const int G, const int C) {
    const int D = 16 * C, H = D / 2;
    __m512 ov[16];
    float m[4], l[4];
    for (int x = 0; x < G * C; x++) ov[x] = _mm512_setzero_ps();
    for (int g = 0; g < G; g++) { m[g] = -INFINITY; l[g] = 0; }
    for (int64_t p0 = lo - lo % VK_ATTN_KEYS; p0 < n; p0 += VK_ATTN_KEYS) {
        const int cnt = (int)(n - p0 < VK_ATTN_KEYS ? n - p0 : VK_ATTN_KEYS), first = (int)(lo > p0 ? lo - p0 : 0);
        const __mmask16 mask = vk_attn_live(first, cnt);
        const uint8_t *krow[VK_ATTN_KEYS], *vrow[VK_ATTN_KEYS];
        vk_attn_rows(p0, first, cnt, n, kbase, vbase, kv_type, block_table, block_size, slot_bytes, C, krow, vrow);
        __m512 s0[4], s1[4];
        for (int c = 0; c < C; c++) {
            __m512 r[16];
            for (int j = 0; j < 16; j++) r[j] = j >= first && j < cnt ? vk_load_kv16(krow[j], kv_type, c) : _mm512_setzero_ps();
            vk_transpose16(r);
            for (int x = 0; x < 16; x++) {
                const int d = 16 * c + x;
                for (int g = 0; g < G; g++) {
                    const __m512 qd = _mm512_set1_ps(q[g * D + d]);
                    if (d == 0) s0[g] = _mm512_mul_ps(qd, r[x]);
                    else if (d < H) s0[g] = _mm512_fmadd_ps(qd, r[x], s0[g]);
                    else if (d == H) s1[g] = _mm512_mul_ps(qd, r[x]);
                    else s1[g] = _mm512_fmadd_ps(qd, r[x], s1[g]);
                }
            }
        }
        float ea[4][VK_ATTN_KEYS] __attribute__((aligned(64)));
        for (int g = 0; g < G; g++) {
            __m512 sc = _mm512_mul_ps(_mm512_add_ps(s0[g], s1[g]), _mm512_set1_ps(scale));
            sc = _mm512_mask_blend_ps(mask, _mm512_set1_ps(-INFINITY), sc);
            const float mt = _mm512_reduce_max_ps(sc);
            if (mt > m[g]) {
                if (m[g] != -INFINITY) {
                    const __m512 corr = vk_exp512(_mm512_set1_ps(m[g] - mt));
                    l[g] *= _mm512_cvtss_f32(corr);
                    for (int c = 0; c < C; c++) ov[g * C + c] = _mm512_mul_ps(ov[g * C + c], corr);
                }
                m[g] = mt;
            }
            const __m512 e = _mm512_maskz_mov_ps(mask, vk_exp512(_mm512_sub_ps(sc, _mm512_set1_ps(m[g]))));
            l[g] += vk_hsum16(e);
            _mm512_store_ps(ea[g], e);
        }
        for (int j = first; j < cnt; j++)
            for (int c = 0; c < C; c++) {
                const __m512 vv = vk_load_kv16(vrow[j], kv_type, c);
                for (int g = 0; g < G; g++) ov[g * C + c] = _mm512_fmadd_ps(_mm512_set1_ps(ea[g][j]), vv, ov[g * C + c]);
            }
    }
    for (int g = 0; g < G; g++) {
        const __m512 inv = _mm512_set1_ps(1.0f / l[g]);
        for (int c = 0; c < C; c++) _mm512_storeu_ps(out + (g * C + c) * 16, _mm512_mul_ps(ov[g * C + c], inv));
    }
}

/// vk_attn_one for a pass of G heads of `chunks` 16-float chunks (G * chunks <= 16), each shape and cache type its own
/// body with every loop bound a constant.
static VK_AVX512_FN void vk_attn_one_any(const float *q, float *out, int64_t lo, int64_t n, const uint8_t *kbase,
                                         const uint8_t *vbase, int kv_type, const int32_t *block_table, int64_t block_size,
                                         int64_t slot_bytes, float scale, int G, int chunks) {
#define VK_ONE_CASE(GG, CC) if (G == GG && chunks == CC) { \
        if (kv_type == VK_F16) vk_attn_one(q, out, lo, n, kbase, vbase, VK_F16, block_table, block_size, slot_bytes, scale, GG, CC); \
        else vk_attn_one(q, out, lo, n, kbase, vbase, VK_F32, block_table, block_size, slot_bytes, scale, GG, CC); \
        return; }
    VK_ONE_CASE(1, 4) VK_ONE_CASE(2, 4) VK_ONE_CASE(3, 4) VK_ONE_CASE(4, 4)
    VK_ONE_CASE(1, 8) VK_ONE_CASE(2, 8) VK_ONE_CASE(1, 16)
#undef VK_ONE_CASE
}

VK_AVX512_FN void vk_attention_tiles_avx512(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                                            int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache,
                                            int kv_type, const int32_t *block_table, int64_t block_size, int64_t n_head,
                                            int64_t n_kv_head, int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1,
                                            int64_t window, int per_query) {
    const int64_t group = n_head / n_kv_head, es = kv_type == VK_F16 ? 2 : 4;
    const int64_t row_bytes = head_dim * es, slot_bytes = n_kv_head * row_bytes;
    const int chunks = (int)(head_dim / 16);
    const uint8_t *kc = (const uint8_t *)k_cache, *vc = (const uint8_t *)v_cache;
    float kt[VK_ATTN_KEYS * 256] __attribute__((aligned(64)));
    float vt[VK_ATTN_KEYS * 256] __attribute__((aligned(64)));
    float o[VK_ATTN_MAX_STATE] __attribute__((aligned(64)));  // [group, head_dim] output accumulators
    float m[VK_ATTN_MAX_STATE / 16], l[VK_ATTN_MAX_STATE / 16];  // running max and sum per head
    for (int64_t kvh = kvh0; kvh < kvh1; kvh++) {
        const uint8_t *kb = kc + kvh * row_bytes, *vb = vc + kvh * row_bytes;
        const float *qk = q + kvh * group * head_dim;  // this KV head's query heads, first query
        float *ok = out + kvh * group * head_dim;
        // head_dim 64, 128 or 256, any group: a head's operations do not depend on the other heads of its pass, so
        // every split of the group gives the same bits. Groups whose outputs fit in registers (group * chunks <= 16)
        // run vk_attn_one, or the multi-query body, in one pass. Wider groups of head_dim 64 and 128 (Qwen2.5's 6
        // heads of 128 and 7 of 64, Llama 3's 4 of 128) ran the per-query tile loop below, and keep its bits (its
        // score order; any other rounding moved a near-tie of Qwen2.5 0.5B Q6_K past the 0.25 fidelity line): one
        // query through the wide body in passes of up to 8 heads, several through the multi-query body in passes of
        // 16 / chunks heads (6 = 2 + 2 + 2, 7 = 4 + 3), each pass reading the tile's K/V rows again, from cache.
        // head_dim 256 (Gemma 3's 4 heads) runs vk_attn_one and the multi-query body one head a pass.
        if (!per_query && (chunks == 4 || chunks == 8 || chunks == 16)) {
            const int fits = group * chunks <= 16, lane_order = !fits && chunks != 16;
            const int per_one = fits ? (int)group : chunks == 16 ? 1 : 8, per_block = fits ? (int)group : 16 / chunks;
            for (int64_t i0 = 0; i0 < nq; i0 += VK_ATTN_BLOCK_QUERIES) {
                const int cnt = (int)(nq - i0 < VK_ATTN_BLOCK_QUERIES ? nq - i0 : VK_ATTN_BLOCK_QUERIES);
                const int64_t lo = vk_window_start(q_pos[i0], window);
                const int per_pass = cnt == 1 ? per_one : per_block;
                for (int64_t h0 = 0; h0 < group; h0 += per_pass) {
                    const int G = (int)(group - h0 < per_pass ? group - h0 : per_pass);
                    const float *qq = qk + h0 * head_dim + i0 * q_stride;
                    float *oo = ok + h0 * head_dim + i0 * out_stride;
                    if (cnt > 1)
                        vk_attention_block_avx512(qq, q_stride, oo, out_stride, cnt, q_pos + i0, kb, vb, kv_type, block_table,
                                                  block_size, slot_bytes, scale, G, chunks, window, lane_order);
                    else if (!lane_order)
                        vk_attn_one_any(qq, oo, lo, (int64_t)q_pos[i0] + 1, kb, vb, kv_type, block_table, block_size,
                                        slot_bytes, scale, G, chunks);
                    else
                        vk_attention_wide_avx512(qq, oo, lo, (int64_t)q_pos[i0] + 1, kb, vb, kv_type, block_table, block_size,
                                                 slot_bytes, scale, G, chunks);
                }
            }
            continue;
        }
        for (int64_t i = 0; i < nq; i++) {
            const int64_t n = (int64_t)q_pos[i] + 1, lo = vk_window_start(q_pos[i], window);
            const float *qg = q + i * q_stride + kvh * group * head_dim;
            float *og = out + i * out_stride + kvh * group * head_dim;
            for (int64_t x = 0; x < group * head_dim; x++) o[x] = 0;
            for (int64_t g = 0; g < group; g++) { m[g] = -INFINITY; l[g] = 0; }
            for (int64_t p0 = lo - lo % VK_ATTN_KEYS; p0 < n; p0 += VK_ATTN_KEYS) {
                const int cnt = (int)(n - p0 < VK_ATTN_KEYS ? n - p0 : VK_ATTN_KEYS), first = (int)(lo > p0 ? lo - p0 : 0);
                for (int j = 0; j < VK_ATTN_KEYS; j++) {
                    float *kr = kt + j * head_dim, *vr = vt + j * head_dim;
                    if (j < first || j >= cnt) {  // outside the window or past the last key: zero keys, masked out of the softmax
                        for (int c = 0; c < chunks; c++) _mm512_store_ps(kr + 16 * c, _mm512_setzero_ps());
                        continue;
                    }
                    const int64_t p = p0 + j;
                    const int64_t slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
                    const uint8_t *krow = kc + slot * slot_bytes + kvh * row_bytes, *vrow = vc + slot * slot_bytes + kvh * row_bytes;
                    for (int c = 0; c < chunks; c++) {
                        _mm512_store_ps(kr + 16 * c, vk_load_kv16(krow, kv_type, c));
                        _mm512_store_ps(vr + 16 * c, vk_load_kv16(vrow, kv_type, c));
                    }
                }
                vk_attn_tile(qg, o, m, l, group, kt, vt, first, cnt, head_dim, scale, chunks);
            }
            for (int64_t g = 0; g < group; g++) {
                const __m512 inv = _mm512_set1_ps(1.0f / l[g]);
                for (int c = 0; c < chunks; c++)
                    _mm512_storeu_ps(og + g * head_dim + 16 * c, _mm512_mul_ps(_mm512_load_ps(o + g * head_dim + 16 * c), inv));
            }
        }
    }
}
#endif
