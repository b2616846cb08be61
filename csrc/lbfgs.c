/* L-BFGS and its line search: see lbfgs.h for the method and its contract. */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "lbfgs.h"
#include "linalg.h"

#define C1 1e-4
#define C2 0.9
#define MAX_LINE_EVALS 40

/* v = h0 v; nothing when h0 is the identity.  Returns SX_OK or h0's error. */
static int apply_h0(const sx_lbfgs_options *opt, void *ctx, double *v)
{
    return opt->h0 != NULL ? opt->h0(ctx, v) : SX_OK;
}

/* One point on the search line x + a d: value, gradient and slope. */
typedef struct {
    double a, f, slope;
} line_point;

typedef struct {
    sx_size dim;
    const double *x, *d;
    double *xt, *gt;         /* trial point and its gradient */
    sx_objective fun;
    void *ctx;
    sx_size evals;
} line_search;

/* Evaluates at step a; *ok = 0 when the objective overflowed there. */
static int line_eval(line_search *ls, double a, line_point *pt, int *ok)
{
    for (sx_size i = 0; i < ls->dim; i++) {
        ls->xt[i] = ls->x[i] + a * ls->d[i];
    }
    ls->evals++;
    pt->a = a;
    int status = ls->fun(ls->ctx, ls->xt, &pt->f, ls->gt);
    *ok = status == SX_OK && isfinite(pt->f);
    if (status == SX_ERR_NONFINITE || (status == SX_OK && !*ok)) {
        pt->f = INFINITY;
        pt->slope = NAN;
        return SX_OK;
    }
    pt->slope = status == SX_OK ? sx_dot(ls->gt, ls->d, ls->dim) : NAN;
    return status;
}

/* Minimizer of the cubic through (lo, hi) with their values and slopes, kept
 * inside the middle 80% of the interval; bisection when the cubic is useless. */
static double cubic_step(const line_point *lo, const line_point *hi)
{
    const double width = hi->a - lo->a;
    double a = lo->a + 0.5 * width;
    if (isfinite(hi->f) && isfinite(hi->slope)) {
        double d1 = lo->slope + hi->slope - 3.0 * (lo->f - hi->f) / (lo->a - hi->a);
        double disc = d1 * d1 - lo->slope * hi->slope;
        if (disc >= 0.0) {
            double d2 = copysign(sqrt(disc), hi->a - lo->a);
            double denom = hi->slope - lo->slope + 2.0 * d2;
            if (denom != 0.0) {
                double c = hi->a - (hi->a - lo->a) * (hi->slope + d2 - d1) / denom;
                if (isfinite(c)) {
                    a = c;
                }
            }
        }
    }
    const double lo_b = fmin(lo->a, hi->a) + 0.1 * fabs(width);
    const double hi_b = fmax(lo->a, hi->a) - 0.1 * fabs(width);
    return fmin(fmax(a, lo_b), hi_b);
}

/*
 * Strong-Wolfe step along d from (f0, slope0 < 0), starting at a0.  On
 * success *found = 1 and xt, gt hold the accepted point; *best holds it.
 */
static int wolfe_search(line_search *ls, double f0, double slope0, double a0,
                        line_point *best, int *found)
{
    int status = SX_OK, ok;
    line_point prev = {0.0, f0, slope0}, cur, lo, hi;
    *found = 0;
    double a = a0;
    for (int i = 0; i < MAX_LINE_EVALS / 2; i++) {
        if ((status = line_eval(ls, a, &cur, &ok)) != SX_OK) {
            return status;
        }
        if (!ok || cur.f > f0 + C1 * a * slope0 || (i > 0 && cur.f >= prev.f)) {
            lo = prev;
            hi = cur;
            goto zoom;
        }
        if (fabs(cur.slope) <= -C2 * slope0) {
            *best = cur;
            *found = 1;
            return SX_OK;
        }
        if (cur.slope >= 0.0) {
            lo = cur;
            hi = prev;
            goto zoom;
        }
        prev = cur;
        a *= 2.0;
    }
    return SX_OK;
zoom:
    for (int j = 0; j < MAX_LINE_EVALS / 2; j++) {
        a = cubic_step(&lo, &hi);
        if ((status = line_eval(ls, a, &cur, &ok)) != SX_OK) {
            return status;
        }
        if (!ok || cur.f > f0 + C1 * a * slope0 || cur.f >= lo.f) {
            hi = cur;
        }
        else {
            if (fabs(cur.slope) <= -C2 * slope0) {
                *best = cur;
                *found = 1;
                return SX_OK;
            }
            if (cur.slope * (hi.a - lo.a) >= 0.0) {
                hi = lo;
            }
            lo = cur;
        }
        if (fabs(hi.a - lo.a) <= 1e-16 * fmax(1.0, fabs(lo.a))) {
            break;
        }
    }
    /* No Wolfe point; accept the best sufficient decrease seen, if any. */
    if (lo.a > 0.0 && lo.f < f0 + C1 * lo.a * slope0) {
        if ((status = line_eval(ls, lo.a, &cur, &ok)) != SX_OK) {
            return status;
        }
        if (ok) {
            *best = cur;
            *found = 1;
        }
    }
    return SX_OK;
}

