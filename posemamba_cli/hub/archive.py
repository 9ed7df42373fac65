"""Taking the checkpoint out of a published zip (some PoseMamba releases are zips of a `.pth.tr`)."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from posemamba_cli.hub.errors import VerificationError

CHECKPOINT_SUFFIXES = (".pth.tr", ".pth", ".pt", ".tar", ".bin", ".ckpt")


def checkpoint_members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Members that look like checkpoints, largest first (macOS metadata and folders skipped)."""
    members = [
        m for m in zf.infolist()
        if not m.is_dir() and "__MACOSX" not in m.filename
        and not PurePosixPath(m.filename).name.startswith(".")
        and m.filename.lower().endswith(CHECKPOINT_SUFFIXES)
    ]
    return sorted(members, key=lambda m: -m.file_size)


def extract_checkpoint(archive: Path, dest: Path, accept: Callable[[Path], str],
                       label: str) -> tuple[str, str]:
    """Extract into `dest` the first checkpoint member `accept` approves; return (its name, accept's text).

    `accept` raises (VerificationError) for a member that does not fit; `dest` is left absent when no
    member fits, and the VerificationError lists what was tried.
    """
    tried: list[str] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            members = checkpoint_members(zf)
            if not members:
                raise VerificationError(f"{label}: the downloaded zip holds no checkpoint file; it was deleted")
            free = shutil.disk_usage(dest.parent).free
            for member in members:
                if member.file_size > free:
                    raise VerificationError(
                        f"{label}: not enough disk space to extract {member.filename} "
                        f"({member.file_size / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free)"
                    )
                with zf.open(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                try:
                    return member.filename, accept(dest)
                except VerificationError as exc:
                    why = str(exc).split(": ", 1)[-1].removesuffix("; it was deleted")
                    tried.append(f"{member.filename} ({why})")
                    dest.unlink(missing_ok=True)
    except zipfile.BadZipFile as exc:
        dest.unlink(missing_ok=True)
        raise VerificationError(f"{label}: the downloaded zip is damaged ({exc}); it was deleted") from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    raise VerificationError(f"{label}: no checkpoint in the zip fits: {'; '.join(tried)}; it was deleted")
