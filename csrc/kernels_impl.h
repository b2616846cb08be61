/*
 * Typed kernel bodies, included by kernels_isa.h once per element type
 * (SX_T = float or double, SX_TSIZE its size, SX_NAME(f) its function names)
 * for each instruction set (SX_VECTOR_BYTES, SX_VECTOR_REGS).
 *
 * Rows are processed in blocks that fit in the L2 cache (block_rows).  For
 * each block:
 *   1. logits: z_r = W x_r + b.  A register tile of SX_LR rows x SX_LC
 *      classes keeps SX_LR * SX_LC vector accumulators, so each vector load
 *      of x feeds SX_LC multiply-adds and each load of W feeds SX_LR.  The
 *      accumulators are SX_T lanes (float32 X: float32 partial sums); their
 *      lanes, the columns past the last full vector, and strided rows (one
 *      product at a time) are summed in double.
 *   2. per row, in double: one vector exp over the whole block (block_exps)
 *      and, for the log loss, one vector log1p (block_lognorms), then the
 *      link, the loss and dl/dz, in one loop over the block: the softmax's
 *      row by row (block_softmax_losses), the sigmoid's output by output
 *      (block_sigmoid_losses); then their sums (block_sums).
 *   3. gradient: G += dZ^T X_block, tiled as SX_GC classes x SX_GJ vectors
 *      of columns held in registers while the block's rows (in L2) stream by.
 * Between the tiles (and segments of the logits tiles) of both passes, the
 * next block's rows are prefetched a few lines at a time (block_prefetcher):
 * they may be anywhere, since SGD visits rows in shuffled order.
 * Each gradient tile sums the block's rows from zero in registers and adds
 * them into G.  float32 G is a float buffer, added into the double sums of
 * sx_accum every SX_FLUSH_ROWS rows ("blocked" summation); float64 G is those
 * sums themselves.  Sums over rows are in double for both.
 */

#define SX_VLEN (SX_VECTOR_BYTES / SX_TSIZE)
#define VEC SX_NAME(vec)
#define DVEC SX_NAME(dvec)
#define UVEC SX_NAME(uvec)
#define VLEN ((sx_size)SX_VLEN)
#define DLEN ((sx_size)(SX_VECTOR_BYTES / 8))
#define SX_LOAD(ptr) ((double)*(const SX_T *)(ptr))

typedef SX_T VEC __attribute__((vector_size(SX_VECTOR_BYTES)));
typedef double DVEC __attribute__((vector_size(SX_VECTOR_BYTES)));
typedef uint64_t UVEC __attribute__((vector_size(SX_VECTOR_BYTES)));

#ifndef SX_TILES_DEFINED
#define SX_TILES_DEFINED
/* Register tiles: 10 to 20 accumulators plus the loaded operands fit in the
 * 16 (SSE2, AVX2) or 32 (AVX-512) vector registers without spilling.  These
 * and the block sizes below may be overridden at build time (CFLAGS=-DSX_LR=3
 * ...) to try other shapes; run tests/test_isa.py after changing them. */
#ifndef SX_LR
#define SX_LR (SX_VECTOR_REGS >= 32 ? 4 : 2) /* logits: rows per tile */
#endif
#ifndef SX_LC
#define SX_LC 5                              /* logits: classes per tile (at most) */
#endif
#ifndef SX_GC
#define SX_GC 5                              /* gradient: classes per tile (at most) */
#endif
#ifndef SX_GJ
#define SX_GJ (SX_VECTOR_REGS >= 32 ? 4 : 2) /* gradient: vectors of columns per tile */
#endif
/* The tiles' class counts are dispatched by one switch written out for 1 to 5:
 * SX_CLASS_SWITCH(C, TILE) runs TILE(c) with c the compile-time constant equal
 * to C (1 <= C <= 5). */
#define SX_TILE_CLASSES_MAX 5
#define SX_CLASS_SWITCH(C, TILE)                                                                \
    switch (C) {                                                                                \
    case 5: TILE(5); break;                                                                     \
    case 4: TILE(4); break;                                                                     \
    case 3: TILE(3); break;                                                                     \
    case 2: TILE(2); break;                                                                     \
    default: TILE(1); break;                                                                    \
    }
#if SX_LC < 1 || SX_LC > SX_TILE_CLASSES_MAX || SX_GC < 1 || SX_GC > SX_TILE_CLASSES_MAX
#error "SX_LC and SX_GC must be between 1 and 5"
#endif
/* Bytes of X per block: the block is read again by the gradient, from L2. */
#ifndef SX_BLOCK_BYTES
#define SX_BLOCK_BYTES (160 * 1024)
#endif
/* Bytes of a block's per-class scratch (its logits, their exps and partial
 * sums, and dl/dz: about 100 bytes per row and class), at most: this many,
 * with X's block in L2, or SX_SCRATCH_MODELS times W's own bytes, whichever is
 * more.  Many classes with few features make shorter blocks, down to one row
 * tile; with many features, shorter blocks would read W and write the
 * gradient more often than they save (300 classes and 784 features: 26%
 * slower with blocks of 8 rows instead of 52). */
#ifndef SX_SCRATCH_BYTES
#define SX_SCRATCH_BYTES (2 * SX_BLOCK_BYTES)
#endif
#ifndef SX_SCRATCH_MODELS
#define SX_SCRATCH_MODELS 4
#endif
/* Columns per chunk of the logits (bytes of a row): SX_LC rows of W's chunk
 * (at most 20 KB) stay in L1 while the block's rows stream by. */
#ifndef SX_CHUNK_BYTES
#define SX_CHUNK_BYTES 4096
#endif
/* Rows of a gradient tile between two calls of prefetch_some. */
#ifndef SX_GRAD_PREFETCH_ROWS
#define SX_GRAD_PREFETCH_ROWS 4
#endif
/* Bytes of a logits tile's rows between two calls of prefetch_some, in a pass
 * with a gradient pass after its logits, and in one without (forward only:
 * the logits alone then spread the next block's prefetches). */
#ifndef SX_SEGMENT_BYTES
#define SX_SEGMENT_BYTES 1024
#endif
#ifndef SX_FORWARD_SEGMENT_BYTES
#define SX_FORWARD_SEGMENT_BYTES 128
#endif
/* Rows of fewer logits sum their exps without keeping the rounding errors
 * (sum_but_max). */
#ifndef SX_PLAIN_SUM_VALUES
#define SX_PLAIN_SUM_VALUES 12
#endif
/* Values per block of activate (its double scratch: three times this). */
#ifndef SX_ACTIVATE_VALUES
#define SX_ACTIVATE_VALUES 1024
#endif
/* float32 gradient sums are kept in float over at most this many rows. */
#define SX_FLUSH_ROWS 256
/* Rows per piece of an SGD part, about (piece_rows): the room for a shuffled
 * order's row indices, per thread, is two pieces'. */
#ifndef SX_SGD_PIECE_ROWS
#define SX_SGD_PIECE_ROWS 4096
#endif
#if SX_SGD_PIECE_ROWS < SX_FLUSH_ROWS + SX_BLOCK_ROWS
#error "SX_SGD_PIECE_ROWS must hold a flush of the longest blocks"
#endif
/* Independent multiply-add chains of fma_probe: all but a few registers. */
#define SX_PROBE_CHAINS (SX_VECTOR_REGS >= 32 ? 24 : 12)
#endif

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

/* The count (<= VLEN) values at p in the first lanes, zeros in the others; reads
 * nothing past p + count. */
static SX_INLINE VEC SX_NAME(vload_first)(const SX_T *p, sx_size count)
{
#if SX_VECTOR_BYTES == 64 && !defined(SX_AVX512_ON_AVX2)
#if SX_TSIZE == 4
    return (VEC)_mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), p);
#else
    return (VEC)_mm512_maskz_loadu_pd((__mmask8)((1u << count) - 1), p);
#endif
#elif SX_VECTOR_BYTES == 32
    /* lanes below count get a mask with the sign bit set */
#if SX_TSIZE == 4
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return (VEC)_mm256_maskload_ps(p, mask);
#else
    const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)count),
                                            _mm256_setr_epi64x(0, 1, 2, 3));
    return (VEC)_mm256_maskload_pd(p, mask);
#endif
#else
    SX_T lanes[SX_VLEN] = {0};
    memcpy(lanes, p, (size_t)count * sizeof(SX_T));
    VEC v;
    memcpy(&v, lanes, sizeof(v));
    return v;
#endif
}

/* The first count (< VLEN) lanes of v stored at p; writes nothing past p + count. */
static SX_INLINE void SX_NAME(vstore_first)(SX_T *p, VEC v, sx_size count)
{
    SX_T lanes[SX_VLEN];
    memcpy(lanes, &v, sizeof(lanes));
    memcpy(p, lanes, (size_t)count * sizeof(SX_T));
}

/* The DLEN values at p as doubles. */
static SX_INLINE DVEC SX_NAME(dload)(const SX_T *p)
{
    typedef SX_T dlen_values __attribute__((vector_size(DLEN * SX_TSIZE)));
    dlen_values v;
    memcpy(&v, p, sizeof(v));
    return __builtin_convertvector(v, DVEC);
}

/* The count (1 .. DLEN) values at p as doubles in the first lanes, zeros in the
 * others; reads nothing past p + count. */
static SX_INLINE DVEC SX_NAME(dload_first)(const SX_T *p, sx_size count)
{
#if SX_TSIZE == 8 /* DVEC is VEC */
    return SX_NAME(vload_first)(p, count);
#elif SX_VECTOR_BYTES == 64 && !defined(SX_AVX512_ON_AVX2)
    return (DVEC)_mm512_cvtps_pd(_mm256_maskz_loadu_ps((__mmask8)((1u << count) - 1), p));
#elif SX_VECTOR_BYTES == 32
    const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32((int)count), _mm_setr_epi32(0, 1, 2, 3));
    return (DVEC)_mm256_cvtps_pd(_mm_maskload_ps(p, mask));
#else
    double lanes[DLEN] = {0};
    for (sx_size i = 0; i < count; i++) {
        lanes[i] = (double)p[i];
    }
    DVEC v;
    memcpy(&v, lanes, sizeof(v));
    return v;
#endif
}

/* s in every lane (written out: a lane-by-lane loop does not become a broadcast). */
#define SX_LANES2(s) s, s
#define SX_LANES4(s) SX_LANES2(s), SX_LANES2(s)
#define SX_LANES8(s) SX_LANES4(s), SX_LANES4(s)
#define SX_LANES16(s) SX_LANES8(s), SX_LANES8(s)

static SX_INLINE VEC SX_NAME(vsplat)(SX_T s)
{
#if SX_VLEN == 2
    return (VEC){SX_LANES2(s)};
#elif SX_VLEN == 4
    return (VEC){SX_LANES4(s)};
#elif SX_VLEN == 8
    return (VEC){SX_LANES8(s)};
#else
    return (VEC){SX_LANES16(s)};
#endif
}

#if defined(__GNUC__) && !defined(__clang__)
/* Lane indices of VEC's shuffles */
#if SX_TSIZE == 4
typedef int32_t SX_NAME(ivec) __attribute__((vector_size(SX_VECTOR_BYTES)));
#else
typedef int64_t SX_NAME(ivec) __attribute__((vector_size(SX_VECTOR_BYTES)));
#endif
#endif
#if defined(__GNUC__) && !defined(__clang__)
/* Lane indices of DVEC's shuffles */
typedef int64_t SX_NAME(dlanes) __attribute__((vector_size(SX_VECTOR_BYTES)));
#endif

/* Sum of the lanes, pairwise: halves folded onto each other in registers. */
static SX_INLINE double SX_NAME(vsum)(VEC v)
{
#if defined(__GNUC__) && !defined(__clang__)
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
#elif SX_VLEN == 2
    v += __builtin_shuffle(v, (SX_NAME(ivec)){1, 0});
#else
#error "a vector must hold 2, 4, 8 or 16 lanes"
#endif
    return (double)v[0];
#else
    SX_T lanes[SX_VLEN];
    memcpy(lanes, &v, sizeof(v));
    for (int width = SX_VLEN / 2; width >= 1; width /= 2) {
        for (int i = 0; i < width; i++) {
            lanes[i] += lanes[i + width];
        }
    }
    return (double)lanes[0];
#endif
}

/*
 * out[i] = vsum(v[i]) for i < VLEN, the VLEN sums at once and bit for bit the
 * same: each step adds the upper half of every source's lanes onto the lower
 * half, as vsum does, for two vectors with one addition (lanes of one go to
 * the lower half of each group of the sum, of the other to the upper half).
 * After the last step lane i holds the sum of the source fed in at position
 * bitreverse(i), so the sources are fed in that order.  (MNIST's logits are
 * 600000 lane sums per pass; one at a time they took half of block_logits'
 * time, each a chain of dependent shuffles and additions.)
 */
#if defined(__GNUC__) && !defined(__clang__)
/* Lane L of the shuffles of step h (half-width h, groups of 2h lanes) of V lanes */
#define SX_LO(L, h, V) ((L) % (2 * (h)) < (h) ? (L) : (V) + (L) - (h))
#define SX_HI(L, h, V) ((L) % (2 * (h)) < (h) ? (L) + (h) : (V) + (L))
#define SX_MASK2(F, h, V) F(0, h, V), F(1, h, V)
#define SX_MASK4(F, h, V) SX_MASK2(F, h, V), F(2, h, V), F(3, h, V)
#define SX_MASK8(F, h, V) SX_MASK4(F, h, V), F(4, h, V), F(5, h, V), F(6, h, V), F(7, h, V)
#define SX_MASK16(F, h, V)                                                                     \
    SX_MASK8(F, h, V), F(8, h, V), F(9, h, V), F(10, h, V), F(11, h, V), F(12, h, V),          \
        F(13, h, V), F(14, h, V), F(15, h, V)
