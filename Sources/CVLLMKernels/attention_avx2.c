// AVX2 paged attention for head_dim 64, 128 or 256 and up to 4 query heads per KV head: the AVX-512 multi-query
// design (attention_x86.c) on 8-lane vectors.
//
// Keys are visited in tiles of 8 absolute positions with one online softmax. Up to 16 queries of one KV group
// share each tile: its K is converted and transposed once (kt[d] holds the 8 keys' dimension d), so a head's 8
// scores are broadcast FMAs over d in two fixed chains with no reduction, and its V is converted once to f32
// rows. The output accumulators live in memory (a head's 8 or 16 vectors are loaded, rescaled when the maximum
// moved, accumulated over the tile's keys and stored). A query's operations never depend on the other queries
// of its tile (keys it cannot see are masked; rows past the tile's last key are zero), so decode, one query,
// gives the same bits as any batch. With a sliding window a query also masks the keys before its first visible
// one; the tiles start at the one holding the earliest such key among the queries, and rows before it are never read.
#include "attention_x86.h"
#include <math.h>

#if VK_X86

#define VK_A2_INLINE static inline __attribute__((always_inline)) VK_AVX2_FN
#define VK_A2_KEYS 8
#define VK_A2_QUERIES 16
#define VK_A2_MAX_D 256  // Gemma 3's head_dim

VK_A2_INLINE float vk_hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// In-register 8x8 transpose: lane j of r[i] becomes lane i of r[j].
VK_A2_INLINE void vk_transpose8(__m256 *r) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
        r[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
    }
}

/// Up to 16 queries of one KV group (G heads of D dimensions) against the keys they see.
VK_A2_INLINE void vk_attn2_queries(const float *q, int64_t q_stride, float *out, int64_t out_stride, int nq,
                                   const int32_t *q_pos, const uint8_t *kbase, const uint8_t *vbase, const int kv_type,
                                   const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale,
                                   const int G, const int D, int64_t window) {
    const int C = D / 8, H = D / 2;
    float kt[VK_A2_MAX_D * 8] __attribute__((aligned(32)));                 // [D][8 keys]
    float vt[8 * VK_A2_MAX_D] __attribute__((aligned(32)));                 // [8 keys][D]
    float o[VK_A2_QUERIES * 4 * VK_A2_MAX_D] __attribute__((aligned(32)));  // [query][G * D] output accumulators (64 KiB)
    float m[VK_A2_QUERIES * 4], l[VK_A2_QUERIES * 4];               // running max and sum per (query, head)
    int64_t n = 0, lo = INT64_MAX;
    for (int i = 0; i < nq; i++) {
        if ((int64_t)q_pos[i] + 1 > n) n = (int64_t)q_pos[i] + 1;
        if (vk_window_start(q_pos[i], window) < lo) lo = vk_window_start(q_pos[i], window);
        for (int x = 0; x < G * D; x++) o[i * G * D + x] = 0;
        for (int g = 0; g < G; g++) { m[i * G + g] = -INFINITY; l[i * G + g] = 0; }
    }
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t p0 = lo - lo % VK_A2_KEYS; p0 < n; p0 += VK_A2_KEYS) {
        const int cnt = (int)(n - p0 < VK_A2_KEYS ? n - p0 : VK_A2_KEYS), first = (int)(lo > p0 ? lo - p0 : 0);
        const uint8_t *krow[VK_A2_KEYS], *vrow[VK_A2_KEYS];
        for (int j = first; j < cnt; j++) {
            const int64_t p = p0 + j, slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
            krow[j] = kbase + slot * slot_bytes;
            vrow[j] = vbase + slot * slot_bytes;
        }
        // The next tile's rows, into L2 while this one computes (as the AVX-512 kernel does).
        for (int64_t p = p0 + VK_A2_KEYS; p < n && p < p0 + 2 * VK_A2_KEYS; p++) {
            const int64_t slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
            for (int64_t b = 0; b < D * (kv_type == VK_F16 ? 2 : 4); b += 64) {
                _mm_prefetch((const char *)(kbase + slot * slot_bytes + b), _MM_HINT_T1);
                _mm_prefetch((const char *)(vbase + slot * slot_bytes + b), _MM_HINT_T1);
            }
        }
        for (int c = 0; c < C; c++) {
            __m256 r[8];
            for (int j = 0; j < 8; j++) r[j] = j >= first && j < cnt ? vk_load_kv8(krow[j], kv_type, c) : _mm256_setzero_ps();
            vk_transpose8(r);
            for (int x = 0; x < 8; x++) _mm256_store_ps(kt + (8 * c + x) * 8, r[x]);
        }
        for (int j = first; j < cnt; j++)
            for (int c = 0; c < C; c++) _mm256_store_ps(vt + j * D + 8 * c, vk_load_kv8(vrow[j], kv_type, c));
        for (int i = 0; i < nq; i++) {
            const int64_t seen = (int64_t)q_pos[i] + 1 - p0;  // keys of this tile the query attends to: from..live-1
            const int64_t skip = vk_window_start(q_pos[i], window) - p0;
            if (seen <= 0 || skip >= VK_A2_KEYS) continue;
            const int live = seen < VK_A2_KEYS ? (int)seen : VK_A2_KEYS, from = skip > 0 ? (int)skip : 0;
            const __m256 mask = _mm256_castsi256_ps(_mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(live), lanes),
                                                                     _mm256_cmpgt_epi32(lanes, _mm256_set1_epi32(from - 1))));
            const float *qi = q + i * q_stride;
            __m256 s0[4], s1[4];
            for (int g = 0; g < G; g++) {
                s0[g] = _mm256_mul_ps(_mm256_broadcast_ss(qi + g * D), _mm256_load_ps(kt));
                s1[g] = _mm256_mul_ps(_mm256_broadcast_ss(qi + g * D + H), _mm256_load_ps(kt + H * 8));
            }
            for (int d = 1; d < H; d++) {
                const __m256 k0 = _mm256_load_ps(kt + d * 8), k1 = _mm256_load_ps(kt + (H + d) * 8);
                for (int g = 0; g < G; g++) {
                    s0[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(qi + g * D + d), k0, s0[g]);
                    s1[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(qi + g * D + H + d), k1, s1[g]);
                }
            }
            float *oi = o + i * G * D;
            for (int g = 0; g < G; g++) {
                float *mg = m + i * G + g, *lg = l + i * G + g;
                __m256 sc = _mm256_mul_ps(_mm256_add_ps(s0[g], s1[g]), _mm256_set1_ps(scale));
                sc = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), sc, mask);
                const float mt = vk_hmax8(sc);
                __m256 corr = _mm256_set1_ps(1.0f);
                int rescale = 0;
                if (mt > *mg) {
                    if (*mg != -INFINITY) {
                        corr = vk_exp256(_mm256_set1_ps(*mg - mt));
                        *lg *= _mm256_cvtss_f32(corr);
                        rescale = 1;
                    }
                    *mg = mt;
                }
                const __m256 e = _mm256_and_ps(mask, vk_exp256(_mm256_sub_ps(sc, _mm256_set1_ps(*mg))));
                *lg += vk_hsum256(e);
                float ea[VK_A2_KEYS] __attribute__((aligned(32)));
                _mm256_store_ps(ea, e);
                float *og = oi + g * D;
                for (int c0 = 0; c0 < C; c0 += 8) {
                    __m256 ov[8];
                    for (int c = 0; c < 8; c++) {
                        ov[c] = _mm256_load_ps(og + 8 * (c0 + c));
                        if (rescale) ov[c] = _mm256_mul_ps(ov[c], corr);
                    }
                    for (int j = from; j < live; j++) {
                        const __m256 ej = _mm256_broadcast_ss(ea + j);
                        for (int c = 0; c < 8; c++) ov[c] = _mm256_fmadd_ps(ej, _mm256_load_ps(vt + j * D + 8 * (c0 + c)), ov[c]);
                    }
                    for (int c = 0; c < 8; c++) _mm256_store_ps(og + 8 * (c0 + c), ov[c]);
                }
            }
        }
    }
    for (int i = 0; i < nq; i++)
        for (int g = 0; g < G; g++) {
            const __m256 inv = _mm256_set1_ps(1.0f / l[i * G + g]);
            for (int c = 0; c < C; c++)
                _mm256_storeu_ps(out + i * out_stride + g * D + 8 * c, _mm256_mul_ps(_mm256_load_ps(o + i * G * D + g * D + 8 * c), inv));
        }
}

