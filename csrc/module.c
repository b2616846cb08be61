/*
 * sigmax._core: the CPython glue around the kernels.
 *
 * Each entry point checks that its arguments are arrays of the expected
 * dtype, rank, shape, alignment and byte order (the Python layer converts
 * user input into that form and gives the friendly messages; these checks
 * make the private module safe on its own), dispatches on float32/float64,
 * and runs the kernel with the GIL released.  Arrays are borrowed, never
 * copied: the kernels read them through their strides.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <numpy/arrayobject.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(_OPENMP) && !defined(_WIN32)
#include <pthread.h>
#define SX_FORK_GUARD 1
#endif

#include "kernels.h"
#include "lbfgs.h"
#include "linalg.h"

typedef char sx_size_is_npy_intp[(sizeof(sx_size) == sizeof(npy_intp)) ? 1 : -1];

/* ---- argument checks ---------------------------------------------------- */

/*
 * One more reference to obj and, when it is an array viewing another's data,
 * to each base down to the owner of the data.  NumPy refuses to resize an
 * array with more than two references (its holder's and the resize call's), so while
 * a call holds its arrays (hold_args; lbfgs's h0 as well), no other thread
 * (while the GIL is released) and no Python code the call runs (the lbfgs
 * callback, an h0's __array__) can resize one and free the data the kernels
 * hold pointers into, nor the base a view's data lies in.
 */
static void
hold(PyObject *obj)
{
    Py_INCREF(obj);
    while (PyArray_Check(obj) && PyArray_BASE((PyArrayObject *)obj) != NULL) {
        obj = PyArray_BASE((PyArrayObject *)obj);
        Py_INCREF(obj);
    }
}

/* Undo hold(obj): an array's base chain cannot change while it is held. */
static void
release(PyObject *obj)
{
    while (obj != NULL) {
        PyObject *base = PyArray_Check(obj) ? PyArray_BASE((PyArrayObject *)obj) : NULL;
        Py_DECREF(obj);
        obj = base;
    }
}

/* hold each of an entry point's arguments, from the parse until it returns */
static void
hold_args(PyObject *args)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++) {
        hold(PyTuple_GET_ITEM(args, i));
    }
}

static void
release_args(PyObject *args)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++) {
        release(PyTuple_GET_ITEM(args, i));
    }
}

/* obj must be an aligned, native-order ndarray of typenum and rank ndim. */
static PyArrayObject *
check_array(PyObject *obj, const char *name, int typenum, int ndim, int writeable)
{
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy.ndarray", name);
        return NULL;
    }
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (PyArray_TYPE(arr) != typenum) {
        PyErr_Format(PyExc_TypeError, "%s has the wrong dtype for this call", name);
        return NULL;
    }
    if (PyArray_NDIM(arr) != ndim) {
        PyErr_Format(PyExc_ValueError, "%s must be %d-dimensional", name, ndim);
        return NULL;
    }
    if (!PyArray_ISALIGNED(arr) || !PyArray_ISNOTSWAPPED(arr)) {
        PyErr_Format(PyExc_ValueError, "%s must be aligned and in native byte order", name);
        return NULL;
    }
    if (writeable && !PyArray_ISWRITEABLE(arr)) {
        PyErr_Format(PyExc_ValueError, "%s must be writeable", name);
        return NULL;
    }
    return arr;
}

static int
check_dim(PyArrayObject *arr, const char *name, int axis, npy_intp expected)
{
    if (PyArray_DIM(arr, axis) != expected) {
        PyErr_Format(PyExc_ValueError, "%s has %zd entries along axis %d, expected %zd",
                     name, (Py_ssize_t)PyArray_DIM(arr, axis), axis, (Py_ssize_t)expected);
        return -1;
    }
    return 0;
}

static sx_view
view_of(PyArrayObject *arr)
{
    sx_view v;
    v.data = PyArray_BYTES(arr);
    v.rows = PyArray_DIM(arr, 0);
    v.cols = PyArray_NDIM(arr) > 1 ? PyArray_DIM(arr, 1) : 1;
    v.s0 = PyArray_STRIDE(arr, 0);
    v.s1 = PyArray_NDIM(arr) > 1 ? PyArray_STRIDE(arr, 1) : 0;
    return v;
}

/* One element of a float32 or float64 array, read or written as a double. */
static double
load_value(int typenum, const char *src)
{
    return typenum == NPY_FLOAT32 ? (double)*(const float *)src : *(const double *)src;
}

static void
store_value(int typenum, char *dst, double value)
{
    if (typenum == NPY_FLOAT32) {
        *(float *)dst = (float)value;
    }
    else {
        *(double *)dst = value;
    }
}

/* Whether value is finite once stored in an array of typenum (float32 may overflow). */
static int
finite_as(int typenum, double value)
{
    return isfinite(typenum == NPY_FLOAT32 ? (double)(float)value : value);
}

static int
parse_link_loss(int link, int loss)
{
    if ((link != SX_LINK_SOFTMAX && link != SX_LINK_SIGMOID) ||
        (loss != SX_LOSS_LOG && loss != SX_LOSS_MSE)) {
        PyErr_SetString(PyExc_ValueError, "unknown link or loss code");
        return -1;
    }
    return 0;
}

/* W and b that a solver updates in place (already checked by build_problem). */
static int
check_trained_params(PyObject *Wo, PyObject *bo)
{
    PyArrayObject *W = (PyArrayObject *)Wo, *b = (PyArrayObject *)bo;
    if (!PyArray_IS_C_CONTIGUOUS(W) || !PyArray_IS_C_CONTIGUOUS(b) ||
        !PyArray_ISWRITEABLE(W) || !PyArray_ISWRITEABLE(b)) {
        PyErr_SetString(PyExc_ValueError, "W and b must be writeable and C-contiguous");
        return -1;
    }
    return 0;
}

/* Whether v (of typenum) holds a NaN or an infinity; if so, where the first one is. */
static int
find_nonfinite(const sx_view *v, int typenum, sx_size *row, sx_size *col)
{
    for (sx_size i = 0; i < v->rows; i++) {
        for (sx_size j = 0; j < v->cols; j++) {
            if (!isfinite(load_value(typenum, v->data + i * v->s0 + j * v->s1))) {
                *row = i;
                *col = j;
                return 1;
            }
        }
    }
    return 0;
}