#if SX_VLEN == 2
#define SX_MASK SX_MASK2
#elif SX_VLEN == 4
#define SX_MASK SX_MASK4
#elif SX_VLEN == 8
#define SX_MASK SX_MASK8
#else
#define SX_MASK SX_MASK16
#endif
#if SX_VECTOR_BYTES == 16 /* DVEC's lanes */
#define SX_DMASK SX_MASK2
#elif SX_VECTOR_BYTES == 32
#define SX_DMASK SX_MASK4
#else
#define SX_DMASK SX_MASK8
#endif
#define SX_STEP(a, b, h)                                                                       \
    (__builtin_shuffle(a, b, (SX_NAME(ivec)){SX_MASK(SX_LO, h, SX_VLEN)}) +                    \
     __builtin_shuffle(a, b, (SX_NAME(ivec)){SX_MASK(SX_HI, h, SX_VLEN)}))
#endif

static SX_INLINE void SX_NAME(vsums)(const VEC *v, double *out)
{
#if defined(__GNUC__) && !defined(__clang__)
#if SX_VLEN == 2
    VEC s = SX_STEP(v[0], v[1], 1);
#elif SX_VLEN == 4
    VEC s = SX_STEP(SX_STEP(v[0], v[2], 2), SX_STEP(v[1], v[3], 2), 1);
#elif SX_VLEN == 8
    VEC s = SX_STEP(SX_STEP(SX_STEP(v[0], v[4], 4), SX_STEP(v[2], v[6], 4), 2),
                    SX_STEP(SX_STEP(v[1], v[5], 4), SX_STEP(v[3], v[7], 4), 2), 1);
#else
    VEC s = SX_STEP(SX_STEP(SX_STEP(SX_STEP(v[0], v[8], 8), SX_STEP(v[4], v[12], 8), 4),
                            SX_STEP(SX_STEP(v[2], v[10], 8), SX_STEP(v[6], v[14], 8), 4), 2),
                    SX_STEP(SX_STEP(SX_STEP(v[1], v[9], 8), SX_STEP(v[5], v[13], 8), 4),
                            SX_STEP(SX_STEP(v[3], v[11], 8), SX_STEP(v[7], v[15], 8), 4), 2),
                    1);
#endif
    for (int i = 0; i < SX_VLEN; i++) {
        out[i] = (double)s[i];
    }
#else
    for (int i = 0; i < SX_VLEN; i++) {
        out[i] = SX_NAME(vsum)(v[i]);
    }
#endif
}

/*
 * The DLEN x DLEN matrix whose rows are t[0 .. DLEN), transposed in place:
 * t[j] then holds lane j of each former row, row l in lane l.  Each step
 * pairs the vectors h apart and swaps blocks of h lanes between them (h =
 * DLEN / 2, ..., 1).
 */
static SX_INLINE void SX_NAME(dtranspose)(DVEC *t)
{
#if defined(__GNUC__) && !defined(__clang__)
#define SX_DPAIR(i, h)                                                                         \
    do {                                                                                       \
        const DVEC a_ = t[i], b_ = t[(i) + (h)];                                               \
        t[i] = __builtin_shuffle(a_, b_, (SX_NAME(dlanes)){SX_DMASK(SX_LO, h, DLEN)});         \
        t[(i) + (h)] = __builtin_shuffle(a_, b_, (SX_NAME(dlanes)){SX_DMASK(SX_HI, h, DLEN)}); \
    } while (0)
#define SX_DSTEP(h)                                                                            \
    SX_UNROLL for (sx_size i = 0; i < DLEN; i++) {                                             \
        if ((i & (h)) == 0) {                                                                  \
            SX_DPAIR(i, h);                                                                    \
        }                                                                                      \
    }
#if SX_VECTOR_BYTES == 64
    SX_DSTEP(4)
#endif
#if SX_VECTOR_BYTES >= 32
    SX_DSTEP(2)
#endif
    SX_DSTEP(1)
#undef SX_DSTEP
#undef SX_DPAIR
#else
    double m[DLEN][DLEN];
    memcpy(m, t, sizeof(m));
    for (sx_size j = 0; j < DLEN; j++) {
        double lanes[DLEN];
        for (sx_size l = 0; l < DLEN; l++) {
            lanes[l] = m[l][j];
        }
        memcpy(&t[j], lanes, sizeof(lanes));
    }
#endif
}

#undef SX_STEP
#undef SX_MASK
#undef SX_DMASK
#undef SX_MASK16
#undef SX_MASK8
#undef SX_MASK4
#undef SX_MASK2
#undef SX_HI
#undef SX_LO

static SX_INLINE DVEC SX_NAME(dsplat)(double s)
{
#if SX_VECTOR_BYTES == 16
    return (DVEC){SX_LANES2(s)};
#elif SX_VECTOR_BYTES == 32
    return (DVEC){SX_LANES4(s)};
#else
    return (DVEC){SX_LANES8(s)};
#endif
}

/* c[0] x^(n-1) + c[1] x^(n-2) + ... + c[n-1], by Horner's rule (n >= 2). */
static SX_INLINE DVEC SX_NAME(horner)(DVEC x, const double *c, int n)
{
    DVEC p = x * c[0] + c[1];
    SX_UNROLL
    for (int i = 2; i < n; i++) {
        p = p * x + c[i];
    }
    return p;
}

/*
 * e^x for x <= 0 or -inf, to about one ulp; NaN stays NaN.  x = n ln2 + r with
 * |r| <= ln2 / 2 (Cody-Waite: ln2 in a high part exact in n * ln2_hi and a low
 * part), e^r by its Taylor series to degree 13 (remainder below 1e-17), and
 * 2^n as two normal factors so that a subnormal result is rounded once.
 */
static SX_INLINE DVEC SX_NAME(vexp_nonpositive)(DVEC x)
{
    const DVEC lo = SX_NAME(dsplat)(-746.0);  /* below it e^x rounds to 0 */
    const UVEC below = (UVEC)(x < lo);
    x = (DVEC)(((UVEC)x & ~below) | ((UVEC)lo & below));
    const double shifter = 0x1.8p52;  /* adding it rounds to an integer */
    const DVEC kd = x * 1.4426950408889634 + shifter;
    const DVEC n = kd - shifter;
    const DVEC r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
    /* 1/13!, 1/12!, ..., 1/2!, 1, 1 */
    static const double taylor[14] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                                      1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                                      1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0,
                                      1.0 / 6.0, 0.5, 1.0, 1.0};
    const DVEC p = SX_NAME(horner)(r, taylor, 14);
    /* n in [-1077, 0] as a two's-complement integer; h = floor(n / 2) */
    const UVEC ni = (UVEC)kd - (UVEC)SX_NAME(dsplat)(shifter);
    const UVEC h = ((ni + 2048) >> 1) - 1024;
    const DVEC s1 = (DVEC)((h + 1023) << 52), s2 = (DVEC)((ni - h + 1023) << 52);
    return p * s1 * s2;
}

/*
 * log(1 + x) for finite x >= 0, to about one ulp.  u = 1 + x rounded, with d
 * its rounding error (1 + x = u + d exactly, by Knuth's two-sum); u = 2^n f
 * with f in [sqrt(1/2), sqrt(2)), read off u's bits; with g = f - 1 (exact)
 * and s = g / (2 + g), |s| <= 0.172:
 *     log f = 2 atanh(s) = 2s (1 + s^2/3 + s^4/5 + ...) = g - g s + 2s R(s^2)
 * (2s = g - g s), the series to s^18 (the rest below 3e-17 of log f); then
 * log(1 + x) = n ln2 + log f + d / u, with ln2 in the two parts of
 * vexp_nonpositive's reduction so that n * ln2_hi is exact.
 */
static SX_INLINE DVEC SX_NAME(vlog1p_nonnegative)(DVEC x)
{
    const DVEC one = SX_NAME(dsplat)(1.0);
    const DVEC u = one + x;
    const DVEC x_in_u = u - one;
    const DVEC d = (one - (u - x_in_u)) + (x - x_in_u);
    /* the offset carries u into the next binade from sqrt(2) on: n = the exponent
     * of the result, f's bits = the mantissa bits put back below sqrt(2) */
    const uint64_t sqrt_half = 0x3fe6a09e667f3bcdULL;
    const UVEC bits = (UVEC)u + (0x3ff0000000000000ULL - sqrt_half);
    const UVEC n_bits = (bits >> 52) - 1023 + (UVEC)SX_NAME(dsplat)(0x1.8p52);
    const DVEC n = (DVEC)n_bits - 0x1.8p52;  /* n >= 0 as a double, exactly */
    const DVEC f = (DVEC)((bits & 0x000fffffffffffffULL) + sqrt_half);
    const DVEC g = f - 1.0;
    const DVEC s = g / (g + 2.0);
    const DVEC w = s * s;
    /* 1/19, 1/17, ..., 1/3, 0 */
    static const double atanh_series[10] = {1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0,
                                            1.0 / 11.0, 1.0 / 9.0,  1.0 / 7.0,  1.0 / 5.0,
                                            1.0 / 3.0,  0.0};
    const DVEC r = SX_NAME(horner)(w, atanh_series, 10);
    const DVEC log_f = g - (g * s - 2.0 * s * r);
    return n * 6.93147180369123816490e-01 +
           (log_f + (n * 1.90821492927058770002e-10 + d / u));
}

/* v[i] = f(v[i]) in place for count values, every one by the vector code f
 * (the tail's missing lanes are 0); f is one of the vector functions above,
 * inlined. */
static SX_INLINE void SX_NAME(map_in_place)(DVEC (*f)(DVEC), double *v, sx_size count)
{
    sx_size i = 0;
    for (; i + DLEN <= count; i += DLEN) {
        DVEC x;
        memcpy(&x, v + i, sizeof(x));
        x = f(x);
        memcpy(v + i, &x, sizeof(x));
    }
    if (i < count) {
        DVEC x = {0};
        memcpy(&x, v + i, (size_t)(count - i) * sizeof(double));
        x = f(x);
        memcpy(v + i, &x, (size_t)(count - i) * sizeof(double));
    }
}

/* Each lane of a or b, whichever is larger (a's when they are equal). */
static SX_INLINE DVEC SX_NAME(dmax)(DVEC a, DVEC b)
{
    const UVEC b_larger = (UVEC)(b > a);
    return (DVEC)(((UVEC)b & b_larger) | ((UVEC)a & ~b_larger));
}

/* max z[0 .. k), k >= 1.  Maxima taken in any order give the same value, so
 * one vector holds them: a vector at a time, the last one overlapping the one
 * before when DLEN does not divide k.  A NaN in z may or may not end up in the
 * maximum; either way z - max z is NaN somewhere in the row. */
static SX_INLINE double SX_NAME(row_max)(const double *z, sx_size k)
{
    double zmax = z[0];
    if (k < DLEN) {
        for (sx_size j = 1; j < k; j++) {
            zmax = z[j] > zmax ? z[j] : zmax;
        }
        return zmax;
    }
    DVEC v;
    memcpy(&v, z, sizeof(v));
    for (sx_size j = DLEN; j < k; j += DLEN) {
        DVEC u;
        memcpy(&u, z + (j + DLEN <= k ? j : k - DLEN), sizeof(u));
        v = SX_NAME(dmax)(v, u);
    }
    for (sx_size l = 0; l < DLEN; l++) {
        zmax = v[l] > zmax ? v[l] : zmax;
    }
    return zmax;
}

/* *s + x = (the new *s) + (its rounding error), exactly: the error is added
 * into *err (Knuth's two-sum, whatever the order of their sizes). */
static SX_INLINE void SX_NAME(two_sum)(double *s, double *err, double x)
{
    const double sum = *s + x, x_in_sum = sum - *s;
    *err += (*s - (sum - x_in_sum)) + (x - x_in_sum);
    *s = sum;
}

/*
 * The sum of a row's e^{z - max z} (each <= 1) but the 1 of its maximum:
 * t = s - 1 without the cancellation, so that log s = log1p(t) keeps its
 * relative precision when t is tiny.  The e below 1 are summed in vector
 * lanes, then the lanes' sums and the values past the last full vector; the
 * 1s but one (ties at the maximum, or e^{z - max z} rounded to 1) are added
 * last.  A row of fewer than SX_PLAIN_SUM_VALUES values is summed so, plainly:
 * within 3.3 units in the last place of log softmax (10 values on AVX-512; 15
 * reach 4.3).  Longer rows keep the rounding errors of all those additions
 * (two-sum: in the vector loop lane by lane) and add them at the end, so that
 * the error does not grow with the row's length (1000 classes: 29, 60 and 119
 * units plainly on AVX-512, AVX2 and baseline; about 2 so).
 */
static SX_INLINE double SX_NAME(sum_but_max)(const double *e, sx_size k)
{
    const DVEC one = SX_NAME(dsplat)(1.0);
    DVEC below = SX_NAME(dsplat)(0.0), ones = SX_NAME(dsplat)(0.0);
    double t = 0.0, n1 = 0.0;
    sx_size j = 0;
    if (k < SX_PLAIN_SUM_VALUES) {
        for (; j + DLEN <= k; j += DLEN) {
            DVEC v;
            memcpy(&v, e + j, sizeof(v));
            const UVEC lt = (UVEC)(v < one);
            below += (DVEC)((UVEC)v & lt);
            ones += (DVEC)((UVEC)one & ~lt);
        }
        for (sx_size l = 0; l < DLEN; l++) {
            t += below[l];
            n1 += ones[l];
        }
        for (; j < k; j++) {
            t += e[j] < 1.0 ? e[j] : 0.0;
            n1 += e[j] < 1.0 ? 0.0 : 1.0;
        }
        return t + (n1 - 1.0);
    }
    DVEC err = SX_NAME(dsplat)(0.0);
    for (; j + DLEN <= k; j += DLEN) {
        DVEC v;
        memcpy(&v, e + j, sizeof(v));
        const UVEC lt = (UVEC)(v < one);
        const DVEC x = (DVEC)((UVEC)v & lt), sum = below + x, x_in_sum = sum - below;
        err += (below - (sum - x_in_sum)) + (x - x_in_sum);  /* two_sum, lane by lane */
        below = sum;
        ones += (DVEC)((UVEC)one & ~lt);
    }
    double t_err = 0.0;
    for (sx_size l = 0; l < DLEN; l++) {
        t_err += err[l];
        SX_NAME(two_sum)(&t, &t_err, below[l]);
        n1 += ones[l];
    }
    for (; j < k; j++) {
        SX_NAME(two_sum)(&t, &t_err, e[j] < 1.0 ? e[j] : 0.0);
        n1 += e[j] < 1.0 ? 0.0 : 1.0;
    }
    return (t + t_err) + (n1 - 1.0);
}

