"""Build: pip install --no-build-isolation ./kernels/selective_scan  (needs nvcc and a CUDA build of torch)."""

import os

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

arch = os.environ.get("POSEMAMBA_CUDA_ARCH")  # e.g. "90" for Hopper; default: torch's TORCH_CUDA_ARCH_LIST
nvcc = ["-O3", "--use_fast_math", "-std=c++17", "-lineinfo"]
if arch:
    nvcc.append(f"-gencode=arch=compute_{arch},code=sm_{arch}")

setup(
    name="posemamba-selective-scan",
    version="0.1.0",
    description="CUDA selective scan for posemamba-cli (optional; the tool works without it)",
    ext_modules=[
        CUDAExtension(
            "posemamba_selective_scan",
            ["csrc/selective_scan.cu"],
            extra_compile_args={"cxx": ["-O3", "-std=c++17"], "nvcc": nvcc},
        )
    ],
    cmdclass={"build_ext": BuildExtension},
)