/*
 * 0 for SX_OK, else -1 with the exception set.  A kernel reports
 * SX_ERR_NONFINITE for a NaN or an infinity among the values it computed from
 * its input (named name, of typenum).  This then scans the input, on the
 * error path only, to say which: the input's first NaN or infinity or, when
 * the input is finite (or is NULL: not scanned), `otherwise`.
 */
static int
raise_status(int status, const sx_view *input, int typenum, const char *name,
             const char *otherwise)
{
    sx_size row, col;
    if (status == SX_ERR_NONFINITE && input && find_nonfinite(input, typenum, &row, &col)) {
        PyErr_Format(PyExc_ValueError, "%s contains NaN or infinity (the first at row %zd, "
                     "column %zd)", name, (Py_ssize_t)row, (Py_ssize_t)col);
    }
    else if (status == SX_ERR_NONFINITE && input) {
        PyErr_Format(PyExc_ValueError, "%s is finite, but %s", name, otherwise);
    }
    else if (status == SX_ERR_NONFINITE) {
        PyErr_SetString(PyExc_ValueError, otherwise);
    }
    else if (status == SX_ERR_NOMEM) {
        PyErr_NoMemory();
    }
    else if (status == SX_ERR_LABEL) {
        PyErr_SetString(PyExc_ValueError, "y changed during the call: one of its class indices "
                        "left the range checked at the start (did another thread write y?)");
    }
    return status == SX_OK ? 0 : -1;
}

/* raise_status's `otherwise` for the kernels that compute X W^T + b ... */
#define SX_LOGITS_NOT_FINITE                                                                   \
    "the logits X W^T + b are not: W or b holds NaN or infinity, or a logit overflowed its "    \
    "dtype's range (X or W too large)"
/* ... and from them the objective and its gradient */
#define SX_OBJECTIVE_NOT_FINITE                                                                \
    "the logits X W^T + b, the objective or its gradient are not: a value overflowed (X, W "   \
    "or alpha too large), or W, b or the targets hold NaN or infinity"

/*
 * The model's arrays: X (n x m, float32 or float64: *typenum), W (k x m,
 * C-contiguous, k >= 1) and b (k), all of X's dtype.
 */
static int
check_model(PyObject *Xo, PyObject *Wo, PyObject *bo, int *typenum, PyArrayObject **X,
            PyArrayObject **W, PyArrayObject **b)
{
    if (!PyArray_Check(Xo)) {
        PyErr_SetString(PyExc_TypeError, "X must be a numpy.ndarray");
        return -1;
    }
    *typenum = PyArray_TYPE((PyArrayObject *)Xo);
    if (*typenum != NPY_FLOAT32 && *typenum != NPY_FLOAT64) {
        PyErr_SetString(PyExc_TypeError, "X must be float32 or float64");
        return -1;
    }
    if (!(*X = check_array(Xo, "X", *typenum, 2, 0)) ||
        !(*W = check_array(Wo, "W", *typenum, 2, 0)) ||
        !(*b = check_array(bo, "b", *typenum, 1, 0))) {
        return -1;
    }
    const npy_intp m = PyArray_DIM(*X, 1), k = PyArray_DIM(*W, 0);
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "W must have at least one row");
        return -1;
    }
    if (check_dim(*W, "W", 1, m) < 0 || check_dim(*b, "b", 0, k) < 0) {
        return -1;
    }
    if (!PyArray_IS_C_CONTIGUOUS(*W)) {
        PyErr_SetString(PyExc_ValueError, "W must be C-contiguous");
        return -1;
    }
    return 0;
}

/*
 * Fill data and params from (X, y, Y, sw, W, b), all of X's dtype except y
 * (intp).  Exactly one of y, Y is not None.  Checks every shape and that the
 * class indices lie in range.
 */
static int
build_problem(PyObject *Xo, PyObject *yo, PyObject *Yo, PyObject *swo,
              PyObject *Wo, PyObject *bo, int link, int loss,
              sx_data *d, sx_params *p, int *typenum)
{
    PyArrayObject *X, *W, *b;
    if (parse_link_loss(link, loss) < 0 || check_model(Xo, Wo, bo, typenum, &X, &W, &b) < 0) {
        return -1;
    }
    const npy_intp n = PyArray_DIM(X, 0), k = PyArray_DIM(W, 0);
    memset(d, 0, sizeof(*d));
    d->X = view_of(X);
    d->link = (sx_link)link;
    d->loss = (sx_loss)loss;
    p->W = view_of(W);
    p->b = PyArray_BYTES(b);
    p->b_stride = PyArray_STRIDE(b, 0);

    if ((yo == Py_None) == (Yo == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "exactly one of y and Y must be given");
        return -1;
    }
    if (yo != Py_None) {
        PyArrayObject *y = check_array(yo, "y", NPY_INTP, 1, 0);
        if (!y || check_dim(y, "y", 0, n) < 0) {
            return -1;
        }
        const npy_intp ncls = (link == SX_LINK_SIGMOID && k == 1) ? 2 : k;
        const char *yd = PyArray_BYTES(y);
        const npy_intp ys = PyArray_STRIDE(y, 0);
        npy_intp bad = -1;
        for (npy_intp i = 0; i < n; i++) {
            npy_intp c = *(const npy_intp *)(yd + i * ys);
            if (c < 0 || c >= ncls) {
                bad = i;
                break;
            }
        }
        if (bad >= 0) {
            PyErr_Format(PyExc_ValueError, "y[%zd] is not a class index in [0, %zd)",
                         (Py_ssize_t)bad, (Py_ssize_t)ncls);
            return -1;
        }
        d->y_index = yd;
        d->y_stride = ys;
    }
    else {
        PyArrayObject *Y = check_array(Yo, "Y", *typenum, 2, 0);
        if (!Y || check_dim(Y, "Y", 0, n) < 0 || check_dim(Y, "Y", 1, k) < 0) {
            return -1;
        }
        d->Y = view_of(Y);
    }
    if (swo != Py_None) {
        PyArrayObject *sw = check_array(swo, "sample_weight", *typenum, 1, 0);
        if (!sw || check_dim(sw, "sample_weight", 0, n) < 0) {
            return -1;
        }
        d->sw = PyArray_BYTES(sw);
        d->sw_stride = PyArray_STRIDE(sw, 0);
        double total = 0.0;
        for (npy_intp i = 0; i < n; i++) {
            const double s = load_value(*typenum, d->sw + i * d->sw_stride);
            if (!(s >= 0.0) || !isfinite(s)) {
                PyErr_Format(PyExc_ValueError, "sample_weight[%zd] is not a finite "
                             "value >= 0", (Py_ssize_t)i);
                return -1;
            }
            total += s;
        }
        if (n > 0 && !(total >= DBL_MIN && isfinite(total))) {  /* 1 / total finite */
            PyErr_SetString(PyExc_ValueError, "the sample weights must have a finite sum of "
                            "at least DBL_MIN (2.2e-308)");
            return -1;
        }
    }
    return 0;
}

