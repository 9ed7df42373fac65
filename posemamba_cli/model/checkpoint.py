"""Reading and writing lifter checkpoints: the published layout, bare state dicts, and our own format.

Loading always uses torch's weights-only unpickler, so a downloaded file cannot run code.
Our format: {'format': 'posemamba-cli/1', 'config': model.config, 'model': state_dict, **extra}.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from posemamba_cli.errors import CheckpointError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.io.safe_load import safe_torch_load
from posemamba_cli.model.posemamba import PoseMamba

FORMAT = "posemamba-cli/1"


def load_file(path: str | os.PathLike) -> Any:
    """Safe load (tensors and plain numpy data only) with errors a user can act on."""
    return safe_torch_load(path)


def _split_layout(obj: Any, path: str) -> tuple[dict[str, Tensor], dict | None]:
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict checkpoint, found {type(obj).__name__}")
    if obj.get("format") == FORMAT:
        return obj["model"], dict(obj["config"])
    for key in ("model_pos", "model", "state_dict"):  # published layout first
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    state = {k.removeprefix("module."): v for k, v in obj.items() if isinstance(v, Tensor)}
    if not state:
        raise CheckpointError(f"{path}: no model weights found (keys: {', '.join(list(obj)[:6])})")
    return state, None


def read_state_dict(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict | None]:
    """Plain state dict (no 'module.' prefix) and our stored config (None for other layouts)."""
    return _split_layout(load_file(path), str(path))


def config_from_state_dict(state: dict[str, Tensor]) -> dict[str, Any]:
    """Model sizes read off tensor shapes (for published files, which store no config)."""
    try:
        num_frame, dim = state["Temporal_pos_embed"].shape[1:]
        num_joints = state["Spatial_pos_embed"].shape[1]
        in_chans = state["Spatial_patch_to_embedding.weight"].shape[1]
        depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("STEblocks."))
        hidden = state["STEblocks.0.mlp.fc1.weight"].shape[0]
        d_state = state["STEblocks.0.op.A_logs"].shape[1]
    except (KeyError, ValueError, IndexError) as exc:
        raise CheckpointError(f"not a PoseMamba state dict (cannot read its sizes: {exc})") from None
    return dict(num_frame=int(num_frame), num_joints=int(num_joints), in_chans=int(in_chans), dim_feat=int(dim),
                depth=depth, mlp_ratio=hidden / dim, d_state=int(d_state))


def check_state_dict(model: torch.nn.Module, state: dict[str, Tensor], source: str = "checkpoint") -> None:
    """Raise CheckpointError naming missing, unexpected and mis-shaped keys."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shaped = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and state[k].shape != v.shape]
    if missing or unexpected or shaped:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shaped)):
            if items:
                more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
                parts.append(f"{label}: {', '.join(items[:5])}{more}")
        raise CheckpointError(f"{source} does not fit the model: " + "; ".join(parts))


def load_lifter(path: str | os.PathLike, device: str | torch.device = "cpu", strict: bool = True,
                **overrides: Any) -> PoseMamba:
    """A PoseMamba rebuilt from any accepted checkpoint, weights loaded, in eval mode."""
    state, config = read_state_dict(path)
    config = {**(config or config_from_state_dict(state)), **overrides}
    try:
        model = PoseMamba(**config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot build a PoseMamba from its config ({exc})") from None
    if strict:
        check_state_dict(model, state, str(path))
    model.load_state_dict(state, strict=strict)
    return model.to(device).eval()


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, **extra: Any) -> Path:
    """Write our format atomically (temporary name, then rename); returns the path."""
    core = getattr(model, "module", model)  # unwrap DDP / DataParallel
    payload = {"format": FORMAT, "config": dict(core.config), "model": core.state_dict(), **extra}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(math.prod(p.shape) for p in model.parameters())
