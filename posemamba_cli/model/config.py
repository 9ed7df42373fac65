"""The lifter's settings as one dataclass, and the published presets by name.

A `PoseMambaConfig` is what our checkpoints store (as a plain dict, `to_dict`), what the training config
nests, and what a published checkpoint's tensor shapes are read back into (`from_state_dict`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from posemamba_cli.errors import CheckpointError

if TYPE_CHECKING:
    from torch import Tensor


LEGACY_KEYS = ("scan_backend",)  # stored by earlier versions; not model settings


@dataclass
class PoseMambaConfig:
    """Sizes and options of one PoseMamba; the defaults are PoseMamba-B at 243 frames."""

    num_frame: int = 243  # the longest clip, and the temporal position embedding's length
    num_joints: int = 17
    in_chans: int = 2  # 2: (x, y); 3: (x, y, confidence)
    dim_feat: int = 128
    depth: int = 10  # spatial + temporal block pairs
    mlp_ratio: float = 2.0
    d_state: int = 16
    drop_path_rate: float = 0.2
    limb_grad: str = "published"  # "published": the parent term of the limb scan detached; "full"

    def __post_init__(self) -> None:
        if self.limb_grad not in ("published", "full"):
            raise ValueError(f"limb_grad must be 'published' or 'full', not {self.limb_grad!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (what checkpoints store; torch's weights-only loader reads it back)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> PoseMambaConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PoseMambaConfig:
        """From a stored dict (ours, any version); an unknown key is a ValueError naming it. `scan_backend`, which
        older checkpoints stored, is a runtime choice (posemamba_cli.ops.use_backend) and is passed over."""
        values = {k: v for k, v in values.items() if k not in LEGACY_KEYS}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown PoseMamba setting(s): {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def from_state_dict(cls, state: dict[str, Tensor]) -> PoseMambaConfig:
        """The sizes read off a state dict's tensor shapes (published files store no config)."""
        try:
            num_frame, dim = state["Temporal_pos_embed"].shape[1:]
            num_joints = state["Spatial_pos_embed"].shape[1]
            in_chans = state["Spatial_patch_to_embedding.weight"].shape[1]
            depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("STEblocks."))
            hidden = state["STEblocks.0.mlp.fc1.weight"].shape[0]
            d_state = state["STEblocks.0.op.A_logs"].shape[1]
        except KeyError as exc:
            raise CheckpointError(f"not a PoseMamba state dict (it has no {exc.args[0]!r} tensor)") from None
        except (ValueError, IndexError):
            raise CheckpointError("not a PoseMamba state dict (its tensors do not have PoseMamba's shapes)") from None
        return cls(num_frame=int(num_frame), num_joints=int(num_joints), in_chans=int(in_chans), dim_feat=int(dim),
                   depth=depth, mlp_ratio=hidden / dim, d_state=int(d_state))


#: the published sizes by name; the same names are the pretrained weights' names in the hub registry.
PRESETS: dict[str, dict[str, Any]] = {
    "posemamba-s": {"dim_feat": 64, "depth": 10},
    "posemamba-b": {"dim_feat": 128, "depth": 10},
    "posemamba-l": {"dim_feat": 128, "depth": 20},
}


def preset_name(name: str) -> str | None:
    """'S', 'b', 'PoseMamba-L', 'posemamba-s' -> the registry spelling ('posemamba-s'); None if unknown."""
    key = name.strip().lower()
    key = key if key.startswith("posemamba-") else f"posemamba-{key}"
    return key if key in PRESETS else None


def preset_config(name: str, **overrides: Any) -> PoseMambaConfig:
    """The published config of preset `name` (S / B / L, any spelling) with `overrides` applied."""
    key = preset_name(name)
    if key is None:
        raise ValueError(f"unknown preset {name!r}; choose S, B or L (posemamba-s, posemamba-b, posemamba-l)")
    return PoseMambaConfig(**{**PRESETS[key], **overrides})