/* E (nrows x k) = the exps the losses and the activations take, from Z; for the
 * softmax link also, per row (nrows), zmax = the largest logit and tsum = the
 * sum of the row's exps minus 1 (sum_but_max), which they take too. */
static void SX_NAME(block_exps)(sx_link link, const double *Z, sx_size nrows, sx_size k,
                                double *E, double *zmax, double *tsum)
{
    if (link == SX_LINK_SOFTMAX) {
        for (sx_size r = 0; r < nrows; r++) {
            const double *z = Z + r * k;
            zmax[r] = SX_NAME(row_max)(z, k);
            for (sx_size j = 0; j < k; j++) {
                E[r * k + j] = z[j] - zmax[r];
            }
        }
    }
    else {
        for (sx_size i = 0; i < nrows * k; i++) {
            E[i] = -fabs(Z[i]);
        }
    }
    SX_NAME(map_in_place)(SX_NAME(vexp_nonpositive), E, nrows * k);
    for (sx_size r = 0; r < nrows && link == SX_LINK_SOFTMAX; r++) {
        tsum[r] = SX_NAME(sum_but_max)(E + r * k, k);
    }
}

/*
 * L = the logs of the denominators of the activations made of block_exps'
 * output, each 1 + (a value >= 0): for the softmax link (a_j = e_j / s) one
 * per row, L[r] = log s_r = log1p(tsum[r]), precise for tiny tsum[r]; for the
 * sigmoid link (a = 1 / (1 + e) or e / (1 + e)) one per output,
 * L[i] = log1p(E[i]) = softplus(-|z_i|).  One vector log1p over the block,
 * not a C library call per row or per output.
 */
static void SX_NAME(block_lognorms)(sx_link link, const double *E, const double *tsum,
                                    sx_size nrows, sx_size k, double *L)
{
    const int softmax = link == SX_LINK_SOFTMAX;
    const sx_size count = softmax ? nrows : nrows * k;
    memcpy(L, softmax ? tsum : E, (size_t)count * sizeof(double));
    SX_NAME(map_in_place)(SX_NAME(vlog1p_nonnegative), L, count);
}

/*
 * The next block's rows, prefetched a few cache lines at a time: a call of
 * prefetch_some after each segment of a logits tile (segment_bytes of its
 * rows) and after every SX_GRAD_PREFETCH_ROWS rows of a gradient tile issues
 * `quota` prefetches, so that the lines arrive spread over the block's
 * passes.  (A burst of prefetches would fill the core's queue of outstanding
 * misses and stall the tiles' own loads; a prefetch in every iteration of a
 * tile's loop slows the loop down.  Calls within the gradient tiles, rather
 * than after each, made loss_grad about 10% faster on an AVX-512 EPYC.)
 * A pass without a gradient has only its logits to spread them over,
 * and takes shorter segments: 128 bytes rather than 1024 made predict_proba
 * 2-16% faster on an AVX-512 EPYC, where they made the passes with a
 * gradient slower.  Rows adjacent in memory (a C-contiguous X in stored
 * order) are one run, so that a line two rows share is prefetched once and
 * short rows do not each cost a turn of the loop: float32 predict_proba on
 * 20 features, 15% faster on an AVX-512 EPYC.
 */
typedef struct {
    const char *const *rows;  /* the next block's row pointers */
    sx_size nrows, bytes;     /* how many; bytes per row */
    sx_size row;              /* the row being prefetched */
    const char *line, *end;   /* its next line; its end */
    sx_size quota;            /* lines per call of prefetch_some */
    sx_size segment_bytes;    /* a logits tile calls it after each this many bytes of a row */
} SX_NAME(prefetcher);

static SX_INLINE void SX_NAME(prefetch_some)(SX_NAME(prefetcher) *pf)
{
    /* the position in locals: a store to pf->line could alias pf->rows[] (the
     * same pointer type), which kept the compiler storing it at every line */
    const char *line = pf->line, *end = pf->end;
    for (sx_size left = pf->quota; left > 0;) {
        if (line >= end) {
            if (++pf->row >= pf->nrows) {
                pf->quota = 0;
                break;
            }
            line = (const char *)((uintptr_t)pf->rows[pf->row] & ~(uintptr_t)63);
            end = pf->rows[pf->row] + pf->bytes;
        }
        /* the rest of this row's lines, up to what is left of the quota */
        const sx_size in_row = (sx_size)((end - line + 63) / 64);
        const sx_size count = in_row < left ? in_row : left;
        for (sx_size i = 0; i < count; i++) {
            SX_PREFETCH(line + 64 * i);
        }
        line += 64 * count;
        left -= count;
    }
    pf->line = line;
    pf->end = end;
}

/*
 * The length (a multiple of VLEN) of the fewest equal pieces, of at most
 * max_bytes each (but at least a vector), that cover len columns (a
 * multiple of VLEN): a short last piece would pay a piece's set-up for
 * little work.
 */
static sx_size SX_NAME(equal_pieces)(sx_size len, sx_size max_bytes)
{
    const sx_size bytes = len * (sx_size)sizeof(SX_T);
    const sx_size pieces = (bytes + max_bytes - 1) / max_bytes;
    return pieces > 0 ? (len / VLEN + pieces - 1) / pieces * VLEN : VLEN;
}

/* The columns of a chunk of the logits: the m - m % VLEN columns the tiles
 * cover, in pieces of at most SX_CHUNK_BYTES. */
static sx_size SX_NAME(logits_chunk)(sx_size m)
{
    return SX_NAME(equal_pieces)(m - m % VLEN, SX_CHUNK_BYTES);
}

/* The columns of a segment of a logits tile over len columns (a chunk), of at
 * most segment_bytes. */
static sx_size SX_NAME(logits_segment)(sx_size len, sx_size segment_bytes)
{
    return SX_NAME(equal_pieces)(len, segment_bytes);
}

/* Segments per row of the logits (over all its chunks): the prefetch calls of
 * one R x C tile position. */
static sx_size SX_NAME(logits_segments)(sx_size m, sx_size segment_bytes)
{
    const sx_size mv = m - m % VLEN, chunk = SX_NAME(logits_chunk)(m);
    sx_size count = 0;
    for (sx_size j0 = 0; j0 < mv; j0 += chunk) {
        const sx_size len = mv - j0 < chunk ? mv - j0 : chunk;
        const sx_size seg = SX_NAME(logits_segment)(len, segment_bytes);
        count += (len + seg - 1) / seg;
    }
    return count;
}

/*
 * The R x C logits tile over the columns j0 .. j1 (a multiple of VLEN apart):
 * lane-wise partial sums P[r * k + q] += x_r[j0:j1] * w_q[j0:j1] for R
 * unit-stride rows x_r and C consecutive rows w_q of W (m each); R and C are
 * compile-time constants after inlining.  The sums stay in registers while
 * the tile's columns stream by, seg columns at a time with a call of
 * prefetch_some after each.
 */
static SX_INLINE void SX_NAME(logits_tile)(const SX_T *const *x, const SX_T *w, sx_size m,
                                           sx_size j0, sx_size j1, sx_size seg, const int R,
                                           const int C, VEC *P, sx_size k,
                                           SX_NAME(prefetcher) *pf)
{
    VEC acc[SX_LR][SX_TILE_CLASSES_MAX];  /* C <= SX_LC at run time */
    SX_UNROLL for (int r = 0; r < R; r++) {
        SX_UNROLL for (int q = 0; q < C; q++) {
            acc[r][q] = j0 == 0 ? SX_NAME(vsplat)(0) : P[r * k + q];
        }
    }
    for (sx_size j = j0; j < j1;) {
        const sx_size js = j1 - j > seg ? j + seg : j1;
        for (; j < js; j += VLEN) {
            VEC xv[SX_LR];
            SX_UNROLL for (int r = 0; r < R; r++) {
                xv[r] = SX_NAME(vload)(x[r] + j);
            }
            SX_UNROLL for (int q = 0; q < C; q++) {
                VEC wv = SX_NAME(vload)(w + q * m + j);
                SX_IN_REGISTER(wv);
                SX_UNROLL for (int r = 0; r < R; r++) {
                    acc[r][q] += xv[r] * wv;
                }
            }
        }
        SX_NAME(prefetch_some)(pf);
    }
    SX_UNROLL for (int r = 0; r < R; r++) {
        SX_UNROLL for (int q = 0; q < C; q++) {
            P[r * k + q] = acc[r][q];
        }
    }
}

#define SX_LOGITS_TILE_LR(c) SX_NAME(logits_tile)(x, w, m, j0, j1, seg, SX_LR, c, P, k, pf)
#define SX_LOGITS_TILE_1(c) SX_NAME(logits_tile)(x, w, m, j0, j1, seg, 1, c, P, k, pf)

/* logits_tile for R = SX_LR or 1 rows and C <= SX_LC classes known at run time. */
static void SX_NAME(logits_tiles)(const SX_T *const *x, const SX_T *w, sx_size m, sx_size j0,
                                  sx_size j1, sx_size seg, int R, int C, VEC *P, sx_size k,
                                  SX_NAME(prefetcher) *pf)
{
    if (R == SX_LR) {
        SX_CLASS_SWITCH(C, SX_LOGITS_TILE_LR)
    }
    else {
        SX_CLASS_SWITCH(C, SX_LOGITS_TILE_1)
    }
}
#undef SX_LOGITS_TILE_LR
#undef SX_LOGITS_TILE_1

/*
 * The prefetcher of the rows next[0 .. nnext) during a block of nrows rows:
 * its quota spreads their lines over the segments of block_logits' tiles and,
 * when want_grad, over block_gradient's tiles.  Strided rows (xs not the
 * element size) go through no tiles and are not prefetched.
 */
static SX_NAME(prefetcher) SX_NAME(block_prefetcher)(const char *const *next, sx_size nnext,
                                                    sx_size xs, sx_size nrows, sx_size k,
                                                    sx_size m, int want_grad)
{
    const sx_size segment_bytes = want_grad ? SX_SEGMENT_BYTES : SX_FORWARD_SEGMENT_BYTES;
    SX_NAME(prefetcher) pf = {next, 0, 0, 0, NULL, NULL, 0, segment_bytes};
    sx_size calls = SX_NAME(logits_segments)(m, segment_bytes) * (nrows / SX_LR + nrows % SX_LR) *
                    ((k + SX_LC - 1) / SX_LC);
    if (want_grad) {
        const sx_size span = (sx_size)SX_GJ * VLEN;
        calls += (m / span + m % span / VLEN) * ((k + SX_GC - 1) / SX_GC) *
                 ((nrows + SX_GRAD_PREFETCH_ROWS - 1) / SX_GRAD_PREFETCH_ROWS);
    }
    if (xs != (sx_size)sizeof(SX_T) || nnext == 0 || calls == 0) {
        return pf;
    }
    pf.nrows = nnext;
    pf.bytes = m * (sx_size)sizeof(SX_T);
    /* the quota as for separate rows (+ 1: rows start anywhere), also for one run:
     * a run's prefetches then end earlier in the block, which was the faster */
    const sx_size lines = nnext * ((pf.bytes + 63) / 64 + 1);
    sx_size adjacent = 1;
    while (adjacent < nnext && next[adjacent] == next[0] + adjacent * pf.bytes) {
        adjacent++;
    }
    if (adjacent == nnext) { /* one run of memory (rows of a C-contiguous X in order) */
        pf.nrows = 1;
        pf.bytes *= nnext;
    }
    pf.line = (const char *)((uintptr_t)next[0] & ~(uintptr_t)63);
    pf.end = next[0] + pf.bytes;
    pf.quota = (lines + calls - 1) / calls;
    return pf;
}

/*
 * Z[r, c] = (the tiles' sum Z[r, c], or 0 when mv = 0) + sum_j x_r[j] w_c[j]
 * + b_c, the sum over the columns j = mv .. m (fewer than a vector) for the
 * `count` (1 .. DLEN) unit-stride rows xr[0 .. count), in double, j in order,
 * then the bias: one row in each lane of a double vector, so that the rows'
 * chains of multiply-adds run side by side.  Spare lanes repeat the first row
 * and are not stored.  count is a compile-time constant after inlining for
 * whole groups.  (Adding the bias here rather than in a pass of its own, and
 * writing the lanes of one class as one vector, made float32 logits of
 * 4-feature rows 37% faster on an AVX-512 EPYC, bit for bit the same.)
 * The rows' columns come in DLEN at a time, a vector per row, transposed into
 * a vector per column: whole vectors when `whole` (a compile-time constant;
 * the lanes past the row's end, still in X's buffer, are never used), masked
 * loads of the row's own values otherwise.  (Taken a value at a time, they
 * made 4-feature rows' float32 probabilities 10-12% slower in a standalone
 * loop, 4-6% through predict_proba, which also fills a new output array.)
 */
