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
from posemamba_cli.hub.structure import Fits

DEFAULT_WEIGHTS_DIR = settings.DEFAULT_WEIGHTS_DIR


def default_weights_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $POSEMAMBA_WEIGHTS_DIR, else `weights/` under the current folder."""
    return settings.weights_dir(explicit)


OFFLINE_REASON = "downloads are off (--offline)"


def download_command(names: list[str], folder: Path) -> str:
    """The `posemamba download-weights ...` command (quoted in backticks) that puts `names` into `folder`."""
    dir_option = "" if Path(folder) == Path(DEFAULT_WEIGHTS_DIR) else f" --dir {folder}"
    return f"`posemamba download-weights {' '.join(names)}{dir_option}`"


def missing_weights_message(entries: list[WeightsEntry], folder: Path, why: str = OFFLINE_REASON) -> str:
    """The one line saying which models are missing from `folder`, `why` they were not fetched, the command
    that fetches them all and where to download each by hand."""
    command = download_command([e.name for e in entries], folder)
    if len(entries) == 1:
        entry = entries[0]
        return f"model '{entry.name}' is not in {folder}/ and {why}: run {command}, or {by_hand_hint(entry, folder)}"
    files = ", ".join(str(folder / e.file) for e in entries)
    hints = "; ".join(f"{e.name}: {by_hand_hint(e, folder)}" for e in entries)
    return (f"{len(entries)} model file(s) missing from {folder}/; {why}: {files}. "
            f"Fetch them with {command}, or by hand: {hints}")


def missing_message(entry: WeightsEntry, folder: Path) -> str:
    """The one line saying exactly how to get a model missing while downloads are off."""
    return missing_weights_message([entry], folder)


def resolve_weights(name_or_path: str | os.PathLike, weights_dir: str | os.PathLike | None = None,
                    offline: bool = False, *, fits: Fits, registry: Registry | None = None, progress: bool = True,
                    timeouts: Timeouts = Timeouts()) -> Path:
    """A checkpoint path for `name_or_path`.

    An existing path is returned as is. A registry name (or a registry file name) resolves to
    `weights_dir/<file>`, downloaded and verified (`fits`: the architecture check) first if absent, unless
    `offline`, in which case a PoseMambaError says what to run. Anything else is a PoseMambaError naming the problem.
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
        return fetch_entry(entry, folder, fits=fits, timeouts=timeouts, progress=progress).path
    except DownloadError as exc:
        if final.is_file() or by_hand_hint(entry, folder) in str(exc):
            raise
        raise DownloadError(missing_weights_message([entry], folder, f"could not be downloaded ({exc})")) from None
