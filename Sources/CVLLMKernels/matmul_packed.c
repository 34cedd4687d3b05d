// Packed 16-row panels (layout in CVLLMKernels.h): packing, the scalar reference, and dispatch.
#include "internal.h"
#include <math.h>

static int vk_packed_type(int wtype) { return wtype == VK_Q4_0 || wtype == VK_Q4_1 || wtype == VK_Q8_0; }

int vk_packed_supported(int wtype) {
    if (wtype == VK_BF16) return vk_cpu_isa() >= VK_ISA_AVX512 && vk_cpu_has_avx512_bf16();
    return vk_packed_type(wtype) && vk_cpu_isa() >= VK_ISA_AVX2;
}

int vk_packed_usable(int wtype) {
    if (wtype == VK_BF16) return vk_get_isa() >= VK_ISA_AVX512 && vk_cpu_has_avx512_bf16();
    return vk_packed_type(wtype) && vk_get_isa() >= VK_ISA_AVX2;
}

int vk_packed_activation_type(int wtype) { return wtype == VK_BF16 ? VK_PB16 : VK_P8; }

int64_t vk_packed_bytes(int wtype, int64_t rows, int64_t k) {
    const int64_t panels = (rows + 15) / 16;
    return panels * vk_panel_bytes(wtype, k / 32);
}

/// Stored quant u of element j (0..31) of a block, and the offset o with w = u - o (Q4_1 has no offset).
static inline int vk_quant_at(int wtype, const uint8_t *block, int j) {
    switch (wtype) {
    case VK_Q4_0: return j < 16 ? block[2 + j] & 0xF : block[2 + j - 16] >> 4;
    case VK_Q4_1: return j < 16 ? block[4 + j] & 0xF : block[4 + j - 16] >> 4;
    default: return (int8_t)block[2 + j] + 128;
    }
}

static inline int vk_quant_offset(int wtype) { return wtype == VK_Q4_0 ? 8 : wtype == VK_Q8_0 ? 128 : 0; }

void vk_pack_weights(int wtype, const void *w, int64_t w_row_bytes, int64_t rows, int64_t k, void *dst,
                     int64_t p0, int64_t p1) {
    const int64_t nb = k / 32, qb = vk_panel_quant_bytes(wtype), wb = vk_type_block_bytes(wtype);
    const int has_min = wtype == VK_Q4_1;
    if (wtype == VK_BF16) {
        // Word c, lane i: the bf16 pair (2c, 2c + 1) of row i; rows past the matrix are zero.
        for (int64_t p = p0; p < p1; p++) {
            uint8_t *panel = (uint8_t *)dst + p * vk_panel_bytes(wtype, nb);
            memset(panel, 0, (size_t)vk_panel_bytes(wtype, nb));
            for (int i = 0; i < 16 && 16 * p + i < rows; i++) {
                const uint8_t *row = (const uint8_t *)w + (16 * p + i) * w_row_bytes;
                for (int64_t c = 0; c < k / 2; c++) memcpy(panel + 64 * c + 4 * i, row + 4 * c, 4);
            }
        }
        return;
    }
    for (int64_t p = p0; p < p1; p++) {
        uint8_t *panel = (uint8_t *)dst + p * vk_panel_bytes(wtype, nb);
        const int64_t bb = vk_panel_block_bytes(wtype);
        memset(panel, 0, (size_t)vk_panel_bytes(wtype, nb));
        for (int i = 0; i < 16; i++) {
            const int64_t r = 16 * p + i;
            if (r >= rows) break;
            const uint8_t *row = (const uint8_t *)w + r * w_row_bytes;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *block = row + b * wb;
                uint8_t *q = panel + b * bb, *scales = q + qb, *mins = scales + 32;
                // Word g, lane i: 4 bytes of row i (nibble bytes for Q4, biased int8 for Q8_0).
                if (wtype == VK_Q8_0) {
                    for (int j = 0; j < 32; j++) q[(j / 4) * 64 + 4 * i + j % 4] = block[2 + j] ^ 0x80;
                } else {
                    const uint8_t *nibbles = block + (has_min ? 4 : 2);
                    for (int j = 0; j < 16; j++) q[(j / 4) * 64 + 4 * i + j % 4] = nibbles[j];
                }
                memcpy(scales + 2 * i, block, 2);
                if (has_min) memcpy(mins + 2 * i, block + 2, 2);
            }
        }
    }
}

