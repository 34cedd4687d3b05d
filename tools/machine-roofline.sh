#!/usr/bin/env bash
# The machine's ceilings for BENCHMARKS.md's roofline lines: int8 dot-product peak (AVX-512 VNNI vpdpbusd, or AVX2
# vpmaddubsw+vpmaddwd), f32 FMA peak and sequential read bandwidth, on 1 thread and on every core (pthreads, each
# on its own data), best of 5 timings each.
#
#   ./tools/machine-roofline.sh            # prints one line per ceiling
#   VLLM_CPU_ISA=avx2 ./tools/machine-roofline.sh   # the AVX2 probes on an AVX-512 host (the engines' AVX2 paths)
#
# The probe is compiled with the toolchain's clang into $SWIFT_VLLM_CACHE (default ~/.cache/swift-vllm). Peaks use
# 12 independent accumulators per thread (enough to hide the instructions' latency); bandwidth reads a 1 GiB buffer
# (written first, so no page faults are timed), 4 zmm/ymm loads an iteration. Run it on an idle machine.
set -euo pipefail
CACHE=${SWIFT_VLLM_CACHE:-$HOME/.cache/swift-vllm}
mkdir -p "$CACHE"
src=$CACHE/machine-roofline.c bin=$CACHE/machine-roofline
cat > "$src" <<'C'
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

enum { ITERS = 20000000, BUFFER = 1 << 30 };
static int has512;
static volatile int64_t sink;

#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* Multiply-accumulates (int8 x int8) done: 64 per vpdpbusd zmm, 32 per vpmaddubsw+vpmaddwd ymm pair. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double int8_512(void) {
    __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
#define DECL(i) __m512i c##i = _mm512_set1_epi32(i);
#define STEP(i) c##i = _mm512_dpbusd_epi32(c##i, a, b);
#define FOLD(i) s = _mm512_add_epi32(s, c##i);
    REP12(DECL)
    for (long n = 0; n < ITERS; n++) { REP12(STEP) __asm__ volatile("" : "+v"(a)); }
    __m512i s = _mm512_setzero_si512(); REP12(FOLD)
    sink += _mm512_reduce_add_epi32(s);
    return 64.0 * 12 * ITERS;
#undef DECL
#undef STEP
#undef FOLD
}

__attribute__((target("avx2,fma"))) static double int8_256(void) {
    __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5), one = _mm256_set1_epi16(1);
#define DECL(i) __m256i c##i = _mm256_set1_epi32(i);
#define STEP(i) c##i = _mm256_add_epi32(c##i, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), one));
#define FOLD(i) s = _mm256_add_epi32(s, c##i);
    REP12(DECL)
    for (long n = 0; n < ITERS; n++) { REP12(STEP) __asm__ volatile("" : "+v"(a)); }
    __m256i s = _mm256_setzero_si256(); REP12(FOLD)
    sink += _mm256_extract_epi32(s, 0);
    return 32.0 * 12 * ITERS;
#undef DECL
#undef STEP
#undef FOLD
}

/* Floating-point operations done: 2 per FMA lane. */
__attribute__((target("avx512f"))) static double fma_512(void) {
    __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-7f);
#define DECL(i) __m512 c##i = _mm512_set1_ps((float)i);
#define STEP(i) c##i = _mm512_fmadd_ps(c##i, a, b);
#define FOLD(i) s = _mm512_add_ps(s, c##i);
    REP12(DECL)
    for (long n = 0; n < ITERS; n++) { REP12(STEP) __asm__ volatile("" : "+v"(a)); }
    __m512 s = _mm512_setzero_ps(); REP12(FOLD)
    sink += (int64_t)_mm512_reduce_add_ps(s);
    return 32.0 * 12 * ITERS;
#undef DECL
#undef STEP
#undef FOLD
}

__attribute__((target("avx2,fma"))) static double fma_256(void) {
    __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-7f);
#define DECL(i) __m256 c##i = _mm256_set1_ps((float)i);
#define STEP(i) c##i = _mm256_fmadd_ps(c##i, a, b);
#define FOLD(i) s = _mm256_add_ps(s, c##i);
    REP12(DECL)
    for (long n = 0; n < ITERS; n++) { REP12(STEP) __asm__ volatile("" : "+v"(a)); }
    __m256 s = _mm256_setzero_ps(); REP12(FOLD)
    float out[8]; _mm256_storeu_ps(out, s);
    sink += (int64_t)out[0];
    return 16.0 * 12 * ITERS;
