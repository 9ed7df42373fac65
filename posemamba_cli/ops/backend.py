"""The contract every selective-scan backend fulfils, and the registry that `selective_scan` picks from.

A backend computes the scan forward and its gradients for one device kind. Inputs follow the published
layout: u, delta (batch, dim, L); A (dim, N); B, C (batch, groups, N, L) shared by the dim/groups
channels of each group; D, delta_bias (dim,) or None. All arithmetic and the state are float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from posemamba_cli.errors import PoseMambaError

Grads = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor | None, Tensor | None]


class ScanBackendError(PoseMambaError, ValueError):
    """A scan backend that was asked for by name (argument or POSEMAMBA_SCAN_BACKEND) is unknown or unusable
    here: a user error, reported on one line by the CLI (a ValueError for callers that catch those)."""


Projections = list[tuple[Tensor, list[int]]]  # (tensor (batch, P, len(ks) (R + 2N)), the groups ks side by side)
CrossGrads = tuple[dict[int, Tensor], Projections, Tensor, Tensor | None, Tensor, Tensor]


class ScanBackend:
    """The contract of a selective-scan backend. `forward` / `backward`: the plain scan (every backend). The
    fused ops are optional: a backend without them covers nothing (`cross_covers` False, the block steps None)
    (`fuses_blocks` False) and the composed PyTorch forms run (ops.cross_scan, ops.block_ops)."""

    name: str
    device_type: str  # "cpu", "cuda", or "any"

    def availability(self) -> tuple[bool, str]:
        """(usable here, reason when not)."""
        raise NotImplementedError

    def forward(
        self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None,
        delta_bias: Tensor | None, delta_softplus: bool,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """y (batch, dim, L) in u's dtype, and extra tensors the backward wants saved."""
        raise NotImplementedError

    def backward(
        self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None,
        delta_bias: Tensor | None, delta_softplus: bool, saved: tuple[Tensor, ...], dy: Tensor,
    ) -> Grads:
        """Gradients for (u, delta, A, B, C, D, delta_bias); None where the input was None."""
        raise NotImplementedError

    # -- the fused cross scan (ops.cross_scan's op over the grid, no gathered copies) --------------------
    def cross_covers(self, sources: Sequence[Tensor], A: Tensor, dt_w: Tensor, grad: bool) -> bool:
        """Whether cross_forward (and, when `grad`, cross_backward) take these inputs."""
        return False

    def cross_forward(self, us: list[Tensor], x_proj_weight: Tensor, orders: Tensor, dt_w: Tensor, dt_b: Tensor,
                      A: Tensor, D: Tensor | None, save: bool) -> tuple[Tensor, Projections, tuple[Tensor, ...]]:
        """us: K (batch, P, Di) inputs, one per group (groups scanning one source share the object); x_proj_weight
        (K, R + 2N, Di), orders (K, P), dt_w (K, Di, R), dt_b (K, Di), A (K*Di, N), D (K*Di,). Returns y (batch,
        P, Di) float32, the (dt_low, B, C) projections it formed, and what cross_backward needs when `save`."""
        raise NotImplementedError

    def cross_backward(self, us: list[Tensor], projs: Projections, saved: tuple[Tensor, ...], orders: Tensor,
                       dt_w: Tensor, dt_b: Tensor, A: Tensor, D: Tensor | None, source_index: Sequence[int],
                       dy: Tensor) -> CrossGrads:
        """dy (batch, P, Di) float32. Returns du per source (batch, P, Di) float32 contiguous, d projs (like
        projs), dA (K*Di, N), dD (K*Di,) or None, d dt_b (K, Di), d dt_w (K, Di, R)."""
        raise NotImplementedError

    def cross_scan(self, sources: Sequence[Tensor], source_index: Sequence[int], orders: Tensor,
                   x_proj_weight: Tensor, dt_w: Tensor, dt_b: Tensor, A: Tensor, D: Tensor | None) -> Tensor | None:
        """The fused cross scan, with gradients: y (batch, Di, P) float32; None where this backend does not
        cover the inputs. sources: (batch, Di, P) on the grid."""
        tensors = (*sources, x_proj_weight, dt_w, dt_b, A, D)
        grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
        if not self.cross_covers(sources, A, dt_w, grad):
            return None
        return _CrossScanFn.apply(self, grad, tuple(source_index), orders, x_proj_weight, dt_w, dt_b, A, D, *sources)

    # -- the fused block steps (ops.block_ops, which documents them), float32 CPU inference ------------------
    def fuses_blocks(self, width: int) -> bool:
        """Whether conv3x3_silu and layer_norm_gate run fused on rows of `width` channels."""
        return False

    def conv3x3_silu(self, x: Tensor, weight: Tensor, bias: Tensor | None,
                     gather: Tensor | None) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def layer_norm_gate(self, y: Tensor, z: Tensor, weight: Tensor, bias: Tensor, eps: float,
                        inplace: bool) -> Tensor:
        raise NotImplementedError


