"""Write files under a temporary name in the target folder, then rename: never a half-written output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def current_umask() -> int:
    """The process umask (read without changing it for longer than an instant)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success rename it to `final`, on error delete it.

    The temporary name keeps `final`'s suffix (or `suffix`) so that writers choosing a format by the
    extension (torch.save, ffmpeg, numpy) behave the same.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    ext = final.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".part{ext}", dir=final.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; the final file gets the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
