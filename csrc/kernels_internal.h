/*
 * What the per-instruction-set kernel files share with kernels.c: the table
 * of typed kernels each instruction set provides, and the type-independent
 * helpers (kernels.c) that the typed bodies call.  Not part of the API.
 */
#ifndef SIGMAX_KERNELS_INTERNAL_H
#define SIGMAX_KERNELS_INTERNAL_H

#include "kernels.h"

/* The typed kernels of one instruction set (kernels_isa.h fills one). */
typedef struct {
    const char *name;
    int (*loss_grad_f32)(const sx_data *, const sx_params *, const sx_size *, sx_size, sx_size,
                         sx_size, int, sx_accum *);
    int (*loss_grad_f64)(const sx_data *, const sx_params *, const sx_size *, sx_size, sx_size,
                         sx_size, int, sx_accum *);
    int (*forward_f32)(const sx_view *, const sx_params *, sx_link, sx_output, char *, sx_size,
                       sx_size, int);
    int (*forward_f64)(const sx_view *, const sx_params *, sx_link, sx_output, char *, sx_size,
                       sx_size, int);
    int (*activate_f32)(const sx_view *, sx_link, int, char *, sx_size, sx_size);
    int (*activate_f64)(const sx_view *, sx_link, int, char *, sx_size, sx_size);
    int (*sgd_epoch_f32)(const sx_data *, char *, char *, sx_size, double, double, double,
                         sx_size, int, int, int, uint64_t, double *);
    int (*sgd_epoch_f64)(const sx_data *, char *, char *, sx_size, double, double, double,
                         sx_size, int, int, int, uint64_t, double *);
    double (*fma_probe_f32)(sx_size, int, double *);
    double (*fma_probe_f64)(sx_size, int, double *);
} sx_isa_kernels;

/* Each is defined in its kernels_<isa>.c; NULL-named when not compiled in. */
extern const sx_isa_kernels sx_kernels_avx512;
extern const sx_isa_kernels sx_kernels_avx2;
extern const sx_isa_kernels sx_kernels_baseline;

/* Alignment of the working copies of W and G (one cache line). */
#define SX_ALIGN 64

/* size bytes aligned to SX_ALIGN; *raw receives the pointer to free (NULL when
 * out of memory or when size + SX_ALIGN overflows). */
void *sx_aligned_alloc(size_t size, void **raw);
/* Zeroed memory for a x b elements of size bytes, or NULL (out of memory, or
 * a x b x size does not fit in size_t). */
void *sx_calloc2(size_t a, size_t b, size_t size);
int sx_is_aligned(const void *p);
/* A vector-aligned copy of size bytes at src (NULL when out of memory). */
const char *sx_aligned_copy(const char *src, size_t size, void **raw);

/*
 * A reusable barrier for the `threads` threads of a team (zero-initialized).
 * A waiting thread spins for about the length of a balanced wait, then yields
 * its CPU at every check: when its partner was preempted (a busy machine,
 * another process's threads on the same cores) the partner can run, instead
 * of waiting out a spinning thread's time slice.  OpenMP's own barrier spins
 * for milliseconds first: on two cores shared by two such processes, each
 * SGD batch's barriers then cost a time slice (measured, two processes each
 * running MNIST epochs with n_jobs=2: 1.5-1.9 s per epoch; with this
 * barrier 40-80 ms, as with one thread each).  It fills a cache line of its
 * own, so that its writes never take a line holding other shared variables
 * away from the threads reading them.
 */
#if defined(__GNUC__)
#define SX_LINE_ALIGNED __attribute__((aligned(SX_ALIGN)))
#else
#define SX_LINE_ALIGNED
#endif
typedef struct {
    size_t arrived;    /* threads at the barrier in this generation */
    size_t generation; /* times the barrier has opened */
} SX_LINE_ALIGNED sx_barrier;
void sx_barrier_wait(sx_barrier *b, size_t threads);

/* A run of count rows: idx[0 .. count) when idx is not NULL, else begin ..
 * begin + count. */
typedef struct {
    const sx_size *idx;
    sx_size begin, count;
} sx_rows;

/* Row j of a run. */
static inline sx_size sx_row(const sx_rows *r, sx_size j)
{
    return r->idx ? r->idx[j] : r->begin + j;
}

