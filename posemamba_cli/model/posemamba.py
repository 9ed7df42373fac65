"""The PoseMamba lifter: normalised 2D keypoints (b, f, 17, 2) -> root-relative 3D (b, f, 17, 3).

Parameter names and order are the published ones, so published checkpoints load unchanged. The model
only calls ops (`cross_selective_scan`, the fused block steps); which kernel runs is the ops layer's business,
chosen at run time (`posemamba_cli.ops.use_backend`), never stored in the model.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from posemamba_cli.errors import CheckpointError
from posemamba_cli.model.config import PoseMambaConfig, preset_config
from posemamba_cli.ops import cross_selective_scan
from posemamba_cli.ops.block_ops import conv3x3_silu, layer_norm_gate

if TYPE_CHECKING:
    from posemamba_cli.hub.registry import WeightsEntry

# Published "limb" parent list used by the global-local scan (not the anatomical tree).
LIMB_PARENTS = [0, 0, 1, 2, 3, 0, 4, 5, 6, 8, 11, 12, 13, 8, 14, 15, 16]



class DropPath(nn.Module):
    """Stochastic depth per sample; survivors scaled by 1 / keep."""

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: Tensor) -> Tensor:
        if self.rate == 0.0 or not self.training:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.fc1(x)
        hidden = torch.ops.aten.gelu_(hidden) if not torch.is_grad_enabled() else F.gelu(hidden)  # in place: inference
        return self.fc2(hidden)


class BiSTSSM(nn.Module):
    """Bidirectional global-local spatio-temporal SSM over the (frames x joints) grid, K = 4 scans."""

    K = 4

    def __init__(self, dim: int, d_state: int = 16, limb_grad: str = "published"):
        super().__init__()
        inner = 2 * dim  # Di
        rank = math.ceil(dim / 16)  # R
        self.d_inner, self.d_state, self.dt_rank = inner, d_state, rank
        self.limb_grad = limb_grad
        self.trace: dict[str, Tensor] | None = None  # set to {} to record the scan's intermediates
        K = self.K
        # Registration order fixes the published state-dict order.
        self.x_proj_weight = nn.Parameter(torch.empty(K, rank + 2 * d_state, inner))
        self.dt_projs_weight = nn.Parameter(torch.empty(K, inner, rank))
        self.dt_projs_bias = nn.Parameter(torch.empty(K, inner))
        self.A_logs = nn.Parameter(torch.empty(K * inner, d_state))
        self.Ds = nn.Parameter(torch.empty(K * inner))
        self.out_norm = nn.LayerNorm(inner, eps=1e-5)
        self.in_proj = nn.Linear(dim, 2 * inner, bias=False)
        self.conv2d = nn.Conv2d(inner, inner, 3, padding=1, groups=inner, bias=True)
        self.out_proj = nn.Linear(inner, dim, bias=False)
        self.reset_ssm_parameters()

    @torch.no_grad()
    def reset_ssm_parameters(self, dt_min: float = 1e-3, dt_max: float = 1e-1, dt_floor: float = 1e-4) -> None:
        """The published initialisation of the SSM tensors (Linear/conv keep PyTorch defaults)."""
        K, inner, rank = self.K, self.d_inner, self.dt_rank
        bound = 1.0 / math.sqrt(inner)  # default Linear(Di -> R + 2N) init, four stacked
        self.x_proj_weight.uniform_(-bound, bound)
        self.dt_projs_weight.uniform_(-rank**-0.5, rank**-0.5)
        dt = torch.exp(torch.rand(K, inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_floor)
        self.dt_projs_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        self.A_logs.copy_(torch.log(torch.arange(1, self.d_state + 1, dtype=torch.float32)).repeat(K * inner, 1))
        self.Ds.fill_(1.0)

    def scan(self, x: Tensor, index: ScanIndex, limb: Tensor | None = None) -> Tensor:
        """x (b, f, J, Di) after the conv -> the four scans' outputs summed on the grid, (b, Di, f*J).

        Scans 0 and 2 read the limb sequence x + x[parent] frame-major (l = t*J + j), forwards and
        backwards; scans 1 and 3 read x joint-major (l = j*f + t), forwards and backwards. index holds
        the orders for f frames, on x's device (built once by the model, never per call). limb: that
        sequence where the caller formed it already (inference).
        """
        b, f, J, d = x.shape
        if limb is None:
            parent = x.index_select(2, index.limb)
            if self.limb_grad == "published":  # the published backward leaves out the parent-term gradient
                parent = parent.detach()
            limb = x + parent
        # (b, Di, f*J) views of channels-last data
        limb, grid = limb.view(b, f * J, d).transpose(1, 2), x.reshape(b, f * J, d).transpose(1, 2)
        return cross_selective_scan(
            (limb, grid), (0, 1, 0, 1), index.orders, self.x_proj_weight, self.dt_projs_weight,
            self.dt_projs_bias, -torch.exp(self.A_logs.float()), self.Ds, trace=self.trace,
            inverse_orders=index.inverse,
        )

    def forward(self, u: Tensor, index: ScanIndex) -> Tensor:
        """u (b, f, J, C) -> (b, f, J, C)."""
        if not torch.is_grad_enabled():
            return self.out_proj(self._gated_scan(u, index))
        b, f, J, _ = u.shape
        x, z = self.in_proj(u).chunk(2, dim=-1)  # (b, f, J, Di) each
        x = self.conv2d(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)  # channels-last in and out
        y = self.scan(F.silu(x), index).transpose(1, 2).reshape(b, f, J, -1)  # (b, f, J, Di)
        y = self.out_norm(y.to(u.dtype)) * F.silu(z)
        return self.out_proj(y)

    def _gated_scan(self, u: Tensor, index: ScanIndex) -> Tensor:
        """Inference form of forward up to out_proj, (b, f, J, Di): x and z from two matmuls (each contiguous),
        conv + SiLU + the limb sequence in one fused op, the norm and the gate in another; same arithmetic."""
        b, f, J, _ = u.shape
        weight = self.in_proj.weight  # (2 Di, C): x rows, then z rows
        x = F.linear(u, weight[: self.d_inner])  # (b, f, J, Di)
        z = F.linear(u, weight[self.d_inner :])
        x, limb = conv3x3_silu(x, self.conv2d.weight, self.conv2d.bias, index.limb)
        y = self.scan(x, index, limb).transpose(1, 2).reshape(b, f, J, -1)  # (b, f, J, Di)
        norm = self.out_norm
        return layer_norm_gate(y.to(u.dtype), z, norm.weight, norm.bias, norm.eps, inplace=True)


class ScanIndex(NamedTuple):
    """The index tensors of the four scans over an (f frames x J joints) grid, all on one device."""

    orders: Tensor  # (4, f*J) int32: step l of scan k visits grid position orders[k, l]
    inverse: Tensor  # (4, f*J) int32: grid position p is step inverse[k, p] of scan k
    limb: Tensor  # (J,) int64: the limb parent of every joint


def scan_orders(f: int, J: int, device: torch.device | str = "cpu") -> Tensor:
    """(4, f*J) int32 grid positions visited by the four scans: frame-major, joint-major, both reversed."""
    frame_major = torch.arange(f * J, device=device, dtype=torch.int32)
    joint_major = frame_major.view(f, J).t().reshape(-1)  # step j*f + t visits position t*J + j
    return torch.stack([frame_major, joint_major, frame_major.flip(0), joint_major.flip(0)])


def scan_orders_and_inverse(f: int, J: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """The (4, f*J) int32 orders and their inverses (by a scatter, no sort), made on `device`."""
    orders = scan_orders(f, J, device)
    steps = torch.arange(f * J, device=device, dtype=torch.int32).expand_as(orders)
    return orders, torch.empty_like(orders).scatter_(1, orders.long(), steps)


class Block(nn.Module):
    def __init__(self, dim: int, mlp_ratio: float, d_state: int, drop_path: float, limb_grad: str) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.op = BiSTSSM(dim, d_state, limb_grad)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, index: ScanIndex) -> Tensor:
        x = x + self.drop_path(self.op(self.norm(x), index))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PoseMamba(nn.Module):
    """PoseMamba: (b, f <= num_frame, J, 2) normalised 2D -> (b, f, J, 3) root-relative 3D.

    Built from a `PoseMambaConfig`, or from its fields as keywords (`PoseMamba(num_frame=27, depth=2)`);
    keywords given with a config replace its fields.
    """

    def __init__(self, config: PoseMambaConfig | None = None, **fields: Any) -> None:
        super().__init__()
        config = config or PoseMambaConfig()
        config = config.replace(**fields) if fields else config
        if config.num_joints != len(LIMB_PARENTS):
            raise ValueError(
                f"PoseMamba's limb scan is defined for {len(LIMB_PARENTS)} joints, not {config.num_joints}"
            )
        self.config = config
        C, depth = config.dim_feat, config.depth
        self.Spatial_pos_embed = nn.Parameter(torch.zeros(1, config.num_joints, C))
        self.Temporal_pos_embed = nn.Parameter(torch.zeros(1, config.num_frame, C))
        self.Spatial_patch_to_embedding = nn.Linear(config.in_chans, C)
        rates = torch.linspace(0, config.drop_path_rate, depth).tolist()
        make = lambda i: Block(C, config.mlp_ratio, config.d_state, rates[i], config.limb_grad)  # noqa: E731
        self.STEblocks = nn.ModuleList(make(i) for i in range(depth))
        self.TTEblocks = nn.ModuleList(make(i) for i in range(depth))
        self.Spatial_norm = nn.LayerNorm(C, eps=1e-6)
        self.Temporal_norm = nn.LayerNorm(C, eps=1e-6)
        self.head = nn.Sequential(nn.LayerNorm(C, eps=1e-5), nn.Linear(C, 3))
        # Scan index tensors for full-length clips as buffers (not in the state dict), so that forward
        # makes no index tensor, sorts nothing and copies nothing host-to-device (CUDA-graph capturable).
        orders, inverse = scan_orders_and_inverse(config.num_frame, config.num_joints)
        self.register_buffer("scan_order", orders, persistent=False)
        self.register_buffer("scan_inverse", inverse, persistent=False)
        self.register_buffer("limb_parent", torch.tensor(LIMB_PARENTS), persistent=False)
        self._short_index: dict[int, ScanIndex] = {}  # shorter clips: built on first use, per length

    def _apply(self, fn, *args, **kwargs):
        self._short_index = {}  # device moves invalidate the cached short-clip indices
        return super()._apply(fn, *args, **kwargs)

    def scan_index(self, f: int) -> ScanIndex:
        """The scan index tensors for clips of f frames, on the model's device."""
        if f == self.num_frame:
            return ScanIndex(self.scan_order, self.scan_inverse, self.limb_parent)
        index = self._short_index.get(f)
        if index is None:
            orders, inverse = scan_orders_and_inverse(f, self.limb_parent.numel(), self.scan_order.device)
            index = self._short_index[f] = ScanIndex(orders, inverse, self.limb_parent)
        return index

    @classmethod
    def from_preset(cls, name: str, num_frame: int = 243, **overrides: Any) -> PoseMamba:
        """PoseMamba-S, -B or -L with the published sizes and fresh weights ("S", "posemamba-s", ...)."""
        return cls(preset_config(name, num_frame=num_frame, **overrides))

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, weights_dir: str | os.PathLike | None = None,
                        offline: bool = False, device: str | torch.device = "cpu", strict: bool = True,
                        **overrides: Any) -> PoseMamba:
        """A PoseMamba rebuilt from any accepted checkpoint, weights loaded, in eval mode; `overrides` replace
        config fields. `name_or_path`: a file (published `.pth.tr`, a bare state dict, or ours) or a registry
        name ("posemamba-s/-b/-l": fetched into `weights_dir` on first use and verified, unless `offline`: then
        a missing file is a one-line error saying how to get it)."""
        from posemamba_cli.hub.resolve import resolve_weights
        from posemamba_cli.model.checkpoint import check_state_dict, read_state_dict, stored_config

        path = resolve_weights(name_or_path, weights_dir, offline=offline, fits=cls.fits_file)
        state, stored = read_state_dict(path)
        try:
            model = cls(stored_config(state, stored, str(path)).replace(**overrides))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: cannot build a PoseMamba from its config ({exc})") from None
        if strict:
            check_state_dict(model, state, str(path))
        bad = next((k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()), None)
        if bad is not None:  # every prediction would be NaN, and the scores fail only after predicting them all
            raise CheckpointError(f"{path}: the weights hold NaN or Inf (first in '{bad}'); the model cannot predict")
        model.load_state_dict(state, strict=strict)
        return model.to(device).eval()

    @classmethod
    def fits_file(cls, entry: WeightsEntry, path: Path) -> str:
        """The weights at `path` fit the PoseMamba a registry entry describes (its `model`: a `config`, or a
        `preset` and `num_frame`); a short description, else CheckpointError."""
        from posemamba_cli.model.checkpoint import check_state_dict, read_state_dict

        if entry.kind != "posemamba":
            raise CheckpointError(f"{entry.name} is a {entry.kind} model, not a PoseMamba lifter")
        spec = dict(entry.model)
        try:
            if "config" in spec:
                model = cls(**spec["config"])
                label = "PoseMamba " + ", ".join(f"{k}={v}" for k, v in spec["config"].items())
            else:
                preset, num_frame = spec.get("preset", "B"), int(spec.get("num_frame", 243))
                model, label = cls.from_preset(preset, num_frame=num_frame), f"PoseMamba-{preset} ({num_frame} frames)"
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"the registry's model description is invalid ({exc})") from None
        check_state_dict(model, read_state_dict(path)[0], f"the file for {entry.name}")
        return f"fits {label}"

    @property
    def num_frame(self) -> int:
        return self.Temporal_pos_embed.shape[1]

    def forward(self, x: Tensor) -> Tensor:
        b, f, J, _ = x.shape
        if f > self.num_frame:
            raise ValueError(f"clip has {f} frames; this model takes at most {self.num_frame}")
        index = self.scan_index(f)
        x = self.Spatial_patch_to_embedding(x) + self.Spatial_pos_embed  # (b, f, J, C)
        for i, (ste, tte) in enumerate(zip(self.STEblocks, self.TTEblocks)):
            x = self.Spatial_norm(ste(x, index))
            if i == 0:
                x = x + self.Temporal_pos_embed[:, :f, None, :]
            x = self.Temporal_norm(tte(x, index))
        return self.head(x)
