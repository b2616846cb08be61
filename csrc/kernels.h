/*
 * sigmax kernels: pure C on (pointer, shape, byte strides).
 *
 * No Python.h here and no allocation proportional to the number of rows:
 * every kernel walks the rows it is given and keeps O(k) or O(k * m) scratch.
 * Callers (module.c) guarantee clean input: matching shapes, aligned data,
 * native byte order, class indices in range.  Numeric trouble (a non-finite
 * logit or loss) is reported through the return code, never as a silent NaN.
 *
 * Each typed kernel exists as _f32 (float) and _f64 (double), generated from
 * one body in kernels_impl.h, once per instruction set (kernels_<isa>.c); the
 * functions below dispatch to the set in use (kernels.c).  Sums over rows are
 * kept in double for both types.
 *
 * The objective, for n rows x_i, targets t_i, sample weights s_i, W (k x m),
 * b (k) and z_i = W x_i + b:
 *
 *     L(W, b) = sum_i s_i l(z_i, t_i) / sum_i s_i  +  (alpha / 2) ||W||_F^2
 *
 *   softmax + log:  l = -sum_k t_k log softmax(z)_k
 *   sigmoid + log:  l = -sum_k [t_k log sigma(z_k) + (1 - t_k) log(1 - sigma(z_k))]
 *   softmax + mse:  l = sum_k (softmax(z)_k - t_k)^2
 *   sigmoid + mse:  l = sum_k (sigma(z_k) - t_k)^2
 *
 * Targets are either class indices c_i (t_i = one-hot(c_i); with the sigmoid
 * link and k = 1, t_i = c_i in {0, 1}) or a dense n x k matrix.
 *
 * Extension points.  X is touched in exactly two places, both per block of
 * rows (kernels_impl.h): block_logits (Z = X_B W^T) and block_gradient
 * (G += dZ^T X_B).  A sparse CSR X adds a second kind of sx_data.X and CSR
 * versions of those two functions; the per-row loss, the blocking, the
 * threads and the solvers stay as they are.  Streaming (partial_fit over
 * chunks, memory-mapped files) needs nothing new: every kernel takes any row
 * set and adds into caller-owned sums, and sx_sgd_epoch runs on any chunk.
 */
#ifndef SIGMAX_KERNELS_H
#define SIGMAX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Sizes and strides: the width of npy_intp (checked in module.c). */
typedef ptrdiff_t sx_size;

/* Rows per block of the fused pass, at most (see kernels_impl.h). */
#define SX_BLOCK_ROWS 64
/* How an SGD minibatch is cut into parts for threads (see sx_sgd_epoch).
 * The parts are fixed by the batch size alone, so the sums do not depend on
 * the thread count; the lectures' 256-row batches make two parts. */
#define SX_SGD_PART_ROWS 128
#define SX_SGD_MAX_PARTS 16
/*
 * An SGD epoch on several threads meets at two barriers per batch, so it
 * needs every thread on a CPU at once.  On a busy machine it may not get
 * that: when, after SX_SGD_SOLO_MIN_BATCHES batches, the first thread's time
 * through its batches exceeds sx_sgd_solo_ratio times its time computing its
 * own parts (a team of two that ran alike would take about 1.2 times; one
 * thread alone, about 2 times), the other threads leave and the first one
 * finishes the epoch alone.  The parts stay the same, so the results do too.
 * sx_sgd_solo_epochs counts such epochs.  Both are read and written
 * atomically; the ratio is set only by tests (module.c).
 */
#define SX_SGD_SOLO_MIN_BATCHES 8
#define SX_SGD_SOLO_RATIO 2.5
double sx_sgd_solo_ratio(void);
void sx_set_sgd_solo_ratio(double ratio);
size_t sx_sgd_solo_epochs(void);
void sx_count_sgd_solo_epoch(void);
/* How full-data passes (loss_grad, forward) are cut into parts for threads. */
#define SX_PART_MIN_ROWS 2048
#define SX_MAX_PARTS 16

/*
 * Instruction sets.  The typed kernels are compiled once per instruction set
 * (kernels_avx512.c, kernels_avx2.c, kernels_baseline.c), each with SIMD
 * vectors and register tiles sized for it; sx_select_isa picks the best one
 * the CPU runs (the default build stays portable: no -march=native).
 * Returns 0, or -1 when name is unknown or the CPU lacks it.  name may be
 * "best", "avx512", "avx2" or "baseline".
 */
