/*
 * The kernels for x86-64 CPUs with AVX-512 (F, DQ, VL): 64-byte vectors, 32 registers.
 *
 * Built with -DSX_AVX512_ON_AVX2 (tools/avx512_on_avx2.sh), the same code is
 * compiled for AVX2 instead: the compiler splits each 64-byte vector operation
 * into two 32-byte ones, so that a CPU without AVX-512 runs these kernels'
 * tiles, lane sums and remainders (at no particular speed) and the tests can
 * check them.  Never in a release build.
 */
#include "kernels_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SX_NO_MULTIVERSION)
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__clang__)
#if defined(SX_AVX512_ON_AVX2)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#endif
#elif defined(SX_AVX512_ON_AVX2)
#pragma GCC target("avx2,fma")
#else
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#endif
#if defined(SX_AVX512_ON_AVX2) /* a 64-byte vector does not fit one AVX2 register */
#undef SX_IN_REGISTER
#define SX_IN_REGISTER(v) ((void)0)
#undef SX_ROUNDED
#define SX_ROUNDED(v) __asm__("" : "+m"(v))
#endif
#define SX_ISA avx512
#define SX_ISA_NAME "avx512"
#define SX_VECTOR_BYTES 64
#define SX_VECTOR_REGS 32
#include <immintrin.h> /* vload_first's masked loads */
#include "kernels_isa.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const sx_isa_kernels sx_kernels_avx512 = {NULL, NULL, NULL, NULL, NULL, NULL,
                                        NULL, NULL, NULL, NULL, NULL};
#endif
