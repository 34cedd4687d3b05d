// AVX2 paged attention for more than 4 query heads a KV head (Qwen2.5's 6 or 7), head_dim 64, 128 or 256: the
// generic loop's arithmetic (attention_body.h with the AVX2 dot product and axpy) bit for bit, tiled.
//
// The generic loop visits one (query, head) at a time: it converts every f16 K and V row again for each of them,
// each score is one FMA chain waiting on itself, and the output row is loaded and stored once a key. Here up to 16
// queries and all the group's heads share a 32-key tile (VK_ATTN_TILE, by absolute position): its K and V rows are
// converted to f32 once, eight keys' FMA chains run side by side, and a chunk of the output stays in registers over
// the tile's keys. Every value is computed as the generic loop computes it: each score the same 8-lane chain over
// d, the same horizontal sum and `scale *` product; the tile maximum with the same strict comparison; libm's `expf`
// (vk_expf_libm256: its bits, 8 keys at a time); the running sum key by key; each output element rescaled, then
// accumulated key by key with one FMA each. So a model gives the same bits as through the generic loop on every
// batch (the vectorized exp of attention_avx2.c's tiles is as accurate, but rounding differently moved a near-tie
// position of a quantized Qwen2.5 past llama.cpp's 0.25 logprob criterion).
#include "attention_x86.h"
#include <math.h>

#if VK_X86

#define VK_AL_QUERIES 16
#define VK_AL_MAX_G 16
#define VK_AL_MAX_D 256

#define VK_AL_INLINE static inline __attribute__((always_inline)) VK_AVX2_FN

/// Scores of keys j0..j1-1 (rows of kf) for one query head: s[j] = scale * dot(qh, k_j), eight chains at a time
/// (an FMA's latency is 4 cycles and two issue a cycle: four chains left half the FMA slots idle).
VK_AL_INLINE void vk_al_scores(const float *qh, const float *kf, int j0, int j1, float scale, float *s, const int D) {
    const int C = D / 8;
    int j = j0;
    for (; j + 8 <= j1; j += 8) {
        __m256 a[8];
        for (int u = 0; u < 8; u++) a[u] = _mm256_setzero_ps();
        for (int c = 0; c < C; c++) {
            const __m256 qv = _mm256_loadu_ps(qh + 8 * c);
            for (int u = 0; u < 8; u++) a[u] = _mm256_fmadd_ps(qv, _mm256_load_ps(kf + (j + u) * D + 8 * c), a[u]);
        }
        for (int u = 0; u < 8; u++) s[j + u] = scale * vk_hsum256(a[u]);
    }
    for (; j + 4 <= j1; j += 4) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < C; c++) {
            const __m256 qv = _mm256_loadu_ps(qh + 8 * c);
            a0 = _mm256_fmadd_ps(qv, _mm256_load_ps(kf + (j + 0) * D + 8 * c), a0);
            a1 = _mm256_fmadd_ps(qv, _mm256_load_ps(kf + (j + 1) * D + 8 * c), a1);
            a2 = _mm256_fmadd_ps(qv, _mm256_load_ps(kf + (j + 2) * D + 8 * c), a2);
            a3 = _mm256_fmadd_ps(qv, _mm256_load_ps(kf + (j + 3) * D + 8 * c), a3);
        }
        s[j] = scale * vk_hsum256(a0);
        s[j + 1] = scale * vk_hsum256(a1);
        s[j + 2] = scale * vk_hsum256(a2);
        s[j + 3] = scale * vk_hsum256(a3);
    }
    for (; j < j1; j++) {
        __m256 a = _mm256_setzero_ps();
        for (int c = 0; c < C; c++) a = _mm256_fmadd_ps(_mm256_loadu_ps(qh + 8 * c), _mm256_load_ps(kf + j * D + 8 * c), a);
        s[j] = scale * vk_hsum256(a);
    }
}

