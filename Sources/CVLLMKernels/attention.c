// Paged attention over block tables, with one online-softmax algorithm shared by the reference and fast paths.
#include "vecmath_x86.h"
#include <math.h>

static inline float vk_attn_dot_scalar(const float *q, const void *row, int kv_type, int64_t n) {
    float s = 0;
    if (kv_type == VK_F16) { const uint16_t *r = (const uint16_t *)row; for (int64_t i = 0; i < n; i++) s += q[i] * vk_f16_to_f32(r[i]); }
    else { const float *r = (const float *)row; for (int64_t i = 0; i < n; i++) s += q[i] * r[i]; }
    return s;
}

static inline void vk_attn_axpy_scalar(float *acc, float a, const void *row, int kv_type, int64_t n) {
    if (kv_type == VK_F16) { const uint16_t *r = (const uint16_t *)row; for (int64_t i = 0; i < n; i++) acc[i] += a * vk_f16_to_f32(r[i]); }
    else { const float *r = (const float *)row; for (int64_t i = 0; i < n; i++) acc[i] += a * r[i]; }
}

#if VK_X86
static inline VK_AVX512_FN float vk_attn_dot_avx512(const float *q, const void *row, int kv_type, int64_t n) {
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 r = kv_type == VK_F16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)))
                                     : _mm512_loadu_ps((const float *)row + i);
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), r, acc);
    }
    float s = _mm512_reduce_add_ps(acc);
    if (i < n) s += vk_attn_dot_scalar(q + i, kv_type == VK_F16 ? (const void *)((const uint16_t *)row + i)
                                                                : (const void *)((const float *)row + i), kv_type, n - i);
    return s;
}

static inline VK_AVX512_FN void vk_attn_axpy_avx512(float *acc, float a, const void *row, int kv_type, int64_t n) {
    __m512 av = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 r = kv_type == VK_F16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)))
                                     : _mm512_loadu_ps((const float *)row + i);
        _mm512_storeu_ps(acc + i, _mm512_fmadd_ps(av, r, _mm512_loadu_ps(acc + i)));
    }
    if (i < n) vk_attn_axpy_scalar(acc + i, a, kv_type == VK_F16 ? (const void *)((const uint16_t *)row + i)
                                                                 : (const void *)((const float *)row + i), kv_type, n - i);
}

static inline VK_AVX2_FN float vk_attn_dot_avx2(const float *q, const void *row, int kv_type, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 r = kv_type == VK_F16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)))
                                     : _mm256_loadu_ps((const float *)row + i);
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), r, acc);
    }
    float s = vk_hsum256(acc);
    if (i < n) s += vk_attn_dot_scalar(q + i, kv_type == VK_F16 ? (const void *)((const uint16_t *)row + i)
                                                                : (const void *)((const float *)row + i), kv_type, n - i);
    return s;
}

static inline VK_AVX2_FN void vk_attn_axpy_avx2(float *acc, float a, const void *row, int kv_type, int64_t n) {
    __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 r = kv_type == VK_F16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)))
                                     : _mm256_loadu_ps((const float *)row + i);
        _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(av, r, _mm256_loadu_ps(acc + i)));
    }
    if (i < n) vk_attn_axpy_scalar(acc + i, a, kv_type == VK_F16 ? (const void *)((const uint16_t *)row + i)
                                                                 : (const void *)((const float *)row + i), kv_type, n - i);
}
#endif

#define VK_ATTN_FN
#define VK_ATTN_NAME vk_attention_scalar
#define VK_ATTN_DOT vk_attn_dot_scalar
#define VK_ATTN_AXPY vk_attn_axpy_scalar
#include "attention_body.h"
#undef VK_ATTN_FN
#undef VK_ATTN_NAME
#undef VK_ATTN_DOT
#undef VK_ATTN_AXPY

#if VK_X86
#define VK_ATTN_FN VK_AVX2_FN
#define VK_ATTN_NAME vk_attention_avx2
#define VK_ATTN_DOT vk_attn_dot_avx2
#define VK_ATTN_AXPY vk_attn_axpy_avx2
#include "attention_body.h"
#undef VK_ATTN_FN
#undef VK_ATTN_NAME
#undef VK_ATTN_DOT
#undef VK_ATTN_AXPY

