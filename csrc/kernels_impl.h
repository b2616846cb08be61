/*
 * Typed kernel bodies, included twice by kernels.c: once with SX_T = float,
 * SX_NAME(f) = f##_f32, once with SX_T = double, SX_NAME(f) = f##_f64.
 *
 * Rows are processed in blocks of SX_BLOCK_ROWS.  For each block:
 *   1. forward: z_r = W x_r + b for every row (W is C-contiguous; when X's rows
 *      are unit-stride the dot products run on SIMD vectors, four rows by four
 *      classes at a time so each load of x or W feeds four multiply-adds;
 *      the last rows of a block, and strided rows, go one at a time);
 *   2. per row, in double: the link, the loss and dl/dz (sx_row_loss);
 *   3. gradient: G += dZ^T X_block, a small matrix product tiled over columns
 *      so a tile of the block's rows stays in L1 while all K classes use it.
 * G is accumulated in SX_T within a block and added into the double sums of
 * sx_accum after each block ("blocked" summation: float32 sums of at most
 * SX_BLOCK_ROWS terms, float64 across blocks).
 */

typedef SX_T SX_NAME(vec) __attribute__((vector_size(SX_VECTOR_BYTES)));
#define VEC SX_NAME(vec)
#define VLEN ((sx_size)(SX_VECTOR_BYTES / sizeof(SX_T)))
#define SX_LOAD(ptr) ((double)*(const SX_T *)(ptr))

