// Packed 16-row panels (layout in CVLLMKernels.h): which types have them, their sizes, packing, and row gathers.
#include "quant_block.h"

/// F16, F32 and BF16 f32-FMA panels: column c of the 16 rows at c * 16 elements, the values unchanged.
static int vk_is_float_panel(int wtype) { return wtype == VK_F16 || wtype == VK_F32 || wtype == VK_BF16_F32_PANELS; }

int vk_packed_supported(int wtype) {
    if (wtype == VK_BF16) return vk_cpu_isa() >= VK_ISA_AVX512 && vk_cpu_has_avx512_bf16();
    return (vk_is_float_panel(wtype) || vk_packed_params_of(wtype, NULL)) && vk_cpu_isa() >= VK_ISA_AVX2;
}

int vk_packed_usable(int wtype) {
    if (wtype == VK_BF16) return vk_get_isa() >= VK_ISA_AVX512 && vk_cpu_has_avx512_bf16();
    return (vk_is_float_panel(wtype) || vk_packed_params_of(wtype, NULL)) && vk_get_isa() >= VK_ISA_AVX2;
}

int vk_packed_runs_vnni(void) { return vk_get_isa() >= VK_ISA_AVX512 && vk_cpu_has_avx512_vnni(); }

int vk_packed_activation_type(int wtype) {
    if (wtype == VK_BF16) return VK_PB16;
    if (vk_is_float_panel(wtype)) return VK_F32;
    return vk_p8k_weight(wtype) ? VK_P8K : VK_P8;
}

int64_t vk_panel_bytes(int wtype, int64_t nb) {
    vk_packed_params p;
    if (wtype == VK_BF16 || wtype == VK_F16 || wtype == VK_BF16_F32_PANELS) return nb * 1024;
    if (wtype == VK_F32) return nb * 2048;
    if (!vk_packed_params_of(wtype, &p)) return 0;
    return (nb + p.group - 1) / p.group * vk_panel_group_bytes_of(&p);
}

int64_t vk_packed_bytes(int wtype, int64_t rows, int64_t k) { return (rows + 15) / 16 * vk_panel_bytes(wtype, k / 32); }

/// Byte lane and unpacked word of column j (0..31) of panel row i: word s holds columns 4s..4s+3, 4 bytes a row.
static inline int vk_lane(int i, int j) { return 4 * i + j % 4; }
static inline int vk_word(int j) { return j / 4; }

/// Stores the 32 quants u (table indexes for IQ4) of panel row i into a block's quant section (zeroed before), a
/// 4-byte lane at a time (one weight at a time made packing the larger part of a model's load time).
static void vk_put_quants(uint8_t *q, const vk_packed_params *p, int i, const uint8_t *u) {
    const int lane = 4 * i;
    if (p->bits == 8) {
        for (int s = 0; s < 8; s++) memcpy(q + 64 * s + lane, u + 4 * s, 4);
        return;
    }
    if (p->bits == 4) {  // the common case alone: nibble pairs, no planes (a third of the 4-bit types' load time)
        for (int s = 0; s < 4; s++)
            for (int c = 0; c < 4; c++) q[64 * s + lane + c] = (uint8_t)((u[4 * s + c] & 0xF) | (u[4 * (s + 4) + c] & 0xF) << 4);
        return;
    }
    for (int c = 0; c < 4; c++) {
        uint8_t plane[3] = {0, 0, 0};  // the 2-bit words (or high-bit words), then the single-bit word
        for (int s = 0; s < 8; s++) {
            const unsigned v = u[4 * s + c];
            if (p->bits <= 3) {
                plane[s / 4] |= (uint8_t)((v & 3) << (2 * (s % 4)));
                plane[2] |= (uint8_t)(((v >> 2) & 1) << s);
            } else {
                if (s < 4) q[64 * s + lane + c] = (uint8_t)((v & 0xF) | (u[4 * (s + 4) + c] & 0xF) << 4);
                plane[s / 4] |= (uint8_t)(((v >> 4) & 3) << (2 * (s % 4)));
                plane[2] |= (uint8_t)(((v >> 4) & 1) << s);
            }
        }
        if (p->bits <= 3) {
            q[lane + c] = plane[0]; q[64 + lane + c] = plane[1];
            if (p->bits == 3) q[128 + lane + c] = plane[2];
        } else if (p->bits == 5) {
            q[256 + lane + c] = plane[2];
        } else if (p->bits == 6) {
            q[256 + lane + c] = plane[0]; q[320 + lane + c] = plane[1];
        }
    }
}

