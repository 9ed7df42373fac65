"""`cross_selective_scan`: K selective scans over one grid, each in its own order, summed back onto it.

The cross-scan block of VMamba-style models as one op. Group k reads its input from a shared grid of P
positions in the order `orders[k]`, projects it to (dt_low, B, C) with x_proj_weight[k], lifts dt_low to
delta with dt_proj_weight[k], scans, and adds its output back at the positions it came from.

The composed form below (gather, projections, `selective_scan`, scatter) works on every backend and
carries gradients. A backend that covers the inputs (ScanBackend.cross_covers: Triton; the CPU kernel) runs
the whole op fused over the grid with no gathered copies (ScanBackend.cross_scan, one autograd function over
the backends' cross_forward / cross_backward) whenever no trace is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from posemamba_cli.ops.selective_scan import resolve_backend, selective_scan


def cross_selective_scan(
    sources: Sequence[Tensor], source_index: Sequence[int], orders: Tensor, x_proj_weight: Tensor,
    dt_proj_weight: Tensor, dt_proj_bias: Tensor, A: Tensor, D: Tensor | None = None, backend: str = "auto",
    trace: dict[str, Tensor] | None = None, inverse_orders: Tensor | None = None,
) -> Tensor:
    """y (batch, Di, P) in float32 (float64 for float64 inputs, which run the reference loop).

    sources: tensors (batch, Di, P) on the grid; group k scans sources[source_index[k]].
    orders: (K, P) permutations of range(P); step l of group k visits grid position orders[k, l].
    x_proj_weight (K, R + 2N, Di); dt_proj_weight (K, Di, R); dt_proj_bias (K, Di); A (K*Di, N); D (K*Di,).
    delta = softplus(dt_proj_weight[k] @ dt_low + dt_proj_bias[k]). trace, when a dict, receives the
    composed form's intermediates in scan order: us, dts, Bs, Cs, ys, and y. inverse_orders (K, P), the
    inverse permutations (grid position -> step), saves the composed form an argsort per call.
    """
    K, P = orders.shape
    if len(source_index) != K or x_proj_weight.shape[0] != K:
        raise ValueError(f"{K} scan orders but {len(source_index)} sources and {x_proj_weight.shape[0]} projections")
    impl = resolve_backend(backend, sources[0].device.type, sources[0].dtype)
    if impl is not None and trace is None:
        y = impl.cross_scan(sources, source_index, orders, x_proj_weight, dt_proj_weight, dt_proj_bias, A, D)
        if y is not None:
            return y
    return _composed(sources, source_index, orders, x_proj_weight, dt_proj_weight, dt_proj_bias, A, D,
                     backend, trace, inverse_orders)


def _composed(sources, source_index, orders, x_proj_weight, dt_proj_weight, dt_proj_bias, A, D, backend, trace,
              inverse_orders=None):
    K, P = orders.shape
    b, d = sources[0].shape[:2]
    R, N = dt_proj_weight.shape[-1], A.shape[-1]
    xs = torch.stack([sources[s].index_select(-1, orders[k]) for k, s in enumerate(source_index)], dim=1)
    x_dbl = torch.einsum("bkdl,kcd->bkcl", xs, x_proj_weight)  # (b, K, R + 2N, P)
    dt_low, Bs, Cs = torch.split(x_dbl, [R, N, N], dim=2)
    dts = torch.matmul(dt_proj_weight, dt_low)  # (K, Di, R) @ (b, K, R, P) -> (b, K, Di, P)
    dtype = torch.promote_types(xs.dtype, torch.float32)  # the scan runs in float32, or float64 for tests
    ys = selective_scan(
        xs.reshape(b, K * d, P).to(dtype), dts.reshape(b, K * d, P).to(dtype), A.to(dtype), Bs.to(dtype),
        Cs.to(dtype), None if D is None else D.to(dtype), delta_bias=dt_proj_bias.reshape(-1).to(dtype),
        delta_softplus=True, backend=backend,
    ).view(b, K, d, P)
    back = torch.argsort(orders, dim=1) if inverse_orders is None else inverse_orders  # position -> step
    y = ys[:, 0].index_select(-1, back[0])
    for k in range(1, K):
        y = y + ys[:, k].index_select(-1, back[k])
    if trace is not None:
        trace.update(us=xs.reshape(b, K * d, P), dts=dts.reshape(b, K * d, P), Bs=Bs, Cs=Cs, ys=ys, y=y)
    return y
