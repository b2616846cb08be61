/* Small dense linear algebra for the solver: see linalg.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

/* Four independent chains of adds instead of one: the two-loop recursion
 * (4 * memory dot products of size dim per iteration) and the Cholesky
 * factorization are then not bound by the latency of one add. */
double sx_dot(const double *a, const double *b, sx_size n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    sx_size i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) {
        s0 += a[i] * b[i];
    }
    return (s0 + s1) + (s2 + s3);
}

/* y += a x over n entries that do not overlap. */
static inline void add_scaled(double *restrict y, double a, const double *restrict x, sx_size n)
{
    for (sx_size i = 0; i < n; i++) {
        y[i] += a * x[i];
    }
}

/* The lower triangle of A becomes L with A = L L' (row by row,
 * Cholesky-Banachiewicz: every inner product runs along two rows of L).
 * Returns 0, or i + 1 when the pivot of row i is not positive. */
static sx_size cholesky(double *A, sx_size q)
{
    for (sx_size i = 0; i < q; i++) {
        double *li = A + i * q;
        for (sx_size j = 0; j < i; j++) {
            const double *lj = A + j * q;
            li[j] = (li[j] - sx_dot(li, lj, j)) / lj[j];
        }
        const double pivot = li[i] - sx_dot(li, li, i);
        if (!(pivot > 0.0) || !isfinite(pivot)) {
            return i + 1;
        }
        li[i] = sqrt(pivot);
    }
    return 0;
}

/*
 * From L in the lower triangle of A: first N = L^{-1} in place (row i of N is
 * -(1 / l_ii) sum_{t<i} l_it N_t plus 1 / l_ii on the diagonal: row i of L is
 * read whole into the sums before it is overwritten), then A^{-1} = N' N in
 * place (its row a below the diagonal is sum_{t>=a} n_ta N_t, which reads
 * only rows a and later of N, still intact), then the upper triangle by
 * symmetry.  Every inner loop runs along rows; tmp holds one row.
 */
static void inverse_from_cholesky(double *A, sx_size q, double *tmp)
{
    for (sx_size i = 0; i < q; i++) {
        double *li = A + i * q;
        memset(tmp, 0, (size_t)i * sizeof(double));
        for (sx_size t = 0; t < i; t++) {
            add_scaled(tmp, li[t], A + t * q, t + 1);
        }
        const double inv = 1.0 / li[i];
        for (sx_size j = 0; j < i; j++) {
            li[j] = -tmp[j] * inv;
        }
        li[i] = inv;
    }
    for (sx_size a = 0; a < q; a++) {
        memset(tmp, 0, (size_t)(a + 1) * sizeof(double));
        for (sx_size t = a; t < q; t++) {
            add_scaled(tmp, A[t * q + a], A + t * q, a + 1);
        }
        memcpy(A + a * q, tmp, (size_t)(a + 1) * sizeof(double));
    }
    for (sx_size a = 0; a < q; a++) {
        for (sx_size b = a + 1; b < q; b++) {
            A[a * q + b] = A[b * q + a];
        }
    }
}

sx_size sx_spd_inverse(double *A, sx_size q)
{
    double *tmp = malloc((size_t)(q > 0 ? q : 1) * sizeof(double));
    sx_size status = -1;
    if (tmp == NULL) {
        goto done;
    }
    if ((status = cholesky(A, q)) != 0) {
        goto done;
    }
    inverse_from_cholesky(A, q, tmp);
    for (sx_size i = 0; i < q * q && status == 0; i++) {
        status = isfinite(A[i]) ? 0 : q + 1;  /* tiny pivots: the inverse overflowed */
    }
done:
    free(tmp);
    return status;
}