#ifdef SX_FORK_GUARD
/*
 * OpenMP's (libgomp's) worker threads do not survive fork(): in a child forked
 * after the process ran a team of threads, the next team would wait for them
 * forever.  The team may have been another library's on the same runtime
 * (PyTorch's, say), which sigmax cannot see, so every forked child runs the
 * kernels on its own thread.
 */
static volatile int forked = 0;

static void
forked_child(void)
{
    forked = 1;
}
#endif

/* n_threads, or 1 in a forked child (see forked_child): every OpenMP team
 * sigmax starts takes its size from here. */
static int
fork_safe_threads(int n_threads)
{
#ifdef SX_FORK_GUARD
    return forked ? 1 : n_threads;
#else
    return n_threads;
#endif
}

/*
 * n_threads as the kernels take it: at least 1 (else an error), and at most
 * the processors, since more threads would only wait (and the results do
 * not depend on the count); 1 in a forked child.
 */
static int
check_threads(int *n_threads)
{
    if (*n_threads < 1) {
        PyErr_SetString(PyExc_ValueError, "n_threads must be at least 1");
        return -1;
    }
#ifdef _OPENMP
    const int procs = omp_get_num_procs();
    *n_threads = *n_threads < procs ? *n_threads : procs;
#else
    *n_threads = 1;
#endif
    *n_threads = fork_safe_threads(*n_threads);
    return 0;
}

/*
 * Full-data loss (and gradient sums).  The rows are cut into a number of
 * parts fixed by n alone (at least SX_PART_MIN_ROWS rows each, at most
 * SX_MAX_PARTS), so any n_threads gives the same sums.
 */
static int
loss_grad_full(int typenum, const sx_data *d, const sx_params *p, int n_threads, sx_accum *acc)
{
    sx_size parts = d->X.rows / SX_PART_MIN_ROWS;
    parts = parts < 1 ? 1 : (parts > SX_MAX_PARTS ? SX_MAX_PARTS : parts);
    return typenum == NPY_FLOAT32
               ? sx_loss_grad_parallel_f32(d, p, NULL, 0, d->X.rows, parts, n_threads, acc)
               : sx_loss_grad_parallel_f64(d, p, NULL, 0, d->X.rows, parts, n_threads, acc);
}

/* ---- entry points ------------------------------------------------------- */

PyDoc_STRVAR(loss_grad_doc,
"loss_grad(X, y, Y, sample_weight, W, b, link, loss, alpha, grad_W, grad_b, n_threads)\n"
"--\n\n"
"Objective sum_i s_i l_i / sum_i s_i + alpha/2 ||W||^2 and, when grad_W and\n"
"grad_b are arrays, its gradient written into them.  Private: use sigmax.loss_grad.");

static PyObject *
core_loss_grad(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *Xo, *yo, *Yo, *swo, *Wo, *bo, *gWo, *gbo;
    int link, loss, n_threads, typenum, status;
    double alpha;
    sx_data d;
    sx_params p;
    double *grad = NULL;
    PyObject *result = NULL;

    if (!PyArg_ParseTuple(args, "OOOOOOiidOOi:loss_grad", &Xo, &yo, &Yo, &swo, &Wo, &bo,
                          &link, &loss, &alpha, &gWo, &gbo, &n_threads)) {
        return NULL;
    }
    hold_args(args);
    if (build_problem(Xo, yo, Yo, swo, Wo, bo, link, loss, &d, &p, &typenum) < 0 ||
        check_threads(&n_threads) < 0) {
        goto cleanup;
    }
    if (!isfinite(alpha) || alpha < 0) {
        PyErr_SetString(PyExc_ValueError, "alpha must be finite and >= 0");
        goto cleanup;
    }
    if (d.X.rows < 1) {
        PyErr_SetString(PyExc_ValueError, "X must have at least one row");
        goto cleanup;
    }
    const sx_size k = p.W.rows, m = d.X.cols;
    PyArrayObject *gW = NULL, *gb = NULL;
    if ((gWo == Py_None) != (gbo == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "grad_W and grad_b go together");
        goto cleanup;
    }
    if (gWo != Py_None) {
        if (!(gW = check_array(gWo, "grad_W", typenum, 2, 1)) ||
            !(gb = check_array(gbo, "grad_b", typenum, 1, 1)) ||
            check_dim(gW, "grad_W", 0, k) < 0 || check_dim(gW, "grad_W", 1, m) < 0 ||
            check_dim(gb, "grad_b", 0, k) < 0) {
            goto cleanup;
        }
        grad = calloc((size_t)(k * m + k), sizeof(double));
        if (grad == NULL) {
            PyErr_NoMemory();
            goto cleanup;
        }
    }
    sx_accum acc = {0.0, 0.0, grad, grad ? grad + k * m : NULL};
    double wnorm2 = 0.0, objective = 0.0;

    Py_BEGIN_ALLOW_THREADS
    status = loss_grad_full(typenum, &d, &p, n_threads, &acc);
    if (status == SX_OK) {  /* acc.weight >= DBL_MIN (build_problem) */
        const double inv = 1.0 / acc.weight;
        int finite = 1;  /* the penalty's terms can overflow where the sums did not */
        for (sx_size c = 0; c < k; c++) {
            for (sx_size j = 0; j < m; j++) {
                const double wv = load_value(typenum, p.W.data + c * p.W.s0 + j * p.W.s1);
                wnorm2 += wv * wv;
                if (grad) {
                    const double g = grad[c * m + j] * inv + alpha * wv;
                    store_value(typenum, PyArray_BYTES(gW) + c * PyArray_STRIDE(gW, 0) +
                                             j * PyArray_STRIDE(gW, 1), g);
                    finite = finite && finite_as(typenum, g);
                }
            }
            if (grad) {
                const double g = grad[k * m + c] * inv;
                store_value(typenum, PyArray_BYTES(gb) + c * PyArray_STRIDE(gb, 0), g);
                finite = finite && finite_as(typenum, g);
            }
        }
        const double penalty = alpha > 0.0 ? 0.5 * alpha * wnorm2 : 0.0;  /* no 0 * inf */
        objective = acc.loss / acc.weight + penalty;
        if (!finite || !finite_as(typenum, objective)) {
            status = SX_ERR_NONFINITE;
        }
    }
    Py_END_ALLOW_THREADS

    if (raise_status(status, &d.X, typenum, "X", SX_OBJECTIVE_NOT_FINITE) < 0) {
        goto cleanup;
    }
    result = PyFloat_FromDouble(objective);
cleanup:
    free(grad);
    release_args(args);
    return result;
}