int sx_select_isa(const char *name);
const char *sx_isa_name(void);         /* the instruction set in use */
int sx_isa_supported(const char *name); /* 1 when compiled in and the CPU runs it */

/* The multiply-add peak of the instruction set in use, for the benchmarks:
 * runs `rounds` rounds of independent vector multiply-adds on n_threads
 * threads and returns the floating-point operations done; the caller times
 * the call.  *sink receives a sum of the results. */
double sx_fma_probe_f32(sx_size rounds, int n_threads, double *sink);
double sx_fma_probe_f64(sx_size rounds, int n_threads, double *sink);

typedef enum { SX_LINK_SOFTMAX = 0, SX_LINK_SIGMOID = 1 } sx_link;
typedef enum { SX_LOSS_LOG = 0, SX_LOSS_MSE = 1 } sx_loss;
typedef enum {
    SX_OUT_LOGITS = 0,    /* z */
    SX_OUT_PROBA = 1,     /* softmax(z) or sigma(z) */
    SX_OUT_LOG_PROBA = 2, /* log softmax(z) or log sigma(z), finite where proba underflows */
    SX_OUT_CLASS = 3,     /* the class: the index of the largest z (the first of ties) for
                           * k >= 2, z > 0 for k = 1; one sx_size per row */
    SX_OUT_PROBA_PAIR = 4,    /* one sigmoid as two classes' probabilities: sigma(-z),
                               * sigma(z); two values per row.  For the sigmoid link
                               * and k = 1 only (the caller checks: the block scratch
                               * is sized for two values per row) */
    SX_OUT_LOG_PROBA_PAIR = 5, /* their logs, finite where the probability underflows */
    SX_OUT_OVR_PROBA = 6,      /* one-vs-rest: sigma(z_c) / sum_j sigma(z_j), the sigmoids
                                * normalized across the row (softmax of log sigma(z)).
                                * For the sigmoid link only (the caller checks) */
    SX_OUT_OVR_LOG_PROBA = 7   /* their logs, finite where the probability underflows */
} sx_output;

/* Whether `what` is one of the pairs: one sigmoid's logit z read as two classes,
 * whose probabilities sigma(-z) and sigma(z) are each exact (1 - sigma(z) would
 * lose sigma(-z) wherever it is small). */
static inline int sx_output_is_pair(sx_output what)
{
    return what == SX_OUT_PROBA_PAIR || what == SX_OUT_LOG_PROBA_PAIR;
}

/* Values per row of out for `what` (not SX_OUT_CLASS), with k rows of W: two
 * for the pairs, else k; the block scratch holds that many per row. */
static inline sx_size sx_output_width(sx_output what, sx_size k)
{
    return sx_output_is_pair(what) ? 2 : k;
}

/* Whether `what` is one of the one-vs-rest outputs. */
static inline int sx_output_is_ovr(sx_output what)
{
    return what == SX_OUT_OVR_PROBA || what == SX_OUT_OVR_LOG_PROBA;
}

/* Whether `what` is one of the log-probability outputs. */
static inline int sx_output_is_log(sx_output what)
{
    return what == SX_OUT_LOG_PROBA || what == SX_OUT_LOG_PROBA_PAIR ||
           what == SX_OUT_OVR_LOG_PROBA;
}

enum {
    SX_OK = 0,
    SX_ERR_NONFINITE = 1, /* a logit or a loss term is NaN or infinite */
    SX_ERR_NOMEM = 2,
    SX_ERR_LABEL = 3      /* a class index of y out of range: y changed during the call */
};

/* A strided 2-D view: element (i, j) lives at data + i * s0 + j * s1 (bytes). */
typedef struct {
    const char *data;
    sx_size rows, cols;
    sx_size s0, s1;
} sx_view;

/* One supervised problem: the design matrix, its targets and weights. */
typedef struct {
    sx_view X;               /* n x m */
    const char *y_index;     /* n class indices (sx_size), or NULL ... */
    sx_size y_stride;
    sx_view Y;               /* ... then an n x k target matrix (X's type) */
    const char *sw;          /* n sample weights (X's type), or NULL for ones */
    sx_size sw_stride;
    sx_link link;
    sx_loss loss;
} sx_data;

