/*
 * Typed kernel bodies, included twice by kernels.c: once with SX_T = float,
 * SX_NAME(f) = f##_f32, once with SX_T = double, SX_NAME(f) = f##_f64.
 * Element loads go through byte strides; the unit-stride case gets its own
 * loop so the compiler can vectorize it.  Row sums are kept in double.
 */

#define SX_LOAD(ptr) ((double)*(const SX_T *)(ptr))

/* z (k) = W x + b for the row of X starting at xrow. */
static void SX_NAME(row_logits)(const sx_view *X, const char *xrow,
                                const sx_params *p, double *z)
{
    const sx_size m = X->cols, k = p->W.rows;
    const int unit = X->s1 == (sx_size)sizeof(SX_T) && p->W.s1 == (sx_size)sizeof(SX_T);
    for (sx_size c = 0; c < k; c++) {
        const char *wrow = p->W.data + c * p->W.s0;
        double s = 0.0;
        if (unit) {
            const SX_T *x = (const SX_T *)xrow, *w = (const SX_T *)wrow;
            for (sx_size j = 0; j < m; j++) {
                s += (double)w[j] * (double)x[j];
            }
        }
        else {
            for (sx_size j = 0; j < m; j++) {
                s += SX_LOAD(wrow + j * p->W.s1) * SX_LOAD(xrow + j * X->s1);
            }
        }
        z[c] = s + SX_LOAD(p->b + c * p->b_stride);
    }
}

/* Dense targets t (k) of row i: one-hot of its class index, or its row of Y. */
static void SX_NAME(row_targets)(const sx_data *d, sx_size i, sx_size k, double *t)
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

int SX_NAME(sx_loss_grad)(const sx_data *d, const sx_params *p, const sx_size *rows,
                          sx_size begin, sx_size count, sx_accum *acc)
{
    int status = SX_OK;
    const sx_size k = p->W.rows, m = d->X.cols;
    const int unit = d->X.s1 == (sx_size)sizeof(SX_T);
    double *z = malloc(3 * (size_t)k * sizeof(double));
    double loss = 0.0, weight = 0.0;
    if (z == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    double *t = z + k, *dz = t + k;

    for (sx_size r = 0; r < count; r++) {
        const sx_size i = rows ? rows[r] : begin + r;
        const char *xrow = d->X.data + i * d->X.s0;
        SX_NAME(row_logits)(&d->X, xrow, p, z);
        SX_NAME(row_targets)(d, i, k, t);
        double l = sx_row_loss(d->link, d->loss, z, t, k, acc->gW ? dz : NULL);
        if (nonfinite_probe(z, k) != 0.0 || !isfinite(l)) {
            status = SX_ERR_NONFINITE;
            goto done;
        }
        const double s = d->sw ? SX_LOAD(d->sw + i * d->sw_stride) : 1.0;
        loss += s * l;
        weight += s;
        if (acc->gW == NULL) {
            continue;
        }
        for (sx_size c = 0; c < k; c++) {
            const double g = s * dz[c];
            double *gw = acc->gW + c * m;
            acc->gb[c] += g;
            if (g == 0.0) {
                continue;
            }
            if (unit) {
                const SX_T *x = (const SX_T *)xrow;
                for (sx_size j = 0; j < m; j++) {
                    gw[j] += g * (double)x[j];
                }
            }
            else {
                for (sx_size j = 0; j < m; j++) {
                    gw[j] += g * SX_LOAD(xrow + j * d->X.s1);
                }
            }
        }
    }
    acc->loss += loss;
    acc->weight += weight;
done:
    free(z);
    return status;
}

int SX_NAME(sx_forward)(const sx_view *X, const sx_params *p, sx_link link,
                        sx_output what, char *out, sx_size out_s0, sx_size out_s1)
{
    int status = SX_OK;
    const sx_size k = p->W.rows;
    double *z = malloc((size_t)k * sizeof(double));
    if (z == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    for (sx_size i = 0; i < X->rows; i++) {
        SX_NAME(row_logits)(X, X->data + i * X->s0, p, z);
        if (nonfinite_probe(z, k) != 0.0) {
            status = SX_ERR_NONFINITE;
            goto done;
        }
        if (what != SX_OUT_LOGITS) {
            activate_row(link, what == SX_OUT_LOG_PROBA, z, k);
        }
        for (sx_size c = 0; c < k; c++) {
            *(SX_T *)(out + i * out_s0 + c * out_s1) = (SX_T)z[c];
        }
    }
done:
    free(z);
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
                          int fit_intercept, uint64_t seed, double *mean_loss)
{
    int status = SX_OK;
    const sx_size n = d->X.rows, m = d->X.cols;
    const sx_size esz = (sx_size)sizeof(SX_T);
    SX_T *w = (SX_T *)W, *bias = (SX_T *)b;
    double *grad = calloc((size_t)(k * m + k), sizeof(double));
    sx_size *rows = malloc((size_t)batch_size * sizeof(sx_size));
    double total = 0.0, wnorm2 = 0.0;
    sx_size batches = 0;
    sx_permutation perm;
    const sx_params p = {{W, k, m, m * esz, esz}, b, esz};

    if (grad == NULL || rows == NULL) {
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
        status = SX_NAME(sx_loss_grad)(d, &p, rows, 0, count, &acc);
        if (status != SX_OK) {
            goto done;
        }
        const double inv = acc.weight > 0.0 ? 1.0 / acc.weight : 0.0;
        total += acc.loss * inv + 0.5 * alpha * wnorm2;
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
    free(grad);
    free(rows);
    return status;
}

#undef SX_LOAD