static unsigned vk_get_quant(const uint8_t *q, const vk_packed_params *p, int i, int j) {
    const int lane = vk_lane(i, j), s = vk_word(j);
    if (p->bits == 8) return q[64 * s + lane];
    if (p->bits <= 3) {
        unsigned u = (q[64 * (s / 4) + lane] >> (2 * (s % 4))) & 3;
        if (p->bits == 3) u |= ((q[128 + lane] >> s) & 1u) << 2;
        return u;
    }
    unsigned u = s < 4 ? q[64 * (s % 4) + lane] & 0xF : q[64 * (s % 4) + lane] >> 4;
    if (p->bits == 5) u |= ((q[256 + lane] >> s) & 1u) << 4;
    if (p->bits == 6) u |= ((q[256 + 64 * (s / 4) + lane] >> (2 * (s % 4))) & 3u) << 4;
    return u;
}

/// Where block slot k's scales of panel row i live in a group's scale section `sec`.
typedef struct { uint8_t *d, *dm, *sc[2], *mn[2]; } vk_scale_slots;

static vk_scale_slots vk_slots(uint8_t *sec, const vk_packed_params *p, int k, int i) {
    const int64_t kd = p->d_per_block ? k : 0;
    uint8_t *sc = sec + vk_sec_sc(p), *mn = sec + vk_sec_mn(p);
    vk_scale_slots s = {sec + 32 * kd + 2 * i, p->has_min ? sec + vk_sec_dm(p) + 32 * kd + 2 * i : NULL, {NULL, NULL}, {NULL, NULL}};
    for (int h = 0; h < 2 && p->halves; h++) {
        const int hh = p->halves == 2 ? h : 0;
        s.sc[h] = sc + 16 * (p->halves * k + hh) + i;
        if (p->has_min) s.mn[h] = mn + 16 * (p->halves * k + hh) + i;
    }
    return s;
}

/// Word c, lane i: the bf16 pair (2c, 2c + 1) of row i; rows past the matrix are zero. `from_f32`: the rows are F32,
/// each weight rounded to the nearest even bf16 (`--dtype bfloat16` on F32 weights).
static void vk_pack_bf16_rows(const void *w, int64_t w_row_bytes, int64_t rows, int64_t k, void *dst, int64_t p0, int64_t p1,
                              int from_f32) {
    for (int64_t p = p0; p < p1; p++) {
        uint8_t *panel = (uint8_t *)dst + p * vk_panel_bytes(VK_BF16, k / 32);
        memset(panel, 0, (size_t)vk_panel_bytes(VK_BF16, k / 32));
        for (int i = 0; i < 16 && 16 * p + i < rows; i++) {
            const uint8_t *row = (const uint8_t *)w + (16 * p + i) * w_row_bytes;
            for (int64_t c = 0; c < k / 2; c++) {
                if (!from_f32) { memcpy(panel + 64 * c + 4 * i, row + 4 * c, 4); continue; }
                const uint16_t pair[2] = {vk_f32_to_bf16(vk_rdf32(row + 8 * c)), vk_f32_to_bf16(vk_rdf32(row + 8 * c + 4))};
                memcpy(panel + 64 * c + 4 * i, pair, 4);
            }
        }
    }
}

void vk_pack_f32_as_bf16(const void *w, int64_t w_row_bytes, int64_t rows, int64_t k, void *dst, int64_t p0, int64_t p1) {
    vk_pack_bf16_rows(w, w_row_bytes, rows, k, dst, p0, p1, 1);
}

static void vk_pack_float(int wtype, const void *w, int64_t w_row_bytes, int64_t rows, int64_t k, void *dst,
                          int64_t p0, int64_t p1) {
    const int64_t es = wtype == VK_F32 ? 4 : 2, stride = vk_panel_bytes(wtype, k / 32);
    for (int64_t p = p0; p < p1; p++) {
        uint8_t *panel = (uint8_t *)dst + p * stride;
        memset(panel, 0, (size_t)stride);
        for (int i = 0; i < 16 && 16 * p + i < rows; i++) {
            const uint8_t *row = (const uint8_t *)w + (16 * p + i) * w_row_bytes;
            for (int64_t c = 0; c < k; c++) memcpy(panel + (16 * c + i) * es, row + c * es, (size_t)es);
        }
    }
}

