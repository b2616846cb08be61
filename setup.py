"""Build the C extension ``sigmax._core`` (metadata lives in pyproject.toml)."""
import os
import sys
import tempfile

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# The kernels are written in GCC/Clang vector extensions: GCC or Clang builds them.
# Portable by default: no -march=native (kernels_avx512.c and kernels_avx2.c
# switch the compiler to their instruction set themselves, and csrc/kernels.c
# picks at run time the best one the CPU has).  -ffp-contract=fast lets a*b+c become one fused
# multiply-add; -Wno-psabi silences a note about passing SIMD vectors between
# functions, which the kernels only do inside inlined code.
compile_args = ["-O3", "-std=c99", "-Wall", "-Wextra", "-fno-math-errno",
                "-ffp-contract=fast", "-Wno-psabi"]

OPENMP_CHECK = "#include <omp.h>\nint sx_openmp_check(void) { return omp_get_max_threads(); }\n"


class BuildExt(build_ext):
    """Threads over row blocks (n_jobs) with OpenMP, on Linux, when the
    compiler builds and links an OpenMP program (GCC does; Clang needs libomp);
    otherwise, or with SIGMAX_OPENMP=0, a single-thread build.  The block
    layout, not the thread count, fixes the summation order, so both give the
    same results."""

    def build_extensions(self):
        wanted = sys.platform.startswith("linux") and os.environ.get("SIGMAX_OPENMP") != "0"
        openmp = wanted and self._openmp_works()
        if openmp:
            for ext in self.extensions:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        elif wanted:
            print("sigmax: the compiler cannot build an OpenMP program (for Clang, install "
                  "libomp); building without threads: n_jobs will use one thread",
                  file=sys.stderr)
        # a build left from the other choice looks up to date (its sources have
        # not changed): rebuild when the choice differs from the last finished
        # build's, recorded once it has finished (a failed build leaves no record)
        record = os.path.join(self.build_temp, "sigmax-openmp")
        choice = "openmp" if openmp else "single-thread"
        try:
            with open(record) as f:
                self.force = self.force or f.read() != choice
            os.remove(record)
        except OSError:
            self.force = True  # no record: the state of any earlier build is unknown
        super().build_extensions()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(record, "w") as f:
            f.write(choice)

    def _openmp_works(self) -> bool:
        """Whether a small OpenMP file compiles and links as the extension
        does: into a shared object, so with the link command and flags the
        extension gets ($LDSHARED, $LDFLAGS and $CFLAGS).  An executable's link
        gets neither flag variable, so with CFLAGS=-fsanitize=address or
        --coverage its objects' references to the sanitizer or gcov runtime
        failed to link, and the extension was built without threads."""
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "openmp_check.c")
            with open(source, "w") as f:
                f.write(OPENMP_CHECK)
            try:
                objects = self.compiler.compile([source], output_dir=tmp,
                                                extra_postargs=["-fopenmp"])
                self.compiler.link_shared_object(
                    objects, self.compiler.shared_object_filename("openmp_check"),
                    output_dir=tmp, extra_postargs=["-fopenmp"])
            except Exception:  # CompileError, LinkError: no usable OpenMP
                return False
        return True


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
    extra_link_args=[],
)

setup(ext_modules=[core], cmdclass={"build_ext": BuildExt})