int sx_lbfgs(sx_size dim, double *x, sx_objective fun, sx_iteration_hook hook, void *ctx,
             const sx_lbfgs_options *opt, sx_lbfgs_result *res)
{
    int status = SX_OK;
    const sx_size mem = opt->memory > 0 ? opt->memory : 1;
    /* g, d, xt, gt, h (h0 times the newest y), then mem pairs (s, y); a memory
     * whose byte count would not fit in a size_t is out of memory */
    const size_t per_dim = dim > 0 ? SIZE_MAX / sizeof(double) / (size_t)dim : 0;
    const int fits = per_dim >= 5 && (size_t)mem <= (per_dim - 5) / 2;
    double *work = fits ? malloc((size_t)(5 + 2 * mem) * (size_t)dim * sizeof(double)) : NULL;
    double *rho = fits ? malloc((size_t)mem * sizeof(double)) : NULL;
    double *coef = fits ? malloc((size_t)mem * sizeof(double)) : NULL;
    double f = 0.0;
    memset(res, 0, sizeof(*res));
    if (work == NULL || rho == NULL || coef == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    double *g = work, *d = g + dim, *xt = d + dim, *gt = xt + dim, *h = gt + dim;
    double *S = h + dim, *Y = S + mem * dim;
    sx_size stored = 0, newest = -1;

    res->n_evals = 1;
    if ((status = fun(ctx, x, &f, g)) != SX_OK) {
        goto done;
    }
    double gnorm = sqrt(sx_dot(g, g, dim));
    if (!isfinite(f) || !isfinite(gnorm)) {  /* no descent from a point without a gradient */
        status = SX_ERR_NONFINITE;
        goto done;
    }
    res->gnorm0 = gnorm;
    const double target = opt->tol * fmax(1.0, gnorm);
    res->stop = SX_LBFGS_MAX_ITER;

    for (sx_size iter = 0;; iter++) {
        res->f = f;
        res->gnorm = gnorm;
        res->n_iter = iter;
        if (gnorm <= target) {
            res->stop = SX_LBFGS_CONVERGED;
            break;
        }
        if (iter >= opt->max_iter) {
            break;
        }
        /* d = -H g by the two-loop recursion, H_0 = gamma h0 */
        for (sx_size i = 0; i < dim; i++) {
            d[i] = -g[i];
        }
        for (sx_size j = 0; j < stored; j++) {
            sx_size slot = (newest - j + mem) % mem;
            coef[slot] = rho[slot] * sx_dot(S + slot * dim, d, dim);
            for (sx_size i = 0; i < dim; i++) {
                d[i] -= coef[slot] * Y[slot * dim + i];
            }
        }
        if ((status = apply_h0(opt, ctx, d)) != SX_OK) {
            goto done;
        }
        if (stored > 0) {
            const double *yn = Y + newest * dim;
            memcpy(h, yn, (size_t)dim * sizeof(double));
            if ((status = apply_h0(opt, ctx, h)) != SX_OK) {
                goto done;
            }
            double gamma = 1.0 / (rho[newest] * sx_dot(yn, h, dim));
            for (sx_size i = 0; i < dim; i++) {
                d[i] *= gamma;
            }
        }
        for (sx_size j = stored - 1; j >= 0; j--) {
            sx_size slot = (newest - j + mem) % mem;
            double beta = rho[slot] * sx_dot(Y + slot * dim, d, dim);
            for (sx_size i = 0; i < dim; i++) {
                d[i] += (coef[slot] - beta) * S[slot * dim + i];
            }
        }
        double slope = sx_dot(g, d, dim);
        if (!(slope < 0.0)) {  /* not a descent direction: restart from -h0 g */
            stored = 0;
            for (sx_size i = 0; i < dim; i++) {
                d[i] = -g[i];
            }
            if ((status = apply_h0(opt, ctx, d)) != SX_OK) {
                goto done;
            }
            slope = sx_dot(g, d, dim);
            if (!(slope < 0.0)) {  /* -h0 g rounds to no descent direction either */
                res->stop = SX_LBFGS_NO_PROGRESS;
                break;
            }
        }
        line_search ls = {dim, x, d, xt, gt, fun, ctx, 0};
        line_point step;
        int found;
        const double a0 = stored > 0 ? 1.0 : fmin(1.0, 1.0 / sqrt(sx_dot(d, d, dim)));
        status = wolfe_search(&ls, f, slope, a0, &step, &found);
        res->n_evals += ls.evals;
        if (status != SX_OK) {
            goto done;
        }
        /* a step too short to change x (every a d_i below half an ulp of x_i) would
         * leave x, g and d as they are: the same step again at every iteration */
        if (!found || memcmp(xt, x, (size_t)dim * sizeof(double)) == 0) {
            res->stop = SX_LBFGS_NO_PROGRESS;
            break;
        }
        /* xt, gt hold the accepted point: record (s, y) and move */
        sx_size slot = (newest + 1) % mem;
        double *s = S + slot * dim, *yv = Y + slot * dim;
        for (sx_size i = 0; i < dim; i++) {
            s[i] = xt[i] - x[i];
            yv[i] = gt[i] - g[i];
        }
        double ys = sx_dot(yv, s, dim);
        if (ys > 1e-12 * sx_dot(yv, yv, dim)) {
            rho[slot] = 1.0 / ys;
            newest = slot;
            if (stored < mem) {
                stored++;
            }
        }
        else if (stored == mem) {
            stored--;  /* the rejected pair overwrote the oldest one */
        }
        memcpy(x, xt, (size_t)dim * sizeof(double));
        memcpy(g, gt, (size_t)dim * sizeof(double));
        f = step.f;
        gnorm = sqrt(sx_dot(g, g, dim));
        if (hook && hook(ctx, iter + 1, f, gnorm)) {
            res->f = f;
            res->gnorm = gnorm;
            res->n_iter = iter + 1;
            res->stop = SX_LBFGS_STOPPED;
            break;
        }
    }
done:
    free(work);
    free(rho);
    free(coef);
    return status;
}
