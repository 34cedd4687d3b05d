// x86 matmul paths: AVX2 (vpmaddubsw) and AVX-512 VNNI (vpdpbusd), chosen at run time by vk_matmul.
#include "internal.h"

#if VK_X86
#include <immintrin.h>
#include <stdlib.h>

#define VK_FN VK_AVX2_FN
#define VK_NAME(x) x##_avx2
#define VK_VNNI 0
#include "matmul_x86_body.h"
#undef VK_FN
#undef VK_NAME
#undef VK_VNNI

#define VK_FN VK_VNNI_FN
#define VK_NAME(x) x##_vnni
#define VK_VNNI 1
#include "matmul_x86_body.h"
#undef VK_FN
#undef VK_NAME
#undef VK_VNNI

int vk_matmul_avx2(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x, int64_t x_row_bytes,
                   int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    return matmul_avx2(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1);
}

int vk_matmul_avx512(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x, int64_t x_row_bytes,
                     int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) {
    if (!vk_cpu_has_avx512_vnni()) return 0;
    return matmul_vnni(wtype, w, w_row_bytes, k, x, x_row_bytes, nt, out, ldo, r0, r1);
}
#else
int vk_matmul_avx2(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x, int64_t x_row_bytes,
                   int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) { return 0; }
int vk_matmul_avx512(int wtype, const void *w, int64_t w_row_bytes, int64_t k, const void *x, int64_t x_row_bytes,
                     int64_t nt, float *out, int64_t ldo, int64_t r0, int64_t r1) { return 0; }
#endif
