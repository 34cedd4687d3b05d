// CVLLMKernels: the SIMD loops Swift cannot express well.
// Every hot function has a scalar reference (`*_ref`) that tests compare against, a portable path,
// and AVX2 / AVX-512 paths picked at run time from the CPU's features (per-function `target` attributes,
// no global compiler flags). All data is little-endian; block layouts are ggml's (shared/notes/GGUF-FACTS.md).
#ifndef CVLLMKERNELS_H
#define CVLLMKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// CPU features and dispatch
enum {
    VK_ISA_SCALAR = 0,   // portable C
    VK_ISA_AVX2 = 1,     // AVX2 + FMA + F16C
    VK_ISA_AVX512 = 2,   // AVX-512 F/BW/VL/DQ (+ VNNI, BF16 when present)
};
/// The best ISA level this CPU supports.
int vk_cpu_isa(void);
/// Whether the CPU has AVX-512 VNNI / AVX-512 BF16.
int vk_cpu_has_avx512_vnni(void);
int vk_cpu_has_avx512_bf16(void);
/// Forces the ISA level used by the dispatching entry points on the calling thread and in the thread pool's tasks
/// it starts (clamped to what the CPU supports; -1 restores the best level). Returns the level now in force. Tests use it to compare every path with the scalar reference.
int vk_set_isa(int isa);
int vk_get_isa(void);

// ---------------------------------------------------------------------------------------------
// ggml tensor types (ids as in GGUF)
enum {
    VK_F32 = 0, VK_F16 = 1, VK_Q4_0 = 2, VK_Q4_1 = 3, VK_Q5_0 = 6, VK_Q5_1 = 7,
    VK_Q8_0 = 8, VK_Q8_1 = 9, VK_Q2_K = 10, VK_Q3_K = 11, VK_Q4_K = 12, VK_Q5_K = 13, VK_Q6_K = 14, VK_Q8_K = 15,
    VK_IQ4_NL = 20, VK_IQ4_XS = 23, VK_BF16 = 30,
};
/// Weights per block (1 for F32/F16/BF16, 32 or 256 for quantized types); 0 for unsupported types.
int64_t vk_type_block_size(int type);
/// Bytes per block; 0 for unsupported types.
int64_t vk_type_block_bytes(int type);
/// Bytes of one row of `n` elements (`n` must be a multiple of the block size).
int64_t vk_row_bytes(int type, int64_t n);
/// The activation type a weight type's dot product consumes: Q8_0, Q8_1 or Q8_K for quantized weights,
/// F32 for F32/F16/BF16 weights (activations stay f32). -1 for unsupported types.
int vk_activation_type(int weight_type);

// ---------------------------------------------------------------------------------------------
// Scalar conversions
float vk_f16_to_f32(uint16_t h);
uint16_t vk_f32_to_f16(float f);      // round to nearest even; NaN keeps its sign
float vk_bf16_to_f32(uint16_t h);
uint16_t vk_f32_to_bf16(float f);     // round to nearest even; NaN -> (bits>>16)|0x40

/// Dequantizes one row of `n` elements of `type` (any weight type above) to f32, bit-exact with ggml's `to_float`.
void vk_dequantize_row(int type, const void *src, float *dst, int64_t n);

/// Quantizes one f32 activation row of `n` elements to `act_type` (VK_Q8_0, VK_Q8_1, VK_Q8_K, or VK_F32 = copy),
/// with llama.cpp's x86 numerics (Q8_0/Q8_1: id = 127/amax, ties to even; Q8_K: the reference quantizer).
void vk_quantize_row(int act_type, const float *x, void *dst, int64_t n);

