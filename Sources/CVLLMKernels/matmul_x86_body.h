// The x86 matmul body, included once per ISA by matmul_x86.c with:
//   VK_FN        the function target attribute
//   VK_NAME(x)   the name suffixer
//   VK_VNNI      1 to use vpdpbusd, 0 for vpmaddubsw + vpmaddwd (identical integer results)
// Every out[t, r] is one fixed sequence of operations on W row r and X row t: token groups only share the
// weight unpacking, so the value never depends on the batch.

static inline VK_FN __m256i VK_NAME(dot_us)(__m256i u, __m256i s) {
#if VK_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

static inline VK_FN float VK_NAME(h)(const uint8_t *p) { return _cvtsh_ss(vk_rd16(p)); }

static inline VK_FN float VK_NAME(hsum)(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline VK_FN __m256i VK_NAME(nibbles)(const uint8_t *qs) {
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    __m128i lo = _mm_and_si128(q, _mm_set1_epi8(0xF));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(0xF));
    return _mm256_set_m128i(hi, lo);
}

static inline VK_FN __m256i VK_NAME(high_bits)(const uint8_t *qh) {
    uint32_t x = vk_rd32(qh);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_and_si256(_mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(16));
}

/// Unpacks one 32-weight block: q (unsigned when *is_unsigned, else signed), scale d and min m.
static inline VK_FN __m256i VK_NAME(unpack32)(int wtype, const uint8_t *b, float *d, float *m) {
    *d = VK_NAME(h)(b);
    switch (wtype) {
    case VK_Q4_0: return _mm256_sub_epi8(VK_NAME(nibbles)(b + 2), _mm256_set1_epi8(8));
    case VK_Q4_1: *m = VK_NAME(h)(b + 2); return VK_NAME(nibbles)(b + 4);
    case VK_Q5_0: return _mm256_sub_epi8(_mm256_or_si256(VK_NAME(nibbles)(b + 6), VK_NAME(high_bits)(b + 2)), _mm256_set1_epi8(16));
    case VK_Q5_1: *m = VK_NAME(h)(b + 2); return _mm256_or_si256(VK_NAME(nibbles)(b + 8), VK_NAME(high_bits)(b + 4));
    default: return _mm256_loadu_si256((const __m256i *)(b + 2));
    }
}

static inline __attribute__((always_inline)) VK_FN void VK_NAME(matmul_q32)(int wtype, const uint8_t *w, int64_t w_row_bytes, int64_t k,
                                      const uint8_t *x, int64_t x_row_bytes, int64_t nt,
                                      float *out, int64_t ldo, int64_t r0, int64_t r1) {
    const int has_min = wtype == VK_Q4_1 || wtype == VK_Q5_1;
    const int64_t nb = k / 32, wb = vk_type_block_bytes(wtype), xb = has_min ? 36 : 34, xq = has_min ? 4 : 2;
    // Activation scales (d, and s for Q8_1) as f32, converted once for all rows of this call.
    float stack_scales[2048];
    float *scales = nt * nb * 2 <= 2048 ? stack_scales : (float *)malloc(sizeof(float) * (size_t)(nt * nb * 2));
    for (int64_t t = 0; t < nt; t++)
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *xp = x + t * x_row_bytes + b * xb;
            scales[(t * nb + b) * 2] = VK_NAME(h)(xp);
            scales[(t * nb + b) * 2 + 1] = has_min ? VK_NAME(h)(xp + 2) : 0;
        }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = w + r * w_row_bytes;
        int64_t t = 0;
        for (; t + 4 <= nt; t += 4) {
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            float macc[4] = {0, 0, 0, 0};
            for (int64_t b = 0; b < nb; b++) {
                float d, m = 0;
                __m256i q = VK_NAME(unpack32)(wtype, wr + b * wb, &d, &m);
                __m256i aq = has_min ? q : _mm256_sign_epi8(q, q);
                for (int u = 0; u < 4; u++) {
                    const uint8_t *xp = x + (t + u) * x_row_bytes + b * xb;
                    const float *sc = scales + ((t + u) * nb + b) * 2;
                    __m256i y = _mm256_loadu_si256((const __m256i *)(xp + xq));
                    __m256i s = VK_NAME(dot_us)(aq, has_min ? y : _mm256_sign_epi8(y, q));
                    acc[u] = _mm256_fmadd_ps(_mm256_set1_ps(d * sc[0]), _mm256_cvtepi32_ps(s), acc[u]);
                    if (has_min) macc[u] += m * sc[1];
                }
            }
            for (int u = 0; u < 4; u++) out[(t + u) * ldo + r] = VK_NAME(hsum)(acc[u]) + macc[u];
        }
        for (; t < nt; t++) {
            __m256 acc = _mm256_setzero_ps();
            float macc = 0;
            for (int64_t b = 0; b < nb; b++) {
                float d, m = 0;
                __m256i q = VK_NAME(unpack32)(wtype, wr + b * wb, &d, &m);
                __m256i aq = has_min ? q : _mm256_sign_epi8(q, q);
                const uint8_t *xp = x + t * x_row_bytes + b * xb;
                const float *sc = scales + (t * nb + b) * 2;
                __m256i y = _mm256_loadu_si256((const __m256i *)(xp + xq));
                __m256i s = VK_NAME(dot_us)(aq, has_min ? y : _mm256_sign_epi8(y, q));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * sc[0]), _mm256_cvtepi32_ps(s), acc);
                if (has_min) macc += m * sc[1];
            }
            out[t * ldo + r] = VK_NAME(hsum)(acc) + macc;
        }
    }
    if (scales != stack_scales) free(scales);
}

