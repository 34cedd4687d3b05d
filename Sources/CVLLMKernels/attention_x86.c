// AVX-512 paged attention for head_dim a multiple of 16 (up to 256).
//
// Keys are visited in tiles of 16 absolute positions. Scores: one zmm of partial products per key
// (head_dim / 16 FMAs), then a 16-vector transpose-reduction gives the tile's 16 scores in one zmm, so the
// softmax is vectorized (vk_exp512) with one max and one sum reduction per tile instead of one per key.
// Two bodies share that scheme: vk_attn_query (the usual shapes, group * head_dim / 16 <= 16) keeps the group's
// outputs in registers and converts K/V rows as it reads them, prefetching the next tile; vk_attn_tile (any
// other group size) converts a tile's rows once into stack buffers and keeps the outputs in memory. Tiles are
// fixed by absolute position, so a query's result never depends on the batch or on how keys fall into blocks.
#include "vecmath_x86.h"
#include <math.h>

#if VK_X86
#define VK_ATTN_KEYS 16
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

static inline __attribute__((always_inline)) VK_AVX512_FN __m512 vk_load_kv16(const uint8_t *row, int kv_type, int64_t c) {
    return kv_type == VK_F16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(row + 32 * c)))
                             : _mm512_loadu_ps((const float *)(const void *)(row + 64 * c));
}

/// One query against one tile for the `group` heads starting at `h0`; state o/m/l per head in memory.
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_attn_tile(
    const float *q, float *o, float *m, float *l, int64_t group, const float *kt, const float *vt, int cnt,
    int64_t head_dim, float scale, const int chunks) {
    const __mmask16 live = (__mmask16)((1u << cnt) - 1);
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
        for (int j = 0; j < cnt; j++) {
            const __m512 ej = _mm512_set1_ps(ea[j]);
            const float *vr = vt + j * head_dim;
            for (int c = 0; c < chunks; c++) ov[c] = _mm512_fmadd_ps(ej, _mm512_load_ps(vr + 16 * c), ov[c]);
        }
        for (int c = 0; c < chunks; c++) _mm512_store_ps(oh + 16 * c, ov[c]);
    }
}

/// One query's heads of one KV group, G heads of C 16-float chunks, with the outputs in registers
/// (G * C <= 16). K and V rows are converted from the cache as they are used: K per head, V once per key for
/// all G heads.
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_attn_query(
    const float *q, float *out, int64_t n, const uint8_t *kbase, const uint8_t *vbase, int kv_type,
    const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale, const int G, const int C) {
    __m512 o[16];
    float m[16], l[16];
    for (int x = 0; x < G * C; x++) o[x] = _mm512_setzero_ps();
    for (int g = 0; g < G; g++) { m[g] = -INFINITY; l[g] = 0; }
    for (int64_t p0 = 0; p0 < n; p0 += VK_ATTN_KEYS) {
        const int cnt = (int)(n - p0 < VK_ATTN_KEYS ? n - p0 : VK_ATTN_KEYS);
        const __mmask16 live = (__mmask16)((1u << cnt) - 1);
        const uint8_t *krow[VK_ATTN_KEYS], *vrow[VK_ATTN_KEYS];
        for (int j = 0; j < VK_ATTN_KEYS; j++) {
            const int64_t p = p0 + (j < cnt ? j : 0);
            const int64_t slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
            krow[j] = kbase + slot * slot_bytes;
            vrow[j] = vbase + slot * slot_bytes;
        }
        // The next tile's rows come from wherever its block lives: ask for them now, while this tile computes.
        // Into L2, not L1: decode at 32 streams reads 120 MB of KV a step from DRAM, and T0 requests held the
        // L1's few miss buffers (a C harness of that step: 17-20 ms with T0, 11-12 ms with T1; 2-4 tiles ahead
        // and prefetching every head's row were no better).
        for (int64_t p = p0 + VK_ATTN_KEYS; p < n && p < p0 + 2 * VK_ATTN_KEYS; p++) {
            const int64_t slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
            for (int64_t b = 0; b < C * (kv_type == VK_F16 ? 32 : 64); b += 64) {
                _mm_prefetch((const char *)(kbase + slot * slot_bytes + b), _MM_HINT_T1);
                _mm_prefetch((const char *)(vbase + slot * slot_bytes + b), _MM_HINT_T1);
            }
        }
        float ea[16][VK_ATTN_KEYS] __attribute__((aligned(64)));
        for (int g = 0; g < G; g++) {
            __m512 qv[16], part[VK_ATTN_KEYS];
            for (int c = 0; c < C; c++) qv[c] = _mm512_loadu_ps(q + (g * C + c) * 16);
            for (int i = 0; i < VK_ATTN_KEYS; i++) {
                const int key = 4 * (i % 4) + i / 4;
                __m512 acc = _mm512_mul_ps(qv[0], vk_load_kv16(krow[key], kv_type, 0));
                for (int c = 1; c < C; c++) acc = _mm512_fmadd_ps(qv[c], vk_load_kv16(krow[key], kv_type, c), acc);
                part[i] = acc;
            }
            __m512 sc = _mm512_mul_ps(vk_sum16(part), _mm512_set1_ps(scale));
            sc = _mm512_mask_blend_ps(live, _mm512_set1_ps(-INFINITY), sc);
            const float mt = _mm512_reduce_max_ps(sc);
            if (mt > m[g]) {
                if (m[g] != -INFINITY) {
                    const __m512 corr = vk_exp512(_mm512_set1_ps(m[g] - mt));
                    l[g] *= _mm512_cvtss_f32(corr);
                    for (int c = 0; c < C; c++) o[g * C + c] = _mm512_mul_ps(o[g * C + c], corr);
                }
                m[g] = mt;
            }
            const __m512 e = _mm512_maskz_mov_ps(live, vk_exp512(_mm512_sub_ps(sc, _mm512_set1_ps(m[g]))));
            l[g] += _mm512_reduce_add_ps(e);
            _mm512_store_ps(ea[g], e);
        }
        for (int j = 0; j < cnt; j++) {
            for (int c = 0; c < C; c++) {
                const __m512 vv = vk_load_kv16(vrow[j], kv_type, c);
                for (int g = 0; g < G; g++) o[g * C + c] = _mm512_fmadd_ps(_mm512_set1_ps(ea[g][j]), vv, o[g * C + c]);
            }
        }
    }
    for (int g = 0; g < G; g++) {
        const __m512 inv = _mm512_set1_ps(1.0f / l[g]);
        for (int c = 0; c < C; c++) _mm512_storeu_ps(out + (g * C + c) * 16, _mm512_mul_ps(o[g * C + c], inv));
    }
}