PyDoc_STRVAR(forward_doc,
"forward(X, W, b, link, what, out, n_threads)\n--\n\n"
"out = logits (what=0), probabilities (1) or log-probabilities (2) of X W^T + b,\n"
"(n, K) of X's dtype; or the classes (3): out (n,) intp, the index of each row's\n"
"largest logit (K >= 2) or whether it is positive (K = 1), from the double logits;\n"
"or, for one sigmoid (K = 1), the two classes' probabilities sigma(-z), sigma(z)\n"
"(4) or their logs (5): out (n, 2) of X's dtype; or, for the sigmoid link, the\n"
"one-vs-rest probabilities sigma(z_k) / sum_j sigma(z_j) (6) or their logs (7).");

static PyObject *
core_forward(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *Xo, *Wo, *bo, *outo;
    int link, what, n_threads, typenum, status;
    PyArrayObject *X, *W, *b, *out;
    PyObject *result = NULL;

    if (!PyArg_ParseTuple(args, "OOOiiOi:forward", &Xo, &Wo, &bo, &link, &what, &outo,
                          &n_threads)) {
        return NULL;
    }
    hold_args(args);
    if (check_threads(&n_threads) < 0) {
        goto cleanup;
    }
    if (parse_link_loss(link, SX_LOSS_LOG) < 0 || what < SX_OUT_LOGITS ||
        what > SX_OUT_OVR_LOG_PROBA) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "unknown output code");
        }
        goto cleanup;
    }
    /* the classes: one intp per row; the pairs: 2 values of X's type per row; the
     * rest: k values of X's type per row */
    const int classes = what == SX_OUT_CLASS;
    const int pair = sx_output_is_pair((sx_output)what);
    if (check_model(Xo, Wo, bo, &typenum, &X, &W, &b) < 0 ||
        !(out = check_array(outo, "out", classes ? NPY_INTP : typenum, classes ? 1 : 2, 1))) {
        goto cleanup;
    }
    const npy_intp n = PyArray_DIM(X, 0), k = PyArray_DIM(W, 0);
    if (pair && (link != SX_LINK_SIGMOID || k != 1)) {
        PyErr_SetString(PyExc_ValueError,
                        "the pair outputs need the sigmoid link and one row of W");
        goto cleanup;
    }
    if (sx_output_is_ovr((sx_output)what) && link != SX_LINK_SIGMOID) {
        PyErr_SetString(PyExc_ValueError, "the one-vs-rest outputs need the sigmoid link");
        goto cleanup;
    }
    const npy_intp width = (npy_intp)sx_output_width((sx_output)what, k);
    if (check_dim(out, "out", 0, n) < 0 || (!classes && check_dim(out, "out", 1, width) < 0)) {
        goto cleanup;
    }
    const sx_view xv = view_of(X);
    const sx_params p = {view_of(W), PyArray_BYTES(b), PyArray_STRIDE(b, 0)};
    char *od = PyArray_BYTES(out);
    const npy_intp os0 = PyArray_STRIDE(out, 0), os1 = classes ? 0 : PyArray_STRIDE(out, 1);

    Py_BEGIN_ALLOW_THREADS
    status = typenum == NPY_FLOAT32
                 ? sx_forward_f32(&xv, &p, (sx_link)link, (sx_output)what, od, os0, os1, n_threads)
                 : sx_forward_f64(&xv, &p, (sx_link)link, (sx_output)what, od, os0, os1, n_threads);
    Py_END_ALLOW_THREADS

    if (raise_status(status, &xv, typenum, "X", SX_LOGITS_NOT_FINITE) == 0) {
        Py_INCREF(Py_None);
        result = Py_None;
    }
cleanup:
    release_args(args);
    return result;
}

PyDoc_STRVAR(activate_doc,
"activate(Z, link, log, out)\n--\n\n"
"out = softmax or sigmoid of Z row-wise (their logarithm when log is true); out may be Z.");

static PyObject *
core_activate(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *Zo, *outo;
    int link, log_output, typenum, status;
    PyArrayObject *Z, *out;
    PyObject *result = NULL;

    if (!PyArg_ParseTuple(args, "OipO:activate", &Zo, &link, &log_output, &outo)) {
        return NULL;
    }
    hold_args(args);
    if (!PyArray_Check(Zo)) {
        PyErr_SetString(PyExc_TypeError, "Z must be a numpy.ndarray");
        goto cleanup;
    }
    typenum = PyArray_TYPE((PyArrayObject *)Zo);
    if (typenum != NPY_FLOAT32 && typenum != NPY_FLOAT64) {
        PyErr_SetString(PyExc_TypeError, "Z must be float32 or float64");
        goto cleanup;
    }
    if (parse_link_loss(link, SX_LOSS_LOG) < 0 || !(Z = check_array(Zo, "Z", typenum, 2, 0)) ||
        !(out = check_array(outo, "out", typenum, 2, 1)) ||
        check_dim(out, "out", 0, PyArray_DIM(Z, 0)) < 0 ||
        check_dim(out, "out", 1, PyArray_DIM(Z, 1)) < 0) {
        goto cleanup;
    }
    const sx_view zv = view_of(Z);
    char *od = PyArray_BYTES(out);
    const npy_intp os0 = PyArray_STRIDE(out, 0), os1 = PyArray_STRIDE(out, 1);

    Py_BEGIN_ALLOW_THREADS
    status = typenum == NPY_FLOAT32
                 ? sx_activate_f32(&zv, (sx_link)link, log_output, od, os0, os1)
                 : sx_activate_f64(&zv, (sx_link)link, log_output, od, os0, os1);
    Py_END_ALLOW_THREADS

    /* inputs with infinities pass where the limit exists: no scan, the rule instead */
    if (raise_status(status, NULL, typenum, NULL,
                     link == SX_LINK_SIGMOID
                         ? "z contains NaN"
                         : "Z contains NaN or +inf, or a row of only -inf (its softmax is "
                           "undefined)") == 0) {
        Py_INCREF(Py_None);
        result = Py_None;
    }
cleanup:
    release_args(args);
    return result;
}

