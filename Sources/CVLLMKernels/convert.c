// Scalar conversions, the type table, dequantization and activation quantization (ggml's formulas).
#include "quant_block.h"
#include <math.h>

static inline float vk_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t vk_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float vk_f16_to_f32(uint16_t h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const float normalized = vk_bits_f32((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float denormalized = vk_bits_f32((two_w >> 17) | (126u << 23)) - 0.5f;
    const uint32_t result = sign | (two_w < (1u << 27) ? vk_f32_bits(denormalized) : vk_f32_bits(normalized));
    return vk_bits_f32(result);
}

uint16_t vk_f32_to_f16(float f) {
    float base = (fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
    const uint32_t w = vk_f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = vk_bits_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = vk_f32_bits(base);
    const uint32_t nonsign = ((bits >> 13) & 0x00007C00u) + (bits & 0x00000FFFu);
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

float vk_bf16_to_f32(uint16_t h) { return vk_bits_f32((uint32_t)h << 16); }

uint16_t vk_f32_to_bf16(float f) {
    uint32_t u = vk_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

int64_t vk_type_block_size(int type) {
    switch (type) {
    case VK_F32: case VK_F16: case VK_BF16: return 1;
    case VK_Q4_0: case VK_Q4_1: case VK_Q5_0: case VK_Q5_1: case VK_Q8_0: case VK_Q8_1: case VK_IQ4_NL: return 32;
    case VK_Q2_K: case VK_Q3_K: case VK_Q4_K: case VK_Q5_K: case VK_Q6_K: case VK_Q8_K: case VK_IQ4_XS: return 256;
    default: return 0;
    }
}

int64_t vk_type_block_bytes(int type) {
    switch (type) {
    case VK_F32: return 4;
    case VK_F16: case VK_BF16: return 2;
    case VK_Q4_0: return 18;
    case VK_Q4_1: return 20;
    case VK_Q5_0: return 22;
    case VK_Q5_1: return 24;
    case VK_Q8_0: return 34;
    case VK_Q8_1: return 36;
    case VK_IQ4_NL: return 18;
    case VK_Q2_K: return 84;
    case VK_Q3_K: return 110;
    case VK_IQ4_XS: return 136;
    case VK_Q4_K: return 144;
    case VK_Q5_K: return 176;
    case VK_Q6_K: return 210;
    case VK_Q8_K: return 292;
    default: return 0;
    }
}

int64_t vk_row_bytes(int type, int64_t n) {
    // P8: int8 q[n], then f32 d, f32 s, int32 sum per 32-block; padded to
    // 64 bytes so rows stay aligned.
    if (type == VK_P8) return (n + 12 * (n / 32) + 63) / 64 * 64;
    if (type == VK_PB16) return (2 * n + 63) / 64 * 64;
    // P8K: int8 q[n], f32 d per 256, int16 sums per 16 and per 32 columns; padded to 64 bytes.
    if (type == VK_P8K) return (n + 4 * (n / 256) + 2 * (n / 16) + 2 * (n / 32) + 63) / 64 * 64;
    int64_t bs = vk_type_block_size(type);
    return bs ? n / bs * vk_type_block_bytes(type) : 0;
}

int vk_activation_type(int weight_type) {
    switch (weight_type) {
    case VK_F32: case VK_F16: case VK_BF16: return VK_F32;
    case VK_Q4_0: case VK_Q5_0: case VK_Q8_0: case VK_IQ4_NL: return VK_Q8_0;
    case VK_Q4_1: case VK_Q5_1: return VK_Q8_1;
    case VK_Q2_K: case VK_Q3_K: case VK_Q4_K: case VK_Q5_K: case VK_Q6_K: case VK_IQ4_XS: return VK_Q8_K;
    default: return -1;
    }
}

void vk_scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) { *sc = q[j] & 63; *m = q[j + 4] & 63; }
    else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void vk_dequantize_block(int type, const uint8_t *b, float *y) {
    switch (type) {
    case VK_Q8_1: {
        float d = vk_rdf16(b);
        for (int j = 0; j < 32; j++) y[j] = (int8_t)b[4 + j] * d;
        break;
    }
    case VK_Q4_K: case VK_Q5_K: {
        int five = type == VK_Q5_K;
        float d = vk_rdf16(b), dmin = vk_rdf16(b + 2);
        const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + (five ? 48 : 16);
        for (int i = 0; i < 256; i++) {
            int c = i / 64, half = (i % 64) / 32, l = i % 32, j = 2 * c + half, sc, m;
            vk_scale_min_k4(j, scales, &sc, &m);
            int q = half == 0 ? qs[32 * c + l] & 0xF : qs[32 * c + l] >> 4;
            if (five && ((qh[l] >> (2 * c + half)) & 1)) q += 16;
            y[i] = (d * sc) * q - (dmin * m);
        }
        break;
    }
    case VK_Q6_K: {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *scales = (const int8_t *)(b + 192);
        float d = vk_rdf16(b + 208);
        for (int i = 0; i < 256; i++) {
            int hf = i / 128, k = (i % 128) / 32, l = i % 32;
            int byte = ql[64 * hf + l + ((k & 1) ? 32 : 0)];
            int lo4 = k < 2 ? byte & 0xF : byte >> 4;
            int hi2 = (qh[32 * hf + l] >> (2 * k)) & 3;
            y[i] = (d * scales[i / 16]) * ((lo4 | hi2 << 4) - 32);
        }
        break;
    }
    case VK_Q8_K: {
        float d = vk_rdf32(b);
        for (int j = 0; j < 256; j++) y[j] = (int8_t)b[4 + j] * d;
        break;
    }
    default: {
        // Every weight type through its 32-column view: the products are exact, so these are ggml's bits.
        vk_block32 blk;
        for (int64_t s = 0; s < vk_type_block_size(type) / 32; s++) {
            vk_decode_block32(type, b, s, &blk);
            const vk_packed_params p = vk_pp(type);
            const int min_kind = !p.has_min ? 0 : p.halves ? 2 : 1;
            for (int h = 0; h < 2; h++) {
                const float dw = vk_f16_to_f32(blk.d) * blk.sc[h], dm = vk_f16_to_f32(blk.dm);
                for (int j = 16 * h; j < 16 * h + 16; j++) y[32 * s + j] = vk_dequant_value(dw, blk.q[j], dm, blk.mn[h], min_kind);
            }
        }
    }
    }
}

void vk_dequantize_row(int type, const void *src, float *dst, int64_t n) {
    const uint8_t *s = (const uint8_t *)src;
    switch (type) {
    case VK_F32: memcpy(dst, s, (size_t)n * 4); return;
    case VK_F16: for (int64_t i = 0; i < n; i++) dst[i] = vk_f16_to_f32(vk_rd16(s + 2 * i)); return;
    case VK_BF16: for (int64_t i = 0; i < n; i++) dst[i] = vk_bf16_to_f32(vk_rd16(s + 2 * i)); return;
    default: {
        int64_t bs = vk_type_block_size(type), bb = vk_type_block_bytes(type);
        if (!bs) return;
        for (int64_t i = 0; i < n / bs; i++) vk_dequantize_block(type, s + i * bb, dst + i * bs);
    }
    }
}

static inline int vk_nearest_int(float f) {
    float v = f + 12582912.f;
    int i; memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

#if VK_X86
#include <immintrin.h>
/// The AVX-512 core of vk_quantize_q8_block: the same scalar d, id and round-to-nearest-even, so identical bytes.
/// Stores the 32 quants at `qs` and returns d (not yet rounded to f16); `sum` gets the sum of the quants.
static inline __attribute__((always_inline)) VK_AVX512_FN float vk_q8_quants_avx512(const float *x, int8_t *qs, int32_t *sum) {
    const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(a, abs_mask), _mm512_and_ps(b, abs_mask)));
    const __m512 idv = _mm512_set1_ps(amax != 0 ? 127.f / amax : 0.f);
    const __m512i qa = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(a, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m512i qb = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(b, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm_storeu_si128((__m128i *)(void *)qs, _mm512_cvtepi32_epi8(qa));
    _mm_storeu_si128((__m128i *)(void *)(qs + 16), _mm512_cvtepi32_epi8(qb));
    *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb));
    return amax / 127.f;
}

/// The AVX2 core: the same d, id and rounding (round-to-nearest-even on 8 lanes), so identical bytes.
static inline __attribute__((always_inline)) VK_AVX2_FN float vk_q8_quants_avx2(const float *x, int8_t *qs, int32_t *sum) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v[4], m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) { v[j] = _mm256_loadu_ps(x + 8 * j); m = _mm256_max_ps(m, _mm256_and_ps(v[j], abs_mask)); }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    const float amax = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
    const __m256 idv = _mm256_set1_ps(amax != 0 ? 127.f / amax : 0.f);
    __m256i q[4];
    for (int j = 0; j < 4; j++)
        q[j] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[j], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // |q| <= 127: the saturating packs are exact; they interleave 128-bit lanes, which the permute undoes.
    const __m256i w01 = _mm256_packs_epi32(q[0], q[1]), w23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(void *)qs, b);
    const __m256i t = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i u = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    u = _mm_add_epi32(u, _mm_shuffle_epi32(u, _MM_SHUFFLE(1, 0, 3, 2)));
    u = _mm_add_epi32(u, _mm_shuffle_epi32(u, _MM_SHUFFLE(2, 3, 0, 1)));
    *sum = _mm_cvtsi128_si32(u);
    return amax / 127.f;
}

