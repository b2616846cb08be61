/* The kernels for x86-64 CPUs with AVX-512 (F, DQ, VL): 64-byte vectors, 32 registers. */
#include "kernels_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SX_NO_MULTIVERSION)
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#endif
#define SX_ISA avx512
#define SX_ISA_NAME "avx512"
#define SX_VECTOR_BYTES 64
#define SX_VECTOR_REGS 32
#include "kernels_isa.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const sx_isa_kernels sx_kernels_avx512 = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
#endif
