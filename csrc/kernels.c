/*
 * Type-independent pieces of the kernels: the per-row loss and activation on
 * double logits, the SGD row permutation, aligned scratch, and the dispatch
 * of the public typed kernels to the instruction set in use.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L /* sched_yield under -std=c99 */
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <windows.h>
#define SX_YIELD() ((void)SwitchToThread())
#else
#include <sched.h>
#define SX_YIELD() ((void)sched_yield())
#endif

#include "kernels_internal.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SX_CPU_RELAX() __builtin_ia32_pause()
#else
#define SX_CPU_RELAX() ((void)0)
#endif

/* About 60 us of spinning (a pause takes some 30 ns on current x86 cores): longer than a
 * balanced SGD batch's wait, far shorter than a scheduler's time slice. */
#define SX_BARRIER_SPINS 2048

static double sgd_solo_ratio = SX_SGD_SOLO_RATIO;
static size_t sgd_solo_epochs = 0;

double sx_sgd_solo_ratio(void)
{
    double ratio;
    __atomic_load(&sgd_solo_ratio, &ratio, __ATOMIC_RELAXED);
    return ratio;
}

void sx_set_sgd_solo_ratio(double ratio)
{
    __atomic_store(&sgd_solo_ratio, &ratio, __ATOMIC_RELAXED);
}

size_t sx_sgd_solo_epochs(void)
{
    return __atomic_load_n(&sgd_solo_epochs, __ATOMIC_RELAXED);
}

void sx_count_sgd_solo_epoch(void)
{
    __atomic_add_fetch(&sgd_solo_epochs, 1, __ATOMIC_RELAXED);
}

void sx_barrier_wait(sx_barrier *b, size_t threads)
{
    const size_t generation = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == threads) {
        /* the last to arrive: reset for the next use, then release the others */
        __atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->generation, generation + 1, __ATOMIC_RELEASE);
        return;
    }
    for (size_t spins = 0; __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == generation;
         spins++) {
        if (spins < SX_BARRIER_SPINS) {
            SX_CPU_RELAX();
        }
        else {
            SX_YIELD();
        }
    }
}

void *sx_aligned_alloc(size_t size, void **raw)
{
    *raw = size <= SIZE_MAX - SX_ALIGN ? malloc(size + SX_ALIGN) : NULL;
    if (*raw == NULL) {
        return NULL;
    }
    uintptr_t addr = (uintptr_t)*raw;
    return (void *)((addr + SX_ALIGN - 1) & ~(uintptr_t)(SX_ALIGN - 1));
}

void *sx_calloc2(size_t a, size_t b, size_t size)
{
    const int fits = b == 0 || size == 0 || a <= SIZE_MAX / b / size;
    return fits ? calloc(a * b, size) : NULL;
}

int sx_is_aligned(const void *p)
{
    return ((uintptr_t)p & (uintptr_t)(SX_ALIGN - 1)) == 0;
}

const char *sx_aligned_copy(const char *src, size_t size, void **raw)
{
    char *dst = sx_aligned_alloc(size, raw);
    if (dst != NULL) {
        memcpy(dst, src, size);
    }
    return dst;
}

static double target(const double *t, sx_size y, sx_size j)
{
    return t ? t[j] : (double)(j == y);
}

/*
 * Each difference that tends to 0 as the model grows sure is computed from
 * terms that do not cancel, so that a tiny loss or gradient keeps its relative
 * precision (a row classified with a margin of 30 has a loss near 1e-13;
 * written as lse - z_y with lse = zmax + log s, its log s would be lost in the
 * rounding of zmax once |zmax| is large):
 *  - softmax: the loss t_j (lse - z_j) as t_j ((zmax - z_j) + log s); for the
 *    output at the maximum (the first with e_j = 1), 1 - a_j = (s - 1) / s =
 *    tsum / s, the sum of the other outputs' e, never 1 - a_j by subtraction.
 *    The loops over the outputs take the plain formulas, and that one output
 *    is then mended (below the maximum, a_j <= 1/2: nothing cancels there);
 *    the log loss with class indices (block_softmax_losses, kernels_impl.h)
 *    the same way;
 *  - sigmoid (block_sigmoid_losses, kernels_impl.h): a - t as
 *    a (1 - t) - t sigma(-z), each of a = sigma(z) and sigma(-z) from
 *    e = e^{-|z|} without cancellation.
 */
