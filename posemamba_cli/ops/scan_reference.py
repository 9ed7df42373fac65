"""The reference selective scan: the equations written out, then a plain loop over time (autograd does
the gradients). The same textbook form as mamba's `selective_scan_ref`: the decays and inputs of every
step are formed up front, (batch, dim, L, N), then the recurrence runs one step at a time.

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
    Bx = B.repeat_interleave(per_group, dim=1)  # (batch, dim, N, L): each channel's own B and C
    Cx = C.repeat_interleave(per_group, dim=1)
    decay = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))  # exp(delta_t A), (batch, dim, L, N)
    drive = torch.einsum("bdl,bdnl,bdl->bdln", delta, Bx, u)  # delta_t B_t u_t
    h = u.new_zeros(batch, dim, n_state)
    ys = []
    # unbind, not indexing: autograd then gathers the steps' gradients once instead of once per step
    for decay_t, drive_t, C_t in zip(decay.unbind(2), drive.unbind(2), Cx.unbind(3)):
        h = decay_t * h + drive_t
        ys.append(torch.einsum("bdn,bdn->bd", h, C_t))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + u * D.to(dtype)[:, None]
    return y