#define VK_ATTN_FN VK_AVX512_FN
#define VK_ATTN_NAME vk_attention_avx512
#define VK_ATTN_DOT vk_attn_dot_avx512
#define VK_ATTN_AXPY vk_attn_axpy_avx512
#include "attention_body.h"
#undef VK_ATTN_FN
#undef VK_ATTN_NAME
#undef VK_ATTN_DOT
#undef VK_ATTN_AXPY
#endif

/// The tiles' or the per-query loop's paged attention at ISA level `isa` (`tiles` 0: the per-query loop only).
static void vk_attention(int isa, int tiles, const float *q, int64_t q_stride, float *out, int64_t out_stride,
                         int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                         const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                         int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) {
#if VK_X86
    if (isa >= VK_ISA_AVX512 && head_dim % 16 == 0 && head_dim <= 256 && (n_head / n_kv_head) * head_dim <= VK_ATTN_MAX_STATE) {
        vk_attention_tiles_avx512(q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table, block_size,
                                  n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window, !tiles);
        return;
    }
    if (isa >= VK_ISA_AVX512) {
        vk_attention_avx512(q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table, block_size,
                            n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window);
        return;
    }
    // The 8-key tiles take up to 4 query heads a KV head, the loop tiles more.
    if (tiles && isa >= VK_ISA_AVX2 &&
        (vk_attention_tiles_avx2(q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table, block_size,
                                 n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window) ||
         vk_attention_loop_tiles_avx2(q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table,
                                      block_size, n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window)))
        return;
    if (isa >= VK_ISA_AVX2) {
        vk_attention_avx2(q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table, block_size,
                          n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window);
        return;
    }
#endif
    vk_attention_scalar(q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table, block_size,
                        n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window);
}

void vk_paged_attention(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                        int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                        const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                        int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) {
    vk_attention(vk_get_isa(), 1, q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table,
                 block_size, n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window);
}

void vk_paged_attention_loop(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                             int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                             const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                             int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) {
    vk_attention(vk_get_isa(), 0, q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table,
                 block_size, n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window);
}

void vk_paged_attention_ref(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                            int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                            const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                            int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window) {
    vk_attention(VK_ISA_SCALAR, 1, q, q_stride, out, out_stride, nq, q_pos, k_cache, v_cache, kv_type, block_table,
                 block_size, n_head, n_kv_head, head_dim, scale, kvh0, kvh1, window);
}

#if VK_X86
/// Round-to-nearest-even f16 conversion of the first multiple-of-16 elements of two rows (the same bits as
/// vk_f32_to_f16 for every finite value); returns how many elements were converted.
static VK_AVX512_FN int64_t vk_f32_to_f16_avx512(const float *a, uint16_t *ad, const float *b, uint16_t *bd, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_si256((__m256i *)(void *)(ad + i), _mm512_cvtps_ph(_mm512_loadu_ps(a + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm256_storeu_si256((__m256i *)(void *)(bd + i), _mm512_cvtps_ph(_mm512_loadu_ps(b + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    return i;
}
#endif

void vk_kv_write(void *k_cache, void *v_cache, int kv_type, int64_t slot, int64_t row_elems,
                 const float *k, const float *v) {
    if (kv_type == VK_F16) {
        uint16_t *kd = (uint16_t *)k_cache + slot * row_elems, *vd = (uint16_t *)v_cache + slot * row_elems;
        int64_t i = 0;
#if VK_X86
        if (vk_get_isa() >= VK_ISA_AVX512) i = vk_f32_to_f16_avx512(k, kd, v, vd, row_elems);
#endif
        for (; i < row_elems; i++) { kd[i] = vk_f32_to_f16(k[i]); vd[i] = vk_f32_to_f16(v[i]); }
    } else {
        memcpy((float *)k_cache + slot * row_elems, k, (size_t)row_elems * 4);
        memcpy((float *)v_cache + slot * row_elems, v, (size_t)row_elems * 4);
    }
}
