"""Pretrained weights, layered: a registry name -> a verified file (hub) -> a model (model/, pose2d/).

The hub deals in bytes and imports no model; each model package says whether a file fits its architecture
(PoseMamba.fits_file, pose2d's hrnet_fits_file). This module joins them, once: `fits` picks that check by
the registry kind, `resolve` turns a name or path into a verified file, `download_weights` fetches registry
models into the weights folder, `load_lifter` turns a name or path into a PoseMamba.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posemamba_cli import hub
from posemamba_cli.errors import CheckpointError
from posemamba_cli.hub.registry import WeightsEntry

if TYPE_CHECKING:
    import torch

    from posemamba_cli.model.posemamba import PoseMamba


def fits(entry: WeightsEntry, path: Path) -> str:
    """The architecture check of the entry's kind (hub.Fits): a short description, else CheckpointError."""
    if entry.kind == "posemamba":
        from posemamba_cli.model.posemamba import PoseMamba

        return PoseMamba.fits_file(entry, path)
    if entry.kind == "hrnet":
        from posemamba_cli.pose2d.checkpoint import hrnet_fits_file

        return hrnet_fits_file(entry, path)
    raise CheckpointError(f"no architecture check for {entry.name} (kind {entry.kind})")


def resolve(name_or_path: str | os.PathLike, weights_dir: str | os.PathLike | None = None, offline: bool = False,
            **kwargs: Any) -> Path:
    """A verified file for a registry name (fetched unless `offline`) or an existing path (hub.resolve_weights)."""
    return hub.resolve_weights(name_or_path, weights_dir=weights_dir, offline=offline, fits=fits, **kwargs)


def download_weights(names: list[str] | None = None, folder: str | os.PathLike | None = None,
                     **kwargs: Any) -> list[hub.DownloadOutcome]:
    """`posemamba download-weights`: hub.download_weights with the architecture checks."""
    return hub.download_weights(names, folder, fits=fits, **kwargs)


def load_lifter(path_or_name: str | os.PathLike, device: str | torch.device = "cpu", strict: bool = True,
                weights_dir: str | os.PathLike | None = None, offline: bool = False, **overrides: Any) -> PoseMamba:
    """A PoseMamba from a checkpoint file or a pretrained name, in eval mode (PoseMamba.from_pretrained)."""
    from posemamba_cli.model.posemamba import PoseMamba

    return PoseMamba.from_pretrained(path_or_name, weights_dir, offline, device, strict, **overrides)
