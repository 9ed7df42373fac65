"""Fetching one registry entry: download to `<file>.part`, verify, then rename to the final name.

Order of checks on the downloaded bytes: an HTML page (error, login or Drive quota page) is rejected
first; then the SHA-256 (full digest or 8-hex prefix); then a zip of files is unpacked to its checkpoint;
then the structural check (safe load, keys and shapes). Any failure deletes the download and raises one
line; the final name only ever receives a fully verified file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from posemamba_cli.hub.archive import extract_checkpoint
from posemamba_cli.hub.checksum import check_checksum
from posemamba_cli.hub.content import drive_refusal_reason, is_plain_zip, looks_like_html, read_head
from posemamba_cli.hub.errors import DownloadError, VerificationError
from posemamba_cli.hub.gdrive import gdrive_download
from posemamba_cli.hub.http_fetch import Timeouts, describe_disk_error, http_download
from posemamba_cli.hub.progress import transfer_bar
from posemamba_cli.hub.registry import WeightsEntry
from posemamba_cli.hub.structure import Fits, check_structure
from posemamba_cli.hub.ultralytics_fetch import ultralytics_download
from posemamba_cli.io.atomic import atomic_path


@dataclass(frozen=True)
class FetchResult:
    """Where the entry's file is, whether it was just downloaded, and what was verified."""

    entry: WeightsEntry
    path: Path
    downloaded: bool
    detail: str = ""


def part_path(entry: WeightsEntry, folder: Path) -> Path:
    """The resumable download's temporary name."""
    return folder / f"{entry.file}.part"


def by_hand_hint(entry: WeightsEntry, folder: Path) -> str:
    """How to get the file without this tool."""
    unzip = " (unzip it if it is a zip)" if entry.kind == "posemamba" else ""
    return f"download {entry.manual_url} by hand and save it as {folder / entry.file}{unzip}"


def ensure_writable(folder: Path) -> None:
    """Create `folder` if needed and prove a file can be written there (one-line error otherwise)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DownloadError(describe_disk_error(exc, folder)) from None


def verify_and_install(entry: WeightsEntry, part: Path, final: Path, fits: Fits) -> str:
    """Check the downloaded `part` (`fits`: the architecture check) and move its checkpoint to `final`; `part`
    is gone afterwards.

    Returns a short summary of the checks that passed; raises VerificationError (one line) otherwise.
    """
    try:
        head = read_head(part)
        if looks_like_html(head):
            if entry.gdrive_id:
                with open(part, "rb") as fh:
                    reason = drive_refusal_reason(fh.read(1 << 20))
            else:
                reason = "the server sent an HTML page instead of the file"
            raise VerificationError(f"{entry.name}: {reason}; nothing was saved. Try later, or "
                                    f"{by_hand_hint(entry, final.parent)}")
        digest = check_checksum(entry, part)
        done = [f"sha256 {digest[:8]} ok" if digest else "no published checksum"]
        if is_plain_zip(part):
            with atomic_path(final) as tmp:
                member, fit = extract_checkpoint(part, tmp, lambda p: check_structure(entry, p, fits), entry.name)
            done += [f"unzipped {member}", fit]
        else:
            done.append(check_structure(entry, part, fits))
            os.replace(part, final)
        return ", ".join(done)
    except OSError as exc:
        raise DownloadError(f"{entry.name}: {describe_disk_error(exc, final.parent)}") from None
    finally:
        part.unlink(missing_ok=True)


@contextlib.contextmanager
def folder_lock(folder: Path, console: Console | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `folder` so that two processes never write the same `.part` at once.

    The lock is on the folder itself (no lock file is left behind); where flock is unavailable, no-op.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent downloads are the user's business
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            (console or Console(stderr=True)).print(
                f"waiting for another posemamba download into {folder} to finish...", highlight=False)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def fetch_entry(entry: WeightsEntry, folder: str | os.PathLike, *, fits: Fits, force: bool = False,
                timeouts: Timeouts = Timeouts(), retries: int = 2, progress: bool = True,
                console: Console | None = None) -> FetchResult:
    """Make `folder/<entry.file>` present and verified (bytes, then `fits`), downloading it unless it is there."""
    folder = Path(folder)
    final = folder / entry.file
    if final.is_file() and not force:
        return FetchResult(entry, final, downloaded=False)
    ensure_writable(folder)
    with folder_lock(folder, console):
        if final.is_file() and not force:  # another process finished it while we waited
            return FetchResult(entry, final, downloaded=False)
        return _download_and_install(entry, folder, final, fits, force=force, timeouts=timeouts, retries=retries,
                                     progress=progress, console=console)


def _download_and_install(entry: WeightsEntry, folder: Path, final: Path, fits: Fits, *, force: bool,
                          timeouts: Timeouts, retries: int, progress: bool, console: Console | None) -> FetchResult:
    part = part_path(entry, folder)
    if force:
        part.unlink(missing_ok=True)
    own_bar = progress and not entry.ultralytics  # ultralytics draws its own progress bar
    with transfer_bar(entry.name, console, enabled=own_bar) as bar:
        if entry.url:
            http_download(entry.url, part, label=entry.name, timeouts=timeouts, retries=retries, bar=bar,
                          manual=entry.manual_url)
        elif entry.gdrive_id:
            gdrive_download(entry.gdrive_id, part, label=entry.name, timeouts=timeouts, retries=retries,
                            bar=bar, by_hand=by_hand_hint(entry, folder))
        else:
            ultralytics_download(entry.ultralytics, part, label=entry.name)
    if progress:
        with (console or Console(stderr=True)).status(f"verifying {entry.name} (checksum, keys and shapes)..."):
            detail = verify_and_install(entry, part, final, fits)
    else:
        detail = verify_and_install(entry, part, final, fits)
    return FetchResult(entry, final, downloaded=True, detail=detail)