/// Eight weights of an F32 / F16 / BF16 row as f32.
static inline VK_FN __m256 VK_NAME(load8)(int wtype, const uint8_t *p) {
    switch (wtype) {
    case VK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    case VK_BF16: return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
    default: return _mm256_loadu_ps((const float *)(const void *)p);
    }
}

static inline VK_FN float VK_NAME(scalar_at)(int wtype, const uint8_t *p, int64_t i) {
    switch (wtype) {
    case VK_F16: return VK_NAME(h)(p + 2 * i);
    case VK_BF16: return vk_bf16_to_f32(vk_rd16(p + 2 * i));
    default: return vk_rdf32(p + 4 * i);
    }
}

static VK_FN void VK_NAME(matmul_float)(int wtype, const uint8_t *w, int64_t w_row_bytes, int64_t k,
                                        const uint8_t *x, int64_t x_row_bytes, int64_t nt,
                                        float *out, int64_t ldo, int64_t r0, int64_t r1) {
    const int64_t es = wtype == VK_F32 ? 4 : 2, k8 = k / 8 * 8;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = w + r * w_row_bytes;
        int64_t t = 0;
        for (; t + 4 <= nt; t += 4) {
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            const float *xr[4];
            for (int u = 0; u < 4; u++) xr[u] = (const float *)(const void *)(x + (t + u) * x_row_bytes);
            for (int64_t i = 0; i < k8; i += 8) {
                __m256 wv = VK_NAME(load8)(wtype, wr + i * es);
                for (int u = 0; u < 4; u++) acc[u] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[u] + i), acc[u]);
            }
            for (int u = 0; u < 4; u++) {
                float s = VK_NAME(hsum)(acc[u]);
                for (int64_t i = k8; i < k; i++) s += VK_NAME(scalar_at)(wtype, wr, i) * xr[u][i];
                out[(t + u) * ldo + r] = s;
            }
        }
        for (; t < nt; t++) {
            __m256 acc = _mm256_setzero_ps();
            const float *xr = (const float *)(const void *)(x + t * x_row_bytes);
            for (int64_t i = 0; i < k8; i += 8) acc = _mm256_fmadd_ps(VK_NAME(load8)(wtype, wr + i * es), _mm256_loadu_ps(xr + i), acc);
            float s = VK_NAME(hsum)(acc);
            for (int64_t i = k8; i < k; i++) s += VK_NAME(scalar_at)(wtype, wr, i) * xr[i];
            out[t * ldo + r] = s;
        }
    }
}

static VK_FN int VK_NAME(matmul)(int wtype, const void *w, int64_t w_row_bytes, int64_t k,
                                 const void *x, int64_t x_row_bytes, int64_t nt,
                                 float *out, int64_t ldo, int64_t r0, int64_t r1) {
    switch (wtype) {
#define VK_Q32_CASE(T) case T: VK_NAME(matmul_q32)(T, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1); return 1;
    VK_Q32_CASE(VK_Q4_0) VK_Q32_CASE(VK_Q4_1) VK_Q32_CASE(VK_Q5_0) VK_Q32_CASE(VK_Q5_1) VK_Q32_CASE(VK_Q8_0)
#undef VK_Q32_CASE
    case VK_F32: case VK_F16: case VK_BF16:
        VK_NAME(matmul_float)(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1);
        return 1;
    default:
        return 0;
    }
}
