/* The kernels for x86-64 CPUs with AVX2 and FMA: 32-byte vectors, 16 registers. */
#include "kernels_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SX_NO_MULTIVERSION)
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define SX_ISA avx2
#define SX_ISA_NAME "avx2"
#define SX_VECTOR_BYTES 32
#define SX_VECTOR_REGS 16
#include <immintrin.h> /* vload_first's masked loads */
#include "kernels_isa.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const sx_isa_kernels sx_kernels_avx2 = {NULL, NULL, NULL, NULL, NULL, NULL,
                                      NULL, NULL, NULL, NULL, NULL};
#endif
