// The F16, F32 and BF16 (VK_BF16_F32_PANELS) weights' f32 kernels over packed 16-row panels (layout in CVLLMKernels.h), AVX-512 and AVX2.
//
// A panel stores column c of its 16 rows contiguously (16 f16, bf16 or f32 values), so one vector load gives the
// column's weight of every row, widened to f32, and one `vfmadd` per token adds it times that token's
// activation broadcast to every lane: no horizontal sums, and each weight is loaded once for every token of a
// tile. Each out[t, r] is one chain acc = fma(w[r, c], x[t, c], acc) over c in order, whatever the tile, the
// batch, the row range or the ISA, so the scalar reference in matmul_packed.c gives the same bits.
#include "internal.h"

#if VK_X86
#include <immintrin.h>

// Cache blocking: columns in slices of KC (a panel's slice, 16-32 KiB, stays in L1 across a token block's tiles)
// and tokens in blocks of TB (their activation slices, 48 tokens x 512 x 4 bytes = 96 KiB, stay in L2 across the
// row range's panels). A chain carried across slices through `out` is the same chain: f32 in, f32 out.
#define VK_FLOAT_KC 512
#define VK_FLOAT_TB 48
#define VK_FLOAT_STREAM_TOKENS 8
// Bytes ahead of the column being read that the kernels prefetch when they stream whole panels (as the int8 kernels
// do; the panels of one row range follow each other in memory). Slices would prefetch the next slice's columns,
// which the next token block does not read yet: prefill measured 10% slower with it.
#define VK_FLOAT_PREFETCH 8192
#define VK_FLOAT512_INLINE static inline __attribute__((always_inline)) VK_AVX512_FN
#define VK_FLOAT256_INLINE static inline __attribute__((always_inline)) VK_AVX2_FN

/// Element kinds of a panel: f32, f16 or bf16 (a constant after inlining).
enum { VK_EL_F32, VK_EL_F16, VK_EL_BF16 };

static inline int vk_element_kind(int wtype) { return wtype == VK_F16 ? VK_EL_F16 : wtype == VK_F32 ? VK_EL_F32 : VK_EL_BF16; }

/// The 16 weights of column c as f32.
VK_FLOAT512_INLINE __m512 vk_column16(const int el, const uint8_t *panel, const int64_t c) {
    if (el == VK_EL_F32) return _mm512_load_ps((const float *)(const void *)(panel + 64 * c));
    const __m256i h = _mm256_load_si256((const __m256i *)(const void *)(panel + 32 * c));
    if (el == VK_EL_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/// Columns [c0, c1) of out[u * ldo + i] for the panel's rows i < popcount(mask) and tokens u < n (n a constant
/// after inlining): the chains start at zero when c0 is 0, else continue from the f32 values stored in `out`.
VK_FLOAT512_INLINE void vk_float_tile512(const int el, const uint8_t *panel, const int64_t c0, const int64_t c1,
                                         const float *x, const int64_t xs, float *out, const int64_t ldo,
                                         const __mmask16 mask, const int64_t pf, const int n) {
    __m512 acc[8];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) acc[u] = c0 ? _mm512_maskz_loadu_ps(mask, out + u * ldo) : _mm512_setzero_ps();
    for (int64_t c = c0; c < c1; c++) {
        if (pf) _mm_prefetch((const char *)panel + (el == VK_EL_F32 ? 64 : 32) * c + pf, _MM_HINT_T0);
        const __m512 w = vk_column16(el, panel, c);
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) acc[u] = _mm512_fmadd_ps(w, _mm512_set1_ps(x[u * xs + c]), acc[u]);
    }
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) _mm512_mask_storeu_ps(out + u * ldo, mask, acc[u]);
}

VK_FLOAT512_INLINE void vk_float_panel512(const int el, const uint8_t *panel, const int64_t c0, const int64_t c1,
                                          const float *x, const int64_t xs, const int64_t t0, const int64_t t1,
                                          float *out, const int64_t ldo, const __mmask16 mask, const int64_t pf) {
    for (int64_t t = t0; t < t1; t += 8) {
        const float *xt = x + t * xs;
        float *ot = out + t * ldo;
        switch (t1 - t < 8 ? t1 - t : 8) {
        case 1: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 1); break;
        case 2: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 2); break;
        case 3: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 3); break;
        case 4: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 4); break;
        case 5: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 5); break;
        case 6: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 6); break;
        case 7: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 7); break;
        default: vk_float_tile512(el, panel, c0, c1, xt, xs, ot, ldo, mask, pf, 8); break;
        }
    }
}

