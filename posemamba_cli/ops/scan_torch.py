"""Pure-PyTorch backend: the fallback where no compiled kernel can be had (any device).

The forward walks time with vectorised steps over all channels and keeps the state at every chunk
boundary. The backward replays one chunk at a time under autograd from its boundary state, so memory
stays at (chunk, dim, N) rather than (L, dim, N).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from posemamba_cli.ops.backend import Grads, ScanBackend

CHUNK = 128


def _chunk_scan(u, dt, A, B, C, h, per_group):
    """Scan one time chunk from state h (batch, dim, N); u, dt (batch, dim, T); B, C (batch, groups, N, T).

    Works time-major so every step is one fused multiply-add on contiguous (batch, dim, N) slices;
    the C contraction runs once per chunk.
    """
    Bx = B.permute(3, 0, 1, 2).repeat_interleave(per_group, dim=2)  # (T, batch, dim, N), one chunk only
    Cx = C.permute(3, 0, 1, 2).repeat_interleave(per_group, dim=2)
    dt_t = dt.permute(2, 0, 1).unsqueeze(-1)  # (T, batch, dim, 1)
    decay = torch.exp(dt_t * A)
    drive = (dt_t * u.permute(2, 0, 1).unsqueeze(-1)) * Bx
    states = []
    for t in range(u.shape[-1]):
        h = torch.addcmul(drive[t], decay[t], h)
        states.append(h)
    y = (torch.stack(states) * Cx).sum(-1)  # (T, batch, dim)
    return y.permute(1, 2, 0), h


def _prepare(delta, delta_bias, delta_softplus):
    x = delta.float()
    if delta_bias is not None:
        x = x + delta_bias.float()[:, None]
    return F.softplus(x) if delta_softplus else x


class TorchBackend(ScanBackend):
    name = "torch"
    device_type = "any"

    def availability(self) -> tuple[bool, str]:
        return (True, "")

    def forward(self, u, delta, A, B, C, D, delta_bias, delta_softplus):
        batch, dim, length = u.shape
        per_group = dim // B.shape[1]
        with torch.no_grad():
            dt = _prepare(delta, delta_bias, delta_softplus)
            uf, Af, Bf, Cf = u.float(), A.float(), B.float(), C.float()
            h = uf.new_zeros(batch, dim, A.shape[1])
            ys, bounds = [], []
            for t0 in range(0, length, CHUNK):
                bounds.append(h)
                sl = slice(t0, t0 + CHUNK)
                y, h = _chunk_scan(uf[..., sl], dt[..., sl], Af, Bf[..., sl], Cf[..., sl], h, per_group)
                ys.append(y)
            y = torch.cat(ys, dim=-1)
            if D is not None:
                y = y + uf * D.float()[:, None]
        return y.to(u.dtype), (torch.stack(bounds),)

    def backward(self, u, delta, A, B, C, D, delta_bias, delta_softplus, saved, dy) -> Grads:
        (bounds,) = saved
        length = u.shape[-1]
        per_group = u.shape[1] // B.shape[1]
        leaves = [t.detach().float().requires_grad_(True) if t is not None else None
                  for t in (u, delta, A, B, C, D, delta_bias)]
        lu, ldelta, lA, lB, lC, lD, lbias = leaves
        grads = [torch.zeros_like(t) if t is not None else None for t in leaves]
        dyf = dy.float()
        gh = torch.zeros_like(bounds[0])
        starts = list(range(0, length, CHUNK))
        for i in reversed(range(len(starts))):
            sl = slice(starts[i], starts[i] + CHUNK)
            with torch.enable_grad():
                h0 = bounds[i].clone().requires_grad_(True)
                dt = _prepare(ldelta[..., sl], lbias, delta_softplus)
                y, h_end = _chunk_scan(lu[..., sl], dt, lA, lB[..., sl], lC[..., sl], h0, per_group)
                if lD is not None:
                    y = y + lu[..., sl] * lD[:, None]
                wanted = [t for t in leaves if t is not None] + [h0]
                got = torch.autograd.grad((y, h_end), wanted, (dyf[..., sl], gh), allow_unused=True)
            j = 0
            for k, t in enumerate(leaves):
                if t is None:
                    continue
                if got[j] is not None:
                    grads[k] += got[j]
                j += 1
            gh = got[-1]
        originals = (u, delta, A, B, C, D, delta_bias)
        return tuple(None if g is None else g.to(o.dtype) for g, o in zip(grads, originals))  # type: ignore
