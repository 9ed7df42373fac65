"""Find the CPU scan kernel for this machine and CPU.

The kernel is one library of C sources built once per instruction set (kernel_variants). Order of sources:
the libraries setup.py built into this package at install time -> a run-time build by `cbuild` (needs a C
compiler) -> none, and the caller falls back to PyTorch. Among the builds, the fastest this CPU runs is
chosen (asked of a small baseline-compiled library, csrc/cpu_features.c), unless POSEMAMBA_CPU_ISA names one
(avx512, avx2, neon, generic), for tests and benchmarks.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from posemamba_cli import settings
from posemamba_cli.ops.cbuild import BuildError, load_library
from posemamba_cli.ops.kernel_variants import (
    FEATURES_LIBRARY_NAME,
    FEATURES_SOURCE,
    SCAN_SOURCES,
    machine_isas,
    scan_library_name,
    source_digest,
)

ISA_ENV = "POSEMAMBA_CPU_ISA"
_CSRC = Path(__file__).parent / "csrc"


class KernelUnavailable(RuntimeError):
    """No usable CPU kernel; the message says why."""


@dataclass(frozen=True)
class KernelLibrary:
    lib: ctypes.CDLL
    isa: str  # the instruction set the library was compiled for
    origin: str  # "extension" (built at install time) or "jit" (compiled at run time)
    path: str

    def describe(self) -> str:
        how = "built at install time" if self.origin == "extension" else "compiled at run time"
        return f"{self.isa} ({how}: {self.path})"


def requested_isa() -> str | None:
    """The ISA forced by POSEMAMBA_CPU_ISA, or None to choose the fastest the CPU runs."""
    return settings.cpu_isa()


def _installed_file(name: str) -> Path | None:
    """The extension file setup.py built for posemamba_cli.ops.<name>, if this install has one."""
    try:
        spec = importlib.util.find_spec(f"{__package__}.{name}")
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and os.path.isfile(spec.origin) else None


def _built_from_other_sources(lib: ctypes.CDLL) -> bool:
    """True when an installed library was built from C sources other than the package's (a development tree
    edited after `pip install -e .`): then it is stale and a run-time build of the present sources is used."""
    lib.kernel_source_digest.restype = ctypes.c_char_p
    return lib.kernel_source_digest().decode() != source_digest(_CSRC)


def open_library(name: str, sources: tuple[str, ...], isa: str) -> tuple[ctypes.CDLL, str, str]:
    """(library, origin, path) for one build: the installed extension if it loads, else a run-time build."""
    if settings.native_disabled():
        raise KernelUnavailable("compiled CPU kernels disabled by POSEMAMBA_NO_NATIVE")
    installed = _installed_file(name)
    why = "no prebuilt kernel installed"
    if installed is not None:
        try:
            lib = ctypes.CDLL(str(installed))
        except OSError as exc:
            why = f"the installed {installed.name} does not load ({exc})"
        else:
            if not _built_from_other_sources(lib):
                return lib, "extension", str(installed)
            why = f"the installed {installed.name} was built from other sources (rebuild: pip install -e .)"
    try:
        lib = load_library([_CSRC / s for s in sources], isa)
    except BuildError as exc:
        raise KernelUnavailable(f"{why}, and the run-time build failed: {exc}") from exc
    return lib, "jit", str(lib._name)


def supported_isas() -> list[str]:
    """The scan builds this CPU (and OS) can run, fastest first."""
    lib = open_library(FEATURES_LIBRARY_NAME, (FEATURES_SOURCE,), "generic")[0]
    lib.cpu_supports.argtypes = [ctypes.c_char_p]
    lib.cpu_supports.restype = ctypes.c_int
    return [isa for isa in machine_isas() if lib.cpu_supports(isa.encode())]


def load_scan_kernel(isa: str | None = None) -> KernelLibrary:
    """The scan library for `isa` (default: POSEMAMBA_CPU_ISA, else the fastest build this CPU runs that
    loads). Raises KernelUnavailable with the reason when there is none."""
    wanted = isa or requested_isa()
    known = machine_isas()
    if wanted is not None and wanted not in known:
        raise KernelUnavailable(f"no {wanted!r} CPU kernel for {platform.machine()}; choose from {', '.join(known)}")
    runnable = supported_isas()
    if wanted is not None and wanted not in runnable:
        raise KernelUnavailable(f"this CPU cannot run the {wanted} kernel; it runs: {', '.join(runnable)}")
    reasons = []
    for choice in [wanted] if wanted else runnable:
        try:
            lib, origin, path = open_library(scan_library_name(choice), SCAN_SOURCES, choice)
            return KernelLibrary(lib, choice, origin, path)
        except KernelUnavailable as exc:
            reasons.append(f"{choice}: {exc}")
    raise KernelUnavailable("; ".join(reasons))
