// The 32-column block view of every quantized weight type (quant_block.h), from ggml's block layouts.
#include "quant_block.h"

const int8_t vk_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// Q4_0 / Q4_1 / Q5_0 / Q5_1 / IQ4_NL: nibble j is weight j, nibble j + 16 the high nibble of byte j.
static void vk_nibbles(const uint8_t *qs, uint8_t *u) {
    for (int j = 0; j < 16; j++) { u[j] = qs[j] & 0xF; u[j + 16] = qs[j] >> 4; }
}

static void vk_decode_32(int wtype, const uint8_t *blk, vk_block32 *o) {
    uint8_t u[32];
    o->d = vk_rd16(blk);
    o->sc[0] = o->sc[1] = 1;
    switch (wtype) {
    case VK_Q4_0: vk_nibbles(blk + 2, u); for (int j = 0; j < 32; j++) o->q[j] = (int8_t)(u[j] - 8); break;
    case VK_Q4_1:
        o->dm = vk_rd16(blk + 2); o->mn[0] = o->mn[1] = 1;
        vk_nibbles(blk + 4, u); for (int j = 0; j < 32; j++) o->q[j] = (int8_t)u[j];
        break;
    case VK_Q5_0: case VK_Q5_1: {
        const int one = wtype == VK_Q5_1;
        const uint32_t qh = vk_rd32(blk + (one ? 4 : 2));
        vk_nibbles(blk + (one ? 8 : 6), u);
        if (one) { o->dm = vk_rd16(blk + 2); o->mn[0] = o->mn[1] = 1; }
        for (int j = 0; j < 32; j++) o->q[j] = (int8_t)((u[j] | ((qh >> j) & 1) << 4) - (one ? 0 : 16));
        break;
    }
    case VK_Q8_0: memcpy(o->q, blk + 2, 32); break;
    case VK_IQ4_NL:
        vk_nibbles(blk + 2, o->idx);
        for (int j = 0; j < 32; j++) o->q[j] = vk_iq4nl_values[o->idx[j]];
        break;
    }
}

/// Sub-block s (0..7) of a 256-wide super-block `sb`.
static void vk_decode_256(int wtype, const uint8_t *sb, int s, vk_block32 *o) {
    switch (wtype) {
    case VK_Q4_K: case VK_Q5_K: {
        const int five = wtype == VK_Q5_K, c = s / 2, high = s % 2;
        const uint8_t *qh = sb + 16, *qs = sb + (five ? 48 : 16) + 32 * c;
        int sc, m;
        vk_scale_min_k4(s, sb + 4, &sc, &m);
        o->d = vk_rd16(sb); o->dm = vk_rd16(sb + 2);
        o->sc[0] = o->sc[1] = (int8_t)sc; o->mn[0] = o->mn[1] = (int8_t)-m;
        for (int l = 0; l < 32; l++) {
            int q = high ? qs[l] >> 4 : qs[l] & 0xF;
            if (five) q |= ((qh[l] >> s) & 1) << 4;
            o->q[l] = (int8_t)q;
        }
        break;
    }
    case VK_Q6_K: {
        const int hf = s / 4, k = s % 4;
        const uint8_t *ql = sb + 64 * hf + (k & 1 ? 32 : 0), *qh = sb + 128 + 32 * hf;
        o->d = vk_rd16(sb + 208);
        o->sc[0] = (int8_t)sb[192 + 2 * s]; o->sc[1] = (int8_t)sb[192 + 2 * s + 1];
        for (int l = 0; l < 32; l++) {
            const int lo4 = k < 2 ? ql[l] & 0xF : ql[l] >> 4, hi2 = (qh[l] >> (2 * k)) & 3;
            o->q[l] = (int8_t)((lo4 | hi2 << 4) - 32);
        }
        break;
    }
    case VK_Q2_K: {
        const int hf = s / 4, j = s % 4;
        const uint8_t *qs = sb + 16 + 32 * hf;
        o->d = vk_rd16(sb + 80); o->dm = vk_rd16(sb + 82);
        for (int h = 0; h < 2; h++) { o->sc[h] = (int8_t)(sb[2 * s + h] & 0xF); o->mn[h] = (int8_t)-(sb[2 * s + h] >> 4); }
        for (int l = 0; l < 32; l++) o->q[l] = (int8_t)((qs[l] >> (2 * j)) & 3);
        break;
    }
    case VK_Q3_K: {
        const int hf = s / 4, j = s % 4;
        const uint8_t *hmask = sb, *qs = sb + 32 + 32 * hf, *scales = sb + 96;
        o->d = vk_rd16(sb + 108);
        for (int h = 0; h < 2; h++) {
            const int t = 2 * s + h;
            const int lo4 = t < 8 ? scales[t] & 0xF : scales[t - 8] >> 4, hi2 = (scales[8 + t % 4] >> (2 * (t / 4))) & 3;
            o->sc[h] = (int8_t)((lo4 | hi2 << 4) - 32);
        }
        for (int l = 0; l < 32; l++) {
            const int low2 = (qs[l] >> (2 * j)) & 3, hbit = (hmask[l] >> (4 * hf + j)) & 1;
            o->q[l] = (int8_t)(low2 - (hbit ? 0 : 4));
        }
        break;
    }
    case VK_IQ4_XS: {
        const uint16_t scales_h = vk_rd16(sb + 2);
        const int ls = ((sb[4 + s / 2] >> (4 * (s % 2))) & 0xF) | (((scales_h >> (2 * s)) & 3) << 4);
        o->d = vk_rd16(sb);
        o->sc[0] = o->sc[1] = (int8_t)(ls - 32);
        vk_nibbles(sb + 8 + 16 * s, o->idx);
        for (int j = 0; j < 32; j++) o->q[j] = vk_iq4nl_values[o->idx[j]];
        break;
    }
    }
}

void vk_decode_block32(int wtype, const uint8_t *row, int64_t b, vk_block32 *out) {
    out->dm = 0;
    out->mn[0] = out->mn[1] = 0;
    const int64_t bs = vk_type_block_size(wtype), bb = vk_type_block_bytes(wtype);
    if (bs == 32) vk_decode_32(wtype, row + b * bb, out);
    else vk_decode_256(wtype, row + (b / 8) * bb, (int)(b % 8), out);
}

void vk_superblock_sums(int wtype, const uint8_t *row, int64_t g, const int8_t *y, const int16_t *sums16,
                        int32_t *dot, int32_t *mins, vk_block32 *blk) {
    int32_t sumi = 0, summ = 0;
    for (int s = 0; s < 8; s++) {
        vk_decode_block32(wtype, row, 8 * g + s, blk);
        for (int h = 0; h < 2; h++) {
            int32_t part = 0;
            for (int j = 16 * h; j < 16 * h + 16; j++) part += blk->q[j] * y[32 * s + j];
            sumi += blk->sc[h] * part;
            summ += blk->mn[h] * sums16[2 * s + h];
        }
    }
    *dot = sumi;
    *mins = summ;
}