/* Rows from the j-th on of a run (j <= count), at most max of them. */
static inline sx_rows sx_rows_from(const sx_rows *r, sx_size j, sx_size max)
{
    const sx_size left = r->count - j;
    const sx_rows out = {r->idx ? r->idx + j : NULL, r->begin + j, left < max ? left : max};
    return out;
}

/*
 * Where part q of `parts` equal parts of count rows starts: floor(count * q /
 * parts), computed without forming count * q (which overflows for counts
 * near the largest sx_size, possible with stride-0 views).
 */
static inline sx_size sx_part_start(sx_size count, sx_size q, sx_size parts)
{
    return count / parts * q + count % parts * q / parts;
}

/*
 * The sigmoid of z from e = e^{-|z|}: 1 / (1 + e) for z >= 0, e / (1 + e)
 * below, so that nothing overflows (and sigma(-z) = sx_sigmoid_from_exp(-z, e),
 * with the same e); its log from l = log(1 + e): -l for z > 0, z - l below, so
 * that nothing cancels.  +/-inf give their limits (1 or 0, and -0 or -inf).
 * The numerator is chosen, not the division: one division, which a loop over
 * many values can do in vector lanes without a branch.
 */
static inline double sx_sigmoid_from_exp(double z, double e)
{
    return (z >= 0.0 ? 1.0 : e) / (1.0 + e);
}

static inline double sx_log_sigmoid_from_log1p(double z, double l)
{
    return z > 0.0 ? -l : z - l;
}

/*
 * The softmax link's per-row loss, on double logits z (k) and e (k): e_j =
 * exp(z_j - zmax) with zmax = max z; tsum = s - 1 with s = sum_j e_j, summed
 * without the 1 of a maximum; for the log loss, lognorm = log s = log1p(tsum)
 * (unused by the mse loss).  The typed kernels compute e, tsum and lognorm for
 * a whole block at once, by vector code to about one ulp.  Returns the row's
 * loss l and writes dl/dz into dz.  The targets are t (k) when t is not NULL,
 * else the class index y (one-hot), which only the mse loss takes here: the
 * log loss with class indices is the typed kernels' block_softmax_losses, a
 * loop over a block.  (The sigmoid link's losses, output by output, are their
 * block_sigmoid_losses.)
 */
double sx_softmax_row_loss(sx_loss loss, const double *z, const double *e, double zmax,
                           double tsum, const double *lognorm, const double *t, sx_size y,
                           sx_size k, double *dz);

/* Compiler hints shared by the typed kernels. */
#if defined(__GNUC__)
#define SX_INLINE inline __attribute__((always_inline))
#define SX_PREFETCH(p) __builtin_prefetch((p), 0, 3)
/* v is loaded into a register once here, not re-read by every instruction
 * that uses it (the compiler would otherwise fold the load into each one and
 * load the same vector several times: loads, not arithmetic, then bound the
 * loop). */
#define SX_IN_REGISTER(v) __asm__("" : "+x"(v))
/* v as computed, rounded on its own: the compiler may not fuse the operation
 * that made v into the one that uses it (a product into the sum after it, as
 * one multiply-add), so that a sum gets the rounded products it would get
 * row by row, whatever the instruction set. */
#define SX_ROUNDED(v) __asm__("" : "+x"(v))
/* A loop over a register tile's rows, classes or vectors (at most 8), unrolled
 * completely early on: the tile's accumulator array then becomes registers
 * everywhere (unrolled later, it stays an array on the stack, copied into
 * registers at each tile's start and back at its end).  Clang kept the loops
 * under "GCC unroll 8", its kernels running 3-4 times slower: it is asked for
 * a full unrolling in its own words. */
#if defined(__clang__)
#define SX_UNROLL _Pragma("clang loop unroll(full)")
#else
#define SX_UNROLL _Pragma("GCC unroll 8")
#endif
#else
#define SX_INLINE inline
#define SX_PREFETCH(p) ((void)(p))
#define SX_IN_REGISTER(v) ((void)0)
#define SX_ROUNDED(v) ((void)0)
#define SX_UNROLL
#endif

#endif /* SIGMAX_KERNELS_INTERNAL_H */