/// One panel's rows [0, live) for tokens [t0, t1) over columns [c0, c1), each element kind its own inlined body.
static VK_AVX512_FN void vk_float_any512(const int el, const uint8_t *panel, const int64_t c0, const int64_t c1,
                                         const float *x, const int64_t xs, const int64_t t0, const int64_t t1,
                                         float *out, const int64_t ldo, const int64_t live, const int64_t pf) {
    const __mmask16 mask = (__mmask16)((1u << live) - 1);
    switch (el) {
    case VK_EL_F16: vk_float_panel512(VK_EL_F16, panel, c0, c1, x, xs, t0, t1, out, ldo, mask, pf); break;
    case VK_EL_BF16: vk_float_panel512(VK_EL_BF16, panel, c0, c1, x, xs, t0, t1, out, ldo, mask, pf); break;
    default: vk_float_panel512(VK_EL_F32, panel, c0, c1, x, xs, t0, t1, out, ldo, mask, pf); break;
    }
}

/// Rows 8h..8h+7 of column c as f32.
VK_FLOAT256_INLINE __m256 vk_column8(const int el, const uint8_t *panel, const int64_t c, const int h) {
    if (el == VK_EL_F32) return _mm256_load_ps((const float *)(const void *)(panel + 64 * c + 32 * h));
    const __m128i v = _mm_load_si128((const __m128i *)(const void *)(panel + 32 * c + 16 * h));
    if (el == VK_EL_F16) return _mm256_cvtph_ps(v);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
}

/// As vk_float_tile512 with two ymm halves a token (up to 6 tokens: 12 accumulators); rows past `live` are
/// neither read nor stored.
VK_FLOAT256_INLINE void vk_float_tile256(const int el, const uint8_t *panel, const int64_t c0, const int64_t c1,
                                         const float *x, const int64_t xs, float *out, const int64_t ldo,
                                         const int64_t live, const int64_t pf, const int n) {
    __m256 acc[6][2];
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) {
        if (!c0) {
            acc[u][0] = acc[u][1] = _mm256_setzero_ps();
        } else if (live == 16) {
            acc[u][0] = _mm256_loadu_ps(out + u * ldo);
            acc[u][1] = _mm256_loadu_ps(out + u * ldo + 8);
        } else {
            float lanes[16] = {0};
            for (int64_t i = 0; i < live; i++) lanes[i] = out[u * ldo + i];
            acc[u][0] = _mm256_loadu_ps(lanes);
            acc[u][1] = _mm256_loadu_ps(lanes + 8);
        }
    }
    for (int64_t c = c0; c < c1; c++) {
        if (pf) _mm_prefetch((const char *)panel + (el == VK_EL_F32 ? 64 : 32) * c + pf, _MM_HINT_T0);
        const __m256 w0 = vk_column8(el, panel, c, 0), w1 = vk_column8(el, panel, c, 1);
        _Pragma("clang loop unroll(full)")
        for (int u = 0; u < n; u++) {
            const __m256 xv = _mm256_broadcast_ss(x + u * xs + c);
            acc[u][0] = _mm256_fmadd_ps(w0, xv, acc[u][0]);
            acc[u][1] = _mm256_fmadd_ps(w1, xv, acc[u][1]);
        }
    }
    _Pragma("clang loop unroll(full)")
    for (int u = 0; u < n; u++) {
        if (live == 16) {
            _mm256_storeu_ps(out + u * ldo, acc[u][0]);
            _mm256_storeu_ps(out + u * ldo + 8, acc[u][1]);
        } else {
            float lanes[16];
            _mm256_storeu_ps(lanes, acc[u][0]);
            _mm256_storeu_ps(lanes + 8, acc[u][1]);
            for (int64_t i = 0; i < live; i++) out[u * ldo + i] = lanes[i];
        }
    }
}