static SX_INLINE void SX_NAME(logits_tail_group)(const char *const *xr, sx_size count,
                                                 const sx_params *p, sx_size m, sx_size mv,
                                                 const int whole, double *Z)
{
    const sx_size k = p->W.rows, tail = m - mv;
    const SX_T *W = (const SX_T *)p->W.data;
    /* column mv + j of the rows (tail < VLEN), rounded up to whole groups of DLEN */
    DVEC xt[(SX_VLEN - 1 + DLEN - 1) / DLEN * DLEN];
    if (tail < 1) {  /* never: the caller has columns left (and the compiler then
                      * knows that xt[0] is set before its use) */
        return;
    }
    for (sx_size j0 = 0; j0 < tail; j0 += DLEN) {  /* DLEN columns of every row, transposed */
        const sx_size cols = tail - j0 < DLEN ? tail - j0 : DLEN;
        SX_UNROLL for (sx_size l = 0; l < DLEN; l++) {
            const SX_T *x = (const SX_T *)xr[l < count ? l : 0] + mv + j0;
            xt[j0 + l] = whole ? SX_NAME(dload)(x) : SX_NAME(dload_first)(x, cols);
        }
        SX_NAME(dtranspose)(xt + j0);
    }
    for (sx_size c = 0; c < k; c++) {
        const SX_T *w = W + c * m + mv;
        double *z = Z + c;
        DVEC s = SX_NAME(dsplat)(0.0);
        if (mv > 0) {
            SX_UNROLL for (sx_size l = 0; l < DLEN; l++) {
                s[l] = z[(l < count ? l : 0) * k];
            }
        }
        for (sx_size j = 0; j < tail; j++) {
            s += xt[j] * SX_NAME(dsplat)((double)w[j]);
        }
        s += SX_NAME(dsplat)(SX_LOAD(p->b + c * p->b_stride));
        if (k == 1 && count == DLEN) { /* the rows' logits are adjacent */
            memcpy(z, &s, sizeof(s));
        }
        else {
            SX_UNROLL for (sx_size l = 0; l < DLEN; l++) {
                if (l < count) {
                    z[l * k] = s[l];
                }
            }
        }
    }
}

/* logits_tail_group with masked loads, out of line: for rows near X's end */
static __attribute__((noinline)) void SX_NAME(logits_tail_masked)(const char *const *xr,
                                                                  sx_size count,
                                                                  const sx_params *p, sx_size m,
                                                                  sx_size mv, double *Z)
{
    SX_NAME(logits_tail_group)(xr, count, p, m, mv, 0, Z);
}

/* Whether the row at x has its columns mv .. mv + tail in whole groups of DLEN
 * values below xend, in X's buffer: logits_tail_group may then load whole
 * vectors (masked loads cost more). */
static SX_INLINE int SX_NAME(whole_loads)(const char *x, sx_size mv, sx_size tail,
                                          const char *xend)
{
    const sx_size end = mv + (tail + DLEN - 1) / DLEN * DLEN;
    return xend - x >= end * (sx_size)sizeof(SX_T);
}

/*
 * logits_tail_group over the block's rows, DLEN at a time and then the rest:
 * every row goes through the same lane code, so that its logits do not
 * depend on where it falls in the block.  A group loads whole vectors where
 * all its rows allow it (whole_loads), else masked ones: the same values.
 * xend is view_end of the rows' X.
 */
static void SX_NAME(logits_tail)(const char *const *xr, sx_size nrows, const sx_params *p,
                                 sx_size m, sx_size mv, const char *xend, double *Z)
{
    const sx_size k = p->W.rows;
    const sx_size tail = m - mv;
    sx_size r = 0;
    for (; r + DLEN <= nrows; r += DLEN) {
        int whole = 1;
        for (sx_size l = 0; l < DLEN; l++) {
            whole &= SX_NAME(whole_loads)(xr[r + l], mv, tail, xend);
        }
        if (whole) {
            SX_NAME(logits_tail_group)(xr + r, DLEN, p, m, mv, 1, Z + r * k);
        }
        else {
            SX_NAME(logits_tail_masked)(xr + r, DLEN, p, m, mv, Z + r * k);
        }
    }
    if (r < nrows) {
        SX_NAME(logits_tail_masked)(xr + r, nrows - r, p, m, mv, Z + r * k);
    }
}

/*
 * Z (nrows x k, row-major, double) = X_block W^T + b for the rows xr[0..nrows).
 * Unit-stride rows go by column chunks of at most SX_CHUNK_BYTES, and within
 * a chunk by groups of SX_LC classes: the group's rows of W's chunk stay in
 * L1 while every row of the block (in L2) streams by.  P (nrows x k vectors)
 * holds the lane-wise partial sums from one chunk to the next.  The tiles
 * call pf's prefetches.  xend (view_end of X) bounds the loads of the
 * columns past the last full vector (logits_tail).
 *
 * Zeros are multiplied like any other value.  Skipping each row's leading and
 * trailing all-zero vectors (a third of a float32 MNIST row) would leave the
 * sums bit for bit the same, but it was measured slower on MNIST: finding them
 * is the first touch of each row's lines and waits on them, which cost more
 * than the logits tiles saved (the gradient tiles, over the whole block's
 * columns, saved nothing).
 */
static void SX_NAME(block_logits)(const char *const *xr, sx_size xs, sx_size nrows,
                                  const sx_params *p, sx_size m, const char *xend, VEC *P,
                                  double *Z, SX_NAME(prefetcher) *pf)
{
    const sx_size k = p->W.rows;
    const SX_T *W = (const SX_T *)p->W.data;
    if (xs == (sx_size)sizeof(SX_T)) {
        const sx_size mv = m - m % VLEN, chunk = SX_NAME(logits_chunk)(m);
        for (sx_size j0 = 0; j0 < mv; j0 += chunk) {
            const sx_size j1 = mv - j0 < chunk ? mv : j0 + chunk;
            const sx_size seg = SX_NAME(logits_segment)(j1 - j0, pf->segment_bytes);
            for (sx_size c = 0; c < k; c += SX_LC) {
                const int C = k - c >= SX_LC ? SX_LC : (int)(k - c);
                for (sx_size r = 0; r < nrows;) {
                    const int R = nrows - r >= SX_LR ? SX_LR : 1;
                    const SX_T *x[SX_LR];
                    for (int q = 0; q < R; q++) {
                        x[q] = (const SX_T *)xr[r + q];
                    }
                    SX_NAME(logits_tiles)(x, W + c * m, m, j0, j1, seg, R, C, P + r * k + c,
                                          k, pf);
                    r += R;
                }
            }
        }
        if (mv > 0) { /* the partial sums of full vectors */
            sx_size i = 0;
            for (; i + VLEN <= nrows * k; i += VLEN) {
                SX_NAME(vsums)(P + i, Z + i);
            }
            for (; i < nrows * k; i++) {
                Z[i] = SX_NAME(vsum)(P[i]);
            }
        }
        if (mv < m) { /* the last columns, and the bias with them */
            SX_NAME(logits_tail)(xr, nrows, p, m, mv, xend, Z);
            return;
        }
    }
    else {  /* strided rows: one product at a time */
        for (sx_size r = 0; r < nrows; r++) {
            for (sx_size c = 0; c < k; c++) {
                const SX_T *w = W + c * m;
                double s = 0.0;
                for (sx_size j = 0; j < m; j++) {
                    s += (double)w[j] * SX_LOAD(xr[r] + j * xs);
                }
                Z[r * k + c] = s;
            }
        }
    }
    for (sx_size r = 0; r < nrows; r++) {  /* the bias, where no tail added it */
        for (sx_size c = 0; c < k; c++) {
            Z[r * k + c] += SX_LOAD(p->b + c * p->b_stride);
        }
    }
}

/*
 * The C x J gradient tile: G[c0 + q, j0 .. j0 + J * VLEN) += sum_r dz[r, c0 + q] x_r
 * over the block's rows, the sums held in registers from zero and added into
 * G at the end (G's load is then off the path of the first multiply-adds); pf
 * prefetches after every SX_GRAD_PREFETCH_ROWS rows.
 */
static SX_INLINE void SX_NAME(grad_tile)(const char *const *xr, sx_size nrows, const SX_T *dz,
                                         sx_size k, sx_size c0, const int C, const int J,
                                         SX_T *G, sx_size m, sx_size j0,
                                         SX_NAME(prefetcher) *pf)
{
    VEC acc[SX_TILE_CLASSES_MAX][SX_GJ];  /* C <= SX_GC at run time */
    SX_UNROLL for (int q = 0; q < C; q++) {
        SX_UNROLL for (int t = 0; t < J; t++) {
            acc[q][t] = SX_NAME(vsplat)(0);
        }
    }
    for (sx_size r0 = 0; r0 < nrows; r0 += SX_GRAD_PREFETCH_ROWS) {
        const sx_size r1 = nrows - r0 < SX_GRAD_PREFETCH_ROWS ? nrows : r0 + SX_GRAD_PREFETCH_ROWS;
        for (sx_size r = r0; r < r1; r++) {
            const SX_T *x = (const SX_T *)xr[r] + j0, *d = dz + r * k + c0;
            VEC xv[SX_GJ];
            SX_UNROLL for (int t = 0; t < J; t++) {
                xv[t] = SX_NAME(vload)(x + t * VLEN);
            }
            SX_UNROLL for (int q = 0; q < C; q++) {
                const VEC dv = SX_NAME(vsplat)(d[q]);
                SX_UNROLL for (int t = 0; t < J; t++) {
                    acc[q][t] += dv * xv[t];
                }
            }
        }
        SX_NAME(prefetch_some)(pf);
    }
    SX_UNROLL for (int q = 0; q < C; q++) {
        SX_UNROLL for (int t = 0; t < J; t++) {
            SX_T *g = G + (c0 + q) * m + j0 + t * VLEN;
            SX_NAME(vstore)(g, SX_NAME(vload)(g) + acc[q][t]);
        }
    }
}

#define SX_GRAD_TILE_GJ(c) SX_NAME(grad_tile)(xr, nrows, dz, k, c0, c, SX_GJ, G, m, j0, pf)
#define SX_GRAD_TILE_1(c) SX_NAME(grad_tile)(xr, nrows, dz, k, c0, c, 1, G, m, j0, pf)

/* grad_tile for J = SX_GJ or 1 vectors and C <= SX_GC classes known at run time. */
static void SX_NAME(grad_tiles)(const char *const *xr, sx_size nrows, const SX_T *dz, sx_size k,
                                sx_size c0, int C, int J, SX_T *G, sx_size m, sx_size j0,
                                SX_NAME(prefetcher) *pf)
{
    if (J == SX_GJ) {
        SX_CLASS_SWITCH(C, SX_GRAD_TILE_GJ)
    }
    else {
        SX_CLASS_SWITCH(C, SX_GRAD_TILE_1)
    }
}
#undef SX_GRAD_TILE_GJ
#undef SX_GRAD_TILE_1

/*
 * G[c0 + q, j0 .. m) += sum_r dz[r, c0 + q] x_r[j0 .. m) for C classes and the
 * columns past the last full vector (fewer than a vector) of unit-stride
 * rows: one vector of SX_T lanes per class, a lane per column, from G's
 * values, adding the rows in order (each column's sum is the one it would
 * get alone); the classes share each row's load.  C is a compile-time
 * constant after inlining.
 */
static SX_INLINE void SX_NAME(grad_tail_tile)(const char *const *xr, sx_size nrows,
                                              const SX_T *dz, sx_size k, sx_size c0, const int C,
                                              SX_T *G, sx_size m, sx_size j0)
{
    const sx_size tail = m - j0;
    VEC acc[SX_TILE_CLASSES_MAX];  /* C <= SX_GC at run time */
    SX_UNROLL for (int q = 0; q < C; q++) {
        acc[q] = SX_NAME(vload_first)(G + (c0 + q) * m + j0, tail);
    }
    for (sx_size r = 0; r < nrows; r++) {
        const VEC xv = SX_NAME(vload_first)((const SX_T *)xr[r] + j0, tail);
        const SX_T *d = dz + r * k + c0;
        SX_UNROLL for (int q = 0; q < C; q++) {
            acc[q] += SX_NAME(vsplat)(d[q]) * xv;
        }
    }
    SX_UNROLL for (int q = 0; q < C; q++) {
        SX_NAME(vstore_first)(G + (c0 + q) * m + j0, acc[q], tail);
    }
}

/* grad_tail_tile over all k classes, SX_GC at a time. */
static void SX_NAME(grad_tail)(const char *const *xr, sx_size nrows, const SX_T *dz, sx_size k,
                               sx_size m, sx_size j0, SX_T *G)
{
#define SX_GRAD_TAIL_TILE(c) SX_NAME(grad_tail_tile)(xr, nrows, dz, k, c0, c, G, m, j0)
    for (sx_size c0 = 0; c0 < k; c0 += SX_GC) {
        SX_CLASS_SWITCH(k - c0 >= SX_GC ? SX_GC : (int)(k - c0), SX_GRAD_TAIL_TILE)
    }
#undef SX_GRAD_TAIL_TILE
}

/*
 * G (k x m, SX_T) += sum_r dz[r, :]^T x_r over the block's rows; pf prefetches
 * within the tiles.
 */
static void SX_NAME(block_gradient)(const char *const *xr, sx_size xs, sx_size nrows,
                                    const SX_T *dz, sx_size k, sx_size m, SX_T *G,
                                    SX_NAME(prefetcher) *pf)
{
    if (xs != (sx_size)sizeof(SX_T)) {
        for (sx_size r = 0; r < nrows; r++) {
            for (sx_size c = 0; c < k; c++) {
                const SX_T g = dz[r * k + c];
                SX_T *gw = G + c * m;
                for (sx_size j = 0; j < m; j++) {
                    gw[j] += g * *(const SX_T *)(xr[r] + j * xs);
                }
            }
        }
        return;
    }
    sx_size j0 = 0;
    for (int J = SX_GJ; J >= 1; J = J == 1 ? 0 : 1) {
        for (; j0 + J * VLEN <= m; j0 += J * VLEN) {
            for (sx_size c0 = 0; c0 < k; c0 += SX_GC) {
                const int C = k - c0 >= SX_GC ? SX_GC : (int)(k - c0);
                SX_NAME(grad_tiles)(xr, nrows, dz, k, c0, C, J, G, m, j0, pf);
            }
        }
    }
    if (j0 < m) {
        SX_NAME(grad_tail)(xr, nrows, dz, k, m, j0, G);
    }
}

/* Whether every one of count logits is finite (z - z is 0 for finite z, NaN
 * otherwise); a vector compare per element, no chain of dependent adds. */
static int SX_NAME(all_finite)(const double *Z, sx_size count)
{
    int finite = 1;
    for (sx_size i = 0; i < count; i++) {
        finite &= Z[i] - Z[i] == 0.0;
    }
    return finite;
}

