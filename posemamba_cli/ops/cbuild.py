"""Compile a C source shipped with the package into a shared library, once, cached per machine.

No torch headers and no Python API are involved, so a build takes well under a second. Where no C
compiler exists, or the build fails, `load_library` raises `BuildError` and callers fall back.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from posemamba_cli import settings


class BuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    return settings.kernel_cache_dir()


def _compiler() -> str:
    for cand in settings.c_compiler_candidates():
        if shutil.which(cand):
            return shutil.which(cand)  # type: ignore[return-value]
    raise BuildError("no C compiler found (set CC or install gcc)")


def _cpu_signature() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def _flags() -> list[str]:
    flags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fPIC", "-shared", "-std=gnu11"]
    if platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64"):
        flags.append("-march=native")
    if "avx512f" in _cpu_signature():
        flags.append("-mprefer-vector-width=512")
    return flags


def load_library(source: Path) -> ctypes.CDLL:
    """Build `source` (or reuse the cached build) and load it with ctypes."""
    if settings.native_disabled():
        raise BuildError("native kernels disabled by POSEMAMBA_NO_NATIVE")
    cc = _compiler()
    flags = _flags()
    key = hashlib.sha256(
        source.read_bytes() + " ".join([cc, *flags, platform.machine(), _cpu_signature()]).encode()
    ).hexdigest()[:16]
    out_dir = cache_dir()
    target = out_dir / f"{source.stem}-{key}.so"
    if not target.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
        os.close(fd)
        try:
            proc = subprocess.run([cc, *flags, str(source), "-o", tmp, "-lm"], capture_output=True, text=True)
            if proc.returncode != 0:
                raise BuildError(f"{Path(cc).name} failed on {source.name}: {proc.stderr.strip()[:500]}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    try:
        return ctypes.CDLL(str(target))
    except OSError as exc:
        raise BuildError(f"cannot load {target}: {exc}") from exc