/* The model: W (k x m) and b (k), in X's type. */
typedef struct {
    sx_view W;
    const char *b;
    sx_size b_stride;
} sx_params;

/* Sums over the rows a kernel call visited; callers may chain calls. */
typedef struct {
    double loss;    /* sum_i s_i l_i */
    double weight;  /* sum_i s_i */
    double *gW;     /* k x m, row-major: sum_i s_i dl/dz_i x_i^T; NULL for loss only */
    double *gb;     /* k: sum_i s_i dl/dz_i (used when gW is set) */
} sx_accum;

/*
 * Loss and gradient sums over a set of rows: rows[0..count) when rows is not
 * NULL, else begin .. begin + count; adds into acc; W must be C-contiguous.
 * The rows are split into `parts` fixed contiguous parts that
 * run on up to n_threads threads (OpenMP; a thread takes the next part when it
 * finishes one) and are added in part order: the result depends on `parts`,
 * never on the thread count or on which thread ran which part.
 */
int sx_loss_grad_parallel_f32(const sx_data *d, const sx_params *p, const sx_size *rows,
                              sx_size begin, sx_size count, sx_size parts, int n_threads,
                              sx_accum *acc);
int sx_loss_grad_parallel_f64(const sx_data *d, const sx_params *p, const sx_size *rows,
                              sx_size begin, sx_size count, sx_size parts, int n_threads,
                              sx_accum *acc);

/* out (n x k, strided, X's type) = logits, probabilities or log-probabilities,
 * or out (n, strided by out_s0, sx_size) = the classes, from the same double
 * logits the probabilities come from, or (the pairs: sigmoid link, k = 1)
 * out (n x 2) = the two classes' probabilities or their logs; rows in parts
 * fixed by n, on up to n_threads threads. */
int sx_forward_f32(const sx_view *X, const sx_params *p, sx_link link, sx_output what,
                   char *out, sx_size out_s0, sx_size out_s1, int n_threads);
int sx_forward_f64(const sx_view *X, const sx_params *p, sx_link link, sx_output what,
                   char *out, sx_size out_s0, sx_size out_s1, int n_threads);

/* out (n x k) = link applied row-wise to Z (n x k); out may be Z itself (the
 * same memory with the same strides). */
int sx_activate_f32(const sx_view *Z, sx_link link, int log_output,
                    char *out, sx_size out_s0, sx_size out_s1);
int sx_activate_f64(const sx_view *Z, sx_link link, int log_output,
                    char *out, sx_size out_s0, sx_size out_s1);

/*
 * One epoch of minibatch SGD on the objective above, in place on the
 * C-contiguous W (k x m) and b (k):
 *     W <- W - lr * (g_W(batch) + alpha W),  b <- b - lr * g_b(batch)
 * (b stays as it is unless fit_intercept)
 * where g is the batch's weighted gradient sum divided by its row count times
 * mean_weight, the mean sample weight of the whole data (1 without weights;
 * of all chunks when d is one chunk of it): an unbiased estimate of the
 * objective's weighted mean gradient (the batch's mean gradient without
 * weights; a row's weight counts at any batch size).  Rows are visited in
 * a pseudo-random order drawn from seed (a bijection on [0, n), no n-sized
 * index array) when shuffle is set, else in order.  *mean_loss receives the
 * mean over batches of each batch's estimate of the objective before its
 * step (its weighted loss sum over the same divisor, plus the penalty).
 */
int sx_sgd_epoch_f32(const sx_data *d, char *W, char *b, sx_size k,
                     double lr, double alpha, double mean_weight, sx_size batch_size,
                     int shuffle, int fit_intercept, int n_threads, uint64_t seed,
                     double *mean_loss);
int sx_sgd_epoch_f64(const sx_data *d, char *W, char *b, sx_size k,
                     double lr, double alpha, double mean_weight, sx_size batch_size,
                     int shuffle, int fit_intercept, int n_threads, uint64_t seed,
                     double *mean_loss);

/* Row permutation used by the SGD epoch: position -> row, a bijection on [0, n). */
typedef struct {
    uint64_t n, mask, keys[4];
    unsigned half_bits;
} sx_permutation;

void sx_permutation_init(sx_permutation *perm, uint64_t n, uint64_t seed);
uint64_t sx_permutation_apply(const sx_permutation *perm, uint64_t position);


#endif /* SIGMAX_KERNELS_H */
