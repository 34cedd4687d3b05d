// A persistent thread pool: workers spin briefly after each region, then sleep on a condition variable.
//
// A region is published as a ticket (generation << 32 | joined). Workers join it by incrementing `joined`
// until the caller, having run out of tasks itself, closes the ticket; the caller then waits only for the
// workers that joined. A worker that is descheduled (more threads than free cores) therefore never stalls a
// region it did not join: the caller and the other workers take all of its tasks.
#include "internal.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#if VK_X86
#include <immintrin.h>
#define VK_PAUSE() _mm_pause()
#else
#define VK_PAUSE() ((void)0)
#endif

#define VK_SPIN_ITERATIONS 20000
#define VK_CLOSED 0x80000000ull
#define VK_JOINED 0x7fffffffull

struct vk_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    atomic_ullong ticket;
    atomic_int sleeping;
    atomic_int stop;
    atomic_long next;
    atomic_int finished;
    vk_task_fn fn;
    void *ctx;
    int64_t n_tasks;
    int pin;  // the caller's pinned ISA level (vk_set_isa, -1 for none), which its tasks run under on every thread
};

static void vk_pool_work(vk_pool *pool) {
    vk_isa_set_pin(pool->pin);
    for (;;) {
        long i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
        if (i >= pool->n_tasks) break;
        pool->fn(pool->ctx, i);
    }
}

static inline unsigned long long vk_generation(vk_pool *pool) { return atomic_load(&pool->ticket) >> 32; }

static void *vk_pool_worker(void *arg) {
    vk_pool *pool = (vk_pool *)arg;
    unsigned long long seen = 0;
    for (;;) {
        int spins = 0;
        while (vk_generation(pool) == seen && !atomic_load(&pool->stop)) {
            if (++spins < VK_SPIN_ITERATIONS) {
                if ((spins & 255) == 0) sched_yield(); else VK_PAUSE();
                continue;
            }
            atomic_fetch_add(&pool->sleeping, 1);
            pthread_mutex_lock(&pool->mutex);
            while (vk_generation(pool) == seen && !atomic_load(&pool->stop)) pthread_cond_wait(&pool->wake, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
            atomic_fetch_sub(&pool->sleeping, 1);
        }
        if (atomic_load(&pool->stop)) return NULL;
        unsigned long long t = atomic_load(&pool->ticket);
        seen = t >> 32;
        int joined = 0;
        while (!(t & VK_CLOSED) && (t >> 32) == seen) {
            if (atomic_compare_exchange_weak(&pool->ticket, &t, t + 1)) { joined = 1; break; }
        }
        if (!joined) continue;
        vk_pool_work(pool);
        atomic_fetch_add_explicit(&pool->finished, 1, memory_order_release);
    }
}

vk_pool *vk_pool_create(int n_threads) {
    vk_pool *pool = (vk_pool *)calloc(1, sizeof(vk_pool));
    if (!pool) return NULL;
    pool->n_threads = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = (pthread_t *)calloc((size_t)pool->n_threads, sizeof(pthread_t));
    for (int i = 1; i < pool->n_threads; i++) pthread_create(&pool->threads[i], NULL, vk_pool_worker, pool);
    return pool;
}

void vk_pool_destroy(vk_pool *pool) {
    if (!pool) return;
    atomic_store(&pool->stop, 1);
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n_threads; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->threads);
    free(pool);
}

int vk_pool_threads(const vk_pool *pool) { return pool->n_threads; }

void vk_pool_run(vk_pool *pool, vk_task_fn fn, void *ctx, int64_t n_tasks) {
    if (n_tasks <= 0) return;
    if (pool->n_threads == 1 || n_tasks == 1) {
        for (int64_t i = 0; i < n_tasks; i++) fn(ctx, i);
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_tasks = n_tasks;
    pool->pin = vk_isa_pin();
    atomic_store(&pool->next, 0);
    atomic_store(&pool->finished, 0);
    const unsigned long long generation = (atomic_load(&pool->ticket) >> 32) + 1;
    atomic_store(&pool->ticket, generation << 32);
    if (atomic_load(&pool->sleeping) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    vk_pool_work(pool);
    const int joined = (int)(atomic_fetch_or(&pool->ticket, VK_CLOSED) & VK_JOINED);
    for (unsigned spins = 1; atomic_load_explicit(&pool->finished, memory_order_acquire) < joined; spins++) {
        if ((spins & 255) == 0) sched_yield(); else VK_PAUSE();
    }
}