void vk_get_rows_packed(int wtype, const void *wp, int64_t k, const int32_t *rows, int64_t count, float *dst) {
    const int64_t nb = k / 32, qb = vk_panel_quant_bytes(wtype), bb = vk_panel_block_bytes(wtype);
    const int64_t wb = wtype == VK_BF16 ? 64 : vk_type_block_bytes(wtype);
    uint8_t row[64 * 256];  // one GGUF row rebuilt a block at a time (at most 256 blocks of k)
    for (int64_t n = 0; n < count; n++) {
        const int64_t r = rows[n], i = r % 16;
        const uint8_t *panel = (const uint8_t *)wp + (r / 16) * vk_panel_bytes(wtype, nb);
        for (int64_t b0 = 0; b0 < nb; b0 += 256) {
            const int64_t b1 = nb - b0 < 256 ? nb : b0 + 256;
            for (int64_t b = b0; b < b1; b++) {
                const uint8_t *q = panel + b * bb, *scales = q + qb;
                uint8_t *block = row + (b - b0) * wb;
                if (wtype == VK_BF16) {
                    for (int c = 0; c < 16; c++) memcpy(block + 4 * c, q + 64 * c + 4 * i, 4);
                } else if (wtype == VK_Q8_0) {
                    memcpy(block, scales + 2 * i, 2);
                    for (int j = 0; j < 32; j++) block[2 + j] = q[(j / 4) * 64 + 4 * i + j % 4] ^ 0x80;
                } else {
                    const int has_min = wtype == VK_Q4_1;
                    memcpy(block, scales + 2 * i, 2);
                    if (has_min) memcpy(block + 2, scales + 32 + 2 * i, 2);
                    for (int j = 0; j < 16; j++) block[(has_min ? 4 : 2) + j] = q[(j / 4) * 64 + 4 * i + j % 4];
                }
            }
            vk_dequantize_row(wtype, row, dst + n * k + 32 * b0, 32 * (b1 - b0));
        }
    }
}

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

void vk_matmul_packed_ref(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x,
                          int64_t x_row_bytes, int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    if (wtype == VK_BF16) { vk_matmul_bf16_ref(w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1); return; }
    const int64_t nb = k / 32, wb = vk_type_block_bytes(wtype);
    const int offset = vk_quant_offset(wtype), has_min = wtype == VK_Q4_1;
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *xr = (const uint8_t *)x + t * x_row_bytes;
        const int8_t *xq = (const int8_t *)xr;
        const float *xd = (const float *)(const void *)(xr + k), *xs = xd + nb;
        const int32_t *xsum = (const int32_t *)(const void *)(xs + nb);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w + r * w_row_bytes;
            float acc = 0;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *block = row + b * wb;
                int32_t isum = 0;
                for (int j = 0; j < 32; j++) isum += vk_quant_at(wtype, block, j) * xq[32 * b + j];
                isum -= offset * xsum[b];
                acc = fmaf((float)isum, vk_rdf16(block) * xd[b], acc);
                if (has_min) acc = fmaf(vk_rdf16(block + 2), xs[b], acc);
            }
            out[t * ldo + r] = acc;
        }
    }
}

void vk_matmul_packed(int wtype, const void *wp, int64_t k, const void *x, int64_t x_row_bytes,
                      int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    if (wtype == VK_BF16) vk_matmul_packed_bf16(wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
    else if (vk_get_isa() >= VK_ISA_AVX512 && vk_cpu_has_avx512_vnni()) vk_matmul_packed_vnni(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
    else vk_matmul_packed_avx2(wtype, wp, k, x, x_row_bytes, nt, out, ldo, r0, r1);
}