// ---------------------------------------------------------------------------------------------
// Matrix multiplication against weights stored as rows (one row per output feature, as in GGUF).
//
//   out[t * ldo + r] = dot(W row r, X row t)     for r in [r0, r1), t in [0, nt)
//
// W row r starts at `w + r * w_row_bytes` and holds `k` elements of `wtype`.
// X row t starts at `x + t * x_row_bytes`, already converted with vk_quantize_row to vk_activation_type(wtype).
// Batch invariance: the value of each out[t, r] depends only on W row r and X row t, never on nt, r0, r1,
// or which other rows are computed in the same call (the summation order is fixed per ISA level).
void vk_matmul(int wtype, const void *w, int64_t w_row_bytes, int64_t k,
               const void *x, int64_t x_row_bytes, int64_t nt,
               float *out, int64_t ldo, int64_t r0, int64_t r1);
/// Scalar reference of vk_matmul (ggml's generic formulas, f32 accumulation per block in index order).
void vk_matmul_ref(int wtype, const void *w, int64_t w_row_bytes, int64_t k,
                   const void *x, int64_t x_row_bytes, int64_t nt,
                   float *out, int64_t ldo, int64_t r0, int64_t r1);

// ---------------------------------------------------------------------------------------------
// Packed weights: 16-row panels for the AVX-512 VNNI and AVX2 kernels (every quantized weight type: Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS), and for AVX-512 BF16 (BF16).
//
// A panel holds rows [16p, 16p + 16) (rows past the matrix are zero) as groups of G 32-column blocks (G = 8 for
// the 256-wide super-block types, 2 for Q4_0 / Q5_0 / Q8_0 / IQ4_NL, 1 for Q4_1 / Q5_1), each group 64-byte
// aligned so that a panel is one sequential stream: the G blocks' quants, then the group's scales.
// A block's weights are w = dw(h) * q + mw(h) (h = the 16-column half; quant_block.h) with small integers q stored
// unsigned as u = q + offset (IQ4: the 4-bit table index). Its quants form 8 words of 64 bytes, word s lane byte
// 4i + c = u of row i, column 4s + c, stored as bit fields:
//   8 bits (Q8_0)        the 8 words as bytes (u = q XOR 0x80)
//   4 bits               4 words, word g: low nibbles word g, high nibbles word g + 4 (then Q5: 1 word whose bit s
//                        of each byte is bit 4 of word s; Q6_K: 2 words whose bits 2(s%4).. of word s / 4 are bits 4-5)
//   2 bits (Q2_K, Q3_K)  2 words, bits 2(s%4).. of word s / 4 (then Q3_K: 1 word, bit s = bit 2 of word s)
// A group's scales: d as 16 f16 (one per row), per block or per group; the same for dm where there is a min term;
// then the int8 multipliers sc (per block, or per half for Q2_K / Q3_K / Q6_K) and mn as 16 bytes each.
// The weights stay exactly the GGUF values; only their order and encoding change.
//
// BF16 (where the CPU has AVX-512 BF16): a panel is k / 2 zmm words, word c lane i = the bf16 pair (columns 2c,
// 2c + 1) of row i, in 32-column blocks of 1 KiB. Its matmuls consume VK_PB16 activation rows (k bf16 values,
// rounded to nearest even with denormals flushed, as `vcvtneps2bf16`), and each out[t, r] is, over column pairs
// c in order: acc = fma(w[2c + 1], x[2c + 1], acc), then acc = fma(w[2c], x[2c], acc), each result's denormals
// flushed (`vdpbf16ps`'s definition): the kernel and the scalar reference agree bit for bit, whatever the batch.
//
// F16 / F32, and BF16 as VK_BF16_F32_PANELS (AVX2 or better): a panel is k columns of 16 values each (column c of rows 0..15 at c * 16 elements,
// the weights' own f16, bf16 or f32 bits), and its matmuls consume f32 activation rows (VK_F32): each out[t, r] is one
// chain acc = fma(w[r, c], x[t, c], acc) over c in order, in the AVX-512 and AVX2 kernels and the scalar reference.
//
// Packed matmuls of the quantized types take llama.cpp's activation quantization for each type (its vec_dot_type).
//
// The 32-column types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) consume VK_P8 rows (vk_quantize_row with VK_P8): the
// Q8_1 quantization of each 32-block (llama.cpp's x86 numerics, d rounded to f16; the quants are Q8_0's too) laid
// out as int8 q[k], f32 d[nb], f32 s[nb] (Q8_1's f16 d * sum q), int32 sum q[nb]. Row bytes: vk_row_bytes(VK_P8, k).
// Each out[t, r] is, over blocks b in order, with the exact integer dot product I of the weights' q with the
// activation quants: acc = fma((float)I, f16(d) * dx_b, acc), then (Q4_1, Q5_1) acc = fma(f16(m), s_b, acc).
//
// The super-block types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) consume VK_P8K rows: llama.cpp's Q8_K quantization
// of each 256-column super-block (one f32 scale dx_g, quants in -127..127), laid out as int8 q[k], f32 d[k / 256],
// int16 sum q of each 16 columns [k / 16], int16 sum q of each 32 columns [k / 32]. Row bytes:
// vk_row_bytes(VK_P8K, k). Each out[t, r] is then, over super-blocks g in order, with exact integers I_g = sum over
// the super-block's halves h of sc(h) * (its q with the activation quants) and M_g = sum over its halves of
// mn(h) * (the activation quants' sum over h):
//   acc = fma((float)I_g, f16(d) * dx_g, acc), then (Q2_K, Q4_K, Q5_K) acc = fma((float)M_g, f16(dm) * dx_g, acc),
// llama.cpp's own grouping: the kernels sum a super-block in 32-bit integers with the scales applied there
// (`vpmaddwd` on AVX2, `vpmulld` on VNNI) instead of one float step per 32-column block (11-48% faster by type on
// Zen 5, VNNI and AVX2; BENCHMARKS.md, 2026-12-08).
//
// The AVX-512 and AVX2 kernels and the scalar reference agree bit for bit, whatever the batch.
enum { VK_P8 = 100, VK_PB16 = 101, VK_P8K = 103 };
/// BF16 weights in the F16 / F32 panel layout and kernels (f32 activations, exact products), for CPUs without
/// AVX-512 BF16 and for `--dtype float32`: a type id of the packed functions only (vk_packed_*, vk_pack_weights,
/// vk_matmul_packed[_ref], vk_get_rows_packed), whose unpacked rows are plain BF16 rows.
enum { VK_BF16_F32_PANELS = 102 };
/// 1 when `wtype` has a packed layout and this CPU a packed kernel (AVX2 or better): weights are packed at load.
int vk_packed_supported(int wtype);
/// 1 when the calling thread's ISA level (vk_get_isa, which tests may pin lower) runs the packed kernels.
int vk_packed_usable(int wtype);
/// The activation rows the packed kernel of `wtype` consumes on the calling thread's ISA level: VK_PB16 for BF16,
/// VK_F32 for F16, F32 and VK_BF16_F32_PANELS, VK_P8K for the super-block types, else VK_P8. vk_matmul_packed and
/// vk_matmul_packed_ref take `x` in this layout.
int vk_packed_activation_type(int wtype);
/// Bytes of the packed copy of a `rows` × `k` matrix of `wtype`.
int64_t vk_packed_bytes(int wtype, int64_t rows, int64_t k);
/// Packs panels [p0, p1) of the row-major matrix `w` into `dst` (the whole packed buffer, 64-byte aligned).
void vk_pack_weights(int wtype, const void *w, int64_t w_row_bytes, int64_t rows, int64_t k, void *dst,
                     int64_t p0, int64_t p1);