/* Bytes per row and class of a work area's block scratch (work_init): Z, E
 * and L in double, dzs in SX_T, P in vectors; and per row whatever the class
 * count: two row pointers, zmax, tsum, the row's weight and its class index. */
#define SX_SCRATCH_PER_CLASS (3 * sizeof(double) + sizeof(SX_T) + sizeof(VEC))
#define SX_SCRATCH_PER_ROW (2 * sizeof(char *) + 3 * sizeof(double) + sizeof(sx_size))

/*
 * Rows per block, a multiple of SX_LR, at most SX_BLOCK_ROWS: its rows of X
 * fit in SX_BLOCK_BYTES, and its scratch for k classes in SX_SCRATCH_BYTES or
 * in SX_SCRATCH_MODELS times W's bytes (so that few features and many
 * classes do not make the scratch many times the size of X and W); at least
 * SX_LR rows whatever m and k.
 */
static sx_size SX_NAME(block_rows)(sx_size m, sx_size k)
{
    sx_size rows = SX_BLOCK_BYTES / ((m > 0 ? m : 1) * (sx_size)sizeof(SX_T));
    rows = rows > SX_BLOCK_ROWS ? SX_BLOCK_ROWS : rows;
    /* k * SX_SCRATCH_PER_CLASS is formed only when it is below SX_SCRATCH_BYTES */
    size_t fit = (size_t)k > SX_SCRATCH_BYTES / SX_SCRATCH_PER_CLASS
                     ? 0
                     : SX_SCRATCH_BYTES / ((size_t)k * SX_SCRATCH_PER_CLASS + SX_SCRATCH_PER_ROW);
    /* k rows of scratch per row of the block against W's k rows of m: m alone sets
     * it, formed only when below SX_BLOCK_ROWS rows */
    const size_t per_feature = SX_SCRATCH_MODELS * sizeof(SX_T);
    const size_t model_fit =
        (size_t)m >= SX_BLOCK_ROWS * SX_SCRATCH_PER_CLASS / per_feature
            ? SX_BLOCK_ROWS
            : (size_t)m * per_feature / SX_SCRATCH_PER_CLASS;
    fit = fit > model_fit ? fit : model_fit;
    rows = (size_t)rows > fit ? (sx_size)fit : rows;
    rows -= rows % SX_LR;
    return rows < SX_LR ? SX_LR : rows;
}

/*
 * The rows per block of a pass over count rows, with blocks of at most br
 * rows: the fewest blocks, of equal size (a multiple of SX_LR, the last one
 * shorter), so that every block's successor is prefetched over as long a
 * block as the others (128 float32 MNIST rows make blocks of 44, 44 and 40,
 * not 52, 52 and 24).
 */
static sx_size SX_NAME(pass_block_rows)(sx_size count, sx_size br)
{
    const sx_size blocks = (count + br - 1) / br;
    sx_size rows = blocks > 0 ? (count + blocks - 1) / blocks : br;
    rows += (SX_LR - rows % SX_LR) % SX_LR;
    return rows < br ? rows : br;
}

/*
 * The scratch of one thread's pass over rows, for k classes and m features,
 * allocated once per call of a public kernel (per part, or per thread and
 * epoch), never per block: O(block x k + k x m), nothing that grows with n,
 * its block x k part within SX_SCRATCH_BYTES or a few times W's size unless
 * the fewest rows, SX_LR, exceed them (block_rows).
 */
typedef struct {
    sx_size k, m, br;
    volatile double touched; /* the sum of the targets read ahead (kept, never used) */
    double *Z, *E;      /* logits and their exps (padded to a vector): br x k */
    double *zmax, *tsum; /* softmax, per row (br): the largest logit; the exps' sum - 1 */
    double *L;          /* the logs of the activations' denominators (block_lognorms), br x k */
    double *S;          /* the block's rows' weights: br */
    sx_size *Yc;        /* the block's rows' class indices: br */
    double *dz;         /* one row's dl/dz (sx_softmax_row_loss): k */
    SX_T *dzs;          /* the block's weighted dl/dz, br x k */
    VEC *P;             /* lane-wise partial logits, br x k; then the block's dense targets */
    SX_T *G;            /* float32 only: gradient sums of the rows since the last flush, k x m */
    const char **xr;    /* row pointers: the block's, then the next block's */
    void *raw[4];
} SX_NAME(work);

static void SX_NAME(work_free)(SX_NAME(work) *w)
{
    for (int i = 0; i < 4; i++) {
        free(w->raw[i]);
    }
    memset(w, 0, sizeof(*w));
}

/* 0, or SX_ERR_NOMEM (w is then empty). */
static int SX_NAME(work_init)(SX_NAME(work) *w, sx_size k, sx_size m, int want_grad)
{
    int status = SX_OK;
    memset(w, 0, sizeof(*w));
    const sx_size br = SX_NAME(block_rows)(m, k);
    w->k = k;
    w->m = m;
    w->br = br;
    /* Every size below is under 4 (br + 1) x k vectors (G: k x m, W's own size).
     * k is not bounded by any array when m = 0 (W has no elements and b and Y
     * may be stride-0 views): refuse a k for which that bound overflows. */
    if ((size_t)k > SIZE_MAX / 4 / sizeof(VEC) / (size_t)(br + 1)) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    /* zeroed, though every value is written before it is read (the sigmoid link
     * never uses zmax and tsum) */
    w->raw[0] = calloc((size_t)(3 * br * k + DLEN + k + 3 * br), sizeof(double));
    /* the row pointers first, then the class indices, then the block's dl/dz: each
     * at its type's alignment */
    w->raw[1] = malloc((size_t)(2 * br) * sizeof(char *) + (size_t)br * sizeof(sx_size) +
                       (size_t)(br * k) * sizeof(SX_T));
    w->P = sx_aligned_alloc((size_t)(br * k) * sizeof(VEC), &w->raw[2]);
#if SX_TSIZE == 4
    if (want_grad) {
        w->G = sx_aligned_alloc((size_t)(k * m) * sizeof(SX_T), &w->raw[3]);
        if (w->G != NULL) {
            memset(w->G, 0, (size_t)(k * m) * sizeof(SX_T));
        }
    }
#else
    (void)want_grad;
#endif
    if (w->raw[0] == NULL || w->raw[1] == NULL || w->P == NULL ||
        (SX_TSIZE == 4 && want_grad && w->G == NULL)) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    w->Z = w->raw[0];
    w->E = w->Z + br * k;
    w->dz = w->E + br * k + DLEN;
    w->zmax = w->dz + k;
    w->tsum = w->zmax + br;
    w->S = w->tsum + br;
    w->L = w->S + br;
    w->xr = w->raw[1];
    w->Yc = (sx_size *)(w->xr + 2 * br);
    w->dzs = (SX_T *)(w->Yc + br);
done:
    if (status != SX_OK) {
        SX_NAME(work_free)(w);
    }
    return status;
}

/* One past the last byte of X's highest element: the memory from any element
 * up to there lies in X's buffer (between the rows of a view with gaps, too),
 * which logits_tail_group's loads of whole vectors may read. */
static const char *SX_NAME(view_end)(const sx_view *X)
{
    if (X->rows == 0 || X->cols == 0) {
        return X->data;
    }
    return X->data + (X->s0 > 0 ? (X->rows - 1) * X->s0 : 0) +
           (X->s1 > 0 ? (X->cols - 1) * X->s1 : 0) + SX_TSIZE;
}

/*
 * xr[0 .. nrows): the pointers of the block's rows, rows' from the start-th;
 * then, for prefetching, those of the rows that come next: the pass's next
 * block or, after its last block, the first of `after` (the rows this thread
 * takes next).  Returns those next rows (at most nrows).
 */
static sx_rows SX_NAME(row_pointers)(const sx_view *X, const sx_rows rows, sx_size start,
                                     sx_size nrows, const sx_rows after, const char **xr)
{
    const char *const data = X->data; /* a store to xr could change X->data, of its type */
    const sx_size s0 = X->s0;
    for (sx_size r = 0; r < nrows; r++) {
        xr[r] = data + sx_row(&rows, start + r) * s0;
    }
    const sx_rows next = start + nrows < rows.count ? sx_rows_from(&rows, start + nrows, nrows)
                                                    : sx_rows_from(&after, 0, nrows);
    for (sx_size r = 0; r < next.count; r++) {
        xr[nrows + r] = data + sx_row(&next, r) * s0;
    }
    return next;
}

/*
 * Reads the targets and weights of the rows (none when they are contiguous:
 * contiguous rows' stream in), so that they are in cache when the rows'
 * turn comes; returns their sum, which the caller keeps so that the reads
 * stay.  Loads, not prefetches: in shuffled order each is a cache miss, and
 * prefetches of them left the per-row loop stalling on those misses as if
 * they had not been issued, while loads issued together overlap their misses
 * (a shuffled float32 SGD epoch on MNIST took 6-17% less time, in minima and
 * medians of interleaved runs).
 */
static double SX_NAME(touch_targets)(const sx_data *d, const sx_rows *rows)
{
    double sum = 0.0;
    for (sx_size r = 0; rows->idx != NULL && r < rows->count; r++) {
        const sx_size i = rows->idx[r];
        if (d->y_index) {
            sum += (double)*(const sx_size *)(d->y_index + i * d->y_stride);
        }
        else {
            const char *t = d->Y.data + i * d->Y.s0;
            sum += SX_LOAD(t) + SX_LOAD(t + (d->Y.cols > 0 ? d->Y.cols - 1 : 0) * d->Y.s1);
        }
        if (d->sw) {
            sum += SX_LOAD(d->sw + i * d->sw_stride);
        }
    }
    return sum;
}

/* W itself when vector-aligned, else an aligned copy (*raw to free; NULL: no memory). */
static const char *SX_NAME(aligned_W)(const sx_params *p, void **raw)
{
    *raw = NULL;
    return sx_is_aligned(p->W.data)
               ? p->W.data
               : sx_aligned_copy(p->W.data, (size_t)(p->W.rows * p->W.cols) * sizeof(SX_T), raw);
}

/*
 * The targets of the block's rows (`block`, a run of them), and their
 * weights into S (1 without sample weights).  Dense targets (Y), nrows x k
 * values, go into T for both links; class indices (y) into Yc, which the
 * softmax's one-hot loss takes as they are, and for the sigmoid link also
 * into T (the 0/1 label for k = 1, one-hot for more outputs), each in a loop
 * of its own (the indices' loop, with no loop over the outputs inside, is a
 * vector loop: a binary model's loss_grad on 4 features 11% faster than in
 * one loop).  0, or SX_ERR_LABEL for an index out of range: the caller
 * checked them, but another thread may write y while the kernel runs
 * without the GIL, so each is checked again where it is read.
 */
static int SX_NAME(block_targets)(const sx_data *d, const sx_rows *block, sx_size k, double *T,
                                  sx_size *Yc, double *S)
{
    /* d's and block's fields in locals: a store to Yc could otherwise change them
     * (the same type), and they would be read again for every row */
    const sx_rows own = *block;
    const sx_size nrows = own.count;
    const char *const sw = d->sw, *const y_index = d->y_index;
    const sx_size sw_stride = d->sw_stride, y_stride = d->y_stride;
    for (sx_size r = 0; r < nrows; r++) {
        S[r] = sw ? SX_LOAD(sw + sx_row(&own, r) * sw_stride) : 1.0;
    }
    if (y_index == NULL) {
        for (sx_size r = 0; r < nrows; r++) {
            const char *y = d->Y.data + sx_row(&own, r) * d->Y.s0;
            for (sx_size c = 0; c < k; c++) {
                T[r * k + c] = SX_LOAD(y + c * d->Y.s1);
            }
        }
        return SX_OK;
    }
    const int sigmoid = d->link == SX_LINK_SIGMOID;
    const size_t classes = (size_t)(sigmoid && k == 1 ? 2 : k);
    int bad = 0;
    for (sx_size r = 0; r < nrows; r++) {
        const sx_size y = *(const sx_size *)(y_index + sx_row(&own, r) * y_stride);
        bad |= (size_t)y >= classes;
        Yc[r] = y;
    }
    if (sigmoid && k == 1) {
        for (sx_size r = 0; r < nrows; r++) {
            T[r] = (double)Yc[r];
        }
    }
    else if (sigmoid) {
        for (sx_size r = 0; r < nrows; r++) {
            for (sx_size c = 0; c < k; c++) {
                T[r * k + c] = (double)(c == Yc[r]);
            }
        }
    }
    return bad ? SX_ERR_LABEL : SX_OK;
}

/*
 * The sigmoid link's losses and dl/dz for count outputs, from the logits Z,
 * e = e^{-|z|} in E (block_exps), the targets T and, for the log loss,
 * log(1 + e) in L (block_lognorms): each output's loss into L and its dl/dz
 * into E, in place.  One vector loop over the block: a loop over its rows,
 * output by output (two divisions and a branch on the sign of z each), took
 * 40% of a binary model's loss_grad on 4 standard normal features (1000000
 * rows, 2 threads: 8.5 ms, now 5.0; on 20 features 9.7 ms, now 6.9, on an
 * AVX-512 EPYC).  Nothing cancels: a and sigma(-z) come from e, a - t as
 * a (1 - t) - t sigma(-z), the log loss softplus(z) - t z as
 * (1 - t) z + log(1 + e) for z >= 0 and -t z + log(1 + e) below; the squared
 * loss (a - t)^2 has dl/dz = 2 (a - t) a sigma(-z).
 */
static void SX_NAME(block_sigmoid_losses)(sx_loss loss, const double *Z, const double *T,
                                          sx_size count, double *E, double *L)
{
    for (sx_size i = 0; i < count; i++) {
        const double z = Z[i], e = E[i], t = T[i];
        const double a = sx_sigmoid_from_exp(z, e), a_neg = sx_sigmoid_from_exp(-z, e);
        const double r = a * (1.0 - t) - t * a_neg; /* a - t */
        if (loss == SX_LOSS_LOG) {
            L[i] = (z >= 0.0 ? (1.0 - t) * z : -t * z) + L[i];
            E[i] = r;
        }
        else {
            L[i] = r * r;
            E[i] = 2.0 * r * a * a_neg;
        }
    }
}

