"""The weights hub: a registry of every model the tool uses, verified downloads, and name resolution.

    resolve_weights(name_or_path, weights_dir=None, offline=False) -> Path
    fetch_entry(entry, folder, force=False) -> FetchResult
    load_registry(path=None) -> Registry        (built-in, or $POSEMAMBA_REGISTRY)
"""

from __future__ import annotations

from posemamba_cli.hub.errors import DownloadError, RegistryError, VerificationError
from posemamba_cli.hub.fetch import FetchResult, fetch_entry
from posemamba_cli.hub.http_fetch import Timeouts
from posemamba_cli.hub.registry import Registry, WeightsEntry, load_registry
from posemamba_cli.hub.resolve import default_weights_dir, missing_message, missing_weights_message, resolve_weights

__all__ = [
    "DownloadError",
    "FetchResult",
    "Registry",
    "RegistryError",
    "Timeouts",
    "VerificationError",
    "WeightsEntry",
    "default_weights_dir",
    "fetch_entry",
    "load_registry",
    "missing_message",
    "missing_weights_message",
    "resolve_weights",
]