/// Packs panels [p0, p1) of the row-major F32 matrix `w` into the BF16 layout (vk_packed_supported(VK_BF16)), each
/// weight rounded to the nearest even bf16: `--dtype bfloat16` on F32 weights. Its matmuls are VK_BF16's.
void vk_pack_f32_as_bf16(const void *w, int64_t w_row_bytes, int64_t rows, int64_t k, void *dst, int64_t p0, int64_t p1);
/// out[t * ldo + r] for r in [r0, r1) (r0 a multiple of 16) from packed weights `wp` and activation rows `x` of
/// vk_packed_activation_type(wtype).
void vk_matmul_packed(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                      int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);
/// Scalar reference of vk_matmul_packed, computed from the original row-major weights `w`.
void vk_matmul_packed_ref(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x,
                          int64_t x_row_bytes, int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1);

/// vk_get_rows from packed weights `wp` (`k` columns): the same f32 values, for tied embeddings whose only
/// resident copy is the output matrix's panels.
void vk_get_rows_packed(int wtype, const void *wp, int64_t k, const int32_t *rows, int64_t count, float *dst);
/// Copies rows of a weight matrix (e.g. token embeddings) to f32: dst[i * n + j] = W[rows[i], j].
void vk_get_rows(int wtype, const void *w, int64_t w_row_bytes, int64_t n,
                 const int32_t *rows, int64_t count, float *dst);

