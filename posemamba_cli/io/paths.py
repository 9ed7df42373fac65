"""Output paths checked before the work starts: the place is a folder (or a file name), and writable."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from posemamba_cli.errors import PoseMambaError


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name too long to exist
        return False


def _existing_ancestor(path: Path) -> Path:
    probe = path
    while not _exists(probe) and probe.parent != probe:
        probe = probe.parent
    return probe


def check_writable(folder: str | Path) -> None:
    """Raise PoseMambaError unless `folder` exists writable or could be created (nothing is created)."""
    folder = Path(folder)
    probe = _existing_ancestor(folder)
    if not probe.is_dir():
        raise PoseMambaError(f"{folder}: output folder is not writable ({probe} is not a folder)")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise PoseMambaError(f"{folder}: output folder is not writable ({exc.strerror or exc})") from exc


def check_output_file(path: str | Path, what: str = "output file",
                      replaceable: Callable[[Path], bool] | None = None) -> None:
    """Raise PoseMambaError unless a file can be written at `path`: not a folder, its folder writable, and
    no file there unless `replaceable(path)` says it is one of ours (an earlier result)."""
    path = Path(path)
    check_name_length(path, what)
    if path.is_dir():
        raise PoseMambaError(f"{what} {path} is a folder; give a file name")
    if path.exists() or path.is_symlink():
        if not path.is_file() or path.is_symlink():
            raise PoseMambaError(f"{what} {path} exists and is not a regular file; choose another name")
        if replaceable is None or not replaceable(path):
            raise PoseMambaError(f"{what} {path} already exists and was not written by posemamba; it is left "
                                 "untouched (choose another name)")
    try:
        check_writable(path.parent)
    except PoseMambaError as exc:
        raise PoseMambaError(f"{what} {path} cannot be written: {exc}") from None


def check_output_folder(folder: str | Path, what: str = "output folder") -> None:
    """Raise PoseMambaError unless `folder` is (or can be made) a writable folder: not an existing file."""
    folder = Path(folder)
    check_name_length(folder, what)
    if folder.exists() and not folder.is_dir():
        raise PoseMambaError(f"{what} {folder} is a file, not a folder")
    check_writable(folder)


def check_name_length(path: str | Path, what: str = "output") -> None:
    """Raise PoseMambaError when a part of `path` not yet created is longer than its file system allows."""
    path = Path(path)
    base = _existing_ancestor(path)
    try:
        limit = os.pathconf(base, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows) or no answer: the write will tell
        return
    for part in path.relative_to(base).parts if path != base else ():
        if len(os.fsencode(part)) > limit:
            raise PoseMambaError(f"{what} {path}: the name {part[:40]}... is {len(os.fsencode(part))} bytes, "
                                 f"longer than the {limit} this file system allows")


def require_file(path: str | Path, what: str, missing: str | None = None,
                 error: type[PoseMambaError] = PoseMambaError) -> Path:
    """`path` when it is an existing file; otherwise one line saying what is wrong with it (absent, a folder).

    `missing` replaces the message for an absent path; `error` is the exception class raised.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{what} {path} is a folder, not a file")
    if not path.exists():
        raise error(missing or f"{what} {path} does not exist")
    if not path.is_file():
        raise error(f"{what} {path} is not a regular file")
    return path
