"""User-facing errors: the CLI prints their message on one line and exits non-zero."""

from __future__ import annotations

import errno
import os


class PoseMambaError(Exception):
    """An error caused by the user's input (a file, an option, a checkpoint), not by a bug."""

    exit_code = 2


class CheckpointError(PoseMambaError):
    """A checkpoint that cannot be read, or does not fit the model."""


class PoseMambaWarning(UserWarning):
    """A doubtful input that still gives a result: `infer` reports it as one warning line with its video."""


class Terminated(BaseException):
    """A stop signal (SIGTERM) turned into an exception: the run unwinds as on Ctrl-C (a BaseException, so no
    `except Exception` stops it), and the command exits with 128 + the signal's number (143 for SIGTERM;
    Ctrl-C stays 130), as a shell reports a killed command. Not a KeyboardInterrupt: typer would turn that
    into exit 130."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class OutputError(PoseMambaError, OSError):
    """Writing an output failed (disk full, read-only, name too long): one line naming the path.

    Still an OSError, so code that tolerates a failed write (a cache) goes on doing so.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        OSError.__init__(self, code, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


_WHY = {
    errno.ENOSPC: "the disk is full",
    errno.EFBIG: "the file grew past the largest size this process may write",
    getattr(errno, "EDQUOT", -1): "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}


def output_error(exc: OSError, path: str | os.PathLike) -> OutputError:
    """The one-line OutputError for `exc`, raised while writing `path` (kept as is if it already is one)."""
    if isinstance(exc, OutputError):
        return exc
    why = _WHY.get(exc.errno) or exc.strerror or str(exc)
    return OutputError(f"cannot write {path}: {why}", exc.errno)