// ---------------------------------------------------------------------------------------------
// Paged attention.
//
// One layer's KV cache is `[num_blocks, block_size, n_kv_head, head_dim]` for K and the same for V,
// in `kv_type` (VK_F32 or VK_F16). A sequence's token at position p lives in block
// `block_table[p / block_size]`, slot `p % block_size`.
//
// For each query token i in [0, nq) and each query head h in [kvh0 * group, kvh1 * group)
// (group = n_head / n_kv_head; query head h reads KV head h / group):
//   out[i, h, :] = sum_{lo_i <= p <= q_pos[i]} softmax_p(scale * q[i, h, :] . K[p]) * V[p]
// with lo_i = 0 when `window` is 0 (full causal attention), else max(0, q_pos[i] - window + 1): a sliding-window
// layer (Gemma 3's local layers) sees its own position and the window - 1 before it, llama.cpp's rule (a key at p0
// is masked for a query at p1 when p1 - p0 >= n_swa). Positions before lo_i are never read, so their blocks may
// already be freed (the table's entries there are not looked up for K/V rows).
// q and out are `[nq, n_head, head_dim]` f32 rows with row stride `q_stride` / `out_stride` floats per token.
// Keys are visited in position order with one online-softmax algorithm, so a query's result depends only on
// its own q and the cached K/V, never on how many queries share the call.
void vk_paged_attention(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                        int64_t nq, const int32_t *q_pos,
                        const void *k_cache, const void *v_cache, int kv_type,
                        const int32_t *block_table, int64_t block_size,
                        int64_t n_head, int64_t n_kv_head, int64_t head_dim, float scale,
                        int64_t kvh0, int64_t kvh1, int64_t window);
void vk_paged_attention_ref(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                            int64_t nq, const int32_t *q_pos,
                            const void *k_cache, const void *v_cache, int kv_type,
                            const int32_t *block_table, int64_t block_size,
                            int64_t n_head, int64_t n_kv_head, int64_t head_dim, float scale,
                            int64_t kvh0, int64_t kvh1, int64_t window);
/// The per-query loop at the calling thread's ISA level: on AVX-512 the 16-key tiles one query at a time, below it the
/// generic loop with no tiles. The tests' check that the bodies for more than 4 query heads a KV head (the AVX2 loop
/// tiles, the AVX-512 wide and multi-query bodies) give its bits.
void vk_paged_attention_loop(const float *q, int64_t q_stride, float *out, int64_t out_stride,
                             int64_t nq, const int32_t *q_pos,
                             const void *k_cache, const void *v_cache, int kv_type,
                             const int32_t *block_table, int64_t block_size,
                             int64_t n_head, int64_t n_kv_head, int64_t head_dim, float scale,
                             int64_t kvh0, int64_t kvh1, int64_t window);

/// Writes one token's K and V (`n_kv_head * head_dim` f32 each) into cache slot `slot`
/// (slot = block * block_size + offset), converting to kv_type.
void vk_kv_write(void *k_cache, void *v_cache, int kv_type, int64_t slot, int64_t row_elems,
                 const float *k, const float *v);