double sx_softmax_row_loss(sx_loss loss, const double *z, const double *e, double zmax,
                           double tsum, const double *lognorm, const double *t, sx_size y,
                           sx_size k, double *dz)
{
    double l = 0.0;
    /* a = softmax(z) = e / s with s = sum_k e_k = 1 + tsum; at the maximum
     * (index top), a = inv and 1 - a = rest */
    const double inv = 1.0 / (1.0 + tsum), rest = tsum * inv;
    sx_size top = 0; /* the first maximum, without a branch per output */
    for (sx_size j = k; j-- > 0;) {
        top = e[j] == 1.0 ? j : top;
    }
    if (loss == SX_LOSS_LOG) {
        /* l = sum_k t_k (lse - z_k); dl/dz_j = a_j T - t_j, T = sum_k t_k;
         * at the maximum: a (T - t) - t (1 - a) */
        for (sx_size j = 0; j < k; j++) {
            dz[j] = e[j] * inv;
        }
        double T = 0.0;
        for (sx_size j = 0; j < k; j++) {
            if (t[j] != 0.0) { /* a zero target adds nothing, even where zmax - z_j overflows */
                l += t[j] * ((zmax - z[j]) + lognorm[0]);
            }
            T += t[j];
        }
        for (sx_size j = 0; j < k; j++) {
            dz[j] = dz[j] * T - t[j];
        }
        dz[top] = inv * (T - t[top]) - t[top] * rest;
    }
    else {
        /* l = sum_k r_k^2 with r = a - t; with g = 2 r:
         * dl/dz_j = a_j (g_j - g.a) = 2 a_j (r_j - sum_i r_i a_i); at the
         * maximum, r = (1 - t) - (1 - a), and 2 a (r (1 - a) - sum_{i != top}
         * r_i a_i), whose sum leaves out the r a it would cancel */
        for (sx_size j = 0; j < k; j++) {
            dz[j] = e[j] * inv - target(t, y, j); /* r, until the last loop */
        }
        dz[top] = (1.0 - target(t, y, top)) - rest;
        double ra_rest = 0.0;
        for (sx_size j = 0; j < k; j++) {
            l += dz[j] * dz[j];
            ra_rest += (j == top ? 0.0 : dz[j] * (e[j] * inv));
        }
        const double r_top = dz[top], ra = ra_rest + r_top * inv;
        for (sx_size j = 0; j < k; j++) {
            dz[j] = 2.0 * (e[j] * inv) * (dz[j] - ra);
        }
        dz[top] = 2.0 * inv * (r_top * rest - ra_rest);
    }
    return l;
}

/*
 * The SGD row order: a 4-round Feistel network keyed from the seed permutes
 * [0, 2^(2h)) with 2^(2h) >= n; positions that land outside [0, n) are walked
 * along their cycle until they land inside, which keeps it a bijection on
 * [0, n).  The domain is below 4n, so fewer than four steps are expected.
 */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void sx_permutation_init(sx_permutation *perm, uint64_t n, uint64_t seed)
{
    unsigned half = 1;
    while (half < 32 && (UINT64_C(1) << (2 * half)) < n) {
        half++;
    }
    perm->n = n;
    perm->half_bits = half;
    perm->mask = (UINT64_C(1) << half) - 1;
    uint64_t state = seed;
    for (int r = 0; r < 4; r++) {
        perm->keys[r] = splitmix64(&state);
    }
}

static uint64_t feistel(const sx_permutation *perm, uint64_t x)
{
    uint64_t left = x >> perm->half_bits, right = x & perm->mask;
    for (int r = 0; r < 4; r++) {
        uint64_t h = right ^ perm->keys[r];
        h = (h ^ (h >> 33)) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 29;
        uint64_t next = left ^ (h & perm->mask);
        left = right;
        right = next;
    }
    return (left << perm->half_bits) | right;
}

uint64_t sx_permutation_apply(const sx_permutation *perm, uint64_t position)
{
    uint64_t x = feistel(perm, position);
    while (x >= perm->n) {
        x = feistel(perm, x);
    }
    return x;
}

/* ---- dispatch to the instruction set in use -------------------------- */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SX_CPU_HAS(feature) __builtin_cpu_supports(feature)
#else
#define SX_CPU_HAS(feature) 0
#endif

static int cpu_runs(const sx_isa_kernels *isa)
{
    if (isa->name == NULL) {
        return 0;  /* not compiled in */
    }
    if (isa == &sx_kernels_baseline) {
        return 1;
    }
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
#endif
    if (isa == &sx_kernels_avx2) {
        return SX_CPU_HAS("avx2") && SX_CPU_HAS("fma");
    }
#ifdef SX_AVX512_ON_AVX2 /* the AVX-512 kernels compiled for AVX2 (kernels_avx512.c) */
    return SX_CPU_HAS("avx2") && SX_CPU_HAS("fma");
#else
    return SX_CPU_HAS("avx512f") && SX_CPU_HAS("avx512dq") && SX_CPU_HAS("avx512vl") &&
           SX_CPU_HAS("avx2") && SX_CPU_HAS("fma");
#endif
}

/* Best first. */
static const sx_isa_kernels *const isa_list[] = {&sx_kernels_avx512, &sx_kernels_avx2,
                                                 &sx_kernels_baseline};