PyDoc_STRVAR(sgd_epoch_doc,
"sgd_epoch(X, y, Y, sample_weight, W, b, link, loss, learning_rate, alpha, mean_weight,\n"
"          batch_size, shuffle, fit_intercept, n_threads, seed)\n--\n\n"
"One epoch of minibatch SGD, updating the C-contiguous W and b in place.\n"
"mean_weight is the mean sample weight of the whole data (1 without weights):\n"
"each batch divides its weighted sums by its row count times it.  Returns the\n"
"mean over minibatches of each one's estimate of the objective (its mean loss\n"
"plus the penalty, without weights).");

static PyObject *
core_sgd_epoch(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *Xo, *yo, *Yo, *swo, *Wo, *bo;
    int link, loss, shuffle, fit_intercept, n_threads, typenum, status;
    double lr, alpha, mean_weight, mean_loss = 0.0;
    Py_ssize_t batch_size;
    unsigned long long seed;
    sx_data d;
    sx_params p;
    PyObject *result = NULL;

    if (!PyArg_ParseTuple(args, "OOOOOOiidddnppiK:sgd_epoch", &Xo, &yo, &Yo, &swo, &Wo, &bo,
                          &link, &loss, &lr, &alpha, &mean_weight, &batch_size, &shuffle,
                          &fit_intercept, &n_threads, &seed)) {
        return NULL;
    }
    hold_args(args);
    if (build_problem(Xo, yo, Yo, swo, Wo, bo, link, loss, &d, &p, &typenum) < 0 ||
        check_threads(&n_threads) < 0 || check_trained_params(Wo, bo) < 0) {
        goto cleanup;
    }
    PyArrayObject *W = (PyArrayObject *)Wo, *b = (PyArrayObject *)bo;
    if (d.X.rows < 1) {
        PyErr_SetString(PyExc_ValueError, "X must have at least one row");
        goto cleanup;
    }
    if (batch_size < 1 || !(isfinite(lr) && lr > 0.0) || !(isfinite(alpha) && alpha >= 0.0) ||
        !(isfinite(mean_weight) && mean_weight > 0.0)) {
        PyErr_SetString(PyExc_ValueError, "need batch_size >= 1, learning_rate finite and > 0, "
                                          "alpha finite and >= 0, mean_weight finite and > 0");
        goto cleanup;
    }
    if (batch_size > d.X.rows) {
        batch_size = d.X.rows;  /* a batch is at most the whole data */
    }
    char *Wd = PyArray_BYTES(W), *bd = PyArray_BYTES(b);
    const sx_size k = p.W.rows;

    Py_BEGIN_ALLOW_THREADS
    status = typenum == NPY_FLOAT32
                 ? sx_sgd_epoch_f32(&d, Wd, bd, k, lr, alpha, mean_weight, batch_size, shuffle,
                                    fit_intercept, n_threads, seed, &mean_loss)
                 : sx_sgd_epoch_f64(&d, Wd, bd, k, lr, alpha, mean_weight, batch_size, shuffle,
                                    fit_intercept, n_threads, seed, &mean_loss);
    Py_END_ALLOW_THREADS

    if (raise_status(status, &d.X, typenum, "X",
                     "the logits X W^T + b or the loss are not: the weights diverged (a "
                     "smaller learning_rate may help), or W, b or the targets hold NaN or "
                     "infinity") == 0) {
        result = PyFloat_FromDouble(mean_loss);
    }
cleanup:
    release_args(args);
    return result;
}

/* ---- the exact solver: L-BFGS over the fused loss_grad ------------------- */

/* The objective of one fit, seen by lbfgs.c as f(x) with x = [W (k*m), b (k)]. */
typedef struct {
    int typenum;
    sx_data d;
    sx_params p;      /* points at Wt, bt below */
    sx_size k, m;
    char *Wt, *bt;    /* the caller's W and b arrays (X's dtype), written at each evaluation */
    double alpha;
    int fit_intercept, n_threads;
    double *grad;     /* k*m + k data-term sums */
    PyThreadState *thread;  /* saved while the GIL is released */
    PyObject *callback;     /* callable(iteration, objective, grad_norm) or None */
    int python_error;
    /* L-BFGS's h0: a diagonal (dim values), or a symmetric positive definite
     * block P (q x q, q = m or m + 1) shared by the classes: h0 maps class c's
     * entries (w_c, then b_c when q = m + 1) to P times them */
    const double *h0_diag, *h0_block;
    sx_size h0_q;
    double *h0_scratch;     /* 2 k q */
} fit_objective;

/* x = [W (k*m), b (k)] into the typed W and b arrays (b stays 0 without an intercept). */
static void
store_params(fit_objective *o, const double *x)
{
    const sx_size km = o->k * o->m, esz = o->typenum == NPY_FLOAT32 ? 4 : 8;
    for (sx_size i = 0; i < km; i++) {
        store_value(o->typenum, o->Wt + i * esz, x[i]);
    }
    for (sx_size c = 0; c < o->k; c++) {
        store_value(o->typenum, o->bt + c * esz, o->fit_intercept ? x[km + c] : 0.0);
    }
}

static int
fit_objective_eval(void *ctx, const double *x, double *f, double *g)
{
    fit_objective *o = ctx;
    const sx_size km = o->k * o->m;
    store_params(o, x);
    memset(o->grad, 0, (size_t)(km + o->k) * sizeof(double));
    sx_accum acc = {0.0, 0.0, o->grad, o->grad + km};
    /* fork_safe_threads at each use: the callback may have forked this process */
    int status = loss_grad_full(o->typenum, &o->d, &o->p, fork_safe_threads(o->n_threads), &acc);
    if (status != SX_OK) {
        return status;
    }
    const double inv = 1.0 / acc.weight;
    double penalty = 0.0;
    int finite = 1;  /* the sums or the penalty can overflow with finite logits */
    for (sx_size i = 0; i < km; i++) {
        penalty += x[i] * x[i];
        g[i] = o->grad[i] * inv + o->alpha * x[i];
        finite = finite && isfinite(g[i]);
    }
    for (sx_size c = 0; c < o->k; c++) {
        g[km + c] = o->fit_intercept ? o->grad[km + c] * inv : 0.0;
        finite = finite && isfinite(g[km + c]);
    }
    *f = acc.loss * inv + (o->alpha > 0.0 ? 0.5 * o->alpha * penalty : 0.0);
    return finite && isfinite(*f) ? SX_OK : SX_ERR_NONFINITE;
}

