// x86 attention helpers: for the AVX-512 one-query and multi-query bodies (attention_x86.c,
// attention_block_x86.c), tile row addresses with the next tile's prefetch, K/V row loads, a 16x16 transpose
// and the 16-lane sum whose order both bodies reproduce; for the AVX2 tiles (attention_avx2.c,
// attention_avx2_loop.c), the 8-lane K/V row load.
#ifndef VK_ATTENTION_X86_H
#define VK_ATTENTION_X86_H
#include "vecmath_x86.h"

#if VK_X86
#define VK_ATTN_KEYS 16
#define VK_ATTN_BLOCK_QUERIES 16  // queries of one KV group per vk_attention_block_avx512 call

/// Elements 8c..8c+7 of an f16 or f32 K/V row, as f32.
static inline __attribute__((always_inline)) VK_AVX2_FN __m256 vk_load_kv8(const uint8_t *row, int kv_type, int64_t c) {
    return kv_type == VK_F16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(row + 16 * c)))
                             : _mm256_loadu_ps((const float *)(const void *)(row + 32 * c));
}

static inline __attribute__((always_inline)) VK_AVX512_FN __m512 vk_load_kv16(const uint8_t *row, int kv_type, int64_t c) {
    return kv_type == VK_F16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(row + 32 * c)))
                             : _mm512_loadu_ps((const float *)(const void *)(row + 64 * c));
}

/// In-register 16x16 transpose: lane j of r[i] becomes lane i of r[j].
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_transpose16(__m512 *r) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            t[8 * i + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], _MM_SHUFFLE(2, 0, 2, 0));
            t[8 * i + 4 + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], _MM_SHUFFLE(3, 1, 3, 1));
        }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], _MM_SHUFFLE(2, 0, 2, 0));
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/// The K and V row addresses of the tile at p0 (keys first..cnt-1 of the n; rows before `first` lie outside the
/// window and are neither looked up nor read), and a prefetch of the next tile's rows.
/// The next tile's rows come from wherever its block lives: ask for them now, while this tile computes. Into L2,
/// not L1: decode at 32 streams reads 120 MB of KV a step from DRAM, and T0 requests held the L1's few miss
/// buffers (a C harness of that step: 17-20 ms with T0, 11-12 ms with T1; 2-4 tiles ahead and prefetching every
/// head's row were no better).
static inline __attribute__((always_inline)) VK_AVX512_FN void vk_attn_rows(
    int64_t p0, int first, int cnt, int64_t n, const uint8_t *kbase, const uint8_t *vbase, const int kv_type,
    const int32_t *block_table, int64_t block_size, int64_t slot_bytes, const int C,
    const uint8_t **krow, const uint8_t **vrow) {
    // With blocks a multiple of the tile, the tile lies in one block: one lookup and division for its 16 keys, not
    // one each (a C harness of a 32-sequence decode step: 7% faster in cache, 2-3% from DRAM; the next tile's
    // prefetch below keeps its per-key form, which compiled to the faster loop there).
    if (block_size % VK_ATTN_KEYS == 0) {  // the tile's visible keys share p0's block
        const int64_t base = (int64_t)block_table[p0 / block_size] * block_size + p0 % block_size;
        for (int j = first; j < cnt; j++) {
            krow[j] = kbase + (base + j) * slot_bytes;
            vrow[j] = vbase + (base + j) * slot_bytes;
        }
    } else {
        for (int j = first; j < cnt; j++) {
            const int64_t p = p0 + j, slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
            krow[j] = kbase + slot * slot_bytes;
            vrow[j] = vbase + slot * slot_bytes;
        }
    }
    for (int64_t p = p0 + VK_ATTN_KEYS; p < n && p < p0 + 2 * VK_ATTN_KEYS; p++) {
        const int64_t slot = (int64_t)block_table[p / block_size] * block_size + p % block_size;
        for (int64_t b = 0; b < C * (kv_type == VK_F16 ? 32 : 64); b += 64) {
            _mm_prefetch((const char *)(kbase + slot * slot_bytes + b), _MM_HINT_T1);
            _mm_prefetch((const char *)(vbase + slot * slot_bytes + b), _MM_HINT_T1);
        }
    }
}

/// The lanes of a tile's visible keys, first..cnt-1 (those before `first` lie outside the window).
static inline __attribute__((always_inline)) __mmask16 vk_attn_live(int first, int cnt) {
    return (__mmask16)(((1u << cnt) - 1) & ~((1u << first) - 1));
}

/// The sum of e's 16 lanes in a fixed tree: lane i + lane i+8, then i + i+4, i + i+2, 0 + 1. The multi-query
/// body adds its 16 key vectors in the same tree, so a query's softmax sum has the same bits in either body.
static inline __attribute__((always_inline)) VK_AVX512_FN float vk_hsum16(__m512 e) {
    const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(e), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}

/// Up to 16 queries of one KV group (attention_block_x86.c): group heads of 16 * chunks dimensions, group *
/// chunks <= 16 and group <= 4, the same bits per query as the one-query body, or with `lane_order` (chunks 4 or 8)
/// as the wide body and the per-query tile loop.
void vk_attention_block_avx512(const float *q, int64_t q_stride, float *out, int64_t out_stride, int nq,
                               const int32_t *q_pos, const uint8_t *kbase, const uint8_t *vbase, int kv_type,
                               const int32_t *block_table, int64_t block_size, int64_t slot_bytes, float scale,
                               int group, int chunks, int64_t window, int lane_order);

/// One query's `group` heads (1-8) of 16 * chunks dimensions (chunks 4 or 8) over keys lo..n-1
/// (attention_wide_x86.c), in the per-query tile loop's score order.
void vk_attention_wide_avx512(const float *q, float *out, int64_t lo, int64_t n, const uint8_t *kbase,
                              const uint8_t *vbase, int kv_type, const int32_t *block_table, int64_t block_size,
                              int64_t slot_bytes, float scale, int group, int chunks);
#endif
#endif