#undef DECL
#undef STEP
#undef FOLD
}

/* Bytes read. */
__attribute__((target("avx2"))) static double read_256(const uint8_t *p) {
    __m256i x0 = _mm256_setzero_si256(), x1 = x0, x2 = x0, x3 = x0;
    for (size_t i = 0; i < BUFFER; i += 128) {
        x0 = _mm256_xor_si256(x0, _mm256_load_si256((const __m256i *)(p + i)));
        x1 = _mm256_xor_si256(x1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        x2 = _mm256_xor_si256(x2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        x3 = _mm256_xor_si256(x3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    x0 = _mm256_xor_si256(_mm256_xor_si256(x0, x1), _mm256_xor_si256(x2, x3));
    sink += _mm256_extract_epi64(x0, 0);
    return BUFFER;
}

__attribute__((target("avx512f"))) static double read_512(const uint8_t *p) {
    __m512i x0 = _mm512_setzero_si512(), x1 = x0, x2 = x0, x3 = x0;
    for (size_t i = 0; i < BUFFER; i += 256) {
        x0 = _mm512_xor_si512(x0, _mm512_load_si512(p + i));
        x1 = _mm512_xor_si512(x1, _mm512_load_si512(p + i + 64));
        x2 = _mm512_xor_si512(x2, _mm512_load_si512(p + i + 128));
        x3 = _mm512_xor_si512(x3, _mm512_load_si512(p + i + 192));
    }
    x0 = _mm512_xor_si512(_mm512_xor_si512(x0, x1), _mm512_xor_si512(x2, x3));
    sink += _mm512_reduce_add_epi64(x0);
    return BUFFER;
}

typedef struct { int kind; uint8_t *buffer; double work; } Job;

static void *run(void *arg) {
    Job *j = arg;
    switch (j->kind) {
    case 0: j->work = has512 ? int8_512() : int8_256(); break;
    case 1: j->work = has512 ? fma_512() : fma_256(); break;
    default: j->work = has512 ? read_512(j->buffer) : read_256(j->buffer); break;
    }
    return NULL;
}

/* Best of 5: work per second summed over `threads` threads started together. */
static double measure(int kind, int threads, uint8_t **buffers) {
    double best = 0;
    for (int r = 0; r < 5; r++) {
        pthread_t t[64]; Job jobs[64];
        double t0 = now();
        for (int i = 0; i < threads; i++) { jobs[i] = (Job){kind, buffers[i], 0}; pthread_create(&t[i], NULL, run, &jobs[i]); }
        double work = 0;
        for (int i = 0; i < threads; i++) { pthread_join(t[i], NULL); work += jobs[i].work; }
        double rate = work / (now() - t0);
        if (rate > best) best = rate;
    }
    return best;
}

int main(void) {
    __builtin_cpu_init();
    const char *pin = getenv("VLLM_CPU_ISA");
    has512 = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && !(pin && strcmp(pin, "avx2") == 0);
    if (!has512 && !__builtin_cpu_supports("avx2")) { fprintf(stderr, "needs AVX2\n"); return 1; }
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 64) cores = 64;
    uint8_t *buffers[64];
    for (int i = 0; i < cores; i++) {
        if (posix_memalign((void **)&buffers[i], 64, BUFFER) != 0) { fprintf(stderr, "out of memory\n"); return 1; }
        memset(buffers[i], i + 1, BUFFER);
    }
    const char *isa = has512 ? "AVX-512" : "AVX2";
    for (int threads = 1; threads <= cores; threads = threads == cores ? cores + 1 : cores) {
        printf("%d thread(s): int8 MACs %.0f G/s (%s %s), f32 FMA %.0f GFLOP/s, read %.1f GB/s\n", threads,
               measure(0, threads, buffers) * 1e-9, isa, has512 ? "vpdpbusd" : "vpmaddubsw+vpmaddwd",
               measure(1, threads, buffers) * 1e-9, measure(2, threads, buffers) * 1e-9);
    }
    return 0;
}
C
clang -O2 -pthread -o "$bin" "$src"
"$bin"
