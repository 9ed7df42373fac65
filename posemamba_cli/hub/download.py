"""Putting a set of registry models into a weights folder, and saying which ones are there.

    download_weights(names=None, folder=None, force=False, offline=False) -> list[DownloadOutcome]
    model_status(registry, folder) -> list[ModelStatus]
    check_present(entry, path)      (raises when a file on disk may not count as that model)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.hub.checksum import expected_digest, sha256_file
from posemamba_cli.hub.content import looks_like_html, looks_like_torch_file, read_head
from posemamba_cli.hub.errors import VerificationError
from posemamba_cli.hub.fetch import fetch_entry
from posemamba_cli.hub.http_fetch import Timeouts
from posemamba_cli.hub.registry import Registry, WeightsEntry, load_registry
from posemamba_cli.hub.resolve import default_weights_dir, missing_weights_message
from posemamba_cli.hub.structure import Fits


@dataclass(frozen=True)
class DownloadOutcome:
    """What happened to one requested model: its file, and "downloaded", "present" or "failed"."""

    entry: WeightsEntry
    path: Path
    status: Literal["downloaded", "present", "failed"]
    detail: str = ""  # the checks that passed, for a download
    error: PoseMambaError | None = None  # why, for a failure


@dataclass(frozen=True)
class ModelStatus:
    """One known model against a folder: "present", "absent", or "refused" (on disk but not acceptable)."""

    entry: WeightsEntry
    path: Path
    status: Literal["present", "absent", "refused"]
    size: int | None  # bytes on disk; the registry's expected size when absent (None if unknown)
    default: bool  # in the default set (what `posemamba infer` uses)
    reason: str = ""  # why a file on disk is refused


def check_present(entry: WeightsEntry, path: Path) -> None:
    """Raise a one-line PoseMambaError unless the file at `path` may count as `entry`, judged by its content:
    not a web page, in torch.save's format (a complete zip archive, or a pickle), the registry's size and
    checksum where it gives them; a detector file is also inspected (ultralytics would unpickle it unchecked).
    Loading the weights checks keys and shapes again, safely.
    """
    again = f"fetch it again with `posemamba download-weights {entry.name} --force`"
    if looks_like_html(read_head(path)):
        raise VerificationError(f"{path} is a web page (an error or sign-in page saved under the model's name), "
                                f"not the {entry.name} weights; {again}")
    size = path.stat().st_size
    if entry.size and size != entry.size:
        raise VerificationError(f"{path} has {size} bytes, the published {entry.name} file {entry.size} "
                                f"(truncated or another file); {again}")
    if not looks_like_torch_file(path):
        raise VerificationError(f"{path} is not a PyTorch checkpoint, or not all of one (truncated, damaged or "
                                f"another kind of file); {again}")
    expected = expected_digest(entry)
    if expected is not None and not sha256_file(path).startswith(expected):
        raise VerificationError(f"{path} does not match the published {entry.name} checksum (sha256 {expected}"
                                f"{'' if len(expected) == 64 else '...'}): truncated, damaged or another file; {again}")
    if entry.kind == "yolo":
        from posemamba_cli.io.safe_weights import check_detector_weights

        check_detector_weights(path)


def select_entries(registry: Registry, names: list[str] | None = None) -> list[WeightsEntry]:
    """The entries named (unknown names raise, with close matches), else the default set; no duplicates."""
    chosen = [registry.get(n) for n in (names or registry.defaults)]
    return list({e.name: e for e in chosen}.values())


def model_status(registry: Registry, folder: str | os.PathLike) -> list[ModelStatus]:
    """Every model in `registry`, in order, with whether its file is in `folder` and acceptable."""
    folder = Path(folder)
    rows = []
    for entry in registry:
        path = folder / entry.file
        reason = ""
        if path.is_file():
            try:
                check_present(entry, path)
                status = "present"
            except PoseMambaError as exc:
                status, reason = "refused", str(exc)
            size = path.stat().st_size
        else:
            status, size = "absent", entry.size
        rows.append(ModelStatus(entry, path, status, size, entry.name in registry.defaults, reason))
    return rows


def download_weights(
    names: list[str] | None = None,
    folder: str | os.PathLike | None = None,
    *,
    fits: Fits,
    force: bool = False,
    offline: bool = False,
    timeouts: Timeouts = Timeouts(),
    retries: int = 2,
    registry: Registry | None = None,
    progress: bool = True,
    on_outcome: Callable[[DownloadOutcome], None] | None = None,
) -> list[DownloadOutcome]:
    """Fetch and verify (`fits`: the architecture check) the models `names` (default: the default set) into
    `folder` (default: the weights folder); a file already there is kept unless `force`, once it passes `check_present`.

    With `offline` nothing is downloaded and one PoseMambaError lists every missing model. A failure is
    raised when one model was asked for; with several, it is a "failed" outcome and the rest still run.
    `on_outcome` sees each outcome as soon as it is known (for printing while the others download).
    """
    registry = registry or load_registry()
    folder = default_weights_dir(folder)
    entries = select_entries(registry, names)
    report = on_outcome or (lambda outcome: None)
    outcomes: list[DownloadOutcome] = []
    if offline:
        missing = [e for e in entries if not (folder / e.file).is_file()]
        for entry in entries:
            if entry not in missing:
                check_present(entry, folder / entry.file)
                outcomes.append(DownloadOutcome(entry, folder / entry.file, "present"))
                report(outcomes[-1])
        if missing:
            raise PoseMambaError(missing_weights_message(missing, folder))
        return outcomes
    for entry in entries:
        try:
            result = fetch_entry(entry, folder, fits=fits, force=force, timeouts=timeouts, retries=retries,
                                 progress=progress)
            check_present(entry, result.path)
        except PoseMambaError as exc:
            if len(entries) == 1:
                raise
            outcome = DownloadOutcome(entry, folder / entry.file, "failed", str(exc), exc)
        else:
            outcome = DownloadOutcome(entry, result.path, "downloaded" if result.downloaded else "present",
                                      result.detail)
        outcomes.append(outcome)
        report(outcome)
    return outcomes
