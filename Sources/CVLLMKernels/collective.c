// Collectives between tensor-parallel ranks: waiting on counters in a shared memory segment (spin, then futex),
// the rank-ordered sum of an all-reduce, thread pinning, and Open MPI loaded at run time (dlopen: the library does not
// link MPI, so it stays usable without it).
#define _GNU_SOURCE
#include "internal.h"
#include <stdio.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if VK_X86
#include <immintrin.h>
#define VK_CPU_RELAX() _mm_pause()
#else
#define VK_CPU_RELAX() ((void)0)
#endif

uint32_t vk_atomic_load_u32(const uint32_t *word) {
    return atomic_load_explicit((const _Atomic uint32_t *)word, memory_order_acquire);
}

void vk_atomic_store_wake_u32(uint32_t *word, uint32_t value) {
    atomic_store_explicit((_Atomic uint32_t *)word, value, memory_order_release);
    syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

int vk_wait_u32_reaches(const uint32_t *word, uint32_t target, int spin, const uint32_t *abort_word, int timeout_ms) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        for (int i = 0; i < spin; i++) {
            uint32_t now = vk_atomic_load_u32(word);
            if ((int32_t)(now - target) >= 0) return 0;
            VK_CPU_RELAX();
        }
        uint32_t now = vk_atomic_load_u32(word);
        if ((int32_t)(now - target) >= 0) return 0;
        if (abort_word && vk_atomic_load_u32(abort_word) != 0) return -1;
        struct timespec slice = {0, 20 * 1000 * 1000};  // wake now and then to look at the abort word
        syscall(SYS_futex, word, FUTEX_WAIT, now, &slice, NULL, 0);
        if (timeout_ms > 0) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - start.tv_sec) * 1000 + (t.tv_nsec - start.tv_nsec) / 1000000 >= timeout_ms) return -2;
        }
        spin = spin > 64 ? 64 : spin;  // after a sleep, a short spin before the next one
    }
}

void vk_sum_rows_ordered(float *dst, const float *const *parts, int n_parts, int64_t count) {
    // Every rank adds the parts in rank order, so every rank holds the same bits.
    for (int64_t i = 0; i < count; i++) {
        float s = parts[0][i];
        for (int p = 1; p < n_parts; p++) s += parts[p][i];
        dst[i] = s;
    }
}

int vk_pin_current_thread(const int32_t *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

int vk_allowed_cpus(int32_t *cpus, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < capacity; c++) {
        if (CPU_ISSET(c, &set)) cpus[n++] = c;
    }
    return n;
}

// --- Open MPI, loaded at run time (its ABI: handles are addresses of the library's predefined objects) ---

typedef int (*vk_mpi_init_thread_fn)(int *, char ***, int, int *);
typedef int (*vk_mpi_comm_int_fn)(void *, int *);
typedef int (*vk_mpi_bcast_fn)(void *, int, void *, int, void *);
typedef int (*vk_mpi_allreduce_fn)(const void *, void *, int, void *, void *, void *);
typedef int (*vk_mpi_gatherv_fn)(const void *, int, void *, void *, const int *, const int *, void *, int, void *);
typedef int (*vk_mpi_finalize_fn)(void);

static struct {
    vk_mpi_init_thread_fn init_thread;
    vk_mpi_comm_int_fn rank, size;
    vk_mpi_bcast_fn bcast;
    vk_mpi_allreduce_fn allreduce;
    vk_mpi_gatherv_fn gatherv;
    vk_mpi_finalize_fn finalize;
    void *world, *byte, *flt, *sum;
} vk_mpi;

int vk_mpi_open(char *error, int capacity) {
    const char *names[] = {"libmpi.so.40", "libmpi.so"};
    void *lib = NULL;
    for (int i = 0; i < 2 && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        snprintf(error, (size_t)capacity, "%s", dlerror());
        return -1;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"MPI_Init_thread", (void **)&vk_mpi.init_thread}, {"MPI_Comm_rank", (void **)&vk_mpi.rank},
        {"MPI_Comm_size", (void **)&vk_mpi.size}, {"MPI_Bcast", (void **)&vk_mpi.bcast},
        {"MPI_Allreduce", (void **)&vk_mpi.allreduce}, {"MPI_Gatherv", (void **)&vk_mpi.gatherv},
        {"MPI_Finalize", (void **)&vk_mpi.finalize}, {"ompi_mpi_comm_world", &vk_mpi.world},
        {"ompi_mpi_byte", &vk_mpi.byte}, {"ompi_mpi_float", &vk_mpi.flt}, {"ompi_mpi_op_sum", &vk_mpi.sum},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        *symbols[i].slot = dlsym(lib, symbols[i].name);
        if (!*symbols[i].slot) {
            snprintf(error, (size_t)capacity, "%s has no symbol %s (only Open MPI's ABI is supported)", "libmpi", symbols[i].name);
            return -1;
        }
    }
    int provided = 0;
    // MPI_THREAD_SERIALIZED (2): the engine's loop thread makes every call, not the thread that initialised.
    if (vk_mpi.init_thread(NULL, NULL, 2, &provided) != 0) {
        snprintf(error, (size_t)capacity, "MPI_Init_thread failed");
        return -1;
    }
    if (provided < 2) {
        snprintf(error, (size_t)capacity, "this MPI provides thread level %d; MPI_THREAD_SERIALIZED (2) is needed", provided);
        return -1;
    }
    return 0;
}

int vk_mpi_rank(void) { int r = -1; vk_mpi.rank(vk_mpi.world, &r); return r; }
int vk_mpi_size(void) { int s = -1; vk_mpi.size(vk_mpi.world, &s); return s; }
int vk_mpi_bcast_bytes(void *data, int64_t count, int root) {
    for (int64_t done = 0; done < count;) {  // MPI counts are ints
        int n = count - done > (1 << 30) ? (1 << 30) : (int)(count - done);
        int rc = vk_mpi.bcast((char *)data + done, n, vk_mpi.byte, root, vk_mpi.world);
        if (rc != 0) return rc;
        done += n;
    }
    return 0;
}
int vk_mpi_allreduce_sum_f32(float *data, int64_t count) {
    for (int64_t done = 0; done < count;) {
        int n = count - done > (1 << 28) ? (1 << 28) : (int)(count - done);
        int rc = vk_mpi.allreduce((const void *)1 /* MPI_IN_PLACE */, data + done, n, vk_mpi.flt, vk_mpi.sum, vk_mpi.world);
        if (rc != 0) return rc;
        done += n;
    }
    return 0;
}
int vk_mpi_gatherv_f32(const float *part, int count, float *into, const int *counts, const int *displacements, int root) {
    return vk_mpi.gatherv(part, count, vk_mpi.flt, into, counts, displacements, vk_mpi.flt, root, vk_mpi.world);
}
void vk_mpi_finalize(void) { vk_mpi.finalize(); }
