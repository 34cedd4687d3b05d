// GeGLU gating, out = gelu(gate) * up, with ggml's CPU numerics (ggml-cpu/vec.h, GGML_GELU_FP16 defined there):
// the tanh-approximated GELU is not evaluated per element but read from a table over every f16 value.
//
//   gate <= -10       ->  0
//   gate >= 10        ->  gate * up
//   otherwise         ->  f32(T[f16(gate)]) * up,   T[h] = f16(0.5 x (1 + tanhf(sqrt(2/pi) x (1 + 0.044715 x^2)))), x = f32(h)
//
// with f16() round-to-nearest-even (F16C on x86, as ggml's GGML_CPU_FP32_TO_FP16) and tanhf from libm, as ggml
// fills its table at start. The SIMD paths convert with the F16C instruction and gather from an f32 copy of T, so
// they give the scalar reference's bits.
#include "vecmath_x86.h"
#include <math.h>
#include <pthread.h>

/// T widened to f32 (256 KiB), filled once on first use.
static float vk_gelu_table[1 << 16];
static pthread_once_t vk_gelu_once = PTHREAD_ONCE_INIT;

static float vk_gelu_tanh(float x) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + coef * x * x)));
}

static void vk_gelu_fill(void) {
    for (int i = 0; i < (1 << 16); i++) vk_gelu_table[i] = vk_f16_to_f32(vk_f32_to_f16(vk_gelu_tanh(vk_f16_to_f32((uint16_t)i))));
}

static inline float vk_gelu_mul_one(float g, float u) {
    if (g <= -10.0f) return 0.0f;
    if (g >= 10.0f) return g * u;
    return vk_gelu_table[vk_f32_to_f16(g)] * u;
}

void vk_gelu_mul_ref(const float *gate, const float *up, float *out, int64_t n) {
    pthread_once(&vk_gelu_once, vk_gelu_fill);
    for (int64_t i = 0; i < n; i++) out[i] = vk_gelu_mul_one(gate[i], up[i]);
}

#if VK_X86
static VK_AVX512_FN void vk_gelu_mul_avx512(const float *gate, const float *up, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 g = _mm512_loadu_ps(gate + i);
        const __m512i h = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m512 y = _mm512_i32gather_ps(h, vk_gelu_table, 4);
        y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(g, _mm512_set1_ps(10.0f), _CMP_GE_OQ), y, g);
        y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(g, _mm512_set1_ps(-10.0f), _CMP_NLE_UQ), y);
        _mm512_storeu_ps(out + i, _mm512_mul_ps(y, _mm512_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = vk_gelu_mul_one(gate[i], up[i]);
}

static VK_AVX2_FN void vk_gelu_mul_avx2(const float *gate, const float *up, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256i h = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256 y = _mm256_i32gather_ps(vk_gelu_table, h, 4);
        y = _mm256_blendv_ps(y, g, _mm256_cmp_ps(g, _mm256_set1_ps(10.0f), _CMP_GE_OQ));
        y = _mm256_and_ps(y, _mm256_cmp_ps(g, _mm256_set1_ps(-10.0f), _CMP_NLE_UQ));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(y, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = vk_gelu_mul_one(gate[i], up[i]);
}
#endif

void vk_gelu_mul(const float *gate, const float *up, float *out, int64_t n) {
    pthread_once(&vk_gelu_once, vk_gelu_fill);
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX512) { vk_gelu_mul_avx512(gate, up, out, n); return; }
    if (vk_get_isa() >= VK_ISA_AVX2) { vk_gelu_mul_avx2(gate, up, out, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) out[i] = vk_gelu_mul_one(gate[i], up[i]);
}