// ---------------------------------------------------------------------------------------------
// Element-wise helpers (llama.cpp numerics where stated)

/// y = x / sqrt(mean(x^2) + eps) * w; the sum of squares is accumulated in double (as ggml does). y may alias x.
/// Dispatches on the ISA; the AVX-512 path splits the double sum over lanes (within an ulp of the reference).
void vk_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps);
/// The residual add and the norm in one pass: x[i] += y[i] (+ b[i], the sum y + b added to x) when y is given,
/// then h = vk_rms_norm(x, w) with the same arithmetic. y and b may be NULL (b is read only with y).
void vk_add_rms_norm(float *x, const float *y, const float *b, const float *w, float *h, int64_t n, float eps);
/// The scalar reference of vk_rms_norm: one serial double sum, as ggml.
void vk_rms_norm_ref(const float *x, const float *w, float *y, int64_t n, float eps);
/// out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)). out may alias gate.
void vk_silu_mul(const float *gate, const float *up, float *out, int64_t n);
/// out[i] = gelu(gate[i]) * up[i] with ggml's CPU GeGLU numerics: the tanh-approximated GELU read from a table of
/// every f16 value (gate rounded to f16, RNE; the table's values rounded to f16), 0 for gate <= -10 and gate itself
/// for gate >= 10. out may alias gate. The SIMD paths give the reference's bits.
void vk_gelu_mul(const float *gate, const float *up, float *out, int64_t n);
/// The scalar reference of vk_gelu_mul.
void vk_gelu_mul_ref(const float *gate, const float *up, float *out, int64_t n);
/// out[i] = exp((x[i] - shift) * scale) (vectorized exp, < 2 ulp); returns the sum of out. out may alias x.
double vk_exp_scaled(const float *x, float *out, int64_t n, float shift, float scale);
/// y[i] = expf(x[i]), libm's bits: 8 lanes at a time on AVX2 (the attention loop tiles' exp), else libm itself.
void vk_expf_libm(const float *x, float *y, int64_t n);
/// Index of the largest value (the first on ties; rows with NaN give an unspecified index).
int64_t vk_argmax(const float *x, int64_t n);
/// y[i] += x[i]
void vk_add(float *y, const float *x, int64_t n);

/// LayerNorm with a bias (BERT's post-norms): when y is given, x[i] += y[i] (+ yb[i]) first; then, in place,
/// x = (x - mean) / sqrt(var + eps) * w + b with the biased variance of the row (torch's LayerNorm). Sums in
/// float lanes, then double (within a few ulp of vk_layer_norm_ref for rows of a few thousand values).
void vk_add_layer_norm(float *x, const float *y, const float *yb, const float *w, const float *b, int64_t n, float eps);
/// The scalar reference of LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b, mean and variance in double.
void vk_layer_norm_ref(const float *x, const float *w, const float *b, float *y, int64_t n, float eps);
/// out[i] = x[i] / 2 * (1 + erf(x[i] / sqrt 2)), the exact GELU BERT uses (not the tanh form); out may alias x.
/// Relative error below 1e-6 on both sides of zero.
void vk_gelu_erf(const float *x, float *out, int64_t n);
/// The scalar reference of vk_gelu_erf, through the C library's erfc in double (x / 2 * erfc(-x / sqrt 2)).
void vk_gelu_erf_ref(const float *x, float *out, int64_t n);
/// Bidirectional (encoder) attention of one head over one sequence of n tokens, for queries q0 ..< q1: q, k, v and
/// out are rows of `stride` floats whose first head_dim values are this head's (callers offset the pointers to the
/// head); out_i = softmax_j(scale q_i . k_j) v. Each query's result depends only on its own row and the sequence.
void vk_encoder_attention(const float *q, const float *k, const float *v, float *out, int64_t stride, int64_t n,
                          int64_t head_dim, float scale, int64_t q0, int64_t q1);
/// The scalar reference of vk_encoder_attention, in double.
void vk_encoder_attention_ref(const float *q, const float *k, const float *v, float *out, int64_t stride, int64_t n,
                              int64_t head_dim, float scale, int64_t q0, int64_t q1);

