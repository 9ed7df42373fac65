"""Reading and writing lifter checkpoints: the published layout, bare state dicts, and our own format
(PoseMamba.from_pretrained builds the model from them).

Loading always uses torch's weights-only unpickler, so a downloaded file cannot run code.
Our format: {'format': 'posemamba-cli/1', 'config': model.config.to_dict(), 'model': state_dict, **extra};
checkpoints written when the config was a plain dict hold the same keys and load the same way.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from posemamba_cli.errors import CheckpointError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.io.safe_load import safe_torch_load
from posemamba_cli.model.config import PoseMambaConfig

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


def stored_config(state: dict[str, Tensor], stored: dict | None, source: str = "checkpoint") -> PoseMambaConfig:
    """The config a checkpoint stored (ours), else the one its tensor shapes imply (published, bare)."""
    if stored is None:
        try:
            return PoseMambaConfig.from_state_dict(state)
        except CheckpointError as exc:
            raise CheckpointError(f"{source}: {exc}") from None
    try:
        return PoseMambaConfig.from_dict(stored)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: its stored model config is not one this version reads ({exc})") from None


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, **extra: Any) -> Path:
    """Write our format atomically (temporary name, then rename); returns the path.

    Serialised in memory first: torch.save reports a full disk as an opaque RuntimeError, a plain write
    as an OSError, which `atomic_path` turns into one line naming `path`.
    """
    core = getattr(model, "module", model)  # unwrap DDP / DataParallel
    payload = {"format": FORMAT, "config": core.config.to_dict(), "model": core.state_dict(), **extra}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(buffer.getbuffer())
    return Path(path)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(math.prod(p.shape) for p in model.parameters())
