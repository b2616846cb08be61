/*
 * One instruction set's typed kernels: included by kernels_<isa>.c after it
 * has defined
 *   SX_ISA            the suffix of its function names (avx512, avx2, baseline)
 *   SX_ISA_NAME       its name for sx_select_isa ("avx512", ...)
 *   SX_VECTOR_BYTES   the width of its SIMD registers
 *   SX_VECTOR_REGS    how many it has (16 or 32): sizes the register tiles
 * and switched the compiler to the instruction set.  Instantiates
 * kernels_impl.h for float and double and fills the table sx_kernels_<isa>.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#define SX_NOW() omp_get_wtime() /* seconds, for sgd_epoch's team-or-alone choice */
#else
#define SX_NOW() 0.0
#endif

#include "kernels_internal.h"

#define SX_CAT3_(a, b, c) a##b##c
#define SX_CAT3(a, b, c) SX_CAT3_(a, b, c)

#define SX_T float
#define SX_TSIZE 4
#define SX_NAME(base) SX_CAT3(base, _f32_, SX_ISA)
#include "kernels_impl.h"
#undef SX_T
#undef SX_TSIZE
#undef SX_NAME

#define SX_T double
#define SX_TSIZE 8
#define SX_NAME(base) SX_CAT3(base, _f64_, SX_ISA)
#include "kernels_impl.h"
#undef SX_T
#undef SX_TSIZE
#undef SX_NAME

#define SX_KERNEL(base, type) SX_CAT3(base, type, SX_ISA)
const sx_isa_kernels SX_CAT3(sx_kernels, _, SX_ISA) = {
    SX_ISA_NAME,
    SX_KERNEL(loss_grad_parallel, _f32_), SX_KERNEL(loss_grad_parallel, _f64_),
    SX_KERNEL(forward_parallel, _f32_), SX_KERNEL(forward_parallel, _f64_),
    SX_KERNEL(activate, _f32_), SX_KERNEL(activate, _f64_),
    SX_KERNEL(sgd_epoch, _f32_), SX_KERNEL(sgd_epoch, _f64_),
    SX_KERNEL(fma_probe, _f32_), SX_KERNEL(fma_probe, _f64_),
};