/*
 * The softmax link's losses and dl/dz for the block's rows, from the logits Z
 * and, per row, e = e^{z - max z} in E, zmax and tsum = s - 1 (block_exps)
 * and, for the log loss, log s in L (block_lognorms): each row's loss into
 * L[r] and its dl/dz into its row of E, in place.  The targets are T's rows,
 * or the class indices Yc when T is NULL.  The log loss with class indices,
 * the common case, is one loop over the block: dl/dz = a - onehot(y) with
 * a = e / s, and the loss (zmax - z_y) + log s; where y is the maximum
 * (e_y = 1), a_y - 1 = -tsum / s, not a subtraction.  (Row by row, each row's
 * dl/dz written to a buffer and read back at once for its sums, the targets,
 * losses, dl/dz and sums took 10.3 ns of loss_grad's 47.8 ns per row on 64
 * features and 10 classes, one thread of an AVX-512 EPYC; by block, with
 * block_targets and block_sums, 7.5 of 44.8.)
 * Other targets and the mse loss go row by row through sx_softmax_row_loss,
 * with dz (k values) as scratch.
 */
static void SX_NAME(block_softmax_losses)(sx_loss loss, const double *Z, const double *zmax,
                                          const double *tsum, const double *T,
                                          const sx_size *Yc, sx_size nrows, sx_size k,
                                          double *E, double *L, double *dz)
{
    if (loss == SX_LOSS_LOG && T == NULL) {
        for (sx_size r = 0; r < nrows; r++) {
            double *e = E + r * k;
            const sx_size y = Yc[r];
            const double inv = 1.0 / (1.0 + tsum[r]);
            const int at_max = e[y] == 1.0;
            for (sx_size j = 0; j < k; j++) {
                e[j] *= inv;
            }
            e[y] = at_max ? -(tsum[r] * inv) : e[y] - 1.0;
            L[r] = (zmax[r] - Z[r * k + y]) + L[r];
        }
        return;
    }
    for (sx_size r = 0; r < nrows; r++) {
        const double l = sx_softmax_row_loss(loss, Z + r * k, E + r * k, zmax[r], tsum[r], L + r,
                                             T ? T + r * k : NULL, T ? 0 : Yc[r], k, dz);
        memcpy(E + r * k, dz, (size_t)k * sizeof(double));
        L[r] = l;
    }
}

/*
 * The block's sums from its losses L (per_row values a row: the sigmoid's k
 * outputs, the softmax's one), its dl/dz E (k a row; block_sigmoid_losses,
 * block_softmax_losses) and its rows' weights S: *loss += s_r l_r (l_r the
 * sum of row r's losses) and *weight += s_r, row by row; when want_grad,
 * dzs = s_r dl/dz_r (in X's type, for the gradient tiles) and
 * gb[c] += s_r dl/dz_rc, row by row for each class.  Returns 0 if a row's
 * loss is not finite.  Each product is rounded before it is added
 * (SX_ROUNDED), as a row alone would give it.  gb's sums take DLEN classes a
 * vector at a time (E is padded for the last row's vector), so that the
 * classes' chains of additions run side by side: one chain per class, through
 * memory, took half the time of the softmax's targets, losses and sums on 10
 * classes (AVX-512 EPYC); so, 37%.  Inlined with per_row and k constant for a binary
 * model (1 and 1), whose one class sums in a scalar, in the loss's loop (its
 * chain of additions beside the loss's: 4% of the binary model's loss_grad on
 * 4 features): its loops are then flat.
 * (Row by row, with a loop over the classes and the branches of both links in
 * each, a binary model's loss_grad on 4 features took 4.8 ms per 1000000 rows
 * on 2 threads; so, 3.8 ms.)
 */
static SX_INLINE int SX_NAME(block_sums)(const double *restrict L, const sx_size per_row,
                                         const double *restrict E, const double *restrict S,
                                         sx_size nrows, const sx_size k, int want_grad,
                                         double *loss, double *weight, double *restrict gb,
                                         SX_T *restrict dzs)
{
    int finite = 1;
    const int one_class = want_grad && k == 1; /* its bias sum alongside the loss's */
    double sum = *loss, weights = *weight, g_one = one_class ? gb[0] : 0.0;
    for (sx_size r = 0; r < nrows; r++) {
        double l = 0.0;
        for (sx_size c = 0; c < per_row; c++) {
            l += L[r * per_row + c];
        }
        finite &= l - l == 0.0;
        double weighted = S[r] * l;
        SX_ROUNDED(weighted);
        sum += weighted;
        weights += S[r];
        if (one_class) {
            double g = S[r] * E[r];
            SX_ROUNDED(g);
            g_one += g;
        }
    }
    *loss = sum;
    *weight = weights;
    if (!want_grad) {
        return finite;
    }
    for (sx_size r = 0; r < nrows; r++) {
        for (sx_size c = 0; c < k; c++) {
            dzs[r * k + c] = (SX_T)(S[r] * E[r * k + c]);
        }
    }
    if (one_class) {
        gb[0] = g_one;
        return finite;
    }
    for (sx_size c0 = 0; c0 < k; c0 += DLEN) {
        const sx_size width = k - c0 < DLEN ? k - c0 : DLEN;
        DVEC g_sum = SX_NAME(dsplat)(0.0);
        for (sx_size j = 0; j < width; j++) {
            g_sum[j] = gb[c0 + j];
        }
        for (sx_size r = 0; r < nrows; r++) {
            DVEC e; /* lanes past the row's end: the next row's, or E's padding; unused */
            memcpy(&e, E + r * k + c0, sizeof(e));
            DVEC g = SX_NAME(dsplat)(S[r]) * e;
            SX_ROUNDED(g);
            g_sum += g;
        }
        for (sx_size j = 0; j < width; j++) {
            gb[c0 + j] = g_sum[j];
        }
    }
    return finite;
}

/*
 * Loss and gradient sums over the rows, on this thread, with W vector-aligned,
 * in blocks of `block` rows (at most w->br; the last one shorter); adds into
 * acc, the loss and weight sums going on from acc's own.  float32 gradient
 * sums are flushed into acc's doubles after every ceil(SX_FLUSH_ROWS / block)
 * blocks and at the end.  So a call over rows that are a whole number of such
 * flushes, followed by a call over the rows after them, gives the sums of one
 * call over both, bit for bit.  The rows `after`, which this thread takes
 * next, are prefetched during the last block like every block's successor.
 */
static int SX_NAME(loss_grad_rows)(SX_NAME(work) *w, const sx_data *d, const sx_params *p,
                                   const sx_rows *rows, sx_size block, const sx_rows *after,
                                   sx_accum *acc)
{
    const sx_size k = p->W.rows, m = d->X.cols, xs = d->X.s1, count = rows->count;
    const char *const xend = SX_NAME(view_end)(&d->X);
    const int want_grad = acc->gW != NULL;
#if SX_TSIZE == 4
    SX_T *G = w->G;
    sx_size unflushed = 0;  /* rows summed into G since it was last added to acc->gW */
#else
    SX_T *G = acc->gW;  /* double sums: no separate block sums needed */
#endif
    double loss = acc->loss, weight = acc->weight;
    for (sx_size start = 0; start < count; start += block) {
        const sx_size nrows = count - start < block ? count - start : block;
        const sx_rows next = SX_NAME(row_pointers)(&d->X, *rows, start, nrows, *after, w->xr);
        const sx_rows own = sx_rows_from(rows, start, nrows);
        /* the next block's targets and weights (and the first block's own): in shuffled
         * order each is a cache miss, whose latency the block's logits then hide */
        w->touched = SX_NAME(touch_targets)(d, &next) +
                     (start == 0 ? SX_NAME(touch_targets)(d, &own) : 0.0);
        /* the next block's rows are prefetched during both passes over this one */
        SX_NAME(prefetcher) pf =
            SX_NAME(block_prefetcher)(w->xr + nrows, next.count, xs, nrows, k, m, want_grad);
        SX_NAME(block_logits)(w->xr, xs, nrows, p, m, xend, w->P, w->Z, &pf);
        if (!SX_NAME(all_finite)(w->Z, nrows * k)) {
            return SX_ERR_NONFINITE;
        }
        SX_NAME(block_exps)(d->link, w->Z, nrows, k, w->E, w->zmax, w->tsum);
        if (d->loss == SX_LOSS_LOG) {
            SX_NAME(block_lognorms)(d->link, w->E, w->tsum, nrows, k, w->L);
        }
        /* the block's targets (dense ones in P's room: br x k vectors, the logits'
         * partial sums until block_logits returns) and weights, its losses, their sums */
        double *const T = (double *)w->P;
        const int code = SX_NAME(block_targets)(d, &own, k, T, w->Yc, w->S);
        if (code != SX_OK) {
            return code;
        }
        int finite;
        if (d->link == SX_LINK_SIGMOID) {
            SX_NAME(block_sigmoid_losses)(d->loss, w->Z, T, nrows * k, w->E, w->L);
            finite = k == 1 ? SX_NAME(block_sums)(w->L, 1, w->E, w->S, nrows, 1, want_grad, &loss,
                                                  &weight, acc->gb, w->dzs)
                            : SX_NAME(block_sums)(w->L, k, w->E, w->S, nrows, k, want_grad, &loss,
                                                  &weight, acc->gb, w->dzs);
        }
        else {
            SX_NAME(block_softmax_losses)(d->loss, w->Z, w->zmax, w->tsum,
                                          d->y_index ? NULL : T, w->Yc, nrows, k, w->E, w->L,
                                          w->dz);
            finite = SX_NAME(block_sums)(w->L, 1, w->E, w->S, nrows, k, want_grad, &loss, &weight,
                                         acc->gb, w->dzs);
        }
        if (!finite) {
            return SX_ERR_NONFINITE;
        }
        if (want_grad) {
            SX_NAME(block_gradient)(w->xr, xs, nrows, w->dzs, k, m, G, &pf);
#if SX_TSIZE == 4
            unflushed += nrows;
            if (unflushed >= SX_FLUSH_ROWS || start + nrows == count) {
                for (sx_size j = 0; j < k * m; j++) {
                    acc->gW[j] += (double)G[j];
                    G[j] = 0.0f;
                }
                unflushed = 0;
            }
#endif
        }
    }
    acc->loss = loss;
    acc->weight = weight;
    return SX_OK;
}

/*
 * loss_grad_rows over `parts` fixed contiguous parts of the rows, on up to
 * n_threads threads, added in part order: the sums depend on `parts` only.
 * A thread takes the next part when it finishes one (dynamic schedule), so
 * that a core slowed down by something else holds up the call by one part at
 * most, not by half of them.
 */