/* v = h0 v for L-BFGS, v = [W (k*m), b (k)] as x. */
static int
fit_h0(void *ctx, double *v)
{
    fit_objective *o = ctx;
    const sx_size k = o->k, m = o->m, q = o->h0_q;
    if (o->h0_diag != NULL) {
        for (sx_size i = 0; i < k * m + k; i++) {
            v[i] *= o->h0_diag[i];
        }
        return SX_OK;
    }
    /* the classes' entries as the rows of V (k x q); then V P, P symmetric, is
     * the logits of P's rows against the weights V: the forward kernel's job */
    double *V = o->h0_scratch, *out = V + k * q;
    for (sx_size c = 0; c < k; c++) {
        memcpy(V + c * q, v + c * m, (size_t)m * sizeof(double));
        if (q > m) {
            V[c * q + m] = v[k * m + c];
        }
    }
    static const double zeros[1] = {0.0};
    const sx_view P = {(const char *)o->h0_block, q, q, q * 8, 8};
    const sx_params weights = {{(const char *)V, k, q, q * 8, 8}, (const char *)zeros, 0};
    int status = sx_forward_f64(&P, &weights, SX_LINK_SOFTMAX, SX_OUT_LOGITS, (char *)out,
                                8, q * 8, fork_safe_threads(o->n_threads));
    if (status == SX_ERR_NONFINITE) {
        /* P v overflowed: no direction, as when a diagonal h0's product
         * overflows; lbfgs.c finds no descent along it and stops (no progress) */
        for (sx_size i = 0; i < k * m + k; i++) {
            v[i] = NAN;
        }
        return SX_OK;
    }
    if (status != SX_OK) {
        return status;
    }
    for (sx_size c = 0; c < k; c++) {
        memcpy(v + c * m, out + c * q, (size_t)m * sizeof(double));
        if (q > m) {
            v[k * m + c] = out[c * q + m];
        }
    }
    return SX_OK;
}

/* Between iterations: take the GIL, report progress, honour Ctrl-C. */
static int
fit_objective_hook(void *ctx, sx_size iter, double f, double gnorm)
{
    fit_objective *o = ctx;
    int stop = 0;
    PyEval_RestoreThread(o->thread);
    if (o->callback != Py_None) {
        PyObject *r = PyObject_CallFunction(o->callback, "ndd", (Py_ssize_t)iter, f, gnorm);
        if (r == NULL) {
            stop = 1;
        }
        Py_XDECREF(r);
    }
    if (!stop && PyErr_CheckSignals() < 0) {
        stop = 1;
    }
    o->python_error = stop;
    o->thread = PyEval_SaveThread();
    return stop;
}

/*
 * *out = h0o as a float64 array (a new reference) when it is a valid h0 for k
 * classes and m features (see lbfgs_doc); otherwise -1 with ValueError.
 */
static int
check_h0(PyObject *h0o, sx_size k, sx_size m, PyArrayObject **out)
{
    PyArrayObject *h0 = (PyArrayObject *)PyArray_FROMANY(h0o, NPY_FLOAT64, 1, 2, NPY_ARRAY_IN_ARRAY);
    const double *h = h0 != NULL ? PyArray_DATA(h0) : NULL;
    int valid = h0 != NULL;
    if (valid && PyArray_NDIM(h0) == 1) {
        valid = PyArray_DIM(h0, 0) == k * m + k;
        for (sx_size i = 0; valid && i < k * m + k; i++) {
            valid = isfinite(h[i]) && h[i] > 0.0;
        }
    }
    else if (valid) {  /* symmetric with a positive diagonal (positive definiteness is the caller's) */
        const sx_size q = PyArray_DIM(h0, 0);
        valid = PyArray_DIM(h0, 1) == q && (q == m || q == m + 1);
        for (sx_size i = 0; valid && i < q; i++) {
            valid = isfinite(h[i * q + i]) && h[i * q + i] > 0.0;
            for (sx_size j = 0; valid && j < i; j++) {
                valid = isfinite(h[i * q + j]) && h[i * q + j] == h[j * q + i];
            }
        }
    }
    if (h0 != NULL && !valid) {
        PyErr_SetString(PyExc_ValueError,
                        "h0 must hold k*m + k finite positive values, or be a symmetric (q, q) "
                        "array with a finite positive diagonal, q = m or m + 1");
        Py_CLEAR(h0);
    }
    *out = h0;
    return h0 != NULL ? 0 : -1;
}

PyDoc_STRVAR(lbfgs_doc,
"lbfgs(X, y, Y, sample_weight, W, b, link, loss, alpha, fit_intercept, tol, max_iter,\n"
"      memory, n_threads, callback, h0)\n--\n\n"
"Minimize the objective of loss_grad over (W, b) by L-BFGS, starting from and\n"
"updating the C-contiguous W and b in place.  callback(iteration, objective,\n"
"grad_norm) runs after every iteration.  h0, the initial inverse Hessian up to\n"
"scale: None (the identity); k*m + k positive values ordered as [W.ravel(), b],\n"
"a diagonal; or a symmetric positive definite (q, q) array P for q = m or\n"
"m + 1, which maps the entries of each class (w_c, then b_c when q = m + 1) to\n"
"P times them (entries b_c unchanged when q = m).  Returns (n_iter, n_evals,\n"
"objective, grad_norm, initial_grad_norm, stop) with stop 0 converged,\n"
"1 max_iter, 2 no progress.");