/// Up to 16 queries of G heads (D dimensions) against one KV head; the outputs go straight to `out`.
VK_AL_INLINE void vk_al_queries(const float *q, int64_t q_stride, float *out, int64_t out_stride, int nq,
                                const int32_t *q_pos, const uint8_t *kbase, const uint8_t *vbase, const int kv_type,
                                const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale,
                                const int G, const int D, int64_t window) {
    const int C = D / 8;
    float kf[VK_ATTN_TILE * VK_AL_MAX_D] __attribute__((aligned(32)));  // the tile's K rows in f32
    float vf[VK_ATTN_TILE * VK_AL_MAX_D] __attribute__((aligned(32)));  // and its V rows
    float m[VK_AL_QUERIES * VK_AL_MAX_G], l[VK_AL_QUERIES * VK_AL_MAX_G], s[VK_ATTN_TILE];
    int64_t n = 0, lo = INT64_MAX;
    for (int i = 0; i < nq; i++) {
        if ((int64_t)q_pos[i] + 1 > n) n = (int64_t)q_pos[i] + 1;
        if (vk_window_start(q_pos[i], window) < lo) lo = vk_window_start(q_pos[i], window);
        for (int g = 0; g < G; g++) {
            m[i * G + g] = -INFINITY;
            l[i * G + g] = 0;
            for (int d = 0; d < D; d++) out[i * out_stride + g * D + d] = 0;
        }
    }
    for (int64_t p0 = lo - lo % VK_ATTN_TILE; p0 < n; p0 += VK_ATTN_TILE) {
        const int cnt = (int)(n - p0 < VK_ATTN_TILE ? n - p0 : VK_ATTN_TILE), first = (int)(lo > p0 ? lo - p0 : 0);
        for (int j = first; j < cnt; j++) {
            const int64_t p = p0 + j, slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
            const uint8_t *kr = kbase + slot * slot_bytes, *vr = vbase + slot * slot_bytes;
            for (int c = 0; c < C; c++) {
                _mm256_store_ps(kf + j * D + 8 * c, vk_load_kv8(kr, kv_type, c));
                _mm256_store_ps(vf + j * D + 8 * c, vk_load_kv8(vr, kv_type, c));
            }
        }
        for (int i = 0; i < nq; i++) {
            // The generic loop's range in this tile: keys ps..pe-1 (its window start and its own position).
            const int64_t ws = vk_window_start(q_pos[i], window), qn = (int64_t)q_pos[i] + 1;
            const int js = (int)((ws > p0 ? ws : p0) - p0), je = (int)((qn < p0 + VK_ATTN_TILE ? qn : p0 + VK_ATTN_TILE) - p0);
            if (js >= je) continue;
            for (int g = 0; g < G; g++) {
                const float *qh = q + i * q_stride + g * D;
                float *oh = out + i * out_stride + g * D, *mg = m + i * G + g, *lg = l + i * G + g;
                vk_al_scores(qh, kf, js, je, scale, s, D);
                float mt = -INFINITY;
                for (int j = js; j < je; j++) if (s[j] > mt) mt = s[j];
                __m256 corr = _mm256_set1_ps(1.0f);
                int rescale = 0;
                if (mt > *mg) {
                    if (*mg != -INFINITY) {
                        const float cf = expf(*mg - mt);
                        *lg *= cf;
                        corr = _mm256_set1_ps(cf);
                        rescale = 1;
                    }
                    *mg = mt;
                }
                // e[j] = expf(s[j] - m) 8 keys at a time with libm's bits; the sum still key by key.
                float e[VK_ATTN_TILE + 8], l_run = *lg;
                const __m256 mv = _mm256_set1_ps(*mg);
                int j = js;
                for (; j + 8 <= je; j += 8) _mm256_storeu_ps(e + j, vk_expf_libm256(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv)));
                if (j < je) {
                    float rest[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                    for (int u = 0; u < je - j; u++) rest[u] = s[j + u] - *mg;
                    _mm256_storeu_ps(e + j, vk_expf_libm256(_mm256_loadu_ps(rest)));
                }
                for (j = js; j < je; j++) l_run += e[j];
                *lg = l_run;
                for (int c0 = 0; c0 < C; c0 += 8) {
                    __m256 ov[8];
                    for (int c = 0; c < 8; c++) {
                        ov[c] = _mm256_loadu_ps(oh + 8 * (c0 + c));
                        if (rescale) ov[c] = _mm256_mul_ps(ov[c], corr);
                    }
                    for (int j = js; j < je; j++) {
                        const __m256 ej = _mm256_set1_ps(e[j]);
                        for (int c = 0; c < 8; c++) ov[c] = _mm256_fmadd_ps(ej, _mm256_load_ps(vf + j * D + 8 * (c0 + c)), ov[c]);
                    }
                    for (int c = 0; c < 8; c++) _mm256_storeu_ps(oh + 8 * (c0 + c), ov[c]);
                }
            }
        }
    }
    for (int i = 0; i < nq; i++)
        for (int g = 0; g < G; g++) {
            const float inv = 1.0f / l[i * G + g];
            float *oh = out + i * out_stride + g * D;
            for (int d = 0; d < D; d++) oh[d] *= inv;
        }
}

VK_AVX2_FN int vk_attention_loop_tiles_avx2(const float *q, int64_t q_stride, float *out, int64_t out_stride, int64_t nq,
                                            const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                                            const int32_t *block_table, int64_t block_size, int64_t n_head,
                                            int64_t n_kv_head, int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1,
                                            int64_t window) {
    const int64_t group = n_head / n_kv_head, es = kv_type == VK_F16 ? 2 : 4;
    if ((head_dim != 64 && head_dim != 128 && head_dim != 256) || group < 1 || group > VK_AL_MAX_G) return 0;
    const int64_t row_bytes = head_dim * es, slot_bytes = n_kv_head * row_bytes;
    for (int64_t kvh = kvh0; kvh < kvh1; kvh++) {
        const uint8_t *kb = (const uint8_t *)k_cache + kvh * row_bytes, *vb = (const uint8_t *)v_cache + kvh * row_bytes;
        for (int64_t i0 = 0; i0 < nq; i0 += VK_AL_QUERIES) {
            const int cnt = (int)(nq - i0 < VK_AL_QUERIES ? nq - i0 : VK_AL_QUERIES);
            const float *qq = q + i0 * q_stride + kvh * group * head_dim;
            float *oo = out + i0 * out_stride + kvh * group * head_dim;
            // Each head_dim and cache type its own body, so the loops over d unroll around constants.
#define VK_AL_CASE(D) if (head_dim == D) { \
                if (kv_type == VK_F16) vk_al_queries(qq, q_stride, oo, out_stride, cnt, q_pos + i0, kb, vb, VK_F16, block_table, block_size, slot_bytes, scale, (int)group, D, window); \
                else vk_al_queries(qq, q_stride, oo, out_stride, cnt, q_pos + i0, kb, vb, VK_F32, block_table, block_size, slot_bytes, scale, (int)group, D, window); \
                continue; }
            VK_AL_CASE(64) VK_AL_CASE(128) VK_AL_CASE(256)
#undef VK_AL_CASE
        }
    }
    return 1;
}
#else
int vk_attention_loop_tiles_avx2(const float *q, int64_t q_stride, float *out, int64_t out_stride, int64_t nq,
                                 const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                                 const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                                 int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) { return 0; }
#endif
