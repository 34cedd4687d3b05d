// libm's expf on 8 lanes, bit for bit: the exponential of the attention loop tiles, which must give the generic
// loop's bits (it calls expf per key), without a function call per key.
//
// glibc (2.27 on) computes expf in double precision: k = round(x * 32 / ln2) by adding 1.5 * 2^52, r the remainder,
// 2^(k/32) from a 32-entry table with k's high bits added to the exponent, and a cubic in r. On a CPU with FMA it
// runs its FMA build (__expf_fma), whose contractions are repeated here operation for operation; the table and the
// coefficients are glibc's __exp2f_data. |x| >= 88 (overflow, underflow, inf, NaN) takes glibc's own special cases
// through expf itself. Checked against expf on all 2^32 inputs (glibc 2.36); the kernel tests sweep them again.
#include "vecmath_x86.h"
#include <math.h>

const uint64_t vk_expf_table[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b,
    0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb,
    0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
    0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, 0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da, 0x3fefd0765b6e4540};

#if VK_X86
static VK_AVX2_FN void vk_expf_libm_avx2(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, vk_expf_libm256(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = expf(x[i]);
}
#endif

void vk_expf_libm(const float *x, float *y, int64_t n) {
#if VK_X86
    if (vk_get_isa() >= VK_ISA_AVX2) { vk_expf_libm_avx2(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}