static PyObject *
core_lbfgs(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *Xo, *yo, *Yo, *swo, *Wo, *bo, *callback, *h0o;
    PyArrayObject *h0 = NULL;
    int link, loss, fit_intercept, n_threads, status = SX_OK;
    double alpha, tol;
    Py_ssize_t max_iter, memory;
    fit_objective o;
    double *x = NULL;
    PyObject *result = NULL;

    memset(&o, 0, sizeof(o));
    if (!PyArg_ParseTuple(args, "OOOOOOiidpdnniOO:lbfgs", &Xo, &yo, &Yo, &swo, &Wo, &bo, &link,
                          &loss, &alpha, &fit_intercept, &tol, &max_iter, &memory, &n_threads,
                          &callback, &h0o)) {
        return NULL;
    }
    hold_args(args);
    if (build_problem(Xo, yo, Yo, swo, Wo, bo, link, loss, &o.d, &o.p, &o.typenum) < 0 ||
        check_threads(&n_threads) < 0) {
        goto cleanup;
    }
    if (check_trained_params(Wo, bo) < 0) {
        goto cleanup;
    }
    PyArrayObject *W = (PyArrayObject *)Wo, *b = (PyArrayObject *)bo;
    if (o.d.X.rows < 1) {
        PyErr_SetString(PyExc_ValueError, "X must have at least one row");
        goto cleanup;
    }
    if (max_iter < 0 || memory < 1 || !isfinite(tol) || tol < 0 || !isfinite(alpha) || alpha < 0) {
        PyErr_SetString(PyExc_ValueError, "need max_iter >= 0, memory >= 1, finite tol, alpha >= 0");
        goto cleanup;
    }
    if (callback != Py_None && !PyCallable_Check(callback)) {
        PyErr_SetString(PyExc_TypeError, "callback must be callable or None");
        goto cleanup;
    }
    o.k = o.p.W.rows;
    o.m = o.d.X.cols;
    o.Wt = PyArray_BYTES(W);
    o.bt = PyArray_BYTES(b);
    o.alpha = alpha;
    o.fit_intercept = fit_intercept;
    o.n_threads = n_threads;
    o.callback = callback;
    const sx_size dim = o.k * o.m + o.k;
    if (h0o != Py_None && check_h0(h0o, o.k, o.m, &h0) < 0) {
        goto cleanup;
    }
    if (h0 != NULL) {
        hold((PyObject *)h0);  /* __array__ may have returned an array it keeps */
    }
    if (h0 != NULL && PyArray_NDIM(h0) == 1) {
        o.h0_diag = PyArray_DATA(h0);
    }
    else if (h0 != NULL) {
        o.h0_block = PyArray_DATA(h0);
        o.h0_q = PyArray_DIM(h0, 0);
        if ((o.h0_scratch = malloc((size_t)(2 * o.h0_q * o.k) * sizeof(double))) == NULL) {
            PyErr_NoMemory();
            goto cleanup;
        }
    }
    x = malloc((size_t)dim * sizeof(double));
    o.grad = malloc((size_t)dim * sizeof(double));
    if (x == NULL || o.grad == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    const sx_size esz = o.typenum == NPY_FLOAT32 ? 4 : 8;
    for (sx_size i = 0; i < o.k * o.m; i++) {
        x[i] = load_value(o.typenum, o.Wt + i * esz);
    }
    for (sx_size c = 0; c < o.k; c++) {
        x[o.k * o.m + c] = fit_intercept ? load_value(o.typenum, o.bt + c * esz) : 0.0;
    }
    const sx_lbfgs_options opt = {max_iter, tol, memory, h0 ? fit_h0 : NULL};
    sx_lbfgs_result res;

    o.thread = PyEval_SaveThread();
    status = sx_lbfgs(dim, x, fit_objective_eval, fit_objective_hook, &o, &opt, &res);
    if (status == SX_OK) {
        store_params(&o, x);
    }
    PyEval_RestoreThread(o.thread);

    if (o.python_error ||
        raise_status(status, &o.d.X, o.typenum, "X", SX_OBJECTIVE_NOT_FINITE) < 0) {
        goto cleanup;
    }
    result = Py_BuildValue("nndddi", (Py_ssize_t)res.n_iter, (Py_ssize_t)res.n_evals, res.f,
                           res.gnorm, res.gnorm0, (int)res.stop);
cleanup:
    free(x);
    free(o.grad);
    free(o.h0_scratch);
    if (h0 != NULL) {
        release((PyObject *)h0);
    }
    Py_XDECREF(h0);
    release_args(args);
    return result;
}

PyDoc_STRVAR(spd_inverse_doc,
"spd_inverse(A)\n--\n\n"
"Invert the symmetric positive definite A in place, through its Cholesky\n"
"factor: A (a C-contiguous, writable float64 square array; only its lower\n"
"triangle is read) becomes A^-1, symmetric.  Raises ValueError when A is not\n"
"positive definite in floating point (A is then partly overwritten).\n"
"Returns None.");

static PyObject *
core_spd_inverse(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *Ao, *result = NULL;
    if (!PyArg_ParseTuple(args, "O:spd_inverse", &Ao)) {
        return NULL;
    }
    hold_args(args);
    if (!PyArray_Check(Ao) || PyArray_TYPE((PyArrayObject *)Ao) != NPY_FLOAT64 ||
        PyArray_NDIM((PyArrayObject *)Ao) != 2 ||
        PyArray_DIM((PyArrayObject *)Ao, 0) != PyArray_DIM((PyArrayObject *)Ao, 1) ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)Ao) || !PyArray_ISALIGNED((PyArrayObject *)Ao) ||
        !PyArray_ISWRITEABLE((PyArrayObject *)Ao) || !PyArray_ISNOTSWAPPED((PyArrayObject *)Ao)) {
        PyErr_SetString(PyExc_ValueError,
                        "A must be a C-contiguous, aligned, writable float64 square array");
        goto cleanup;
    }
    PyArrayObject *A = (PyArrayObject *)Ao;
    sx_size failed;
    Py_BEGIN_ALLOW_THREADS
    failed = sx_spd_inverse(PyArray_DATA(A), PyArray_DIM(A, 0));
    Py_END_ALLOW_THREADS
    if (failed < 0) {
        PyErr_NoMemory();
    }
    else if (failed == PyArray_DIM(A, 0) + 1) {
        PyErr_SetString(PyExc_ValueError, "the matrix is not positive definite in floating "
                        "point: its inverse overflows");
    }
    else if (failed > 0) {
        PyErr_Format(PyExc_ValueError, "the matrix is not positive definite (pivot %zd)",
                     (Py_ssize_t)(failed - 1));
    }
    else {
        Py_INCREF(Py_None);
        result = Py_None;
    }
cleanup:
    release_args(args);
    return result;
}

