/*
 * Type-independent pieces of the kernels (per-row loss on double logits,
 * stable sigmoid / softplus / log-sum-exp, the SGD row permutation) and the
 * two instantiations of the typed kernels in kernels_impl.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* size bytes aligned to SX_VECTOR_BYTES; *raw receives the pointer to free. */
static void *sx_aligned_alloc(size_t size, void **raw)
{
    *raw = malloc(size + SX_VECTOR_BYTES);
    if (*raw == NULL) {
        return NULL;
    }
    uintptr_t addr = (uintptr_t)*raw;
    return (void *)((addr + SX_VECTOR_BYTES - 1) & ~(uintptr_t)(SX_VECTOR_BYTES - 1));
}

static int sx_is_aligned(const void *p)
{
    return ((uintptr_t)p & (uintptr_t)(SX_VECTOR_BYTES - 1)) == 0;
}

/* A vector-aligned copy of size bytes at src (NULL when out of memory). */
static const char *sx_aligned_copy(const char *src, size_t size, void **raw)
{
    char *dst = sx_aligned_alloc(size, raw);
    if (dst != NULL) {
        memcpy(dst, src, size);
    }
    return dst;
}

/* sigma(z), branched on the sign so exp never overflows. */
static double sigmoid(double z)
{
    if (z >= 0.0) {
        return 1.0 / (1.0 + exp(-z));
    }
    double e = exp(z);
    return e / (1.0 + e);
}

/* softplus(z) = log(1 + e^z) = -log sigma(-z), exact for any finite z. */
static double softplus(double z)
{
    if (z > 0.0) {
        return z + log1p(exp(-z));
    }
    return log1p(exp(z));
}

/* log sum_k e^{z_k}, shifted by the maximum. */
static double logsumexp(const double *z, sx_size k)
{
    double zmax = z[0];
    for (sx_size j = 1; j < k; j++) {
        if (z[j] > zmax) {
            zmax = z[j];
        }
    }
    double s = 0.0;
    for (sx_size j = 0; j < k; j++) {
        s += exp(z[j] - zmax);
    }
    return zmax + log(s);
}

double sx_row_loss(sx_link link, sx_loss loss, const double *z, const double *t,
                   sx_size k, double *dz)
{
    double l = 0.0;
    if (link == SX_LINK_SOFTMAX) {
        /* a = softmax(z) from one exp per class: dz holds e^{z - max}, then a */
        double zmax = z[0], s = 0.0;
        for (sx_size j = 1; j < k; j++) {
            zmax = z[j] > zmax ? z[j] : zmax;
        }
        for (sx_size j = 0; j < k; j++) {
            dz[j] = exp(z[j] - zmax);
            s += dz[j];
        }
        const double lse = zmax + log(s), inv = 1.0 / s;
        if (loss == SX_LOSS_LOG) {
            /* l = sum_k t_k (lse - z_k); dl/dz_j = a_j sum_k t_k - t_j */
            double tsum = 0.0;
            for (sx_size j = 0; j < k; j++) {
                if (t[j] != 0.0) {
                    l += t[j] * (lse - z[j]);
                }
                tsum += t[j];
            }
            for (sx_size j = 0; j < k; j++) {
                dz[j] = dz[j] * inv * tsum - t[j];
            }
        }
        else {
            /* l = sum_k (a_k - t_k)^2; with g = 2 (a - t): dl/dz_j = a_j (g_j - g.a) */
            double ga = 0.0;
            for (sx_size j = 0; j < k; j++) {
                const double a = dz[j] * inv, r = a - t[j];
                l += r * r;
                ga += 2.0 * r * a;
            }
            for (sx_size j = 0; j < k; j++) {
                const double a = dz[j] * inv;
                dz[j] = a * (2.0 * (a - t[j]) - ga);
            }
        }
    }
    else {
        for (sx_size j = 0; j < k; j++) {
            /* one exp per output: e = e^{-|z|}, sigma(z) and softplus from it */
            const double zj = z[j], e = exp(-fabs(zj));
            const double a = zj >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            if (loss == SX_LOSS_LOG) {
                /* l = softplus(z) - t z, written so that neither branch cancels */
                l += (zj >= 0.0 ? (1.0 - t[j]) * zj : -t[j] * zj) + log1p(e);
                dz[j] = a - t[j];
            }
            else {
                /* l = (a - t)^2; dl/dz = 2 (a - t) a (1 - a), with 1 - a = sigma(-z) */
                const double r = a - t[j], a_neg = zj >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
                l += r * r;
                dz[j] = 2.0 * r * a * a_neg;
            }
        }
    }
    return l;
}

/* Row activation on double logits, in place: probabilities or log-probabilities. */
static void activate_row(sx_link link, int log_output, double *z, sx_size k)
{
    if (link == SX_LINK_SOFTMAX) {
        double lse = logsumexp(z, k);
        for (sx_size j = 0; j < k; j++) {
            z[j] = log_output ? z[j] - lse : exp(z[j] - lse);
        }
    }
    else {
        for (sx_size j = 0; j < k; j++) {
            z[j] = log_output ? -softplus(-z[j]) : sigmoid(z[j]);
        }
    }
}

/* NaN when some z_j is NaN or infinite, 0 otherwise. */
static double nonfinite_probe(const double *z, sx_size k)
{
    double probe = 0.0;
    for (sx_size j = 0; j < k; j++) {
        probe += z[j] - z[j];
    }
    return probe;
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

/* SX_VLEN lanes of SX_T per vector; SX_ITYPE: an integer of SX_T's width (shuffle masks). */
#define SX_T float
#define SX_ITYPE int32_t
#define SX_VLEN (SX_VECTOR_BYTES / 4)
#define SX_NAME(base) base##_f32
#include "kernels_impl.h"
#undef SX_T
#undef SX_ITYPE
#undef SX_VLEN
#undef SX_NAME

#define SX_T double
#define SX_ITYPE int64_t
#define SX_VLEN (SX_VECTOR_BYTES / 8)
#define SX_NAME(base) base##_f64
#include "kernels_impl.h"
#undef SX_T
#undef SX_ITYPE
#undef SX_VLEN
#undef SX_NAME
