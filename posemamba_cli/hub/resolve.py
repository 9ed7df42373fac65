"""Turning what a user typed (a file path or a registry name) into a checkpoint path on disk."""

from __future__ import annotations

import os
from pathlib import Path

from posemamba_cli import settings
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.hub.errors import DownloadError
from posemamba_cli.hub.fetch import by_hand_hint, fetch_entry
from posemamba_cli.hub.http_fetch import Timeouts
from posemamba_cli.hub.registry import Registry, WeightsEntry, load_registry

DEFAULT_WEIGHTS_DIR = settings.DEFAULT_WEIGHTS_DIR


def default_weights_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $POSEMAMBA_WEIGHTS_DIR, else `weights/` under the current folder."""
    return settings.weights_dir(explicit)


def missing_message(entry: WeightsEntry, folder: Path) -> str:
    """The one line saying exactly how to get a missing model."""
    return (f"model '{entry.name}' is not in {folder}/ and downloads are off (--offline): run "
            f"`posemamba download-weights {entry.name}{_dir_option(folder)}`, or {by_hand_hint(entry, folder)}")


def _dir_option(folder: Path) -> str:
    return "" if folder == Path(DEFAULT_WEIGHTS_DIR) else f" --dir {folder}"


def resolve_weights(name_or_path: str | os.PathLike, weights_dir: str | os.PathLike | None = None,
                    offline: bool = False, *, registry: Registry | None = None, progress: bool = True,
                    timeouts: Timeouts = Timeouts()) -> Path:
    """A checkpoint path for `name_or_path`.

    An existing path is returned as is. A registry name (or a registry file name) resolves to
    `weights_dir/<file>`, downloaded and verified first if absent, unless `offline`, in which case a
    PoseMambaError says what to run. Anything else is a PoseMambaError naming the problem.
    """
    raw = str(name_or_path)
    path = Path(raw).expanduser()
    if path.exists():
        return path
    registry = registry or load_registry()
    entry = registry.find(raw)
    if entry is None:
        if os.sep in raw or "/" in raw or path.suffix:
            raise PoseMambaError(f"checkpoint file not found: {raw}")
        registry.get(raw)  # raises: unknown model name, with close matches
    folder = default_weights_dir(weights_dir)
    final = folder / entry.file
    if final.is_file():
        return final
    if offline:
        raise PoseMambaError(missing_message(entry, folder))
    try:
        return fetch_entry(entry, folder, timeouts=timeouts, progress=progress).path
    except DownloadError as exc:
        if final.is_file() or by_hand_hint(entry, folder) in str(exc):
            raise
        raise DownloadError(
            f"model '{entry.name}' is not in {folder}/ and could not be downloaded ({exc}): run "
            f"`posemamba download-weights {entry.name}{_dir_option(folder)}` once online, or "
            f"{by_hand_hint(entry, folder)}"
        ) from None
