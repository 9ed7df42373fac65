"""The compiled CUDA backend: thin wrapper over the optional `posemamba_selective_scan` extension.

Build it with `pip install --no-build-isolation ./kernels/selective_scan`; without it this backend reports
itself unavailable and the tool uses Triton (or the CPU/torch paths).
"""

from __future__ import annotations

import torch

from posemamba_cli.ops.backend import Grads, ScanBackend


class CudaExtBackend(ScanBackend):
    name = "cuda"
    device_type = "cuda"
    max_state = 16

    def __init__(self, segments: int = 0) -> None:
        self.segments = segments  # 0: chosen by the extension from the GPU size
        self._ext = None
        self._error = ""
        try:
            import posemamba_selective_scan as ext
        except ImportError as exc:
            self._error = f"extension not built (pip install --no-build-isolation ./kernels/selective_scan): {exc}"
            return
        if not torch.cuda.is_available():
            self._error = "no CUDA device (torch.cuda.is_available() is False)"
            return
        self._ext = ext

    def availability(self) -> tuple[bool, str]:
        return (self._ext is not None, self._error)

    @staticmethod
    def _prepare(u, delta, A, B, C, D, delta_bias):
        dtype = u.dtype if u.dtype in (torch.float32, torch.bfloat16) else torch.float32
        f = lambda t: None if t is None else t.detach().float().contiguous()  # noqa: E731
        return (u.detach().to(dtype).contiguous(), delta.detach().to(dtype).contiguous(), f(A), f(B), f(C),
                f(D), f(delta_bias))

    def forward(self, u, delta, A, B, C, D, delta_bias, delta_softplus):
        if B.shape[2] > self.max_state:
            raise RuntimeError(f"the cuda scan backend supports N <= {self.max_state}, got {B.shape[2]}")
        args = self._prepare(u, delta, A, B, C, D, delta_bias)
        y, ck = self._ext.fwd(*args, bool(delta_softplus), self.segments)
        return y.to(u.dtype), (ck,)

    def backward(self, u, delta, A, B, C, D, delta_bias, delta_softplus, saved, dy) -> Grads:
        (ck,) = saved
        args = self._prepare(u, delta, A, B, C, D, delta_bias)
        du, ddl, dA, dB, dC, dD, dbias = self._ext.bwd(*args, dy.float().contiguous(), ck, bool(delta_softplus),
                                                       self.segments)
        return (
            du.to(u.dtype), ddl.to(delta.dtype), dA.to(A.dtype), dB.to(B.dtype), dC.to(C.dtype),
            None if D is None else dD.to(D.dtype), None if delta_bias is None else dbias.to(delta_bias.dtype),
        )
