"""Build the C extension ``sigmax._core`` (metadata lives in pyproject.toml)."""
import sys

import numpy
from setuptools import Extension, setup

# The kernels are written in GCC/Clang vector extensions: GCC or Clang builds them.
# Portable by default: no -march=native (kernels_avx512.c and kernels_avx2.c
# switch the compiler to their instruction set themselves, and csrc/kernels.c
# picks at run time the best one the CPU has).  -ffp-contract=fast lets a*b+c become one fused
# multiply-add; -Wno-psabi silences a note about passing SIMD vectors between
# functions, which the kernels only do inside inlined code.
compile_args = ["-O3", "-std=c99", "-Wall", "-Wextra", "-fno-math-errno",
                "-ffp-contract=fast", "-Wno-psabi"]
link_args = []
if sys.platform.startswith("linux"):
    # Threads over row blocks (n_jobs); the block layout, not the thread
    # count, fixes the summation order.
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")

core = Extension(
    "sigmax._core",
    sources=["csrc/module.c", "csrc/kernels.c", "csrc/kernels_baseline.c",
             "csrc/kernels_avx2.c", "csrc/kernels_avx512.c", "csrc/lbfgs.c",
             "csrc/linalg.c"],
    depends=["csrc/kernels.h", "csrc/kernels_internal.h", "csrc/kernels_isa.h",
             "csrc/kernels_impl.h", "csrc/lbfgs.h", "csrc/linalg.h"],
    include_dirs=[numpy.get_include(), "csrc"],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(ext_modules=[core])
