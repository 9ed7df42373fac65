"""Safe, strict loading of mmpose's top-down HRNet checkpoints.

mmpose releases are ``{'meta': {...}, 'state_dict': {...}}`` and ``meta`` can hold numpy arrays, scalars
and dtypes, which ``torch.load(weights_only=True)`` refuses by default. We keep the weights-only unpickler
and allow exactly the numpy reconstructors such objects need, so a downloaded file can never run code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from posemamba_cli.errors import CheckpointError
from posemamba_cli.io.paths import require_file
from posemamba_cli.io.safe_load import safe_torch_load
from posemamba_cli.pose2d.hrnet import NUM_KEYPOINTS, WIDTHS, TopDownHRNet

if TYPE_CHECKING:
    from posemamba_cli.hub.registry import WeightsEntry

StateDict = dict[str, torch.Tensor]
_OPTIONAL_SUFFIX = "num_batches_tracked"


def _normalise_keys(state: Mapping[str, object], source: str) -> StateDict:
    """Strip `module.` and map mmpose 0.x `keypoint_head.` names to `head.`."""
    out: StateDict = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: entry {key!r} is not a named tensor")
        name = key[len("module."):] if key.startswith("module.") else key
        if name.startswith("keypoint_head."):
            name = "head." + name[len("keypoint_head."):]
        out[name] = value
    return out


def _extract_state_dict(obj: object, source: str) -> StateDict:
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            f"{source}: not a top-down HRNet checkpoint (no state dict of tensors; expected mmpose's "
            "{'state_dict': {...}} or a bare state dict)"
        )
    return _normalise_keys(obj, source)


def read_hrnet_state_dict(path: str | os.PathLike) -> StateDict:
    """Read an mmpose HRNet checkpoint safely; return its tensors under the plain key names.

    Keys are returned as `backbone.*` / `head.final_layer.*`; nothing is checked against a model here
    (see `check_hrnet_state_dict`). Raises `CheckpointError` for a missing, unreadable or unsafe file.
    """
    path = Path(path)
    require_file(path, "checkpoint", f"{path}: checkpoint file not found", CheckpointError)
    return _extract_state_dict(safe_torch_load(path), str(path))


def hrnet_state_shapes(width: int) -> dict[str, tuple[int, ...]]:
    """Every key of mmpose's COCO HRNet-W`width` state dict with its shape, in mmpose's order."""
    if width not in WIDTHS:
        raise CheckpointError(f"HRNet width must be one of {WIDTHS}, got {width}")
    with torch.device("meta"):
        model = TopDownHRNet(width)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def infer_hrnet_width(state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> int:
    """The HRNet width (32 or 48) from the head's input channels."""
    weight = state.get("head.final_layer.weight")
    if weight is None or weight.ndim != 4:
        raise CheckpointError(f"{source}: not a top-down HRNet checkpoint (no head.final_layer.weight)")
    width = int(weight.shape[1])
    if width not in WIDTHS:
        raise CheckpointError(f"{source}: HRNet width {width} is not supported (expected one of {WIDTHS})")
    if int(weight.shape[0]) != NUM_KEYPOINTS:
        raise CheckpointError(
            f"{source}: head predicts {weight.shape[0]} keypoints, expected COCO's {NUM_KEYPOINTS}"
        )
    return width


def _names(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def check_hrnet_state_dict(state: Mapping[str, torch.Tensor], width: int, source: str = "checkpoint") -> StateDict:
    """Compare keys and shapes with HRNet-W`width`; return the state dict completed with BN counters.

    Raises `CheckpointError` naming the missing, unexpected and mis-shaped keys.
    """
    expected = hrnet_state_shapes(width)
    missing = [k for k in expected if k not in state and not k.endswith(_OPTIONAL_SUFFIX)]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {expected[k]}"
        for k in expected
        if k in state and tuple(state[k].shape) != expected[k]
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_names(unexpected)}")
    if wrong:
        problems.append(f"wrong shapes: {_names(wrong, 3)}")
    if problems:
        raise CheckpointError(f"{source} does not fit HRNet-W{width}: " + "; ".join(problems))
    full = dict(state)
    for key in expected:
        full.setdefault(key, torch.zeros((), dtype=torch.long))
    return full


def hrnet_fits_file(entry: WeightsEntry, path: Path) -> str:
    """The file is an mmpose HRNet checkpoint of the registry entry's width (keys and shapes), loaded safely."""
    width = int(entry.model.get("width", 32))
    check_hrnet_state_dict(read_hrnet_state_dict(path), width, f"the file for {entry.name}")
    return f"fits HRNet-W{width}"


def load_hrnet_model(checkpoint: str | os.PathLike | Mapping[str, torch.Tensor]) -> TopDownHRNet:
    """Build the HRNet matching `checkpoint` (a path, a state dict or mmpose's wrapper) in eval mode."""
    if isinstance(checkpoint, Mapping):
        source = "state dict"
        state = _extract_state_dict(checkpoint, source)
    else:
        source = str(checkpoint)
        state = read_hrnet_state_dict(checkpoint)
    width = infer_hrnet_width(state, source)
    state = check_hrnet_state_dict(state, width, source)
    model = TopDownHRNet(width)
    model.load_state_dict(state, strict=True)
    return model.eval()
