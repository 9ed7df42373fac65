"""Write files under a temporary name in the target folder, then rename: never a half-written output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from posemamba_cli.errors import output_error


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
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".part{ext}", dir=final.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; the final file gets the usual permissions
    except OSError as exc:
        raise output_error(exc, final) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError):
            raise output_error(exc, final) from None
        raise
