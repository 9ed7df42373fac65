"""Selective-scan ops: `selective_scan` and `cross_selective_scan` dispatch to a registered backend (chosen per
call, or for a block of code with `use_backend`); the reference sits beside."""

import functools

from posemamba_cli.ops.backend import ScanBackend, ScanBackendError, backend_names, get_backend, register_backend
from posemamba_cli.ops.cross_scan import cross_selective_scan
from posemamba_cli.ops.kernel_variants import machine_isas
from posemamba_cli.ops.scan_cpu import CpuNativeBackend
from posemamba_cli.ops.scan_cuda import CudaExtBackend
from posemamba_cli.ops.scan_reference import selective_scan_reference
from posemamba_cli.ops.scan_torch import TorchBackend
from posemamba_cli.ops.scan_triton import TritonBackend
from posemamba_cli.ops.selective_scan import resolve_backend, selective_scan, use_backend

register_backend("triton", TritonBackend, priority=20)
# The CUDA extension is faster than Triton in forward+backward on an H100 but slower in the forward at
# batch 64 (benchmarks/NOTES_scan_gpu.md), so "auto" keeps Triton; choose it with backend="cuda" or
# POSEMAMBA_SCAN_BACKEND=cuda for training.
register_backend("cuda", CudaExtBackend, priority=15)
register_backend("cpu", CpuNativeBackend, priority=10)
for _isa in machine_isas():  # one build forced: "cpu-avx2" etc., for tests and benchmarks
    register_backend(f"cpu-{_isa}", functools.partial(CpuNativeBackend, _isa), priority=-1)  # never "auto"
register_backend("torch", TorchBackend, priority=0)


def backend_status() -> dict[str, tuple[bool, str]]:
    """Every registered backend: (available, reason when not)."""
    return {name: get_backend(name).availability() for name in backend_names()}


__all__ = [
    "ScanBackend", "ScanBackendError", "backend_names", "backend_status", "cross_selective_scan", "get_backend",
    "register_backend", "resolve_backend", "selective_scan", "selective_scan_reference", "use_backend",
]
