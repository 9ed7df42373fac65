"""Staging folders of `infer` results, named `.<result name>.<pid>-<host>.<random>.part` beside the result.

The name says which process on which machine assembles it, so a later run into the same folder can tell
the leftovers of a killed run (owner gone) from a live run's stage, and remove only the former.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
import warnings
from pathlib import Path

from posemamba_cli.errors import PoseMambaWarning

STAGE_SUFFIX = ".part"
ASIDE_SUFFIX = ".old"  # where a replaced result waits, for an instant, to be deleted
NAME_BYTES = 64  # of the result's name kept in a stage's name: the whole stays far below NAME_MAX
_RANDOM = r"[a-z0-9_]{8}"  # tempfile's random part
_OWNED = re.compile(rf"^\..+\.(?P<pid>\d+)-(?P<host>[0-9a-f]{{8}})\.{_RANDOM}(?P<suffix>\.part|\.old)$")
_UNOWNED = re.compile(rf"^\..+\.{_RANDOM}\.part$")  # stages of versions that did not name their owner


def host_tag() -> str:
    """8 hex digits naming this machine (its host name's SHA-1)."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _shortened(name: str, limit: int = NAME_BYTES) -> str:
    while len(os.fsencode(name)) > limit:
        name = name[:-1]
    return name


def make_stage(final: Path, suffix: str = STAGE_SUFFIX) -> Path:
    """Create (0700) and return an empty folder beside `final` named for this process (`suffix`
    STAGE_SUFFIX: the stage; ASIDE_SUFFIX: where a replaced result waits to be deleted)."""
    prefix = f".{_shortened(final.name)}.{os.getpid()}-{host_tag()}."
    return Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=final.parent))


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else (EPERM), or cannot tell: treat as running
        return True
    return True


def _only_plain_files(folder: Path) -> bool:
    try:
        return all(p.is_file() and not p.is_symlink() for p in folder.iterdir())
    except OSError:
        return False


def sweep_stale_stages(folder: Path, started: float) -> None:
    """Remove the staging folders in `folder` that runs killed on this machine left behind (owner process no
    longer running, unchanged since before `started`, holding only plain files), each with a warning;
    warn about stages that cannot be judged (no owner in the name, or not removable) and about earlier
    results a killed run had set aside. Live runs' stages and other machines' are left alone; nothing that
    is not a stage of this pattern is looked into."""
    try:
        entries = [p for p in Path(folder).iterdir() if p.name.endswith((STAGE_SUFFIX, ASIDE_SUFFIX))]
    except OSError:
        return
    for stage in entries:
        if stage.is_symlink() or not stage.is_dir():
            continue
        owned = _OWNED.match(stage.name)
        if owned is None:
            if _UNOWNED.match(stage.name):
                _warn(f"{stage}: a staging folder of an earlier posemamba run, stopped or still running; "
                      "delete it if no run is writing there")  # fmt: skip
            continue
        if owned["host"] != host_tag() or _running(int(owned["pid"])):
            continue
        if owned["suffix"] == ASIDE_SUFFIX:  # killed between the two renames of a replacement: never deleted
            _warn(f"{stage}: holds the earlier result a stopped posemamba run (process {owned['pid']}) was "
                  "replacing; move it back or delete it")  # fmt: skip
            continue
        try:
            changed = stage.stat().st_mtime
        except OSError:
            continue
        if changed >= started or not _only_plain_files(stage):
            _warn(f"{stage}: left by a stopped posemamba run (process {owned['pid']}); not removed, as it was "
                  "changed since or holds folders or links")  # fmt: skip
            continue
        shutil.rmtree(stage, ignore_errors=True)
        if stage.exists():
            _warn(f"{stage}: left by a stopped posemamba run (process {owned['pid']}); could not remove it")
        else:
            _warn(f"removed {stage}: the unfinished results of a stopped posemamba run (process {owned['pid']})")


def _warn(message: str) -> None:
    warnings.warn(PoseMambaWarning(message), stacklevel=3)