/// Q4_K row `row` into panel row i, straight from its super-blocks (the generic path's block view, without it: Q4_K
/// is most of a Q4_K_M file, and packing it is most of a load). Block s of a super-block is nibble half s % 2 of
/// bytes 32 (s / 2) ..; a panel byte pairs columns j and j + 16 of one block.
static void vk_pack_q4k_row(const uint8_t *row, int64_t nsb, int i, uint8_t *panel) {
    const vk_packed_params p = vk_pp(VK_Q4_K);
    const int64_t qb = vk_panel_quant_bytes_of(&p), gb = vk_panel_group_bytes_of(&p);
    for (int64_t b = 0; b < nsb; b++) {
        const uint8_t *x = row + 144 * b;
        uint8_t *group = panel + b * gb, *sec = group + 8 * qb;
        memcpy(sec + 2 * i, x, 2);
        memcpy(sec + vk_sec_dm(&p) + 2 * i, x + 2, 2);
        for (int s = 0; s < 8; s++) {
            int sc, m;
            vk_scale_min_k4(s, x + 4, &sc, &m);
            sec[vk_sec_sc(&p) + 16 * s + i] = (uint8_t)sc;
            sec[vk_sec_mn(&p) + 16 * s + i] = (uint8_t)-m;
            const uint8_t *src = x + 16 + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            uint8_t *q = group + s * qb + 4 * i;
            for (int j = 0; j < 16; j++)
                q[64 * (j / 4) + j % 4] = (uint8_t)(((src[j] >> shift) & 0xF) | ((src[j + 16] >> shift) & 0xF) << 4);
        }
    }
}

/// Q6_K row `row` into panel row i, straight from its super-blocks (as vk_pack_q4k_row; Q6_K holds a Q4_K_M file's
/// embeddings and half its ffn_down). Block s: low nibbles from ql (half s / 4, bytes + 32 for odd s % 4, high
/// nibbles for s % 4 >= 2), bits 4-5 from qh at shift 2 (s % 4); stored as q + 32, the 6 bits as they are.
static void vk_pack_q6k_row(const uint8_t *row, int64_t nsb, int i, uint8_t *panel) {
    const vk_packed_params p = vk_pp(VK_Q6_K);
    const int64_t qb = vk_panel_quant_bytes_of(&p), gb = vk_panel_group_bytes_of(&p);
    for (int64_t b = 0; b < nsb; b++) {
        const uint8_t *x = row + 210 * b;
        uint8_t *group = panel + b * gb, *sec = group + 8 * qb;
        memcpy(sec + 2 * i, x + 208, 2);
        for (int s = 0; s < 8; s++) {
            sec[vk_sec_sc(&p) + 16 * (2 * s) + i] = x[192 + 2 * s];
            sec[vk_sec_sc(&p) + 16 * (2 * s + 1) + i] = x[192 + 2 * s + 1];
            const int hf = s / 4, kk = s % 4;
            const uint8_t *ql = x + 64 * hf + (kk & 1 ? 32 : 0), *qh = x + 128 + 32 * hf;
            uint8_t u[32];
            for (int j = 0; j < 32; j++) u[j] = (uint8_t)((kk < 2 ? ql[j] & 0xF : ql[j] >> 4) | ((qh[j] >> (2 * kk)) & 3) << 4);
            uint8_t *q = group + s * qb + 4 * i;
            for (int j = 0; j < 16; j++) q[64 * (j / 4) + j % 4] = (uint8_t)((u[j] & 0xF) | (u[j + 16] & 0xF) << 4);
            for (int c = 0; c < 4; c++) {
                uint8_t h0 = 0, h1 = 0;
                for (int w = 0; w < 4; w++) {
                    h0 |= (uint8_t)((u[4 * w + c] >> 4) << (2 * w));
                    h1 |= (uint8_t)((u[4 * (w + 4) + c] >> 4) << (2 * w));
                }
                q[256 + c] = h0;
                q[320 + c] = h1;
            }
        }
    }
}