VK_AVX512_FN void vk_attention_tiles_avx512(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                                            int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache,
                                            int kv_type, const int32_t *block_table, int64_t block_size, int64_t n_head,
                                            int64_t n_kv_head, int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1) {
    const int64_t group = n_head / n_kv_head, es = kv_type == VK_F16 ? 2 : 4;
    const int64_t row_bytes = head_dim * es, slot_bytes = n_kv_head * row_bytes;
    const int chunks = (int)(head_dim / 16);
    const uint8_t *kc = (const uint8_t *)k_cache, *vc = (const uint8_t *)v_cache;
    float kt[VK_ATTN_KEYS * 256] __attribute__((aligned(64)));
    float vt[VK_ATTN_KEYS * 256] __attribute__((aligned(64)));
    float o[VK_ATTN_MAX_STATE] __attribute__((aligned(64)));  // [group, head_dim] output accumulators
    float m[VK_ATTN_MAX_STATE / 16], l[VK_ATTN_MAX_STATE / 16];  // running max and sum per head
    for (int64_t i = 0; i < nq; i++) {
        const int64_t n = (int64_t)q_pos[i] + 1;
        for (int64_t kvh = kvh0; kvh < kvh1; kvh++) {
            const float *qg = q + i * q_stride + kvh * group * head_dim;
            float *og = out + i * out_stride + kvh * group * head_dim;
            const uint8_t *kb = kc + kvh * row_bytes, *vb = vc + kvh * row_bytes;
// The cache type is a constant in each body too: tested per load, it cost a compare and branch per K/V row.
#define VK_ATTN_CASE(G, C) if (group == G && chunks == C) { \
                if (kv_type == VK_F16) vk_attn_query(qg, og, n, kb, vb, VK_F16, block_table, block_size, slot_bytes, scale, G, C); \
                else vk_attn_query(qg, og, n, kb, vb, VK_F32, block_table, block_size, slot_bytes, scale, G, C); \
                continue; }
            VK_ATTN_CASE(1, 4) VK_ATTN_CASE(2, 4) VK_ATTN_CASE(3, 4) VK_ATTN_CASE(4, 4)
            VK_ATTN_CASE(1, 8) VK_ATTN_CASE(2, 8)
#undef VK_ATTN_CASE
            for (int64_t x = 0; x < group * head_dim; x++) o[x] = 0;
            for (int64_t g = 0; g < group; g++) { m[g] = -INFINITY; l[g] = 0; }
            for (int64_t p0 = 0; p0 < n; p0 += VK_ATTN_KEYS) {
                const int cnt = (int)(n - p0 < VK_ATTN_KEYS ? n - p0 : VK_ATTN_KEYS);
                for (int j = 0; j < VK_ATTN_KEYS; j++) {
                    float *kr = kt + j * head_dim, *vr = vt + j * head_dim;
                    if (j >= cnt) {  // past the last key: zero keys, masked out of the softmax
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
                switch (chunks) {
                case 4: vk_attn_tile(qg, o, m, l, group, kt, vt, cnt, head_dim, scale, 4); break;
                case 8: vk_attn_tile(qg, o, m, l, group, kt, vt, cnt, head_dim, scale, 8); break;
                default: vk_attn_tile(qg, o, m, l, group, kt, vt, cnt, head_dim, scale, chunks); break;
                }
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
