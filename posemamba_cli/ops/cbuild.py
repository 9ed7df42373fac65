"""Compile C sources shipped with the package into a shared library at run time, once, cached per machine.

The last resort before the PyTorch fallback: normally the libraries are built at install time (setup.py)
and `cpu_kernel` loads those. No torch headers and no Python API are involved, so a build takes about a
second. Where no C compiler exists, or the build fails, `load_library` raises `BuildError`.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from posemamba_cli import settings
from posemamba_cli.ops.kernel_variants import COMMON_FLAGS, DIGEST_MACRO, ISA_FLAGS, source_digest


class BuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    return settings.kernel_cache_dir()


def _compiler() -> str:
    for cand in settings.c_compiler_candidates():
        if shutil.which(cand):
            return shutil.which(cand)  # type: ignore[return-value]
    raise BuildError("no C compiler found (set CC or install gcc)")


def _flags(isa: str, csrc: Path) -> list[str]:
    digest = f'-D{DIGEST_MACRO}="{source_digest(csrc)}"'  # as setup.py marks its builds
    return [*COMMON_FLAGS, *ISA_FLAGS[isa], digest, "-fPIC", "-shared"]


def load_library(sources: Path | Sequence[Path], isa: str = "generic") -> ctypes.CDLL:
    """Build `sources` (one library; headers beside the first) for `isa`, or reuse the cached build, and load it
    with ctypes."""
    if settings.native_disabled():
        raise BuildError("native kernels disabled by POSEMAMBA_NO_NATIVE")
    sources = [sources] if isinstance(sources, Path) else list(sources)
    source = sources[0]
    cc = _compiler()
    flags = _flags(isa, source.parent)
    headers = b"".join(h.read_bytes() for h in sorted(source.parent.glob("*.h")))
    key = hashlib.sha256(
        b"".join(s.name.encode() + s.read_bytes() for s in sources) + headers
        + " ".join([cc, *flags, platform.machine()]).encode()
    ).hexdigest()[:16]
    out_dir = cache_dir()
    target = out_dir / f"{source.stem}-{isa}-{key}.so"
    if not target.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
        os.close(fd)
        try:
            proc = subprocess.run([cc, *flags, *map(str, sources), "-o", tmp, "-lm"], capture_output=True, text=True,
                                  check=False)
            if proc.returncode != 0:
                names = ", ".join(s.name for s in sources)
                raise BuildError(f"{Path(cc).name} failed on {names}: {proc.stderr.strip()[:500]}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    try:
        return ctypes.CDLL(str(target))
    except OSError as exc:
        raise BuildError(f"cannot load {target}: {exc}") from exc
