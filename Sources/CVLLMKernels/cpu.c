// CPU feature detection and the ISA level used by the dispatching entry points.
#include "internal.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if VK_X86
#include <cpuid.h>

static uint64_t vk_xgetbv(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int vk_detect(int *vnni, int *bf16) {
    unsigned a, b, c, d;
    *vnni = 0; *bf16 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return VK_ISA_SCALAR;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return VK_ISA_SCALAR;
    uint64_t xcr0 = vk_xgetbv();
    if ((xcr0 & 6) != 6) return VK_ISA_SCALAR;
    if (__get_cpuid_max(0, 0) < 7) return VK_ISA_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1;
    if (!(avx2 && fma && f16c)) return VK_ISA_SCALAR;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    int zmm_os = (xcr0 & 0xE6) == 0xE6;
    if (!(f && dq && bw && vl && zmm_os)) return VK_ISA_AVX2;
    *vnni = (c >> 11) & 1;
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    *bf16 = (a1 >> 5) & 1;
    return VK_ISA_AVX512;
}
#else
static int vk_detect(int *vnni, int *bf16) { *vnni = 0; *bf16 = 0; return VK_ISA_SCALAR; }
#endif

static atomic_int vk_detected = -1;
/// The override is per thread, so a test pinning a level never changes what other threads run.
static _Thread_local int vk_forced = -1;
static int vk_vnni_flag, vk_bf16_flag;

/// VLLM_CPU_ISA=avx2 or scalar caps the detected level for the whole process (to run and measure the paths
/// other machines take); avx512, an unknown value or none keeps what the CPU has.
static int vk_env_cap(int v) {
    const char *e = getenv("VLLM_CPU_ISA");
    if (!e) return v;
    if (!strcmp(e, "scalar") && v > VK_ISA_SCALAR) return VK_ISA_SCALAR;
    if (!strcmp(e, "avx2") && v > VK_ISA_AVX2) return VK_ISA_AVX2;
    return v;
}

int vk_cpu_isa(void) {
    int v = atomic_load(&vk_detected);
    if (v < 0) {
        int vnni, bf16;
        v = vk_env_cap(vk_detect(&vnni, &bf16));
        vk_vnni_flag = v >= VK_ISA_AVX512 && vnni; vk_bf16_flag = v >= VK_ISA_AVX512 && bf16;
        atomic_store(&vk_detected, v);
    }
    return v;
}

int vk_cpu_has_avx512_vnni(void) { vk_cpu_isa(); return vk_vnni_flag; }
int vk_cpu_has_avx512_bf16(void) { vk_cpu_isa(); return vk_bf16_flag; }

int vk_set_isa(int isa) {
    int best = vk_cpu_isa();
    if (isa < 0 || isa > best) isa = best;
    vk_forced = isa;
    return isa;
}

int vk_isa_pin(void) { return vk_forced; }
void vk_isa_set_pin(int pin) { vk_forced = pin; }

int vk_get_isa(void) {
    int f = vk_forced;
    return f >= 0 ? f : vk_cpu_isa();
}
