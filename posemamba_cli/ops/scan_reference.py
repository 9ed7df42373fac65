"""The reference selective scan: a plain sequential loop over time, differentiated by autograd.

Slow, obviously correct, and runs in float64 for tests. Every fast backend is checked against it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def selective_scan_reference(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None = None,
    delta_bias: Tensor | None = None, delta_softplus: bool = True,
) -> Tensor:
    """y (batch, dim, L); computed in float64 when u is float64, else in float32."""
    dtype = torch.float64 if u.dtype == torch.float64 else torch.float32
    u, delta, A, B, C = (t.to(dtype) for t in (u, delta, A, B, C))
    batch, dim, length = u.shape
    groups, n_state = B.shape[1], B.shape[2]
    if delta_bias is not None:
        delta = delta + delta_bias.to(dtype)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    per_group = dim // groups
    h = u.new_zeros(batch, dim, n_state)
    ys = []
    for t in range(length):
        b_t = B[:, :, :, t].repeat_interleave(per_group, dim=1)  # (batch, dim, N)
        c_t = C[:, :, :, t].repeat_interleave(per_group, dim=1)
        d_t = delta[:, :, t, None]  # (batch, dim, 1)
        h = torch.exp(d_t * A) * h + d_t * b_t * u[:, :, t, None]
        ys.append((h * c_t).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + u * D.to(dtype)[:, None]
    return y