/* Read by kernels running without the GIL while sx_select_isa may write it
 * (with the GIL): accessed atomically. */
static const sx_isa_kernels *isa_in_use = NULL;

static const sx_isa_kernels *isa_named(const char *name)
{
    for (size_t i = 0; i < sizeof(isa_list) / sizeof(isa_list[0]); i++) {
        if (isa_list[i]->name != NULL && strcmp(isa_list[i]->name, name) == 0) {
            return isa_list[i];
        }
    }
    return NULL;
}

int sx_isa_supported(const char *name)
{
    const sx_isa_kernels *isa = isa_named(name);
    return isa != NULL && cpu_runs(isa);
}

int sx_select_isa(const char *name)
{
    if (strcmp(name, "best") == 0) {
        for (size_t i = 0; i < sizeof(isa_list) / sizeof(isa_list[0]); i++) {
            if (cpu_runs(isa_list[i])) {
                __atomic_store_n(&isa_in_use, isa_list[i], __ATOMIC_RELEASE);
                return 0;
            }
        }
        return -1;
    }
    const sx_isa_kernels *isa = isa_named(name);
    if (isa == NULL || !cpu_runs(isa)) {
        return -1;
    }
    __atomic_store_n(&isa_in_use, isa, __ATOMIC_RELEASE);
    return 0;
}

static const sx_isa_kernels *isa(void)
{
    const sx_isa_kernels *in_use = __atomic_load_n(&isa_in_use, __ATOMIC_ACQUIRE);
    if (in_use == NULL) {  /* two threads may both choose: they choose the same */
        sx_select_isa("best");
        in_use = __atomic_load_n(&isa_in_use, __ATOMIC_ACQUIRE);
    }
    return in_use;
}

const char *sx_isa_name(void)
{
    return isa()->name;
}

double sx_fma_probe_f32(sx_size rounds, int n_threads, double *sink)
{
    return isa()->fma_probe_f32(rounds, n_threads, sink);
}

double sx_fma_probe_f64(sx_size rounds, int n_threads, double *sink)
{
    return isa()->fma_probe_f64(rounds, n_threads, sink);
}

int sx_loss_grad_parallel_f32(const sx_data *d, const sx_params *p, const sx_size *rows,
                              sx_size begin, sx_size count, sx_size parts, int n_threads,
                              sx_accum *acc)
{
    return isa()->loss_grad_f32(d, p, rows, begin, count, parts, n_threads, acc);
}

int sx_loss_grad_parallel_f64(const sx_data *d, const sx_params *p, const sx_size *rows,
                              sx_size begin, sx_size count, sx_size parts, int n_threads,
                              sx_accum *acc)
{
    return isa()->loss_grad_f64(d, p, rows, begin, count, parts, n_threads, acc);
}

int sx_forward_f32(const sx_view *X, const sx_params *p, sx_link link, sx_output what,
                   char *out, sx_size out_s0, sx_size out_s1, int n_threads)
{
    return isa()->forward_f32(X, p, link, what, out, out_s0, out_s1, n_threads);
}

int sx_forward_f64(const sx_view *X, const sx_params *p, sx_link link, sx_output what,
                   char *out, sx_size out_s0, sx_size out_s1, int n_threads)
{
    return isa()->forward_f64(X, p, link, what, out, out_s0, out_s1, n_threads);
}

int sx_activate_f32(const sx_view *Z, sx_link link, int log_output, char *out, sx_size out_s0,
                    sx_size out_s1)
{
    return isa()->activate_f32(Z, link, log_output, out, out_s0, out_s1);
}

int sx_activate_f64(const sx_view *Z, sx_link link, int log_output, char *out, sx_size out_s0,
                    sx_size out_s1)
{
    return isa()->activate_f64(Z, link, log_output, out, out_s0, out_s1);
}

int sx_sgd_epoch_f32(const sx_data *d, char *W, char *b, sx_size k, double lr, double alpha,
                     double mean_weight, sx_size batch_size, int shuffle, int fit_intercept,
                     int n_threads, uint64_t seed, double *mean_loss)
{
    return isa()->sgd_epoch_f32(d, W, b, k, lr, alpha, mean_weight, batch_size, shuffle,
                                fit_intercept, n_threads, seed, mean_loss);
}

int sx_sgd_epoch_f64(const sx_data *d, char *W, char *b, sx_size k, double lr, double alpha,
                     double mean_weight, sx_size batch_size, int shuffle, int fit_intercept,
                     int n_threads, uint64_t seed, double *mean_loss)
{
    return isa()->sgd_epoch_f64(d, W, b, k, lr, alpha, mean_weight, batch_size, shuffle,
                                fit_intercept, n_threads, seed, mean_loss);
}
