"""The weights hub, in bytes: a registry of every model the tool uses, verified downloads, name resolution.

It imports no model: `fits` (the "this file fits the entry's architecture" check) comes from the caller,
normally posemamba_cli.pretrained.fits.

    resolve_weights(name_or_path, weights_dir=None, offline=False, *, fits) -> Path
    fetch_entry(entry, folder, *, fits, force=False) -> FetchResult
    download_weights(names=None, folder=None, *, fits, force=False, offline=False) -> list[DownloadOutcome]
    model_status(registry, folder) -> list[ModelStatus]
    load_registry(path=None) -> Registry        (built-in, or $POSEMAMBA_REGISTRY)
"""

from __future__ import annotations

from posemamba_cli.hub.download import (
    DownloadOutcome,
    ModelStatus,
    check_present,
    download_weights,
    model_status,
    select_entries,
)
from posemamba_cli.hub.errors import DownloadError, RegistryError, VerificationError
from posemamba_cli.hub.fetch import FetchResult, fetch_entry
from posemamba_cli.hub.http_fetch import Timeouts
from posemamba_cli.hub.registry import Registry, WeightsEntry, load_registry
from posemamba_cli.hub.resolve import default_weights_dir, missing_message, missing_weights_message, resolve_weights

__all__ = [
    "DownloadError",
    "DownloadOutcome",
    "FetchResult",
    "ModelStatus",
    "Registry",
    "RegistryError",
    "Timeouts",
    "VerificationError",
    "WeightsEntry",
    "check_present",
    "default_weights_dir",
    "download_weights",
    "fetch_entry",
    "load_registry",
    "missing_message",
    "missing_weights_message",
    "model_status",
    "resolve_weights",
    "select_entries",
]