/// Rotary embedding in place on `n_heads` heads of `head_dim` values (stride head_dim) at position `pos`.
/// inv_freq has n_rot/2 entries (angle of pair k = pos * inv_freq[k]). neox = 0: pairs (2k, 2k+1) (GGUF llama);
/// neox = 1: pairs (k, k + n_rot/2) (Hugging Face layout, Qwen). Dimensions >= n_rot are untouched.
void vk_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos,
             const float *inv_freq, int neox);
/// The two halves of vk_rope, so a step computes each position's angles once for all layers:
/// cs[k] = cos(pos * inv_freq[k]), sn[k] = sin(pos * inv_freq[k]) for k < half ...
void vk_rope_angles(int32_t pos, const float *inv_freq, int64_t half, float *cs, float *sn);
/// ... and the rotation of vk_rope with those tables (n_rot / 2 entries each).
void vk_rope_rotate(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float *cs, const float *sn, int neox);

// ---------------------------------------------------------------------------------------------
// Thread pool: persistent workers that spin briefly, then sleep; no thread creation per call.
typedef struct vk_pool vk_pool;
typedef void (*vk_task_fn)(void *ctx, int64_t task);
/// Creates a pool running `n_threads` threads in all (the caller counts as one; n_threads - 1 workers).
vk_pool *vk_pool_create(int n_threads);
void vk_pool_destroy(vk_pool *pool);
int vk_pool_threads(const vk_pool *pool);
/// Runs fn(ctx, task) for every task in [0, n_tasks) across the pool's threads (the caller included)
/// and returns when all are done. Not reentrant: one caller at a time.
void vk_pool_run(vk_pool *pool, vk_task_fn fn, void *ctx, int64_t n_tasks);

// Collectives between tensor-parallel ranks (collective.c).
/// Acquire-loads a counter in shared memory.
uint32_t vk_atomic_load_u32(const uint32_t *word);
/// Release-stores `value` and wakes every process waiting on `word`.
void vk_atomic_store_wake_u32(uint32_t *word, uint32_t value);
/// Waits until `*word - target`, as a signed difference, is >= 0: spins `spin` times, then sleeps on a futex.
/// Returns 0, -1 when `*abort_word` (may be NULL) became nonzero, -2 after `timeout_ms` (0: none).
int vk_wait_u32_reaches(const uint32_t *word, uint32_t target, int spin, const uint32_t *abort_word, int timeout_ms);
/// dst[i] = parts[0][i] + parts[1][i] + ... in that order (every rank the same bits).
void vk_sum_rows_ordered(float *dst, const float *const *parts, int n_parts, int64_t count);
/// Restricts the calling thread (and threads it creates later) to `cpus`; 0 or an errno.
int vk_pin_current_thread(const int32_t *cpus, int count);
/// The CPUs this thread may run on, ascending; their count or -errno.
int vk_allowed_cpus(int32_t *cpus, int capacity);
/// Loads Open MPI (libmpi.so.40) and initialises it (MPI_THREAD_SERIALIZED); 0, or -1 with `error` filled.
int vk_mpi_open(char *error, int capacity);
int vk_mpi_rank(void);
int vk_mpi_size(void);
/// MPI_Bcast of bytes from `root` on MPI_COMM_WORLD; MPI's error code.
int vk_mpi_bcast_bytes(void *data, int64_t count, int root);
/// In-place MPI_Allreduce (MPI_SUM) of floats on MPI_COMM_WORLD; MPI's error code.
int vk_mpi_allreduce_sum_f32(float *data, int64_t count);
/// MPI_Gatherv of floats to `root` (`into`, `counts`, `displacements` only read there); MPI's error code.
int vk_mpi_gatherv_f32(const float *part, int count, float *into, const int *counts, const int *displacements, int root);
void vk_mpi_finalize(void);

#ifdef __cplusplus
}
#endif
#endif
