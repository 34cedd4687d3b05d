// One view of every quantized weight type: a 32-column block as small integers and exact scales.
//
// Each weight of a GGUF block (ggml's formulas, shared/notes/GGUF-FACTS.md §2.1) is
//   w[j] = dw(h) * q[j] + mw(h)         h = j / 16 (the block's two 16-column halves)
//   dw(h) = f16(d) * sc[h],  mw(h) = f16(dm) * mn[h]
// with small integers q, sc, mn. Every such product is exact in f32 (at most 24 significant bits), so
// dequantizing through this view gives ggml's bits, and a kernel may regroup the integer sums as it likes.
// The packed panels (pack.c) store q + offset as unsigned bit fields and d, dm, sc, mn compactly; the packed
// matmul's scalar reference (matmul_packed.c) reads GGUF rows through the same view.
#ifndef VK_QUANT_BLOCK_H
#define VK_QUANT_BLOCK_H

#include "internal.h"

typedef struct {
    int8_t q[32];      // the integer weights (IQ4: the table value, -127..113)
    uint16_t d, dm;    // f16 bits of the scale and of the min's scale (0 without a min)
    int8_t sc[2];      // scale multipliers of the two halves (1, 1 for types with one f16 scale a block)
    int8_t mn[2];      // min multipliers (Q4_K: -m, Q4_1: 1, 0 without a min)
    uint8_t idx[32];   // IQ4_NL / IQ4_XS: the 4-bit table index of each weight
} vk_block32;

/// Reads 32-column block `b` of a GGUF row of `wtype` (any quantized weight type of vk_packed_params).
void vk_decode_block32(int wtype, const uint8_t *row, int64_t b, vk_block32 *out);

/// The exact integers of a 256-column super-block of a GGUF row (blocks 8g..8g+7) against Q8_K activation quants
/// y[256] with their 16-column sums: *dot = sum over the halves of sc * (q with y), *mins = sum over the halves of
/// mn * sums16. *blk is left holding the super-block's d and dm.
void vk_superblock_sums(int wtype, const uint8_t *row, int64_t g, const int8_t *y, const int16_t *sums16,
                        int32_t *dot, int32_t *mins, vk_block32 *blk);

/// One dequantized weight with ggml's exact bits: y = dw * q + dm for the f16 mins (Q4_1, Q5_1: mn = 1), and
/// y = dw * q - dm * m with m = -mn for the K types' 6- and 4-bit mins, which ggml subtracts (even when m = 0, so a
/// zero product keeps the sign ggml gives it).
static inline float vk_dequant_value(float dw, int q, float dm, int mn, int has_min) {
    if (!has_min) return dw * (float)q;
    return has_min == 1 ? dw * (float)q + dm : dw * (float)q - dm * (float)(-mn);
}

/// IQ4_NL / IQ4_XS: the 16 values a 4-bit index stands for (ggml's kvalues_iq4nl).
extern const int8_t vk_iq4nl_values[16];

/// How a type sits in a packed panel (layout in CVLLMKernels.h).
typedef struct {
    int group;      // 32-column blocks per panel group: 8 for 256-wide super-blocks, else 2 (Q4_1, Q5_1: 1)
    int bits;       // 2, 3, 4, 5, 6 or 8 bits a stored quant; 4 with `iq4` set for the table types
    int iq4;        // quants are table indices (IQ4_NL, IQ4_XS)
    int offset;     // stored u = q + offset (VNNI's unsigned operand); IQ4: 128 after the table lookup
    int d_per_block;// 1: one f16 d (and dm) per block; 0: one per group
    int has_min;    // a min term: f16 dm per block (Q4_1, Q5_1) or per group with int8 mn (K types)
    int halves;     // 2: sc and mn per 16-column half (Q2_K, Q3_K, Q6_K); 1: per block; 0: none (sc = 1)
} vk_packed_params;

/// The panel parameters of `wtype` (all zero when the type has no packed layout); a constant after inlining.
static inline vk_packed_params vk_pp(int wtype) {
    // group, bits, iq4, offset, d_per_block, has_min, halves
    switch (wtype) {
    case VK_Q4_0: return (vk_packed_params){2, 4, 0, 8, 1, 0, 0};
    case VK_Q4_1: return (vk_packed_params){1, 4, 0, 0, 1, 1, 0};
    case VK_Q5_0: return (vk_packed_params){2, 5, 0, 16, 1, 0, 0};
    case VK_Q5_1: return (vk_packed_params){1, 5, 0, 0, 1, 1, 0};
    case VK_Q8_0: return (vk_packed_params){2, 8, 0, 128, 1, 0, 0};
    case VK_IQ4_NL: return (vk_packed_params){2, 4, 1, 128, 1, 0, 0};
    case VK_Q2_K: return (vk_packed_params){8, 2, 0, 0, 0, 1, 2};
    case VK_Q3_K: return (vk_packed_params){8, 3, 0, 4, 0, 0, 2};
    case VK_Q4_K: return (vk_packed_params){8, 4, 0, 0, 0, 1, 1};
    case VK_Q5_K: return (vk_packed_params){8, 5, 0, 0, 0, 1, 1};
    case VK_Q6_K: return (vk_packed_params){8, 6, 0, 32, 0, 0, 2};
    case VK_IQ4_XS: return (vk_packed_params){8, 4, 1, 128, 0, 0, 1};
    default: return (vk_packed_params){0, 0, 0, 0, 0, 0, 0};
    }
}

/// vk_pp into `p` (when not NULL); 0 when the type has no packed layout.
static inline int vk_packed_params_of(int wtype, vk_packed_params *p) {
    const vk_packed_params v = vk_pp(wtype);
    if (p) *p = v;
    return v.group != 0;
}

/// Scale section offsets of a group (see vk_panel_scale_bytes_of): d, dm, int8 sc, int8 mn.
static inline int64_t vk_sec_dm(const vk_packed_params *p) { return 32 * (p->d_per_block ? p->group : 1); }
static inline int64_t vk_sec_sc(const vk_packed_params *p) { return vk_sec_dm(p) * (p->has_min ? 2 : 1); }
static inline int64_t vk_sec_mn(const vk_packed_params *p) { return vk_sec_sc(p) + 16 * p->group * p->halves; }

/// Bytes of one block's quants in a panel (16 rows x 32 columns).
static inline int64_t vk_panel_quant_bytes_of(const vk_packed_params *p) {
    switch (p->bits) {
    case 2: return 128;
    case 3: return 192;
    case 5: return 320;
    case 6: return 384;
    case 8: return 512;
    default: return 256;
    }
}

/// Bytes of a group's scale section: d (and dm) as 16 f16, per block or per group, then int8 sc and mn.
static inline int64_t vk_panel_scale_bytes_of(const vk_packed_params *p) {
    const int64_t nd = p->d_per_block ? p->group : 1;
    return 32 * nd * (p->has_min ? 2 : 1) + 16 * p->group * p->halves * (p->has_min && p->halves ? 2 : 1);
}

/// Bytes of a panel group (quants, then scales), padded to 64 so that every group starts on a cache line.
static inline int64_t vk_panel_group_bytes_of(const vk_packed_params *p) {
    return (p->group * vk_panel_quant_bytes_of(p) + vk_panel_scale_bytes_of(p) + 63) / 64 * 64;
}

#endif
