"""The contract every selective-scan backend fulfils, and the registry that `selective_scan` picks from.

A backend computes the scan forward and its gradients for one device kind. Inputs follow the published
layout: u, delta (batch, dim, L); A (dim, N); B, C (batch, groups, N, L) shared by the dim/groups
channels of each group; D, delta_bias (dim,) or None. All arithmetic and the state are float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from torch import Tensor

from posemamba_cli.errors import PoseMambaError

Grads = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor | None, Tensor | None]


class ScanBackendError(PoseMambaError, ValueError):
    """A scan backend that was asked for by name (argument or POSEMAMBA_SCAN_BACKEND) is unknown or unusable
    here: a user error, reported on one line by the CLI (a ValueError for callers that catch those)."""


class ScanBackend(Protocol):
    name: str
    device_type: str  # "cpu" or "cuda"

    def availability(self) -> tuple[bool, str]:
        """(usable here, reason when not)."""

    def forward(
        self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None,
        delta_bias: Tensor | None, delta_softplus: bool,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """y (batch, dim, L) in u's dtype, and extra tensors the backward wants saved."""

    def backward(
        self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None,
        delta_bias: Tensor | None, delta_softplus: bool, saved: tuple[Tensor, ...], dy: Tensor,
    ) -> Grads:
        """Gradients for (u, delta, A, B, C, D, delta_bias); None where the input was None."""


@dataclass
class _Entry:
    factory: Callable[[], ScanBackend]
    priority: int  # higher is preferred by "auto" among available backends of a device type; < 0: by name only
    instance: ScanBackend | None = None


_REGISTRY: dict[str, _Entry] = {}


def register_backend(name: str, factory: Callable[[], ScanBackend], priority: int) -> None:
    """Register a backend factory under `name`; built lazily on first use."""
    _REGISTRY[name] = _Entry(factory, priority)


def get_backend(name: str) -> ScanBackend:
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ScanBackendError(f"unknown selective-scan backend {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    if entry.instance is None:
        entry.instance = entry.factory()
    return entry.instance


def backend_names() -> list[str]:
    return sorted(_REGISTRY, key=lambda n: -_REGISTRY[n].priority)


def best_backend(device_type: str) -> ScanBackend | None:
    """The highest-priority available backend for a device type, or None."""
    for name in backend_names():
        if _REGISTRY[name].priority < 0:
            break
        backend = get_backend(name)
        if backend.device_type == device_type and backend.availability()[0]:
            return backend
    return None