PyDoc_STRVAR(sgd_solo_ratio_doc,
"sgd_solo_ratio(ratio)\n--\n\n"
"Set the ratio past which a multi-threaded SGD epoch goes on in one thread\n"
"(see SX_SGD_SOLO_RATIO); returns the previous one.  For tests: 0 makes every\n"
"such epoch go on alone after its first batches, inf never.");

static PyObject *
core_sgd_solo_ratio(PyObject *Py_UNUSED(self), PyObject *arg)
{
    const double ratio = PyFloat_AsDouble(arg);
    if (ratio == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (!(ratio >= 0.0)) {
        PyErr_SetString(PyExc_ValueError, "the ratio must be >= 0");
        return NULL;
    }
    const double previous = sx_sgd_solo_ratio();
    sx_set_sgd_solo_ratio(ratio);
    return PyFloat_FromDouble(previous);
}

static PyObject *
core_sgd_solo_epochs(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args))
{
    return PyLong_FromSize_t(sx_sgd_solo_epochs());
}

static PyObject *
core_has_openmp(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args))
{
#ifdef _OPENMP
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

PyDoc_STRVAR(fma_probe_doc,
"fma_probe(double, rounds, n_threads)\n--\n\n"
"Run rounds rounds of independent vector multiply-adds (float64 when double is\n"
"true, else float32) on n_threads threads with the instruction set in use;\n"
"return the floating-point operations done.  Timed by the caller, it gives\n"
"the vector units' peak rate (benchmarks/: the bounds).");

static PyObject *
core_fma_probe(PyObject *Py_UNUSED(self), PyObject *args)
{
    int is_double, n_threads;
    Py_ssize_t rounds;
    double flops, sink;
    if (!PyArg_ParseTuple(args, "pni", &is_double, &rounds, &n_threads)) {
        return NULL;
    }
    if (rounds < 0 || n_threads < 1) {
        PyErr_SetString(PyExc_ValueError, "rounds must be >= 0 and n_threads >= 1");
        return NULL;
    }
    n_threads = fork_safe_threads(n_threads);
    Py_BEGIN_ALLOW_THREADS
    flops = is_double ? sx_fma_probe_f64((sx_size)rounds, n_threads, &sink)
                      : sx_fma_probe_f32((sx_size)rounds, n_threads, &sink);
    Py_END_ALLOW_THREADS
    if (!isfinite(sink)) {  /* cannot happen: the values converge to 1/2 */
        PyErr_SetString(PyExc_RuntimeError, "the multiply-add probe gave a non-finite sum");
        return NULL;
    }
    return PyFloat_FromDouble(flops);
}

PyDoc_STRVAR(isa_doc,
"isa()\n--\n\n"
"The instruction set of the kernels in use: \"avx512\", \"avx2\" or \"baseline\".");

static PyObject *
core_isa(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args))
{
    return PyUnicode_FromString(sx_isa_name());
}

PyDoc_STRVAR(select_isa_doc,
"select_isa(name)\n--\n\n"
"Use the kernels of instruction set name (\"best\", \"avx512\", \"avx2\",\n"
"\"baseline\"); ValueError when they are not built in or the CPU lacks it.");

static PyObject *
core_select_isa(PyObject *Py_UNUSED(self), PyObject *arg)
{
    Py_ssize_t size;
    const char *name = PyUnicode_AsUTF8AndSize(arg, &size);
    if (name == NULL) {
        return NULL;
    }
    if ((size_t)size != strlen(name) || sx_select_isa(name) < 0) {
        PyErr_Format(PyExc_ValueError,
                     "instruction set %R is not available here (built in and supported by "
                     "this CPU: see sigmax._core.supported_isas())", arg);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_supported_isas(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args))
{
    static const char *const names[] = {"avx512", "avx2", "baseline"};
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
        if (!sx_isa_supported(names[i])) {
            continue;
        }
        PyObject *s = PyUnicode_FromString(names[i]);
        if (s == NULL || PyList_Append(list, s) < 0) {
            Py_CLEAR(list);
        }
        Py_XDECREF(s);
    }
    return list;
}

static PyMethodDef core_methods[] = {
    {"isa", core_isa, METH_NOARGS, isa_doc},
    {"fma_probe", core_fma_probe, METH_VARARGS, fma_probe_doc},
    {"select_isa", core_select_isa, METH_O, select_isa_doc},
    {"supported_isas", core_supported_isas, METH_NOARGS,
     "The instruction sets whose kernels are built in and run on this CPU, best first."},
    {"loss_grad", core_loss_grad, METH_VARARGS, loss_grad_doc},
    {"forward", core_forward, METH_VARARGS, forward_doc},
    {"activate", core_activate, METH_VARARGS, activate_doc},
    {"sgd_epoch", core_sgd_epoch, METH_VARARGS, sgd_epoch_doc},
    {"lbfgs", core_lbfgs, METH_VARARGS, lbfgs_doc},
    {"spd_inverse", core_spd_inverse, METH_VARARGS, spd_inverse_doc},
    {"has_openmp", core_has_openmp, METH_NOARGS, "Whether the kernels were built with OpenMP threads."},
    {"sgd_solo_ratio", core_sgd_solo_ratio, METH_O, sgd_solo_ratio_doc},
    {"sgd_solo_epochs", core_sgd_solo_epochs, METH_NOARGS,
     "How many multi-threaded SGD epochs finished in one thread (a busy machine)."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "sigmax._core",
    "sigmax's C kernels (private: use the functions in the sigmax package).",
    -1, core_methods, NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__core(void)
{
    import_array();
#ifdef SX_FORK_GUARD
    if (pthread_atfork(NULL, NULL, forked_child) != 0) {
        PyErr_SetString(PyExc_ImportError, "sigmax._core: pthread_atfork failed");
        return NULL;
    }
#endif
    /* SIGMAX_ISA=avx2 (say) runs a lower instruction set's kernels, to compare them */
    const char *wanted = getenv("SIGMAX_ISA");
    if (wanted != NULL && wanted[0] != '\0' && sx_select_isa(wanted) < 0) {
        PyErr_Format(PyExc_ImportError,
                     "SIGMAX_ISA=%s: not an instruction set this build and CPU run "
                     "(best, avx512, avx2, baseline)", wanted);
        return NULL;
    }
    if (wanted == NULL || wanted[0] == '\0') {
        sx_select_isa("best");
    }
    return PyModule_Create(&core_module);
}