static SX_INLINE VEC SX_NAME(vload)(const SX_T *p)
{
    VEC v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static SX_INLINE void SX_NAME(vstore)(SX_T *p, VEC v)
{
    memcpy(p, &v, sizeof(v));
}

/* Sum of the lanes, pairwise: halves folded onto each other in registers. */
static SX_INLINE double SX_NAME(vsum)(VEC v)
{
#if defined(__GNUC__) && !defined(__clang__)
    typedef SX_ITYPE SX_NAME(ivec) __attribute__((vector_size(SX_VECTOR_BYTES)));
#if SX_VLEN == 16
    v += __builtin_shuffle(v, (SX_NAME(ivec)){8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
    v += __builtin_shuffle(v, (SX_NAME(ivec)){4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3});
    v += __builtin_shuffle(v, (SX_NAME(ivec)){2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1});
    v += __builtin_shuffle(v, (SX_NAME(ivec)){1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0});
#elif SX_VLEN == 8
    v += __builtin_shuffle(v, (SX_NAME(ivec)){4, 5, 6, 7, 0, 1, 2, 3});
    v += __builtin_shuffle(v, (SX_NAME(ivec)){2, 3, 0, 1, 2, 3, 0, 1});
    v += __builtin_shuffle(v, (SX_NAME(ivec)){1, 0, 1, 0, 1, 0, 1, 0});
#elif SX_VLEN == 4
    v += __builtin_shuffle(v, (SX_NAME(ivec)){2, 3, 0, 1});
    v += __builtin_shuffle(v, (SX_NAME(ivec)){1, 0, 1, 0});
#else
#error "SX_VECTOR_BYTES must give 4, 8 or 16 lanes"
#endif
    return (double)v[0];
#else
    SX_T lanes[VLEN];
    memcpy(lanes, &v, sizeof(v));
    for (sx_size width = VLEN / 2; width >= 1; width /= 2) {
        for (sx_size i = 0; i < width; i++) {
            lanes[i] += lanes[i + width];
        }
    }
    return (double)lanes[0];
#endif
}

/* z (k) = W x + b for one row; x has byte stride xs between its elements. */
static SX_INLINE void SX_NAME(row_logits)(const char *xrow, sx_size xs, const sx_params *p,
                                          sx_size m, double *z)
{
    const sx_size k = p->W.rows;
    const SX_T *W = (const SX_T *)p->W.data;
    if (xs != (sx_size)sizeof(SX_T)) {
        for (sx_size c = 0; c < k; c++) {
            const SX_T *w = W + c * m;
            double s = 0.0;
            for (sx_size j = 0; j < m; j++) {
                s += (double)w[j] * SX_LOAD(xrow + j * xs);
            }
            z[c] = s + SX_LOAD(p->b + c * p->b_stride);
        }
        return;
    }
    const SX_T *x = (const SX_T *)xrow;
    const sx_size mv = m - m % VLEN;
    sx_size c = 0;
    for (; c + 4 <= k; c += 4) {
        const SX_T *w0 = W + c * m, *w1 = w0 + m, *w2 = w1 + m, *w3 = w2 + m;
        VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (sx_size j = 0; j < mv; j += VLEN) {
            const VEC xv = SX_NAME(vload)(x + j);
            a0 += xv * SX_NAME(vload)(w0 + j);
            a1 += xv * SX_NAME(vload)(w1 + j);
            a2 += xv * SX_NAME(vload)(w2 + j);
            a3 += xv * SX_NAME(vload)(w3 + j);
        }
        double s0 = SX_NAME(vsum)(a0), s1 = SX_NAME(vsum)(a1);
        double s2 = SX_NAME(vsum)(a2), s3 = SX_NAME(vsum)(a3);
        for (sx_size j = mv; j < m; j++) {
            const double xj = (double)x[j];
            s0 += xj * w0[j];
            s1 += xj * w1[j];
            s2 += xj * w2[j];
            s3 += xj * w3[j];
        }
        z[c] = s0 + SX_LOAD(p->b + c * p->b_stride);
        z[c + 1] = s1 + SX_LOAD(p->b + (c + 1) * p->b_stride);
        z[c + 2] = s2 + SX_LOAD(p->b + (c + 2) * p->b_stride);
        z[c + 3] = s3 + SX_LOAD(p->b + (c + 3) * p->b_stride);
    }
    for (; c < k; c++) {
        const SX_T *w = W + c * m;
        VEC a0 = {0}, a1 = {0};
        sx_size j = 0;
        for (; j + 2 * VLEN <= mv; j += 2 * VLEN) {
            a0 += SX_NAME(vload)(x + j) * SX_NAME(vload)(w + j);
            a1 += SX_NAME(vload)(x + j + VLEN) * SX_NAME(vload)(w + j + VLEN);
        }
        for (; j < mv; j += VLEN) {
            a0 += SX_NAME(vload)(x + j) * SX_NAME(vload)(w + j);
        }
        double s = SX_NAME(vsum)(a0 + a1);
        for (; j < m; j++) {
            s += (double)x[j] * w[j];
        }
        z[c] = s + SX_LOAD(p->b + c * p->b_stride);
    }
}

/*
 * z for four unit-stride rows at once: 4 rows x 4 classes give sixteen
 * independent accumulators, and each load of W feeds four rows.
 */
static SX_INLINE void SX_NAME(row_quad_logits)(const SX_T *const *x, const SX_T *const *next,
                                               const sx_params *p, sx_size m, double *const *z)
{
    const sx_size k = p->W.rows;
    const SX_T *W = (const SX_T *)p->W.data;
    const sx_size mv = m - m % VLEN;
    sx_size c = 0;
    for (; c + 4 <= k; c += 4) {
        const SX_T *w0 = W + c * m, *w1 = w0 + m, *w2 = w1 + m, *w3 = w2 + m;
        VEC acc[4][4] = {{{0}}};
        for (sx_size j = 0; j < mv; j += VLEN) {
            if (c == 0) {  /* the next rows, one cache line each per step */
                SX_PREFETCH(next[0] + j);
                SX_PREFETCH(next[1] + j);
                SX_PREFETCH(next[2] + j);
                SX_PREFETCH(next[3] + j);
            }
            const VEC v0 = SX_NAME(vload)(w0 + j), v1 = SX_NAME(vload)(w1 + j);
            const VEC v2 = SX_NAME(vload)(w2 + j), v3 = SX_NAME(vload)(w3 + j);
            for (int r = 0; r < 4; r++) {
                const VEC u = SX_NAME(vload)(x[r] + j);
                acc[r][0] += u * v0;
                acc[r][1] += u * v1;
                acc[r][2] += u * v2;
                acc[r][3] += u * v3;
            }
        }
        for (int r = 0; r < 4; r++) {
            for (int q = 0; q < 4; q++) {
                double s = SX_NAME(vsum)(acc[r][q]);
                for (sx_size j = mv; j < m; j++) {
                    s += (double)x[r][j] * W[(c + q) * m + j];
                }
                z[r][c + q] = s + SX_LOAD(p->b + (c + q) * p->b_stride);
            }
        }
    }
    for (; c < k; c++) {
        const SX_T *w = W + c * m;
        VEC acc[4] = {{0}};
        for (sx_size j = 0; j < mv; j += VLEN) {
            const VEC wv = SX_NAME(vload)(w + j);
            for (int r = 0; r < 4; r++) {
                acc[r] += SX_NAME(vload)(x[r] + j) * wv;
            }
        }
        for (int r = 0; r < 4; r++) {
            double s = SX_NAME(vsum)(acc[r]);
            for (sx_size j = mv; j < m; j++) {
                s += (double)x[r][j] * w[j];
            }
            z[r][c] = s + SX_LOAD(p->b + c * p->b_stride);
        }
    }
}

/* Z (nrows x k, row-major) for the block's rows. */
static SX_INLINE void SX_NAME(block_logits)(const char *const *xr, sx_size xs, sx_size nrows,
                                            const sx_params *p, sx_size m, double *Z)
{
    const sx_size k = p->W.rows;
    sx_size r = 0;
    if (xs == (sx_size)sizeof(SX_T)) {
        for (; r + 4 <= nrows; r += 4) {
            const SX_T *x[4], *next[4];
            double *z[4];
            for (int q = 0; q < 4; q++) {
                x[q] = (const SX_T *)xr[r + q];
                next[q] = (const SX_T *)(r + 4 + q < nrows ? xr[r + 4 + q] : xr[r + q]);
                z[q] = Z + (r + q) * k;
            }
            SX_NAME(row_quad_logits)(x, next, p, m, z);
        }
    }
    for (; r < nrows; r++) {
        SX_NAME(row_logits)(xr[r], xs, p, m, Z + r * k);
    }
}

/* Dense targets t (k) of row i: one-hot of its class index, or its row of Y. */
static SX_INLINE void SX_NAME(row_targets)(const sx_data *d, sx_size i, sx_size k, double *t)
{
    if (d->y_index) {
        sx_size c = *(const sx_size *)(d->y_index + i * d->y_stride);
        if (d->link == SX_LINK_SIGMOID && k == 1) {
            t[0] = (double)c;
        }
        else {
            memset(t, 0, (size_t)k * sizeof(double));
            t[c] = 1.0;
        }
    }
    else {
        for (sx_size j = 0; j < k; j++) {
            t[j] = SX_LOAD(d->Y.data + i * d->Y.s0 + j * d->Y.s1);
        }
    }
}

/* G (k x m, SX_T) += sum_r dzs[r, :]^T x_r over the block's rows. */
static SX_INLINE void SX_NAME(block_gradient)(const char *const *xr, sx_size xs, sx_size nrows,
                                           const SX_T *dzs, sx_size k, sx_size m, SX_T *G)
{
    if (xs != (sx_size)sizeof(SX_T)) {
        for (sx_size r = 0; r < nrows; r++) {
            for (sx_size c = 0; c < k; c++) {
                const SX_T g = dzs[r * k + c];
                SX_T *gw = G + c * m;
                for (sx_size j = 0; j < m; j++) {
                    gw[j] += g * *(const SX_T *)(xr[r] + j * xs);
                }
            }
        }
        return;
    }
    const sx_size tile = 4 * VLEN;
    sx_size j0 = 0;
    for (; j0 + tile <= m; j0 += tile) {
        sx_size c = 0;
        /* two classes per pass over the tile: each load of x feeds two multiply-adds */
        for (; c + 2 <= k; c += 2) {
            SX_T *g = G + c * m + j0, *h = g + m;
            VEC g0 = SX_NAME(vload)(g), g1 = SX_NAME(vload)(g + VLEN);
            VEC g2 = SX_NAME(vload)(g + 2 * VLEN), g3 = SX_NAME(vload)(g + 3 * VLEN);
            VEC h0 = SX_NAME(vload)(h), h1 = SX_NAME(vload)(h + VLEN);
            VEC h2 = SX_NAME(vload)(h + 2 * VLEN), h3 = SX_NAME(vload)(h + 3 * VLEN);
            for (sx_size r = 0; r < nrows; r++) {
                const SX_T d0 = dzs[r * k + c], d1 = dzs[r * k + c + 1];
                const SX_T *x = (const SX_T *)xr[r] + j0;
                const VEC x0 = SX_NAME(vload)(x), x1 = SX_NAME(vload)(x + VLEN);
                const VEC x2 = SX_NAME(vload)(x + 2 * VLEN), x3 = SX_NAME(vload)(x + 3 * VLEN);
                g0 += d0 * x0;
                g1 += d0 * x1;
                g2 += d0 * x2;
                g3 += d0 * x3;
                h0 += d1 * x0;
                h1 += d1 * x1;
                h2 += d1 * x2;
                h3 += d1 * x3;
            }
            SX_NAME(vstore)(g, g0);
            SX_NAME(vstore)(g + VLEN, g1);
            SX_NAME(vstore)(g + 2 * VLEN, g2);
            SX_NAME(vstore)(g + 3 * VLEN, g3);
            SX_NAME(vstore)(h, h0);
            SX_NAME(vstore)(h + VLEN, h1);
            SX_NAME(vstore)(h + 2 * VLEN, h2);
            SX_NAME(vstore)(h + 3 * VLEN, h3);
        }
        for (; c < k; c++) {
            SX_T *g = G + c * m + j0;
            VEC g0 = SX_NAME(vload)(g), g1 = SX_NAME(vload)(g + VLEN);
            VEC g2 = SX_NAME(vload)(g + 2 * VLEN), g3 = SX_NAME(vload)(g + 3 * VLEN);
            for (sx_size r = 0; r < nrows; r++) {
                const SX_T dz = dzs[r * k + c];
                const SX_T *x = (const SX_T *)xr[r] + j0;
                g0 += dz * SX_NAME(vload)(x);
                g1 += dz * SX_NAME(vload)(x + VLEN);
                g2 += dz * SX_NAME(vload)(x + 2 * VLEN);
                g3 += dz * SX_NAME(vload)(x + 3 * VLEN);
            }
            SX_NAME(vstore)(g, g0);
            SX_NAME(vstore)(g + VLEN, g1);
            SX_NAME(vstore)(g + 2 * VLEN, g2);
            SX_NAME(vstore)(g + 3 * VLEN, g3);
        }
    }
    for (; j0 + VLEN <= m; j0 += VLEN) {
        for (sx_size c = 0; c < k; c++) {
            SX_T *g = G + c * m + j0;
            VEC g0 = SX_NAME(vload)(g);
            for (sx_size r = 0; r < nrows; r++) {
                g0 += dzs[r * k + c] * SX_NAME(vload)((const SX_T *)xr[r] + j0);
            }
            SX_NAME(vstore)(g, g0);
        }
    }
    for (; j0 < m; j0++) {
        for (sx_size c = 0; c < k; c++) {
            SX_T s = G[c * m + j0];
            for (sx_size r = 0; r < nrows; r++) {
                s += dzs[r * k + c] * ((const SX_T *)xr[r])[j0];
            }
            G[c * m + j0] = s;
        }
    }
}

SX_MULTIVERSION
int SX_NAME(sx_loss_grad)(const sx_data *d, const sx_params *p, const sx_size *rows,
                          sx_size begin, sx_size count, sx_accum *acc)
{
    int status = SX_OK;
    const sx_size k = p->W.rows, m = d->X.cols, xs = d->X.s1;
    const int want_grad = acc->gW != NULL;
    /* scratch: Z (block x k), t, dz (k) doubles; dzs (block x k) and G (k x m) in SX_T; rows */
    double *Z = malloc((size_t)((SX_BLOCK_ROWS + 2) * k) * sizeof(double));
    SX_T *dzs = want_grad ? malloc((size_t)(SX_BLOCK_ROWS * k) * sizeof(SX_T)) : NULL;
    void *G_raw = NULL, *W_raw = NULL;
    SX_T *G = want_grad ? sx_aligned_alloc((size_t)(k * m) * sizeof(SX_T), &G_raw) : NULL;
    const char **xr = malloc(SX_BLOCK_ROWS * sizeof(const char *));
    double loss = 0.0, weight = 0.0;
    sx_params pa = *p;  /* the same parameters, W in a vector-aligned buffer */
    pa.W.data = sx_is_aligned(p->W.data)
                    ? p->W.data
                    : sx_aligned_copy(p->W.data, (size_t)(k * m) * sizeof(SX_T), &W_raw);
    if (Z == NULL || xr == NULL || pa.W.data == NULL || (want_grad && (dzs == NULL || G == NULL))) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    p = &pa;
    double *t = Z + SX_BLOCK_ROWS * k, *dz = t + k;

    for (sx_size start = 0; start < count; start += SX_BLOCK_ROWS) {
        const sx_size nrows = count - start < SX_BLOCK_ROWS ? count - start : SX_BLOCK_ROWS;
        for (sx_size r = 0; r < nrows; r++) {
            const sx_size i = rows ? rows[start + r] : begin + start + r;
            xr[r] = d->X.data + i * d->X.s0;
        }
        SX_NAME(block_logits)(xr, xs, nrows, p, m, Z);
        for (sx_size r = 0; r < nrows; r++) {
            const sx_size i = rows ? rows[start + r] : begin + start + r;
            const double *z = Z + r * k;
            SX_NAME(row_targets)(d, i, k, t);
            const double l = sx_row_loss(d->link, d->loss, z, t, k, dz);
            if (nonfinite_probe(z, k) != 0.0 || !isfinite(l)) {
                status = SX_ERR_NONFINITE;
                goto done;
            }
            const double s = d->sw ? SX_LOAD(d->sw + i * d->sw_stride) : 1.0;
            loss += s * l;
            weight += s;
            if (want_grad) {
                for (sx_size c = 0; c < k; c++) {
                    const double g = s * dz[c];
                    acc->gb[c] += g;
                    dzs[r * k + c] = (SX_T)g;
                }
            }
        }
        if (want_grad) {
            memset(G, 0, (size_t)(k * m) * sizeof(SX_T));
            SX_NAME(block_gradient)(xr, xs, nrows, dzs, k, m, G);
            for (sx_size j = 0; j < k * m; j++) {
                acc->gW[j] += (double)G[j];
            }
        }
    }
    acc->loss += loss;
    acc->weight += weight;
done:
    free(Z);
    free(dzs);
    free(G_raw);
    free(W_raw);
    free(xr);
    return status;
}

int SX_NAME(sx_loss_grad_parallel)(const sx_data *d, const sx_params *p, const sx_size *rows,
                                   sx_size begin, sx_size count, sx_size parts, int n_threads,
                                   sx_accum *acc)
{
    int status = SX_OK;
    const sx_size k = p->W.rows, m = d->X.cols;
    const size_t gsize = acc->gW ? (size_t)(k * m + k) : 0;
    if (parts > count) {
        parts = count;
    }
    if (parts <= 1) {
        return SX_NAME(sx_loss_grad)(d, p, rows, begin, count, acc);
    }
    sx_accum *part = calloc((size_t)parts, sizeof(sx_accum));
    double *sums = gsize ? calloc((size_t)parts * gsize, sizeof(double)) : NULL;
    int *codes = calloc((size_t)parts, sizeof(int));
    if (part == NULL || codes == NULL || (gsize && sums == NULL)) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    for (sx_size q = 0; q < parts; q++) {
        if (gsize) {
            part[q].gW = sums + (size_t)q * gsize;
            part[q].gb = part[q].gW + k * m;
        }
    }
    (void)n_threads;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads > 1 ? n_threads : 1) if (n_threads > 1)
#endif
    for (sx_size q = 0; q < parts; q++) {
        const sx_size lo = count * q / parts, hi = count * (q + 1) / parts;
        codes[q] = SX_NAME(sx_loss_grad)(d, p, rows ? rows + lo : NULL, begin + lo, hi - lo,
                                         &part[q]);
    }
    for (sx_size q = 0; q < parts; q++) {
        if (codes[q] != SX_OK) {
            status = codes[q];
            goto done;
        }
        acc->loss += part[q].loss;
        acc->weight += part[q].weight;
        for (size_t j = 0; j < gsize; j++) {
            acc->gW[j] += part[q].gW[j];  /* gb follows gW in each part's sums */
        }
    }
done:
    free(part);
    free(sums);
    free(codes);
    return status;
}

SX_MULTIVERSION
int SX_NAME(sx_forward)(const sx_view *X, const sx_params *p, sx_link link,
                        sx_output what, char *out, sx_size out_s0, sx_size out_s1)
{
    int status = SX_OK;
    const sx_size k = p->W.rows, m = X->cols;
    double *Z = malloc((size_t)(SX_BLOCK_ROWS * k) * sizeof(double));
    const char **xr = malloc(SX_BLOCK_ROWS * sizeof(const char *));
    void *W_raw = NULL;
    sx_params pa = *p;
    pa.W.data = sx_is_aligned(p->W.data)
                    ? p->W.data
                    : sx_aligned_copy(p->W.data, (size_t)(k * m) * sizeof(SX_T), &W_raw);
    if (Z == NULL || xr == NULL || pa.W.data == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    for (sx_size start = 0; start < X->rows; start += SX_BLOCK_ROWS) {
        const sx_size nrows = X->rows - start < SX_BLOCK_ROWS ? X->rows - start : SX_BLOCK_ROWS;
        for (sx_size r = 0; r < nrows; r++) {
            xr[r] = X->data + (start + r) * X->s0;
        }
        SX_NAME(block_logits)(xr, X->s1, nrows, &pa, m, Z);
        for (sx_size r = 0; r < nrows; r++) {
            double *z = Z + r * k;
            if (nonfinite_probe(z, k) != 0.0) {
                status = SX_ERR_NONFINITE;
                goto done;
            }
            if (what != SX_OUT_LOGITS) {
                activate_row(link, what == SX_OUT_LOG_PROBA, z, k);
            }
            char *o = out + (start + r) * out_s0;
            for (sx_size c = 0; c < k; c++) {
                *(SX_T *)(o + c * out_s1) = (SX_T)z[c];
            }
        }
    }
done:
    free(Z);
    free(xr);
    free(W_raw);
    return status;
}

int SX_NAME(sx_activate)(const sx_view *Z, sx_link link, int log_output,
                         char *out, sx_size out_s0, sx_size out_s1)
{
    int status = SX_OK;
    const sx_size k = Z->cols;
    double *z = malloc((size_t)(k > 0 ? k : 1) * sizeof(double));
    if (z == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    for (sx_size i = 0; i < Z->rows && k > 0; i++) {
        for (sx_size j = 0; j < k; j++) {
            z[j] = SX_LOAD(Z->data + i * Z->s0 + j * Z->s1);
        }
        activate_row(link, log_output, z, k);
        for (sx_size j = 0; j < k; j++) {
            if (isnan(z[j])) {  /* +/-inf inputs are fine where the limit exists */
                status = SX_ERR_NONFINITE;
                goto done;
            }
            *(SX_T *)(out + i * out_s0 + j * out_s1) = (SX_T)z[j];
        }
    }
done:
    free(z);
    return status;
}

int SX_NAME(sx_sgd_epoch)(const sx_data *d, char *W, char *b, sx_size k,
                          double lr, double alpha, sx_size batch_size, int shuffle,
                          int fit_intercept, int n_threads, uint64_t seed, double *mean_loss)
{
    int status = SX_OK;
    const sx_size n = d->X.rows, m = d->X.cols;
    SX_T *bias = (SX_T *)b;
    double *grad = calloc((size_t)(k * m + k), sizeof(double));
    sx_size *rows = malloc((size_t)batch_size * sizeof(sx_size));
    void *w_raw = NULL;
    /* the epoch works on a vector-aligned copy of W, written back at the end */
    SX_T *w = (SX_T *)sx_aligned_copy(W, (size_t)(k * m) * sizeof(SX_T), &w_raw);
    double total = 0.0, wnorm2 = 0.0;
    sx_size batches = 0;
    sx_permutation perm;
    const sx_params p = {{(const char *)w, k, m, m * (sx_size)sizeof(SX_T), (sx_size)sizeof(SX_T)},
                         b, (sx_size)sizeof(SX_T)};
    /* Each batch is cut into parts of >= SX_SGD_PART_ROWS rows (at most SX_SGD_MAX_PARTS)
     * fixed by the batch size alone: the same sums for any n_threads. */
    sx_size parts = batch_size / SX_SGD_PART_ROWS;
    parts = parts < 1 ? 1 : (parts > SX_SGD_MAX_PARTS ? SX_SGD_MAX_PARTS : parts);

    if (grad == NULL || rows == NULL || w == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    if (shuffle) {
        sx_permutation_init(&perm, (uint64_t)n, seed);
    }
    for (sx_size j = 0; j < k * m; j++) {
        wnorm2 += (double)w[j] * (double)w[j];
    }
    for (sx_size start = 0; start < n; start += batch_size) {
        const sx_size count = (n - start < batch_size) ? n - start : batch_size;
        for (sx_size r = 0; r < count; r++) {
            rows[r] = shuffle ? (sx_size)sx_permutation_apply(&perm, (uint64_t)(start + r))
                              : start + r;
        }
        memset(grad, 0, (size_t)(k * m + k) * sizeof(double));
        sx_accum acc = {0.0, 0.0, grad, grad + k * m};
        status = SX_NAME(sx_loss_grad_parallel)(d, &p, rows, 0, count, parts, n_threads, &acc);
        if (status != SX_OK) {
            goto done;
        }
        const double inv = acc.weight > 0.0 ? 1.0 / acc.weight : 0.0;
        total += acc.loss * inv + (alpha > 0.0 ? 0.5 * alpha * wnorm2 : 0.0);
        batches++;
        wnorm2 = 0.0;
        for (sx_size j = 0; j < k * m; j++) {
            const double wj = (double)w[j];
            w[j] = (SX_T)(wj - lr * (grad[j] * inv + alpha * wj));
            wnorm2 += (double)w[j] * (double)w[j];
        }
        for (sx_size c = 0; c < k && fit_intercept; c++) {
            bias[c] = (SX_T)((double)bias[c] - lr * grad[k * m + c] * inv);
        }
    }
    *mean_loss = batches ? total / (double)batches : 0.0;
done:
    if (w != NULL) {
        memcpy(W, w, (size_t)(k * m) * sizeof(SX_T));
    }
    free(grad);
    free(rows);
    free(w_raw);
    return status;
}

#undef SX_LOAD
#undef VEC
#undef VLEN
