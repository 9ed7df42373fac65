"""The PoseMamba lifter and its checkpoints."""

from posemamba_cli.model.checkpoint import load_lifter, read_state_dict, save_checkpoint
from posemamba_cli.model.posemamba import PRESETS, PoseMamba

__all__ = ["PRESETS", "PoseMamba", "load_lifter", "read_state_dict", "save_checkpoint"]
