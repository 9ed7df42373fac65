"""The CPU kernels' builds: each C source compiled once per instruction set, with the flags for each.

setup.py loads this file by path to build the same libraries at install time that `cbuild` builds at run
time, so it imports nothing outside the standard library.
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

SCAN_SOURCES = ("scan_cpu.c", "block_ops.c")  # the scans and the fused steps around them; one library per ISA
FEATURES_SOURCE = "cpu_features.c"  # which ISAs this CPU runs; compiled for the baseline only
COMMON_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-std=gnu11", "-Wno-psabi"]
ISA_FLAGS: dict[str, list[str]] = {
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma",
               "-mprefer-vector-width=512"],
    "avx2": ["-mavx2", "-mfma"],
    "neon": [],  # NEON is part of the aarch64 baseline
    "generic": [],  # the architecture's baseline (SSE2 on x86-64)
}


def machine_isas(machine: str | None = None) -> list[str]:
    """The ISAs with a scan library for this architecture, fastest first."""
    machine = (machine or platform.machine()).lower()
    if machine in ("x86_64", "amd64"):
        return ["avx512", "avx2", "generic"]
    if machine in ("aarch64", "arm64"):
        return ["neon"]
    return ["generic"]


def scan_library_name(isa: str) -> str:
    """The module name of the scan library built for `isa` (posemamba_cli.ops.<name>)."""
    return f"_scan_cpu_{isa}"


FEATURES_LIBRARY_NAME = "_cpu_features"


def source_digest(csrc: Path) -> str:
    """A digest of the kernels' C sources; each library built at install time carries the one it was built from
    (DIGEST_MACRO), so a library older than edited sources is recognised."""
    files = sorted(f for f in csrc.iterdir() if f.suffix in (".c", ".h"))
    return hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in files)).hexdigest()[:16]


DIGEST_MACRO = "POSEMAMBA_KERNEL_DIGEST"
