"""posemamba: video to 3D human pose with the PoseMamba lifter."""

__version__ = "0.1.0"
