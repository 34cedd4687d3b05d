// Shared declarations between the kernel translation units (not part of the public header).
#ifndef VK_INTERNAL_H
#define VK_INTERNAL_H

#include "CVLLMKernels.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define VK_X86 1
#define VK_AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define VK_AVX512_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define VK_VNNI_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define VK_BF16_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#else
#define VK_X86 0
#endif

static inline uint16_t vk_rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t vk_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline float vk_rdf16(const uint8_t *p) { return vk_f16_to_f32(vk_rd16(p)); }
static inline float vk_rdf32(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }

/// Q4_K / Q5_K scale and min of sub-block j (ggml's get_scale_min_k4).
void vk_scale_min_k4(int j, const uint8_t *q, int *sc, int *m);

/// Per-block dot product of one weight block and one activation block (scalar reference formulas).
typedef float (*vk_block_dot_fn)(const uint8_t *w, const uint8_t *x);

/// Scalar row dot product of `k` elements (reference order).
float vk_dot_row_ref(int wtype, const uint8_t *w, const uint8_t *x, int64_t k);

/// ISA-specific matmul implementations; return 0 when the type is not handled (the caller falls back).
int vk_matmul_avx2(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x, int64_t x_row_bytes,
                   int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);
int vk_matmul_avx512(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x, int64_t x_row_bytes,
                     int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);

/// Bytes of one packed panel (16 rows) of `nb` 32-column blocks of `wtype` (pack.c); 0 without a packed layout.
int64_t vk_panel_bytes(int wtype, int64_t nb);

/// AVX-512 paged attention in 16-key tiles (attention_x86.c), for head_dim % 16 == 0, head_dim <= 256 and
/// group * head_dim <= VK_ATTN_MAX_STATE; `per_query` 1 runs every shape through the per-query tile loop (the
/// tests' reference for the wide groups' bodies).
#define VK_ATTN_MAX_STATE 4096
/// The generic loop visits keys in tiles of this many positions (by absolute position, so tiling never depends on the
/// batch); the AVX2 loop tiles (attention_avx2_loop.c) reproduce its bits with the same tiles.
#define VK_ATTN_TILE 32
void vk_attention_tiles_avx512(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                               int64_t nq, const int32_t *q_pos, const void *k_cache, const void *v_cache,
                               int kv_type, const int32_t *block_table, int64_t block_size, int64_t n_head,
                               int64_t n_kv_head, int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window,
                               int per_query);

/// AVX2 paged attention in 8-key tiles (attention_avx2.c); returns 0 for shapes it has no body for
/// (head_dim other than 64, 128 or 256, more than 4 query heads per KV head).
int vk_attention_tiles_avx2(const float *q, int64_t q_stride, float *out, int64_t out_stride, int64_t nq,
                            const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                            const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                            int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window);

/// AVX2 paged attention for 5 to 16 query heads per KV head (attention_avx2_loop.c): the generic loop's bits in
/// 32-key tiles; returns 0 for shapes it has no body for (head_dim other than 64, 128 or 256).
int vk_attention_loop_tiles_avx2(const float *q, int64_t q_stride, float *out, int64_t out_stride, int64_t nq,
                                 const int32_t *q_pos, const void *k_cache, const void *v_cache, int kv_type,
                                 const int32_t *block_table, int64_t block_size, int64_t n_head, int64_t n_kv_head,
                                 int64_t head_dim, float scale, int64_t kvh0, int64_t kvh1, int64_t window);

/// The first key position a query at `pos` sees: 0 without a window, else pos - window + 1 (at least 0).
static inline int64_t vk_window_start(int32_t pos, int64_t window) {
    const int64_t lo = window > 0 ? (int64_t)pos - window + 1 : 0;
    return lo > 0 ? lo : 0;
}

/// The calling thread's pinned ISA level (-1 when none) and setting it as is: the pool hands its caller's pin
/// to the threads that run the caller's tasks (cpu.c).
int vk_isa_pin(void);
void vk_isa_set_pin(int pin);

/// The packed BF16 kernel (matmul_packed_bf16.c, AVX-512 BF16); same bits as the scalar reference.
void vk_matmul_packed_bf16(const void *wp, int64_t k, const void *x, int64_t x_row_bytes, int64_t nt, float *out,
                           int64_t ldo, int64_t r0, int64_t r1);
/// VK_PB16 rows with `vcvtneps2bf16` (AVX-512 BF16); same bytes as the scalar conversion.
void vk_quantize_pb16_row_bf16(const float *x, uint16_t *dst, int64_t n);
/// The VK_P8 row's blocks in groups of 16 (quantize_p8_x86.c, AVX-512); returns the blocks done (a multiple of 16).
int64_t vk_quantize_p8_groups_avx512(const float *x, uint8_t *o, int64_t n);

/// 1 when the calling thread's packed matmuls of quantized types run the VNNI kernel, else the AVX2 kernel (pack.c).
int vk_packed_runs_vnni(void);
/// The types whose packed kernels take VK_P8K rows: those whose activations llama.cpp quantizes to Q8_K (every
/// 256-wide super-block type).
static inline int vk_p8k_weight(int wtype) {
    return wtype == VK_Q2_K || wtype == VK_Q3_K || wtype == VK_Q4_K || wtype == VK_Q5_K || wtype == VK_Q6_K || wtype == VK_IQ4_XS;
}
/// One VK_P8K row (quantize_p8k.c): AVX2 or scalar, the same bytes.
void vk_quantize_p8k_row(const float *x, uint8_t *o, int64_t n);

/// The packed kernels: AVX-512 VNNI (matmul_packed_x86.c) and AVX2 (matmul_packed_avx2.c), same bits.
void vk_matmul_packed_vnni(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                           int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);
void vk_matmul_packed_avx2(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                           int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);
/// The F16 / F32 panels' kernels (matmul_packed_float.c): AVX-512 and AVX2, same bits.
void vk_matmul_packed_float512(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                               int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);
void vk_matmul_packed_float256(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                               int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);

#endif
