"""Write files under a temporary name in the target folder, then rename: never a half-written output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from posemamba_cli.errors import output_error


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed write created (innermost first), where they are still empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def current_umask() -> int:
    """The process umask (read without changing it for longer than an instant)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success rename it to `final`, on error delete it.

    The temporary name keeps `final`'s suffix (or `suffix`) so that writers choosing a format by the
    extension (torch.save, ffmpeg, numpy) behave the same. An OSError while writing (disk full, read-only,
    name too long) becomes an `OutputError` naming `final`: one line for the user, still an OSError.
    """
    final = Path(final)
    ext = final.suffix if suffix is None else suffix
    created = [p for p in [final.parent, *final.parent.parents] if not p.exists()]
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        # the name's start only: a final name near the file system's limit must not overflow the temporary one
        fd, tmp = tempfile.mkstemp(prefix=f".{final.stem[:80]}.", suffix=f".part{ext}", dir=final.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; the final file gets the usual permissions
    except OSError as exc:
        _remove_empty(created)
        raise output_error(exc, final) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        _remove_empty(created)
        if isinstance(exc, OSError):
            raise output_error(exc, final) from None
        raise
