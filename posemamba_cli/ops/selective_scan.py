"""`selective_scan`: one autograd function over interchangeable backends, with the reference beside it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from posemamba_cli import settings
from posemamba_cli.ops.backend import ScanBackend, ScanBackendError, best_backend, get_backend
from posemamba_cli.ops.scan_reference import selective_scan_reference


class _SelectiveScanFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, backend: ScanBackend, u, delta, A, B, C, D, delta_bias, delta_softplus):
        y, saved = backend.forward(u, delta, A, B, C, D, delta_bias, delta_softplus)
        ctx.backend = backend
        ctx.delta_softplus = delta_softplus
        ctx.has_d, ctx.has_bias = D is not None, delta_bias is not None
        ctx.save_for_backward(u, delta, A, B, C, D, delta_bias, *saved)
        return y

    @staticmethod
    def backward(ctx, dy):
        u, delta, A, B, C, D, delta_bias, *saved = ctx.saved_tensors
        grads = ctx.backend.backward(
            u, delta, A, B, C, D if ctx.has_d else None, delta_bias if ctx.has_bias else None,
            ctx.delta_softplus, tuple(saved), dy.contiguous(),
        )
        return (None, *grads, None)


_runtime = ["auto"]  # the backend "auto" stands for, set by use_backend (process-wide, like torch.backends' flags)


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run every op inside the block on backend `name` ("reference", "cpu", "torch", "triton", ...) wherever
    the op is asked for "auto" (models are): a runtime choice, not part of any model; "auto" inside restores
    the default (best available; POSEMAMBA_SCAN_BACKEND overrides)."""
    old, _runtime[0] = _runtime[0], name
    try:
        yield
    finally:
        _runtime[0] = old


def _forced_by(name: str) -> str:
    return " (set by POSEMAMBA_SCAN_BACKEND)" if settings.scan_backend() == name else ""


def resolve_backend(name: str, device_type: str, dtype: torch.dtype) -> ScanBackend | None:
    """The backend for `name` on this device ("auto": use_backend's choice, else the environment's, else the
    best available); None means the reference loop."""
    name = _runtime[0] if name == "auto" else name
    name = (settings.scan_backend() or name) if name == "auto" else name
    if name == "reference":
        return None
    if name == "auto":
        if dtype == torch.float64:
            return None
        return best_backend(device_type) or get_backend("torch")
    backend = get_backend(name)
    ok, why = backend.availability()
    if not ok:
        raise ScanBackendError(f"selective-scan backend {name!r} is not available: {why}{_forced_by(name)}")
    if backend.device_type not in ("any", device_type):
        raise ScanBackendError(
            f"selective-scan backend {name!r} runs on {backend.device_type}, not {device_type}{_forced_by(name)}"
        )
    return backend


def selective_scan(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None = None,
    delta_bias: Tensor | None = None, delta_softplus: bool = True, backend: str = "auto",
) -> Tensor:
    """Selective scan in the published layout.

    u, delta: (batch, K*Di, L); A: (K*Di, N); B, C: (batch, K, N, L), shared by the Di channels of
    group k; D, delta_bias: (K*Di,). Returns y (batch, K*Di, L) in u's dtype.
    backend: "auto" (use_backend's choice, else the best available for the device; POSEMAMBA_SCAN_BACKEND
    overrides that), "reference",
    or a registered backend name ("cpu", "torch", "triton", "cuda").
    """
    if u.dim() != 3 or B.dim() != 4 or u.shape[1] % B.shape[1]:
        raise ValueError(f"bad selective-scan shapes: u {tuple(u.shape)}, B {tuple(B.shape)}")
    impl = resolve_backend(backend, u.device.type, u.dtype)
    if impl is None:
        return selective_scan_reference(u, delta, A, B, C, D, delta_bias, delta_softplus).to(u.dtype)
    return _SelectiveScanFn.apply(impl, u, delta, A, B, C, D, delta_bias, delta_softplus)
