"""The PoseMamba lifter, its config and presets, and its checkpoints (imported on first use: the config and
preset names stay importable without torch)."""

from __future__ import annotations

from posemamba_cli._lazy import lazy_attributes

_LAZY = {
    "PRESETS": "posemamba_cli.model.config",
    "PoseMambaConfig": "posemamba_cli.model.config",
    "preset_config": "posemamba_cli.model.config",
    "PoseMamba": "posemamba_cli.model.posemamba",
    "read_state_dict": "posemamba_cli.model.checkpoint",
    "save_checkpoint": "posemamba_cli.model.checkpoint",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = sorted(_LAZY)