static int SX_NAME(loss_grad_parallel)(const sx_data *d, const sx_params *p, const sx_size *rows,
                                       sx_size begin, sx_size count, sx_size parts, int n_threads,
                                       sx_accum *acc)
{
    int status = SX_OK;
    const sx_size k = p->W.rows, m = d->X.cols;
    const size_t gsize = acc->gW ? (size_t)(k * m + k) : 0;
    parts = parts > count ? count : parts;
    parts = parts < 1 ? 1 : parts;
    void *W_raw;
    sx_params pa = *p;
    pa.W.data = SX_NAME(aligned_W)(p, &W_raw);
    sx_accum *part = calloc((size_t)parts, sizeof(sx_accum));
    double *sums = gsize ? sx_calloc2((size_t)parts, gsize, sizeof(double)) : NULL;
    int *codes = calloc((size_t)parts, sizeof(int));
    if (pa.W.data == NULL || part == NULL || codes == NULL || (gsize && sums == NULL)) {
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
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads > 1 ? n_threads : 1) \
    if (n_threads > 1 && parts > 1)
#endif
    for (sx_size q = 0; q < parts; q++) {
        const sx_size lo = sx_part_start(count, q, parts), hi = sx_part_start(count, q + 1, parts);
        const sx_rows mine = {rows ? rows + lo : NULL, begin + lo, hi - lo}, none = {NULL, 0, 0};
        SX_NAME(work) w;
        codes[q] = SX_NAME(work_init)(&w, k, m, gsize != 0);
        if (codes[q] == SX_OK) {
            codes[q] = SX_NAME(loss_grad_rows)(&w, d, &pa, &mine,
                                               SX_NAME(pass_block_rows)(hi - lo, w.br), &none,
                                               &part[q]);
            SX_NAME(work_free)(&w);
        }
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
    free(W_raw);
    return status;
}

/*
 * Z (nrows x k, finite logits) = softmax(Z) row by row, or log softmax(Z) when
 * log_output, in place; E (nrows x k, padded to a vector), zmax, tsum and L
 * (nrows) are scratch.  The block's e^{z - max z} come from one vector exp
 * (block_exps), then with s = sum(e) = 1 + t (sum_but_max), a = e / s, and log a =
 * (z - max z) - log s with the block's log s from one vector log1p
 * (block_lognorms); both to about one ulp, where the C library's exp and log
 * would cost 2k scalar exps and a log per row (a third of predict_proba's time
 * on MNIST).
 */
static void SX_NAME(block_softmax)(double *Z, sx_size nrows, sx_size k, int log_output,
                                   double *E, double *zmax, double *tsum, double *L)
{
    SX_NAME(block_exps)(SX_LINK_SOFTMAX, Z, nrows, k, E, zmax, tsum);
    if (log_output) {
        SX_NAME(block_lognorms)(SX_LINK_SOFTMAX, E, tsum, nrows, k, L);
        for (sx_size r = 0; r < nrows; r++) {
            double *z = Z + r * k;
            for (sx_size j = 0; j < k; j++) {
                z[j] = (z[j] - zmax[r]) - L[r];
            }
        }
        return;
    }
    for (sx_size r = 0; r < nrows; r++) {
        double *z = Z + r * k;
        const double *e = E + r * k;
        const double s = 1.0 + tsum[r];
        for (sx_size j = 0; j < k; j++) {
            z[j] = e[j] / s;
        }
    }
}

/*
 * Z (count values) = sigma(Z), or log sigma(Z) when log_output, in place, value
 * by value; E and L (count values each) are scratch.  Each value comes from
 * e = e^{-|z|} (block_exps) or log(1 + e) (block_lognorms), both computed by
 * vector code to about one ulp, through sx_sigmoid_from_exp or
 * sx_log_sigmoid_from_log1p.  NaN stays NaN.
 */
static void SX_NAME(block_sigmoid)(double *Z, sx_size count, int log_output, double *E,
                                   double *L)
{
    SX_NAME(block_exps)(SX_LINK_SIGMOID, Z, 1, count, E, NULL, NULL);
    if (log_output) {
        SX_NAME(block_lognorms)(SX_LINK_SIGMOID, E, NULL, 1, count, L);
        for (sx_size i = 0; i < count; i++) {
            Z[i] = sx_log_sigmoid_from_log1p(Z[i], L[i]);
        }
        return;
    }
    for (sx_size i = 0; i < count; i++) {
        Z[i] = sx_sigmoid_from_exp(Z[i], E[i]);
    }
}

/*
 * Each of Z's count values z becomes the pair (sigma(-z), sigma(z)), or their
 * logs when log_output: Z (room for 2 * count values) holds the pairs after;
 * E and L (count values each) are scratch.  As block_sigmoid, whose values
 * they are bit for bit, but -z has the same e^{-|z|} and log(1 + e) as z: one
 * exp (and one log) per pair.  The pairs are made in E (sigma(z)) and L
 * (sigma(-z)), each loop a vector loop, then interleaved.
 */
static void SX_NAME(block_sigmoid_pair)(double *Z, sx_size count, int log_output, double *E,
                                        double *L)
{
    SX_NAME(block_exps)(SX_LINK_SIGMOID, Z, 1, count, E, NULL, NULL);
    if (log_output) {
        SX_NAME(block_lognorms)(SX_LINK_SIGMOID, E, NULL, 1, count, L);
        for (sx_size i = 0; i < count; i++) {
            const double z = Z[i], l = L[i];
            E[i] = sx_log_sigmoid_from_log1p(z, l);
            L[i] = sx_log_sigmoid_from_log1p(-z, l);
        }
    }
    else {
        for (sx_size i = 0; i < count; i++) {
            const double z = Z[i], e = E[i];
            E[i] = sx_sigmoid_from_exp(z, e);
            L[i] = sx_sigmoid_from_exp(-z, e);
        }
    }
    for (sx_size i = 0; i < count; i++) {
        Z[2 * i] = L[i];
        Z[2 * i + 1] = E[i];
    }
}

/* The link's probabilities (or their logs) of the block's logits Z (nrows x k),
 * in place: block_softmax or block_sigmoid, with their scratch. */
static void SX_NAME(block_activate)(sx_link link, double *Z, sx_size nrows, sx_size k,
                                    int log_output, double *E, double *zmax, double *tsum,
                                    double *L)
{
    if (link == SX_LINK_SOFTMAX) {
        SX_NAME(block_softmax)(Z, nrows, k, log_output, E, zmax, tsum, L);
    }
    else {
        SX_NAME(block_sigmoid)(Z, nrows * k, log_output, E, L);
    }
}

/* The class of a row's (finite) logits z: the index of the largest (the first
 * of ties, as numpy.argmax) for k >= 2, whether z > 0 for k = 1. */
static sx_size SX_NAME(row_class)(const double *z, sx_size k)
{
    if (k == 1) {
        return z[0] > 0.0;
    }
    sx_size best = 0;
    for (sx_size j = 1; j < k; j++) {
        best = z[j] > z[best] ? j : best;
    }
    return best;
}

/*
 * The block's logits w->Z (nrows x k) become what's values in place,
 * sx_output_width(what, k) per row: the logits themselves; the link's
 * probabilities or their logs; for a pair, those of (-z, z) (w's scratch
 * holds 2 values per row); for one-vs-rest, log sigma(z), then its softmax
 * across the row.  Not for SX_OUT_CLASS.
 */
static void SX_NAME(block_outputs)(SX_NAME(work) *w, sx_link link, sx_output what,
                                   sx_size nrows, sx_size k)
{
    const int log_output = sx_output_is_log(what);
    if (what == SX_OUT_LOGITS) {
        return;
    }
    if (sx_output_is_pair(what)) {
        SX_NAME(block_sigmoid_pair)(w->Z, nrows, log_output, w->E, w->L);
        return;
    }
    if (sx_output_is_ovr(what)) {
        SX_NAME(block_sigmoid)(w->Z, nrows * k, 1, w->E, w->L);
        SX_NAME(block_softmax)(w->Z, nrows, k, log_output, w->E, w->zmax, w->tsum, w->L);
        return;
    }
    SX_NAME(block_activate)(link, w->Z, nrows, sx_output_width(what, k), log_output, w->E,
                            w->zmax, w->tsum, w->L);
}

/* forward on rows begin .. begin + count of X, on this thread, with W vector-aligned
 * and w's block scratch for sx_output_width(what, k) values per row. */
static int SX_NAME(forward_rows)(SX_NAME(work) *w, const sx_view *X, const sx_params *p,
                                 sx_link link, sx_output what, char *out, sx_size out_s0,
                                 sx_size out_s1, sx_size begin, sx_size count)
{
    const sx_size k = p->W.rows, m = X->cols, br = w->br;
    const char *const xend = SX_NAME(view_end)(X);
    const int log_output = sx_output_is_log(what);
    const sx_size kout = sx_output_width(what, k); /* values per row of out */
    const sx_size block = SX_NAME(pass_block_rows)(count, br);
    const sx_rows rows = {NULL, begin, count}, none = {NULL, 0, 0};
    for (sx_size start = 0; start < count; start += block) {
        const sx_size nrows = count - start < block ? count - start : block;
        const sx_rows next = SX_NAME(row_pointers)(X, rows, start, nrows, none, w->xr);
        SX_NAME(prefetcher) pf =
            SX_NAME(block_prefetcher)(w->xr + nrows, next.count, X->s1, nrows, k, m, 0);
        SX_NAME(block_logits)(w->xr, X->s1, nrows, p, m, xend, w->P, w->Z, &pf);
        if (!SX_NAME(all_finite)(w->Z, nrows * k)) {
            return SX_ERR_NONFINITE;
        }
        if (what == SX_OUT_CLASS) {
            for (sx_size r = 0; r < nrows; r++) {
                *(sx_size *)(out + (begin + start + r) * out_s0) =
                    SX_NAME(row_class)(w->Z + r * k, k);
            }
            continue;
        }
        SX_NAME(block_outputs)(w, link, what, nrows, k);
        /* float32 outputs can overflow where the doubles did not (a log-probability
         * below -FLT_MAX then rounds to -inf, its value in float32); float64 outputs
         * are those doubles, finite already (the check then compiles away) */
        int stored_finite = 1;
        if (out_s1 == (sx_size)sizeof(SX_T) && out_s0 == kout * (sx_size)sizeof(SX_T)) {
            /* contiguous rows (every output the estimators make): one vector loop */
            SX_T *o = (SX_T *)(out + (begin + start) * out_s0);
            for (sx_size i = 0; i < nrows * kout; i++) {
                const SX_T v = (SX_T)w->Z[i];
                o[i] = v;
                stored_finite &= SX_TSIZE == 8 || v - v == 0 || (log_output && v < 0);
            }
        }
        else {
            for (sx_size r = 0; r < nrows; r++) {
                char *o = out + (begin + start + r) * out_s0;
                for (sx_size c = 0; c < kout; c++) {
                    const SX_T v = (SX_T)w->Z[r * kout + c];
                    *(SX_T *)(o + c * out_s1) = v;
                    stored_finite &= SX_TSIZE == 8 || v - v == 0 || (log_output && v < 0);
                }
            }
        }
        if (!stored_finite) {
            return SX_ERR_NONFINITE;
        }
    }
    return SX_OK;
}

/* forward in parts of at least SX_PART_MIN_ROWS rows, on up to n_threads threads
 * taking the next part as they finish one (like loss_grad_parallel). */
static int SX_NAME(forward_parallel)(const sx_view *X, const sx_params *p, sx_link link,
                                     sx_output what, char *out, sx_size out_s0, sx_size out_s1,
                                     int n_threads)
{
    const sx_size n = X->rows, k = p->W.rows;
    sx_size parts = n / SX_PART_MIN_ROWS;
    parts = parts < 1 ? 1 : (parts > SX_MAX_PARTS ? SX_MAX_PARTS : parts);
    int status = SX_OK, codes[SX_MAX_PARTS] = {0};
    void *W_raw;
    sx_params pa = *p;
    pa.W.data = SX_NAME(aligned_W)(p, &W_raw);
    if (pa.W.data == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    (void)n_threads;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads > 1 ? n_threads : 1) \
    if (n_threads > 1 && parts > 1)
#endif
    for (sx_size q = 0; q < parts; q++) {
        const sx_size lo = sx_part_start(n, q, parts), hi = sx_part_start(n, q + 1, parts);
        SX_NAME(work) w;
        codes[q] = SX_NAME(work_init)(&w, sx_output_width(what, k), X->cols, 0);
        if (codes[q] == SX_OK) {
            codes[q] = SX_NAME(forward_rows)(&w, X, &pa, link, what, out, out_s0, out_s1, lo,
                                             hi - lo);
            SX_NAME(work_free)(&w);
        }
    }
    for (sx_size q = 0; q < parts && status == SX_OK; q++) {
        status = codes[q];
    }
done:
    free(W_raw);
    return status;
}

/*
 * out = the link's probabilities (or their logs) of logits Z of any values, by
 * blocks of at most SX_ACTIVATE_VALUES values copied into double scratch:
 * whole rows for the softmax (a row longer than that is a block of its own),
 * any piece of a row for the element-wise sigmoid.  Non-finite logits need no
 * path of their own: -inf gives its limit, and +inf in a softmax row or NaN
 * anywhere makes a NaN, reported as SX_ERR_NONFINITE.
 */
static int SX_NAME(activate)(const sx_view *Z, sx_link link, int log_output, char *out,
                             sx_size out_s0, sx_size out_s1)
{
    int status = SX_OK;
    const sx_size k = Z->cols;
    /* the block: nb rows x cols columns */
    const sx_size cols = link == SX_LINK_SOFTMAX || k < SX_ACTIVATE_VALUES ? k
                                                                           : SX_ACTIVATE_VALUES;
    const sx_size nb = cols > 0 && cols < SX_ACTIVATE_VALUES ? SX_ACTIVATE_VALUES / cols : 1;
    /* Z, E (padded to a vector) and L; zmax and tsum */
    double *z = sx_calloc2(3, (size_t)(nb * cols + DLEN), sizeof(double));
    double *zmax = calloc((size_t)(2 * nb), sizeof(double));
    if (z == NULL || zmax == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    double *E = z + nb * cols, *L = E + nb * cols + DLEN;
    for (sx_size i0 = 0; i0 < Z->rows && cols > 0; i0 += nb) {
        const sx_size nr = Z->rows - i0 < nb ? Z->rows - i0 : nb;
        for (sx_size j0 = 0; j0 < k; j0 += cols) {
            const sx_size nc = k - j0 < cols ? k - j0 : cols;
            for (sx_size r = 0; r < nr; r++) {
                for (sx_size j = 0; j < nc; j++) {
                    z[r * nc + j] = SX_LOAD(Z->data + (i0 + r) * Z->s0 + (j0 + j) * Z->s1);
                }
            }
            SX_NAME(block_activate)(link, z, nr, nc, log_output, E, zmax, zmax + nb, L);
            for (sx_size r = 0; r < nr; r++) {
                for (sx_size j = 0; j < nc; j++) {
                    const double v = z[r * nc + j];
                    if (isnan(v)) {
                        status = SX_ERR_NONFINITE;
                        goto done;
                    }
                    *(SX_T *)(out + (i0 + r) * out_s0 + (j0 + j) * out_s1) = (SX_T)v;
                }
            }
        }
    }
done:
    free(z);
    free(zmax);
    return status;
}

/*
 * Rows per piece of an SGD part with blocks of `block` rows: a whole number of
 * the part's flushes (ceil(SX_FLUSH_ROWS / block) blocks), about
 * SX_SGD_PIECE_ROWS, so that the pieces of a part add up to its sums in one
 * call of loss_grad_rows, bit for bit.
 */
static sx_size SX_NAME(piece_rows)(sx_size block)
{
    const sx_size flush = (SX_FLUSH_ROWS + block - 1) / block * block;
    const sx_size flushes = SX_SGD_PIECE_ROWS / flush;
    return (flushes > 1 ? flushes : 1) * flush;
}

/*
 * The rows of piece j of part q of `used` equal parts of the batch of count
 * rows at position start of the epoch's order: when shuffled, their indices,
 * written into buf (room for SX_SGD_PIECE_ROWS, or the part's rows if fewer);
 * else the positions themselves.  *block receives the part's rows per block
 * (pass_block_rows, with blocks of at most br rows), *pieces its pieces.
 */
static sx_rows SX_NAME(batch_piece)(const sx_permutation *perm, int shuffle, sx_size start,
                                    sx_size count, sx_size used, sx_size q, sx_size j,
                                    sx_size br, sx_size *buf, sx_size *block, sx_size *pieces)
{
    const sx_size lo = sx_part_start(count, q, used), hi = sx_part_start(count, q + 1, used);
    *block = SX_NAME(pass_block_rows)(hi - lo, br);
    const sx_size len = SX_NAME(piece_rows)(*block);
    *pieces = (hi - lo + len - 1) / len;
    const sx_size first = lo + j * len, left = hi - first;
    sx_rows rows = {NULL, start + first, left < len ? left : len};
    for (sx_size r = 0; shuffle && r < rows.count; r++) {
        buf[r] = (sx_size)sx_permutation_apply(perm, (uint64_t)(rows.begin + r));
    }
    rows.idx = shuffle ? buf : NULL;
    return rows;
}

/*
 * One SGD step's gradient: the batch's rows in `used` fixed parts, part q on
 * thread q % threads into grads[q] (its own sums), then the step itself split
 * over the columns of W, each column summing the parts in order.  Threads
 * change who computes what, never the order of any sum.  A part is taken in
 * pieces of about SX_SGD_PIECE_ROWS rows (one for the usual batches), so that
 * a shuffled order's row indices take a fixed room per thread, whatever the
 * batch size.  A thread knows which piece it takes next (of this part, its
 * next one, or its first in the next batch), so it fills in that piece's
 * indices ahead and prefetches its first rows while finishing the one before.
 */
static int SX_NAME(sgd_epoch)(const sx_data *d, char *W, char *b, sx_size k, double lr,
                              double alpha, double mean_weight, sx_size batch_size, int shuffle,
                              int fit_intercept, int n_threads, uint64_t seed, double *mean_loss)
{
    int status = SX_OK;
    const sx_size n = d->X.rows, m = d->X.cols, km = k * m;
    SX_T *bias = (SX_T *)b;
    /* Each batch is cut into parts of >= SX_SGD_PART_ROWS rows (at most SX_SGD_MAX_PARTS)
     * fixed by the batch size alone: the same sums for any n_threads. */
    sx_size parts = batch_size / SX_SGD_PART_ROWS;
    parts = parts < 1 ? 1 : (parts > SX_SGD_MAX_PARTS ? SX_SGD_MAX_PARTS : parts);
    /* the step goes over W's columns in this many fixed chunks (their |W|^2 summed in order) */
    const sx_size chunks = SX_SGD_MAX_PARTS;
    const size_t gsize = (size_t)(km + k);
    double *grads = sx_calloc2((size_t)parts, gsize, sizeof(double));
    double *sums = calloc((size_t)(parts + chunks), sizeof(double)); /* loss per part; |W|^2 */
    int *codes = calloc((size_t)parts, sizeof(int));
    const int team = n_threads > 1 && parts > 1 ? n_threads : 1;
    /* a work area per thread (thread t takes parts t, t + threads, ...; the
     * first thread all of them when it goes on alone): a call of loss_grad_rows
     * that succeeds leaves nothing in it that the next one reads (float32 G is
     * flushed to zero at its end), and after one that fails the epoch stops */
    const sx_size nwork = (sx_size)team < parts ? (sx_size)team : parts;
    SX_NAME(work) *work = calloc((size_t)nwork, sizeof(SX_NAME(work)));
    /* a shuffled order's row indices: two pieces' per thread, the one it works on and
     * the next one (filled in ahead) */
    const sx_size span = batch_size < n ? batch_size : n;
    const sx_size piece_max = span < SX_SGD_PIECE_ROWS ? span : SX_SGD_PIECE_ROWS;
    sx_size *rows = shuffle ? sx_calloc2(2 * (size_t)nwork, (size_t)piece_max, sizeof(sx_size))
                            : NULL;
    void *w_raw = NULL;
    /* the epoch works on a vector-aligned copy of W, written back at the end */
    SX_T *w = (SX_T *)sx_aligned_copy(W, (size_t)km * sizeof(SX_T), &w_raw);
    double total = 0.0, wnorm2 = 0.0;
    sx_size batches = 0;
    sx_permutation perm = {0, 0, {0, 0, 0, 0}, 0};
    const sx_params p = {{(const char *)w, k, m, m * (sx_size)sizeof(SX_T), (sx_size)sizeof(SX_T)},
                         b, (sx_size)sizeof(SX_T)};

    if (grads == NULL || sums == NULL || codes == NULL || (shuffle && rows == NULL) ||
        work == NULL || w == NULL) {
        status = SX_ERR_NOMEM;
        goto done;
    }
    for (sx_size t = 0; t < nwork; t++) {
        if (SX_NAME(work_init)(&work[t], k, m, 1) != SX_OK) {
            status = SX_ERR_NOMEM;
            goto done;
        }
    }
    const sx_size br = work[0].br;  /* the same in every work area */
    if (shuffle) {
        sx_permutation_init(&perm, (uint64_t)n, seed);
    }
    for (sx_size j = 0; j < km && alpha > 0.0; j++) {
        wnorm2 += (double)w[j] * (double)w[j];
    }
    double *wsq = sums + parts;
    /* One team for the whole epoch: per batch, a barrier after the parts and one
     * after the step (sx_barrier: it yields the CPU on a busy machine).  Every
     * thread derives the same batch sums from the parts, so all of them leave
     * the loop together when a part fails. */
    sx_barrier barrier = {0, 0};
    const double solo_ratio = sx_sgd_solo_ratio();
    int solo = 0;  /* set by the first thread before a batch's first barrier */
#ifdef _OPENMP
#pragma omp parallel num_threads(team) if (team > 1)
#endif
    {
#ifdef _OPENMP
        const sx_size tid = (sx_size)omp_get_thread_num(), threads = (sx_size)omp_get_num_threads();
#else
        const sx_size tid = 0, threads = 1;
#endif
        sx_size team_now = threads;  /* 1 once the first thread goes on alone */
        /* the first thread's seconds through its batches and in its own parts */
        double t_batch = 0.0, wall = 0.0, busy = 0.0;
        double wn2 = wnorm2;  /* |W|^2 before the step; the same in every thread */
        int failed = SX_OK;
        /* the piece this thread found ahead: which (batch, part, piece), its rows and
         * their block and its part's pieces; which of the thread's two rooms for
         * indices it is in */
        sx_rows ready = {NULL, 0, 0};
        sx_size ready_start = n, ready_q = 0, ready_j = 0, ready_block = 0, ready_pieces = 0;
        int ready_room = 0;
        sx_size *room[2] = {NULL, NULL};
        if (rows != NULL && tid < nwork) {
            room[0] = rows + (size_t)(2 * tid) * (size_t)piece_max;
            room[1] = room[0] + piece_max;
        }
        /* start + batch_size could overflow: the step is what is left, at most */
        for (sx_size start = 0, batch = 0; start < n;
             start += n - start < batch_size ? n - start : batch_size, batch++) {
            const sx_size count = (n - start < batch_size) ? n - start : batch_size;
            const sx_size used = parts < count ? parts : count;
            const sx_size after = start + count;
            const sx_size after_count = (n - after < batch_size) ? n - after : batch_size;
            const sx_size after_used = parts < after_count ? parts : after_count;
            if (tid == 0 && team_now > 1) {
                t_batch = SX_NOW();
            }
            for (sx_size q = tid; q < used; q += team_now) {
                sx_accum acc = {0.0, 0.0, grads + q * gsize, grads + q * gsize + km};
                int code = SX_OK;
                sx_size pieces = 1;
                for (sx_size j = 0; j < pieces && code == SX_OK; j++) {
                    sx_rows mine = ready;
                    sx_size block = ready_block;
                    int mine_room = ready_room;
                    pieces = ready_pieces;
                    if (ready_start != start || ready_q != q || ready_j != j) {
                        mine_room = 0;
                        mine = SX_NAME(batch_piece)(&perm, shuffle, start, count, used, q, j, br,
                                                    room[0], &block, &pieces);
                    }
                    /* this thread's next piece: the next one of this part, the first of
                     * part q + team_now of this batch, or of its first part of the next */
                    ready_room = 1 - mine_room;
                    ready = (sx_rows){NULL, 0, 0};
                    ready_start = n;
                    ready_j = 0;
                    if (j + 1 < pieces || q + team_now < used) {
                        ready_start = start;
                        ready_q = j + 1 < pieces ? q : q + team_now;
                        ready_j = j + 1 < pieces ? j + 1 : 0;
                        ready = SX_NAME(batch_piece)(&perm, shuffle, start, count, used, ready_q,
                                                     ready_j, br, room[ready_room], &ready_block,
                                                     &ready_pieces);
                    }
                    else if (tid < after_used) {
                        ready_start = after;
                        ready_q = tid;
                        ready = SX_NAME(batch_piece)(&perm, shuffle, after, after_count,
                                                     after_used, ready_q, 0, br, room[ready_room],
                                                     &ready_block, &ready_pieces);
                    }
                    code = SX_NAME(loss_grad_rows)(&work[tid], d, &p, &mine, block, &ready, &acc);
                }
                codes[q] = code;
                sums[q] = acc.loss;
            }
            if (tid == 0 && team_now > 1) {
                busy += SX_NOW() - t_batch;
                solo = batch >= SX_SGD_SOLO_MIN_BATCHES && wall > solo_ratio * busy;
            }
            sx_barrier_wait(&barrier, team_now);
            if (team_now > 1 && solo) {  /* the same decision in every thread */
                if (tid != 0) {
                    break;
                }
                team_now = 1;
                sx_count_sgd_solo_epoch();
            }
            double loss = 0.0;
            for (sx_size q = 0; q < used; q++) {
                failed = failed == SX_OK ? codes[q] : failed;
                loss += sums[q];
            }
            if (failed != SX_OK) {
                break;
            }
            /* the weighted sums over count times the data's mean weight: an unbiased
             * estimate of the weighted mean over all rows that the objective takes
             * (the batch's own weight sum would cancel a row's weight in a batch of
             * one, and bias small batches toward the light rows) */
            const double inv = 1.0 / ((double)count * mean_weight);
#ifdef _OPENMP
#pragma omp master
#endif
            {
                total += loss * inv + (alpha > 0.0 ? 0.5 * alpha * wn2 : 0.0);
                batches++;
            }
            /* the step, summing the parts in order and clearing them for the next batch;
             * the chunks in contiguous runs, one per thread */
            const sx_size ch_end = sx_part_start(chunks, tid + 1, team_now);
            for (sx_size ch = sx_part_start(chunks, tid, team_now); ch < ch_end; ch++) {
                const sx_size lo = sx_part_start(km + k, ch, chunks);
                const sx_size hi = sx_part_start(km + k, ch + 1, chunks);
                const sx_size wend = hi < km ? hi : km;
                /* g = the parts' sums in order, gathered into part 0's (loops over j vectorize) */
                double *g = grads;
                for (sx_size q = 1; q < used; q++) {
                    double *gq = grads + q * gsize;
                    for (sx_size j = lo; j < hi; j++) {
                        g[j] += gq[j];
                        gq[j] = 0.0;
                    }
                }
                for (sx_size j = lo; j < wend; j++) {
                    const double wj = (double)w[j];
                    w[j] = (SX_T)(wj - lr * (g[j] * inv + alpha * wj));
                }
                for (sx_size j = wend > lo ? wend : lo; j < hi && fit_intercept; j++) {
                    bias[j - km] = (SX_T)((double)bias[j - km] - lr * g[j] * inv);
                }
                for (sx_size j = lo; j < hi; j++) {
                    g[j] = 0.0;
                }
                double sq = 0.0;  /* |W|^2 for the next batch's objective (a serial sum) */
                for (sx_size j = lo; j < wend && alpha > 0.0; j++) {
                    sq += (double)w[j] * (double)w[j];
                }
                wsq[ch] = sq;
            }
            sx_barrier_wait(&barrier, team_now);
            if (tid == 0 && team_now > 1) {
                wall += SX_NOW() - t_batch;
            }
            wn2 = 0.0;
            for (sx_size ch = 0; ch < chunks; ch++) {
                wn2 += wsq[ch];
            }
        }
#ifdef _OPENMP
#pragma omp master
#endif
        status = failed;
    }
    *mean_loss = batches ? total / (double)batches : 0.0;
done:
    if (w != NULL) {
        memcpy(W, w, (size_t)km * sizeof(SX_T));
    }
    for (sx_size t = 0; t < nwork && work != NULL; t++) {
        SX_NAME(work_free)(&work[t]);
    }
    free(work);
    free(grads);
    free(sums);
    free(codes);
    free(rows);
    free(w_raw);
    return status;
}

/*
 * One thread's share of fma_probe (below); returns the sum of its results.  A function
 * of its own, not the parallel region's body: Clang compiles that body into a
 * function without the instruction set's target attribute, where vector
 * values of this set may not appear.
 */
static double SX_NAME(fma_chains)(sx_size rounds)
{
    const VEC mul = SX_NAME(vsplat)((SX_T)0.5), add = SX_NAME(vsplat)((SX_T)0.25);
    VEC a[SX_PROBE_CHAINS];
    double total = 0.0;
    _Pragma("GCC unroll 32") for (int i = 0; i < SX_PROBE_CHAINS; i++) {
        a[i] = SX_NAME(vsplat)((SX_T)(1 + i));
    }
    for (sx_size r = 0; r < rounds; r++) {
        _Pragma("GCC unroll 32") for (int i = 0; i < SX_PROBE_CHAINS; i++) {
            a[i] = a[i] * mul + add;
        }
    }
    for (int i = 0; i < SX_PROBE_CHAINS; i++) {
        total += SX_NAME(vsum)(a[i]);
    }
    return total;
}

/*
 * The vector units' multiply-add peak, for the benchmarks' bounds: on each of
 * n_threads threads, `rounds` rounds of SX_PROBE_CHAINS independent updates
 * a = a * m + c of whole vectors (one fused multiply-add each where the set
 * has them; -ffp-contract=fast), enough independent chains to cover the
 * units' latency.  The values start at 1, 2, ... (none at the fixed point,
 * which the compiler would fold away) and converge to 1/2: never overflowing,
 * never subnormal.  Returns the floating-point operations done (2 per lane and
 * update, over the threads that ran); *sink receives a sum of the results, so
 * that the compiler keeps the work.
 */
static double SX_NAME(fma_probe)(sx_size rounds, int n_threads, double *sink)
{
    double total = 0.0, flops = 0.0;
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads > 1 ? n_threads : 1) reduction(+ : total, flops)
#else
    (void)n_threads;
#endif
    {
        total += SX_NAME(fma_chains)(rounds);
        flops += 2.0 * (double)rounds * SX_PROBE_CHAINS * (double)VLEN;  /* this thread's */
    }
    *sink = total;
    return flops;
}

#undef SX_VLEN
#undef VEC
#undef DVEC
#undef UVEC
#undef VLEN
#undef DLEN
#undef SX_LOAD
#undef SX_SCRATCH_PER_CLASS
#undef SX_SCRATCH_PER_ROW
