/*
 * L-BFGS with a strong-Wolfe line search, on a smooth objective given only
 * through a callback that returns its value and gradient.  Pure C: no
 * Python.h, O(memory * dim) scratch.
 *
 *   minimize f(x), x in R^dim;  stop when ||grad f(x)||_2 <= tol * max(1, ||grad f(x_0)||_2)
 *
 * Directions come from the two-loop recursion over the last `memory` pairs
 * (s, y) = (x_{t+1} - x_t, g_{t+1} - g_t), with the initial inverse Hessian
 * H_0 = gamma h0, gamma = s'y / y' h0 y of the newest pair, for a symmetric
 * positive definite map h0 given by the caller (the identity when not given:
 * the usual scaled identity).  An h0 close to the inverse of the Hessian (a
 * preconditioner) makes the problem better conditioned in the directions the
 * pairs have not seen yet.  Steps satisfy the strong Wolfe
 * conditions (c1 = 1e-4, c2 = 0.9) found by bracketing and cubic-interpolation
 * zoom (Nocedal & Wright, Numerical Optimization, algorithms 3.5, 3.6, 7.4).
 */
#ifndef SIGMAX_LBFGS_H
#define SIGMAX_LBFGS_H

#include "kernels.h"

/* f and g at x; returns SX_OK, or SX_ERR_NONFINITE (treated as "step too
 * long" inside a line search, as an error at the starting point), or another error. */
typedef int (*sx_objective)(void *ctx, const double *x, double *f, double *g);

/* Called after each iteration; a non-zero return stops the solver (SX_LBFGS_STOPPED). */
typedef int (*sx_iteration_hook)(void *ctx, sx_size iter, double f, double gnorm);

/* v = h0 v in place, for a fixed symmetric positive definite map h0; returns
 * SX_OK or an error, which stops the solver. */
typedef int (*sx_linear_map)(void *ctx, double *v);

typedef struct {
    sx_size max_iter;
    double tol;
    sx_size memory;
    sx_linear_map h0;  /* H_0 up to scale, called with the objective's ctx; NULL: the identity */
} sx_lbfgs_options;

typedef enum {
    SX_LBFGS_CONVERGED = 0,
    SX_LBFGS_MAX_ITER = 1,
    SX_LBFGS_NO_PROGRESS = 2, /* no decrease, or a step that leaves x as it is (rounding limit) */
    SX_LBFGS_STOPPED = 3      /* the hook asked to stop */
} sx_lbfgs_stop;

typedef struct {
    sx_size n_iter, n_evals;
    double f, gnorm, gnorm0;  /* final value, final and initial gradient norms */
    sx_lbfgs_stop stop;
} sx_lbfgs_result;

/* Minimizes from x (updated in place).  Returns SX_OK or the callback's error code. */
int sx_lbfgs(sx_size dim, double *x, sx_objective fun, sx_iteration_hook hook, void *ctx,
             const sx_lbfgs_options *opt, sx_lbfgs_result *res);

#endif /* SIGMAX_LBFGS_H */