/// vk_quantize_q8_block (Q8_0, or Q8_1 with `with_sum`) and a VK_P8 row from block `first` on around one vector
/// core (AVX-512 rows start after the 16-block groups of quantize_p8_x86.c). The row
/// writes each block straight into the P8 columns (quants, f16-rounded d, f16-rounded s, the integer sum) with no
/// staging block and no second pass over the quants.
#define VK_Q8_WRAPPERS(SUFFIX, FN)                                                                               \
    static FN void vk_quantize_q8_block_##SUFFIX(const float *x, uint8_t *out, int with_sum) {                  \
        int32_t sum;                                                                                            \
        const float d = vk_q8_quants_##SUFFIX(x, (int8_t *)(out + (with_sum ? 4 : 2)), &sum);                   \
        const uint16_t hd = vk_f32_to_f16(d);                                                                   \
        memcpy(out, &hd, 2);                                                                                    \
        if (with_sum) {                                                                                         \
            const uint16_t hs = vk_f32_to_f16(d * (float)sum);                                                  \
            memcpy(out + 2, &hs, 2);                                                                            \
        }                                                                                                       \
    }                                                                                                           \
    static FN void vk_quantize_p8_row_##SUFFIX(const float *x, uint8_t *o, const int64_t n, int64_t first) {    \
        const int64_t nb = n / 32;                                                                              \
        float *d = (float *)(void *)(o + n), *s = d + nb;                                                       \
        int32_t *sums = (int32_t *)(void *)(s + nb);                                                            \
        for (int64_t i = first; i < nb; i++) {                                                                  \
            const float di = vk_q8_quants_##SUFFIX(x + 32 * i, (int8_t *)(o + 32 * i), &sums[i]);               \
            d[i] = vk_f16_to_f32(vk_f32_to_f16(di));                                                            \
            s[i] = vk_f16_to_f32(vk_f32_to_f16(di * (float)sums[i]));                                           \
        }                                                                                                       \
    }
