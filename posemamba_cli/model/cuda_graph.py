"""Replay the lifter's inference forward from a CUDA graph: for small batches, where launching the
kernels one by one costs more host time than the GPU spends on them.

The forward makes no index tensor and no host-device copy (the scan indices are buffers), so it can be
captured. A captured graph is bound to one input shape, dtype, device and autocast setting; `GraphedForward`
keeps one per batch shape up to `max_batch` and runs everything else eagerly.
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor, nn


class CapturedForward:
    """model's no-grad forward captured for inputs shaped like `example`; call it with such inputs."""

    def __init__(self, model: nn.Module, example: Tensor, autocast_dtype: torch.dtype | None = None,
                 warmup: int = 2) -> None:
        if example.device.type != "cuda":
            raise ValueError(f"CUDA graphs need CUDA tensors, got an input on {example.device}")
        self.autocast_dtype = autocast_dtype
        self.static_in = example.detach().clone()
        side = torch.cuda.Stream(example.device)
        side.wait_stream(torch.cuda.current_stream(example.device))
        with torch.cuda.stream(side):  # compile kernels and settle the allocator outside the capture
            for _ in range(warmup):
                self._run(model)
        torch.cuda.current_stream(example.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_out = self._run(model)

    def _run(self, model: nn.Module) -> Tensor:
        with torch.no_grad(), _autocast("cuda", self.autocast_dtype):
            return model(self.static_in)

    def matches(self, x: Tensor) -> bool:
        s = self.static_in
        return x.shape == s.shape and x.dtype == s.dtype and x.device == s.device

    def __call__(self, x: Tensor) -> Tensor:
        if not self.matches(x):
            raise ValueError(f"captured for {tuple(self.static_in.shape)} {self.static_in.dtype}, "
                             f"got {tuple(x.shape)} {x.dtype}")
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_out.clone()  # the next replay overwrites static_out


def capture_forward(model: nn.Module, example: Tensor, autocast_dtype: torch.dtype | None = None) -> CapturedForward:
    """Capture model(example) (eval mode, no grad, optional autocast) in a CUDA graph."""
    return CapturedForward(model, example, autocast_dtype)


class GraphedForward:
    """Calls model(x), from a captured graph where x is on CUDA with batch <= max_batch (one graph per
    input shape, captured on first use), eagerly otherwise. The model must stay in eval mode and its
    parameters must not be replaced (graphs read them in place) while this object is used."""

    def __init__(self, model: nn.Module, max_batch: int = 16, autocast_dtype: torch.dtype | None = None,
                 max_graphs: int = 8) -> None:
        self.model, self.max_batch, self.autocast_dtype, self.max_graphs = model, max_batch, autocast_dtype, max_graphs
        self._graphs: dict[tuple, CapturedForward] = {}

    def __call__(self, x: Tensor) -> Tensor:
        key = (tuple(x.shape), x.dtype, x.device)
        graphed = x.device.type == "cuda" and x.shape[0] <= self.max_batch and not torch.is_grad_enabled()
        if graphed and key not in self._graphs and len(self._graphs) < self.max_graphs:
            self._graphs[key] = capture_forward(self.model, x, self.autocast_dtype)
        if graphed and key in self._graphs:
            return self._graphs[key](x)
        with _autocast(x.device.type, self.autocast_dtype):
            return self.model(x)


def _autocast(device_type: str, dtype: torch.dtype | None):
    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type, dtype=dtype)
