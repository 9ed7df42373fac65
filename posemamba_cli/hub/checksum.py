"""SHA-256 checks: a full digest pinned in the registry, or the 8-hex prefix in mmpose file names."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from posemamba_cli.hub.errors import VerificationError
from posemamba_cli.hub.registry import WeightsEntry

_NAME_PREFIX = re.compile(r"-([0-9a-f]{8})(?:_\d{8})?\.[A-Za-z.]+$")  # e.g. ...-81c58e40_20220909.pth


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def expected_digest(entry: WeightsEntry) -> str | None:
    """The full digest, else the registry prefix, else a prefix read off the file name, else None."""
    if entry.sha256:
        return entry.sha256
    if entry.sha256_prefix:
        return entry.sha256_prefix
    found = _NAME_PREFIX.search(entry.file)
    return found.group(1) if found else None


def check_checksum(entry: WeightsEntry, path: str | Path) -> str | None:
    """Compare the file's SHA-256 with what the registry expects; return the digest (None if unknown).

    Raises VerificationError naming both values on a mismatch.
    """
    expected = expected_digest(entry)
    if expected is None:
        return None
    actual = sha256_file(path)
    if not actual.startswith(expected):
        shown = actual[: len(expected)] if len(expected) < 64 else actual
        raise VerificationError(
            f"{entry.name}: checksum mismatch (sha256 {shown}, expected {expected}): the file is corrupt "
            "or not the published one; it was deleted"
        )
    return actual