VK_Q8_WRAPPERS(avx512, VK_AVX512_FN)
VK_Q8_WRAPPERS(avx2, VK_AVX2_FN)
#undef VK_Q8_WRAPPERS
#endif

/// Q8_0 / Q8_1 block with the x86 numerics: id = 127/amax, ties to even; Q8_1 adds s = fp16(d * sum q).
static void vk_quantize_q8_block(const float *x, uint8_t *out, int with_sum) {
    float amax = 0;
    for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
    const float d = amax / 127.f;
    const float id = amax != 0 ? 127.f / amax : 0.f;
    uint16_t hd = vk_f32_to_f16(d);
    memcpy(out, &hd, 2);
    int8_t *qs = (int8_t *)(out + (with_sum ? 4 : 2));
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        int q = (int)nearbyintf(x[j] * id);
        qs[j] = (int8_t)q;
        sum += q;
    }
    if (with_sum) { uint16_t hs = vk_f32_to_f16(d * (float)sum); memcpy(out + 2, &hs, 2); }
}

static void vk_quantize_q8k_block(const float *x, uint8_t *out) {
    float amax = 0, max = 0;
    for (int j = 0; j < 256; j++) { float a = fabsf(x[j]); if (a > amax) { amax = a; max = x[j]; } }
    int8_t *qs = (int8_t *)(out + 4);
    int16_t bsums[16] = {0};
    if (amax == 0) {
        float zero = 0; memcpy(out, &zero, 4);
        memset(qs, 0, 256);
        memcpy(out + 260, bsums, 32);
        return;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < 256; j++) {
        int v = vk_nearest_int(iscale * x[j]);
        qs[j] = (int8_t)(v < 127 ? v : 127);
        bsums[j / 16] += qs[j];
    }
    float d = 1 / iscale;
    memcpy(out, &d, 4);
    memcpy(out + 260, bsums, 32);
}

