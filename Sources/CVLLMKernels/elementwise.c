// Element-wise helpers: RMS norm (double sum as ggml), SiLU gating, residual add, rotary embedding.
#include "internal.h"
#include <math.h>

void vk_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

void vk_silu_mul(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = (g / (1.0f + expf(-g))) * up[i];
    }
}

void vk_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void vk_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos,
             const float *inv_freq, int neox) {
    const int64_t half = n_rot / 2;
    float cs[512], sn[512];
    for (int64_t k = 0; k < half && k < 512; k++) {
        const float theta = (float)pos * inv_freq[k];
        cs[k] = cosf(theta);
        sn[k] = sinf(theta);
    }
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t k = 0; k < half && k < 512; k++) {
            const int64_t a = neox ? k : 2 * k, b = neox ? k + half : 2 * k + 1;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * cs[k] - x1 * sn[k];
            v[b] = x0 * sn[k] + x1 * cs[k];
        }
    }
}