class _CrossScanFn(torch.autograd.Function):
    """The fused cross scan over any backend's cross_forward / cross_backward; the projections' gradients go
    back to the sources and x_proj_weight through two matmuls per projection."""

    @staticmethod
    def forward(ctx, backend: ScanBackend, save: bool, source_index: tuple[int, ...], orders: Tensor,
                x_proj_weight: Tensor, dt_w: Tensor, dt_b: Tensor, A: Tensor, D: Tensor | None,
                *sources: Tensor) -> Tensor:
        srcs = [s.transpose(1, 2) for s in sources]  # (b, P, Di) views; contiguous when stored channels-last
        us = [srcs[s] for s in source_index]
        y, projs, saved = backend.cross_forward(us, x_proj_weight, orders, dt_w, dt_b, A, D, save)
        if save:
            ctx.backend, ctx.source_index, ctx.n_sources = backend, source_index, len(sources)
            ctx.groups = [ks for _, ks in projs]
            ctx.save_for_backward(orders, x_proj_weight, dt_w, dt_b, A, D, *sources, *(p for p, _ in projs), *saved)
        return y.transpose(1, 2)  # (b, Di, P), stored channels-last

    @staticmethod
    @once_differentiable
    def backward(ctx, dy: Tensor):
        orders, x_proj_weight, dt_w, dt_b, A, D, *rest = ctx.saved_tensors
        S, G = ctx.n_sources, len(ctx.groups)
        sources, projs, saved = rest[:S], list(zip(rest[S:S + G], ctx.groups)), tuple(rest[S + G:])
        srcs = [s.transpose(1, 2) for s in sources]
        us = [srcs[s] for s in ctx.source_index]
        du, dprojs, dA, dD, dbias, dw = ctx.backend.cross_backward(
            us, projs, saved, orders, dt_w, dt_b, A, D, ctx.source_index, dy.float().transpose(1, 2))
        W = x_proj_weight.detach().float()
        K, C, dim = W.shape
        dW = torch.empty_like(W)
        for dproj, ks in dprojs:  # proj = u @ W[ks]^T, groups side by side
            d2 = dproj.reshape(-1, len(ks) * C)
            s = ctx.source_index[ks[0]]
            du[s].view(-1, dim).addmm_(d2, W[ks].reshape(-1, dim))
            dW[ks] = (d2.t() @ srcs[s].float().reshape(-1, dim)).view(len(ks), C, dim)
        dsources = [None if s not in du else du[s].transpose(1, 2).to(t.dtype) for s, t in enumerate(sources)]
        return (None, None, None, None, dW.to(x_proj_weight.dtype), dw.to(dt_w.dtype), dbias.to(dt_b.dtype),
                dA.to(A.dtype), None if D is None else dD.to(D.dtype), *dsources)


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
