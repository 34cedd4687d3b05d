// The packed matmul's scalar reference (the oracle every packed kernel must equal bit for bit) and dispatch.
#include "quant_block.h"
#include <math.h>

/// `vdpbf16ps`'s arithmetic: bf16 inputs with denormals as zero, each fma's result with denormals flushed.
static inline float vk_bf16_daz(const uint8_t *p) {
    const uint16_t h = vk_rd16(p);
    return vk_bf16_to_f32((h & 0x7F80) == 0 ? (uint16_t)(h & 0x8000) : h);
}

static inline float vk_ftz(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7F800000u) == 0) u &= 0x80000000u;
    memcpy(&f, &u, 4);
    return f;
}

static void vk_matmul_bf16_ref(const void *w, int64_t w_row_bytes, int64_t k, const void *x, int64_t x_row_bytes,
                               int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *xr = (const uint8_t *)x + t * x_row_bytes;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w + r * w_row_bytes;
            float acc = 0;
            for (int64_t c = 0; c < k / 2; c++) {
                acc = vk_ftz(fmaf(vk_bf16_daz(row + 4 * c + 2), vk_bf16_daz(xr + 4 * c + 2), acc));
                acc = vk_ftz(fmaf(vk_bf16_daz(row + 4 * c), vk_bf16_daz(xr + 4 * c), acc));
            }
            out[t * ldo + r] = acc;
        }
    }
}

/// F16 / F32 / BF16 weights by f32 activations: one fma chain over the columns in order.
static void vk_matmul_float_ref(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x,
                                int64_t x_row_bytes, int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *xr = (const uint8_t *)x + t * x_row_bytes;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w + r * w_row_bytes;
            float acc = 0;
            for (int64_t c = 0; c < k; c++)
                acc = fmaf(wtype == VK_F32 ? vk_rdf32(row + 4 * c) : wtype == VK_F16 ? vk_rdf16(row + 2 * c)
                           : vk_bf16_to_f32(vk_rd16(row + 2 * c)), vk_rdf32(xr + 4 * c), acc);
            out[t * ldo + r] = acc;
        }
    }
}

/// The Q8_K-activation types (vk_p8k_weight) by VK_P8K rows: one float step (two with a min) a 256-column super-block, its integer sums
/// exact (CVLLMKernels.h).
static void vk_matmul_p8k_ref(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x,
                              int64_t x_row_bytes, int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    const int has_min = vk_pp(wtype).has_min;
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *xr = (const uint8_t *)x + t * x_row_bytes;
        const int8_t *xq = (const int8_t *)xr;
        const float *xd = (const float *)(const void *)(xr + k);
        const int16_t *x16 = (const int16_t *)(const void *)(xd + k / 256);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w + r * w_row_bytes;
            float acc = 0;
            for (int64_t g = 0; g < k / 256; g++) {
                int32_t dot, mins;
                vk_block32 blk;
                vk_superblock_sums(wtype, row, g, xq + 256 * g, x16 + 16 * g, &dot, &mins, &blk);
                acc = fmaf((float)dot, vk_f16_to_f32(blk.d) * xd[g], acc);
                if (has_min) acc = fmaf((float)mins, vk_f16_to_f32(blk.dm) * xd[g], acc);
            }
            out[t * ldo + r] = acc;
        }
    }
}

void vk_matmul_packed_ref(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x,
                          int64_t x_row_bytes, int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    if (vk_packed_activation_type(wtype) == VK_P8K) { vk_matmul_p8k_ref(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1); return; }
    if (wtype == VK_BF16) { vk_matmul_bf16_ref(w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1); return; }
    if (wtype == VK_F16 || wtype == VK_F32 || wtype == VK_BF16_F32_PANELS) { vk_matmul_float_ref(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1); return; }
    vk_packed_params p;
    if (!vk_packed_params_of(wtype, &p)) return;
    // The 32-column types by VK_P8 rows: one scale a block (CVLLMKernels.h).
    const int64_t nb = k / 32;
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *xr = (const uint8_t *)x + t * x_row_bytes;
        const int8_t *xq = (const int8_t *)xr;
        const float *xd = (const float *)(const void *)(xr + k), *xs = xd + nb;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w + r * w_row_bytes;
            float acc = 0;
            for (int64_t b = 0; b < nb; b++) {
                vk_block32 blk;
                vk_decode_block32(wtype, row, b, &blk);
                int32_t dot = 0;  // exact: the kernels' unsigned sums less offset x activation sums
                for (int j = 0; j < 32; j++) dot += blk.q[j] * xq[32 * b + j];
                acc = fmaf((float)dot, vk_f16_to_f32(blk.d) * xd[b], acc);
                if (p.has_min) acc = fmaf(vk_f16_to_f32(blk.dm), xs[b], acc);
            }
            out[t * ldo + r] = acc;
        }
    }
}

void vk_matmul_packed(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                      int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    if (wtype == VK_BF16) vk_matmul_packed_bf16(wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
    else if (wtype == VK_F16 || wtype == VK_F32 || wtype == VK_BF16_F32_PANELS) {
        if (vk_get_isa() >= VK_ISA_AVX512) vk_matmul_packed_float512(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
        else vk_matmul_packed_float256(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
    } else if (vk_packed_runs_vnni()) vk_matmul_packed_vnni(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
    else vk_matmul_packed_avx2(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
}
