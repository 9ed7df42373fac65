"""Build the CPU scan kernel at install time: plain C shared libraries, one per instruction set, that the
package loads with ctypes (no Python API, no torch headers). Project metadata lives in pyproject.toml.

Each library is an optional extension: where no C compiler exists the install still succeeds and the
package compiles the kernel at run time, or falls back to PyTorch (see posemamba_cli/ops/cpu_kernel.py).
"""

import importlib.util
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPS = Path("posemamba_cli") / "ops"
# The flag table, loaded by path: importing the package would import torch.
_spec = importlib.util.spec_from_file_location("_kernel_variants", OPS / "kernel_variants.py")
variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(variants)

CSRC = (OPS / "csrc").as_posix()


def _library(name: str, sources: tuple[str, ...], isa: str) -> Extension:
    ext = Extension(f"posemamba_cli.ops.{name}", [f"{CSRC}/{s}" for s in sources], depends=[f"{CSRC}/scan_vec.h"],
                    optional=True, libraries=["m"] if sys.platform != "win32" else [])
    ext.isa = isa
    return ext


class BuildCKernels(build_ext):
    """Compile each library with its instruction set's flags; export no Python init function."""

    def build_extension(self, ext: Extension) -> None:
        if self.compiler.compiler_type == "msvc":  # the kernels use GCC/Clang vector extensions
            self.warn(f"skipping {ext.name}: needs gcc or clang; the package falls back at run time")
            return
        ext.extra_compile_args = [*variants.COMMON_FLAGS, *variants.ISA_FLAGS[ext.isa]]
        ext.define_macros = [(variants.DIGEST_MACRO, f'"{variants.source_digest(OPS / "csrc")}"')]
        build_temp = self.build_temp
        self.build_temp = os.path.join(build_temp, ext.name.rpartition(".")[2])  # one object file per build
        try:
            super().build_extension(ext)
        finally:
            self.build_temp = build_temp

    def get_export_symbols(self, ext: Extension) -> list[str]:
        return []  # a ctypes library, not an importable module: no PyInit_<name>


ext_modules = [_library(variants.FEATURES_LIBRARY_NAME, (variants.FEATURES_SOURCE,), "generic")]
ext_modules += [
    _library(variants.scan_library_name(isa), variants.SCAN_SOURCES, isa) for isa in variants.machine_isas()
]

setup(ext_modules=ext_modules, cmdclass={"build_ext": BuildCKernels})
