"""Write faults for tests: a file-size limit (writes fail as on a full disk) and a read-only folder."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")  # POSIX only


@contextlib.contextmanager
def file_size_limit(nbytes: int) -> Iterator[None]:
    """Within the block, any write past `nbytes` of a file fails with an OSError (EFBIG), as on a full disk.

    Only the soft limit changes (Python ignores SIGXFSZ, so the write just fails); it is restored after.
    Keep the block free of printing: pytest's capture files are subject to the limit too.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def limit_file_size(nbytes: int):
    """A subprocess `preexec_fn` giving the child the same fault as `file_size_limit`."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """`path` as a folder nobody may write into: a 0555 folder, or for root (who ignores modes) a read-only
    tmpfs mounted there; skips the test where neither is possible."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("root cannot mount a read-only tmpfs here, and ignores folder modes")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)