void vk_pack_weights(int wtype, const void *w, int64_t w_row_bytes, int64_t rows, int64_t k, void *dst,
                     int64_t p0, int64_t p1) {
    vk_packed_params p;
    if (wtype == VK_BF16) { vk_pack_bf16_rows(w, w_row_bytes, rows, k, dst, p0, p1, 0); return; }
    if (vk_is_float_panel(wtype)) { vk_pack_float(wtype, w, w_row_bytes, rows, k, dst, p0, p1); return; }
    if (!vk_packed_params_of(wtype, &p)) return;
    const int64_t nb = k / 32, gb = vk_panel_group_bytes_of(&p), qb = vk_panel_quant_bytes_of(&p);
    const int64_t stride = vk_panel_bytes(wtype, nb);
    for (int64_t pi = p0; pi < p1; pi++) {
        uint8_t *panel = (uint8_t *)dst + pi * stride;
        memset(panel, 0, (size_t)stride);
        for (int i = 0; i < 16 && 16 * pi + i < rows; i++) {
            const uint8_t *row = (const uint8_t *)w + (16 * pi + i) * w_row_bytes;
            if (wtype == VK_Q4_K) { vk_pack_q4k_row(row, nb / 8, i, panel); continue; }
            if (wtype == VK_Q6_K) { vk_pack_q6k_row(row, nb / 8, i, panel); continue; }
            for (int64_t b = 0; b < nb; b++) {
                uint8_t *group = panel + (b / p.group) * gb;
                const int slot = (int)(b % p.group);
                vk_block32 blk;
                uint8_t u[32];
                vk_decode_block32(wtype, row, b, &blk);
                for (int j = 0; j < 32; j++) u[j] = p.iq4 ? blk.idx[j] : (uint8_t)(blk.q[j] + p.offset);
                vk_put_quants(group + slot * qb, &p, i, u);
                const vk_scale_slots s = vk_slots(group + p.group * qb, &p, slot, i);
                memcpy(s.d, &blk.d, 2);
                if (s.dm) memcpy(s.dm, &blk.dm, 2);
                for (int h = 0; h < 2; h++) {
                    if (s.sc[h]) *s.sc[h] = (uint8_t)blk.sc[h];
                    if (s.mn[h]) *s.mn[h] = (uint8_t)blk.mn[h];
                }
            }
        }
    }
}

void vk_get_rows_packed(int wtype, const void *wp, int64_t k, const int32_t *rows, int64_t count, float *dst) {
    const int64_t nb = k / 32, stride = vk_panel_bytes(wtype, nb);
    vk_packed_params p;
    if (wtype == VK_BF16) {
        for (int64_t n = 0; n < count; n++) {
            const uint8_t *panel = (const uint8_t *)wp + (rows[n] / 16) * stride;
            for (int64_t c = 0; c < k / 2; c++)
                for (int e = 0; e < 2; e++) dst[n * k + 2 * c + e] = vk_bf16_to_f32(vk_rd16(panel + 64 * c + 4 * (rows[n] % 16) + 2 * e));
        }
        return;
    }
    if (vk_is_float_panel(wtype)) {
        for (int64_t n = 0; n < count; n++) {
            const uint8_t *panel = (const uint8_t *)wp + (rows[n] / 16) * stride;
            for (int64_t c = 0; c < k; c++)
                dst[n * k + c] = wtype == VK_F32 ? vk_rdf32(panel + 4 * (16 * c + rows[n] % 16))
                               : wtype == VK_F16 ? vk_rdf16(panel + 2 * (16 * c + rows[n] % 16))
                                                 : vk_bf16_to_f32(vk_rd16(panel + 2 * (16 * c + rows[n] % 16)));
        }
        return;
    }
    if (!vk_packed_params_of(wtype, &p)) return;
    const int64_t gb = vk_panel_group_bytes_of(&p), qb = vk_panel_quant_bytes_of(&p);
    for (int64_t n = 0; n < count; n++) {
        const int i = rows[n] % 16;
        const uint8_t *panel = (const uint8_t *)wp + (rows[n] / 16) * stride;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *group = (uint8_t *)panel + (b / p.group) * gb;
            const int slot = (int)(b % p.group);
            const vk_scale_slots s = vk_slots(group + p.group * qb, &p, slot, i);
            const float d = vk_rdf16(s.d), dm = s.dm ? vk_rdf16(s.dm) : 0;
            for (int h = 0; h < 2; h++) {
                // The dequantization of quant_block.h: exact products, ggml's bits.
                const float dw = d * (s.sc[h] ? (int8_t)*s.sc[h] : 1);
                const int mn = s.mn[h] ? (int8_t)*s.mn[h] : 1, min_kind = !p.has_min ? 0 : p.halves ? 2 : 1;
                for (int j = 16 * h; j < 16 * h + 16; j++) {
                    const unsigned u = vk_get_quant(group + slot * qb, &p, i, j);
                    const int q = p.iq4 ? vk_iq4nl_values[u] : (int)u - p.offset;
                    dst[n * k + 32 * b + j] = vk_dequant_value(dw, q, dm, mn, min_kind);
                }
            }
        }
    }
}