void vk_quantize_row(int act_type, const float *x, void *dst, int64_t n) {
    uint8_t *o = (uint8_t *)dst;
    switch (act_type) {
    case VK_F32: memcpy(o, x, (size_t)n * 4); return;
    case VK_Q8_0: case VK_Q8_1: {
        const int with_sum = act_type == VK_Q8_1;
        const int64_t bb = with_sum ? 36 : 34;
#if VK_X86
        if (vk_get_isa() >= VK_ISA_AVX512) {
            for (int64_t i = 0; i < n / 32; i++) vk_quantize_q8_block_avx512(x + 32 * i, o + bb * i, with_sum);
            return;
        }
        if (vk_get_isa() >= VK_ISA_AVX2) {
            for (int64_t i = 0; i < n / 32; i++) vk_quantize_q8_block_avx2(x + 32 * i, o + bb * i, with_sum);
            return;
        }
#endif
        for (int64_t i = 0; i < n / 32; i++) vk_quantize_q8_block(x + 32 * i, o + bb * i, with_sum);
        return;
    }
    case VK_Q8_K: for (int64_t i = 0; i < n / 256; i++) vk_quantize_q8k_block(x + 256 * i, o + 292 * i); return;
    case VK_P8K: vk_quantize_p8k_row(x, o, n); return;
    case VK_PB16: {
        uint16_t *h = (uint16_t *)dst;
#if VK_X86
        if (vk_get_isa() >= VK_ISA_AVX512 && vk_cpu_has_avx512_bf16()) { vk_quantize_pb16_row_bf16(x, h, n); return; }
#endif
        // `vcvtneps2bf16`: nearest even, denormals to signed zero, NaN quieted.
        for (int64_t i = 0; i < n; i++) {
            const uint32_t u = vk_f32_bits(x[i]);
            h[i] = (u & 0x7F800000u) == 0 ? (uint16_t)(u >> 16 & 0x8000) : vk_f32_to_bf16(x[i]);
        }
        return;
    }
    case VK_P8: {
        // Each block is quantized exactly as Q8_1 (same bytes), then spread into the P8 columns.
        const int64_t nb = n / 32;
        float *d = (float *)(void *)(o + n), *s = d + nb;
        int32_t *sums = (int32_t *)(void *)(s + nb);
#if VK_X86
        if (vk_get_isa() >= VK_ISA_AVX512) {
            vk_quantize_p8_row_avx512(x, o, n, vk_quantize_p8_groups_avx512(x, o, n));
            return;
        }
        if (vk_get_isa() >= VK_ISA_AVX2) { vk_quantize_p8_row_avx2(x, o, n, 0); return; }
#endif
        uint8_t block[36];
        for (int64_t i = 0; i < nb; i++) {
            vk_quantize_q8_block(x + 32 * i, block, 1);
            memcpy(o + 32 * i, block + 4, 32);
            d[i] = vk_rdf16(block);
            s[i] = vk_rdf16(block + 2);
            int32_t sum = 0;
            for (int j = 0; j < 32; j++) sum += (int8_t)block[4 + j];
            sums[i] = sum;
        }
        return;
    }
    }
}
