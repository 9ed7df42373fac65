"""The PoseMamba lifter, its config and presets, and its checkpoints (imported on first use: the config and
preset names stay importable without torch)."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "PRESETS": "posemamba_cli.model.config",
    "PoseMambaConfig": "posemamba_cli.model.config",
    "preset_config": "posemamba_cli.model.config",
    "PoseMamba": "posemamba_cli.model.posemamba",
    "load_lifter": "posemamba_cli.model.checkpoint",
    "read_state_dict": "posemamba_cli.model.checkpoint",
    "save_checkpoint": "posemamba_cli.model.checkpoint",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'posemamba_cli.model' has no attribute {name!r}")


__all__ = sorted(_LAZY)
