/*
 * Small dense linear algebra for the solver (pure C, no Python.h): the dot
 * product of the two-loop recursion, and the inverse of the symmetric
 * positive definite block of L-BFGS's preconditioner.  Matrices are
 * row-major, q x q.
 */
#ifndef SIGMAX_LINALG_H
#define SIGMAX_LINALG_H

#include "kernels.h"

/* a'b, in four interleaved partial sums. */
double sx_dot(const double *a, const double *b, sx_size n);

/*
 * A = A^{-1} in place for a symmetric positive definite A (only its lower
 * triangle is read; the whole inverse is written), through its Cholesky
 * factor.  Returns 0; i + 1 when the pivot of row i is not positive (A is
 * not positive definite in floating point, and is left partly overwritten);
 * q + 1 when the inverse overflowed (A too close to singular; A is then
 * overwritten); or -1 when the scratch of q doubles cannot be allocated (A
 * unchanged).
 */
sx_size sx_spd_inverse(double *A, sx_size q);

#endif /* SIGMAX_LINALG_H */
