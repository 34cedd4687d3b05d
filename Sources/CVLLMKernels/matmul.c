// Matmul entry points: the scalar reference (ggml's generic per-block formulas) and run-time dispatch.
#include "quant_block.h"

static float vk_dot_q4_0(const uint8_t *w, const uint8_t *x) {
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
        sumi += ((w[2 + j] & 0xF) - 8) * (int8_t)x[2 + j] + ((w[2 + j] >> 4) - 8) * (int8_t)x[2 + j + 16];
    }
    return sumi * (vk_rdf16(w) * vk_rdf16(x));
}

static float vk_dot_q4_1(const uint8_t *w, const uint8_t *x) {
    int sumi = 0;
    for (int j = 0; j < 16; j++) sumi += (w[4 + j] & 0xF) * (int8_t)x[4 + j] + (w[4 + j] >> 4) * (int8_t)x[4 + j + 16];
    return (vk_rdf16(w) * vk_rdf16(x)) * sumi + vk_rdf16(w + 2) * vk_rdf16(x + 2);
}

static float vk_dot_q5(const uint8_t *w, const uint8_t *x, int one) {
    uint32_t qh = vk_rd32(w + (one ? 4 : 2));
    const uint8_t *qs = w + (one ? 8 : 6);
    const int8_t *y = (const int8_t *)(x + (one ? 4 : 2));
    int off = one ? 0 : 16, sumi = 0;
    for (int j = 0; j < 16; j++) {
        int q0 = ((qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - off;
        int q1 = ((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - off;
        sumi += q0 * y[j] + q1 * y[j + 16];
    }
    if (one) return (vk_rdf16(w) * vk_rdf16(x)) * sumi + vk_rdf16(w + 2) * vk_rdf16(x + 2);
    return sumi * (vk_rdf16(w) * vk_rdf16(x));
}

static float vk_dot_q8_0(const uint8_t *w, const uint8_t *x) {
    int sumi = 0;
    for (int j = 0; j < 32; j++) sumi += (int8_t)w[2 + j] * (int8_t)x[2 + j];
    return sumi * (vk_rdf16(w) * vk_rdf16(x));
}

static float vk_dot_qk(const uint8_t *w, const uint8_t *x, int five) {
    const uint8_t *scales = w + 4, *qh = w + 16, *qs = w + (five ? 48 : 16);
    const int8_t *y = (const int8_t *)(x + 4);
    int16_t bsums[16]; memcpy(bsums, x + 260, 32);
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; j++) {
        int sc, m, c = j / 2, half = j % 2, s = 0;
        vk_scale_min_k4(j, scales, &sc, &m);
        for (int l = 0; l < 32; l++) {
            int q = half == 0 ? qs[32 * c + l] & 0xF : qs[32 * c + l] >> 4;
            if (five && ((qh[l] >> j) & 1)) q += 16;
            s += q * y[32 * j + l];
        }
        sumi += sc * s;
        summ += m * (bsums[2 * j] + bsums[2 * j + 1]);
    }
    const float dy = vk_rdf32(x);
    return vk_rdf16(w) * dy * sumi - vk_rdf16(w + 2) * dy * summ;
}

static float vk_dot_q6_k(const uint8_t *w, const uint8_t *x) {
    const uint8_t *ql = w, *qh = w + 128;
    const int8_t *scales = (const int8_t *)(w + 192);
    const int8_t *y = (const int8_t *)(x + 4);
    int sumi = 0;
    for (int s = 0; s < 16; s++) {
        int part = 0;
        for (int i = 16 * s; i < 16 * s + 16; i++) {
            int hf = i / 128, k = (i % 128) / 32, l = i % 32;
            int byte = ql[64 * hf + l + ((k & 1) ? 32 : 0)];
            int lo4 = k < 2 ? byte & 0xF : byte >> 4;
            int hi2 = (qh[32 * hf + l] >> (2 * k)) & 3;
            part += ((lo4 | hi2 << 4) - 32) * y[i];
        }
        sumi += scales[s] * part;
    }
    return vk_rdf16(w + 208) * vk_rdf32(x) * sumi;
}

/// Q2_K, Q3_K, IQ4_XS (Q8_K activations) and IQ4_NL (Q8_0) through the 32-column view, in ggml's generic order:
/// exact integer sums per block or super-block, then d_x * d_y times the scaled sum (and the min term).
static float vk_dot_view(int wtype, const uint8_t *w, const uint8_t *x) {
    vk_block32 blk;
    if (wtype == VK_IQ4_NL) {
        int sumi = 0;
        vk_decode_block32(wtype, w, 0, &blk);
        for (int j = 0; j < 32; j++) sumi += blk.q[j] * (int8_t)x[2 + j];
        return sumi * (vk_f16_to_f32(blk.d) * vk_rdf16(x));
    }
    int16_t bsums[16]; memcpy(bsums, x + 260, 32);
    int32_t sumi, summ;
    vk_superblock_sums(wtype, w, 0, (const int8_t *)(x + 4), bsums, &sumi, &summ, &blk);
    const float dy = vk_rdf32(x);
    return vk_f16_to_f32(blk.d) * dy * sumi + vk_f16_to_f32(blk.dm) * dy * summ;
}

float vk_dot_row_ref(int wtype, const uint8_t *w, const uint8_t *x, int64_t k) {
    float sum = 0;
    switch (wtype) {
    case VK_F32: for (int64_t i = 0; i < k; i++) sum += vk_rdf32(w + 4 * i) * vk_rdf32(x + 4 * i); return sum;
    case VK_F16: for (int64_t i = 0; i < k; i++) sum += vk_rdf16(w + 2 * i) * vk_rdf32(x + 4 * i); return sum;
    case VK_BF16: for (int64_t i = 0; i < k; i++) sum += vk_bf16_to_f32(vk_rd16(w + 2 * i)) * vk_rdf32(x + 4 * i); return sum;
    default: break;
    }
    int64_t nb = k / vk_type_block_size(wtype), wb = vk_type_block_bytes(wtype);
    int64_t xb = vk_type_block_bytes(vk_activation_type(wtype));
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *wp = w + b * wb, *xp = x + b * xb;
        switch (wtype) {
        case VK_Q4_0: sum += vk_dot_q4_0(wp, xp); break;
        case VK_Q4_1: sum += vk_dot_q4_1(wp, xp); break;
        case VK_Q5_0: sum += vk_dot_q5(wp, xp, 0); break;
        case VK_Q5_1: sum += vk_dot_q5(wp, xp, 1); break;
        case VK_Q8_0: sum += vk_dot_q8_0(wp, xp); break;
        case VK_Q4_K: sum += vk_dot_qk(wp, xp, 0); break;
        case VK_Q5_K: sum += vk_dot_qk(wp, xp, 1); break;
        case VK_Q6_K: sum += vk_dot_q6_k(wp, xp); break;
        case VK_Q2_K: case VK_Q3_K: case VK_IQ4_NL: case VK_IQ4_XS: sum += vk_dot_view(wtype, wp, xp); break;
        }
    }
    return sum;
}

void vk_matmul_ref(int wtype, const void *w, int64_t w_row_bytes, int64_t k,
                   const void *x, int64_t x_row_bytes, int64_t nt,
                   float *out, int64_t ldo, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++)
        for (int64_t t = 0; t < nt; t++)
            out[t * ldo + r] = vk_dot_row_ref(wtype, (const uint8_t *)w + r * w_row_bytes,
                                              (const uint8_t *)x + t * x_row_bytes, k);
}

void vk_matmul(int wtype, const void *w, int64_t w_row_bytes, int64_t k,
               const void *x, int64_t x_row_bytes, int64_t nt,
               float *out, int64_t ldo, int64_t r0, int64_t r1) {
    int isa = vk_get_isa();
    if (isa >= VK_ISA_AVX512 && vk_matmul_avx512(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1)) return;
    if (isa >= VK_ISA_AVX2 && vk_matmul_avx2(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1)) return;
    vk_matmul_ref(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1);
}

void vk_get_rows(int wtype, const void *w, int64_t w_row_bytes, int64_t n,
                 const int32_t *rows, int64_t count, float *dst) {
    for (int64_t i = 0; i < count; i++)
        vk_dequantize_row(wtype, (const uint8_t *)w + (int64_t)rows[i] * w_row_bytes, dst + i * n, n);
}
