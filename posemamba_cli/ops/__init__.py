"""Selective-scan ops: `selective_scan` dispatches to a registered backend; the reference sits beside."""

from posemamba_cli.ops.backend import ScanBackend, backend_names, get_backend, register_backend
from posemamba_cli.ops.scan_cpu import CpuNativeBackend
from posemamba_cli.ops.scan_reference import selective_scan_reference
from posemamba_cli.ops.scan_torch import TorchBackend
from posemamba_cli.ops.selective_scan import resolve_backend, selective_scan

register_backend("cpu", CpuNativeBackend, priority=10)
register_backend("torch", TorchBackend, priority=0)


def backend_status() -> dict[str, tuple[bool, str]]:
    """Every registered backend: (available, reason when not)."""
    return {name: get_backend(name).availability() for name in backend_names()}


__all__ = [
    "ScanBackend", "backend_names", "backend_status", "get_backend", "register_backend",
    "resolve_backend", "selective_scan", "selective_scan_reference",
]
