"""posemamba: video to 3D human pose with the PoseMamba lifter.

Library API (imported lazily so that `import posemamba_cli` stays light):
    PoseMamba        the lifter (nn.Module); PoseMamba.from_preset("S" | "B" | "L")
    load_lifter      any accepted checkpoint -> PoseMamba in eval mode
    evaluate_h36m    the published Human3.6M protocol over predictions
"""

from __future__ import annotations

import importlib
from typing import Any

from posemamba_cli.perf.openmp import shorten_openmp_spin

shorten_openmp_spin()  # before anything imports torch

__version__ = "0.1.0"

_LAZY = {
    "PoseMamba": "posemamba_cli.model.posemamba",
    "load_lifter": "posemamba_cli.model.checkpoint",
    "save_checkpoint": "posemamba_cli.model.checkpoint",
    "evaluate_h36m": "posemamba_cli.evaluation.protocol",
    "infer": "posemamba_cli.pipeline.batch",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in ("ops", "pose2d", "model"):
        return importlib.import_module(f"posemamba_cli.{name}")
    raise AttributeError(f"module 'posemamba_cli' has no attribute {name!r}")


__all__ = ["PoseMamba", "load_lifter", "save_checkpoint", "evaluate_h36m", "__version__"]