VK_FLOAT256_INLINE void vk_float_panel256(const int el, const uint8_t *panel, const int64_t c0, const int64_t c1,
                                          const float *x, const int64_t xs, const int64_t t0, const int64_t t1,
                                          float *out, const int64_t ldo, const int64_t live, const int64_t pf) {
    for (int64_t t = t0; t < t1; t += 6) {
        const float *xt = x + t * xs;
        float *ot = out + t * ldo;
        switch (t1 - t < 6 ? t1 - t : 6) {
        case 1: vk_float_tile256(el, panel, c0, c1, xt, xs, ot, ldo, live, pf, 1); break;
        case 2: vk_float_tile256(el, panel, c0, c1, xt, xs, ot, ldo, live, pf, 2); break;
        case 3: vk_float_tile256(el, panel, c0, c1, xt, xs, ot, ldo, live, pf, 3); break;
        case 4: vk_float_tile256(el, panel, c0, c1, xt, xs, ot, ldo, live, pf, 4); break;
        case 5: vk_float_tile256(el, panel, c0, c1, xt, xs, ot, ldo, live, pf, 5); break;
        default: vk_float_tile256(el, panel, c0, c1, xt, xs, ot, ldo, live, pf, 6); break;
        }
    }
}

static VK_AVX2_FN void vk_float_any256(const int el, const uint8_t *panel, const int64_t c0, const int64_t c1,
                                       const float *x, const int64_t xs, const int64_t t0, const int64_t t1,
                                       float *out, const int64_t ldo, const int64_t live, const int64_t pf) {
    switch (el) {
    case VK_EL_F16: vk_float_panel256(VK_EL_F16, panel, c0, c1, x, xs, t0, t1, out, ldo, live, pf); break;
    case VK_EL_BF16: vk_float_panel256(VK_EL_BF16, panel, c0, c1, x, xs, t0, t1, out, ldo, live, pf); break;
    default: vk_float_panel256(VK_EL_F32, panel, c0, c1, x, xs, t0, t1, out, ldo, live, pf); break;
    }
}

typedef void (*vk_float_panel_fn)(int el, const uint8_t *panel, int64_t c0, int64_t c1, const float *x, int64_t xs,
                                  int64_t t0, int64_t t1, float *out, int64_t ldo, int64_t live, int64_t pf);

/// The cache blocking shared by both ISAs: column slices, then token blocks, then the row range's panels.
static void vk_float_blocks(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes, int64_t nt,
                            float *out, int64_t ldo, int64_t r0, int64_t r1, vk_float_panel_fn panel_fn) {
    const int el = vk_element_kind(wtype);
    const int64_t stride = 16 * k * (el == VK_EL_F32 ? 4 : 2), xs = x_row_bytes / 4;
    // A few tokens (decode) read each weight once: whole panels, each one contiguous stream, instead of slices that
    // jump from panel to panel. The chains are the same either way (carried through `out` in f32).
    const int64_t kc = nt <= VK_FLOAT_STREAM_TOKENS ? k : VK_FLOAT_KC;
    for (int64_t c0 = 0; c0 < k; c0 += kc) {
        const int64_t c1 = k - c0 < kc ? k : c0 + kc;
        for (int64_t t0 = 0; t0 < nt; t0 += VK_FLOAT_TB) {
            const int64_t t1 = nt - t0 < VK_FLOAT_TB ? nt : t0 + VK_FLOAT_TB;
            for (int64_t r = r0; r < r1; r += 16)
                panel_fn(el, (const uint8_t *)wp + (r / 16) * stride, c0, c1, (const float *)x, xs, t0, t1, out + r, ldo,
                         r1 - r < 16 ? r1 - r : 16, kc == k ? VK_FLOAT_PREFETCH : 0);
        }
    }
}

void vk_matmul_packed_float512(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                               int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    vk_float_blocks(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1, vk_float_any512);
}

void vk_matmul_packed_float256(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                               int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    vk_float_blocks(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1, vk_float_any256);
}
#else
void vk_matmul_packed_float512(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                               int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {}
void vk_matmul_packed_float256(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                               int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {}
#endif
