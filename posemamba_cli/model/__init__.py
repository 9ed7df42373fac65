"""The PoseMamba lifter, its config and presets, and its checkpoints."""

from posemamba_cli.model.checkpoint import load_lifter, read_state_dict, save_checkpoint
from posemamba_cli.model.config import PRESETS, PoseMambaConfig, preset_config
from posemamba_cli.model.posemamba import PoseMamba

__all__ = ["PRESETS", "PoseMamba", "PoseMambaConfig", "load_lifter", "preset_config", "read_state_dict",
           "save_checkpoint"]