VK_AVX2_FN int vk_attention_tiles_avx2(const float *q, int64_t q_stride, float *out, int64_t out_stride, int64_t nq,
                                       const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                                       const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                                       int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) {
    const int64_t group = n_head / n_kv_head, es = kv_type == VK_F16 ? 2 : 4;
    if ((head_dim != 64 && head_dim != 128 && head_dim != 256) || group < 1 || group > 4) return 0;
    const int64_t row_bytes = head_dim * es, slot_bytes = n_kv_head * row_bytes;
    for (int64_t kvh = kvh0; kvh < kvh1; kvh++) {
        const uint8_t *kb = (const uint8_t *)k_cache + kvh * row_bytes, *vb = (const uint8_t *)v_cache + kvh * row_bytes;
        const float *qk = q + kvh * group * head_dim;  // this KV head's query heads, first query
        float *ok = out + kvh * group * head_dim;
        for (int64_t i0 = 0; i0 < nq; i0 += VK_A2_QUERIES) {
            const int cnt = (int)(nq - i0 < VK_A2_QUERIES ? nq - i0 : VK_A2_QUERIES);
            const float *qq = qk + i0 * q_stride;
            float *oo = ok + i0 * out_stride;
            // Every (group, head_dim, cache type) its own body, so the loops above unroll around constants.
#define VK_A2_CASE(G, D) if (group == G && head_dim == D) { \
                if (kv_type == VK_F16) vk_attn2_queries(qq, q_stride, oo, out_stride, cnt, q_pos + i0, kb, vb, VK_F16, block_table, block_size, slot_bytes, scale, G, D, window); \
                else vk_attn2_queries(qq, q_stride, oo, out_stride, cnt, q_pos + i0, kb, vb, VK_F32, block_table, block_size, slot_bytes, scale, G, D, window); \
                continue; }
            VK_A2_CASE(1, 64) VK_A2_CASE(2, 64) VK_A2_CASE(3, 64) VK_A2_CASE(4, 64)
            VK_A2_CASE(1, 128) VK_A2_CASE(2, 128) VK_A2_CASE(3, 128) VK_A2_CASE(4, 128)
            VK_A2_CASE(1, 256) VK_A2_CASE(2, 256) VK_A2_CASE(3, 256) VK_A2_CASE(4, 256)
#undef VK_A2_CASE
        }
    }
    return 1;
}
#else
int vk_attention_tiles_avx2(const float *q, int64_t q_stride, float *out, int64_t out_stride, int64_t nq,
                            const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                            const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                            int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) { return 0; }
#endif
