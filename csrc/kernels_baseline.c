/* The portable kernels: 16-byte vectors (SSE2 on x86-64, NEON on arm64). */
#define SX_ISA baseline
#define SX_ISA_NAME "baseline"
#define SX_VECTOR_BYTES 16
#define SX_VECTOR_REGS 16
#include "kernels_isa.h"
