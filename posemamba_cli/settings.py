"""Every environment variable the package reads, and the folders derived from them, in one place.

Values are read when asked for (not at import), so a variable set by a test or a launcher takes effect.
`posemamba info` lists `VARIABLES` with their current values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str


VARIABLES = (
    Variable("POSEMAMBA_SCAN_BACKEND", "force a selective-scan backend where `auto` is asked for"),
    Variable("POSEMAMBA_CROSS_FWD", "the Triton cross scan's forward kernel: legacy (default), grid or lane"),
    Variable("POSEMAMBA_CROSS_BWD", "the Triton cross scan's backward kernel: legacy (default), grouped or lanes"),
    Variable("POSEMAMBA_CACHE", "cache folder: compiled CPU kernels and sliced clips (default ~/.cache/posemamba)"),
    Variable("POSEMAMBA_NO_NATIVE", "set to disable the compiled CPU kernel (PyTorch fallback)"),
    Variable("POSEMAMBA_CPU_ISA", "force a CPU kernel build: avx512, avx2, neon or generic (default: the fastest)"),
    Variable("POSEMAMBA_WEIGHTS_DIR", "the weights folder (default weights/)"),
    Variable("POSEMAMBA_REGISTRY", "a registry JSON replacing the built-in one (mirrors, tests)"),
    Variable("XDG_CACHE_HOME", "the user cache root when POSEMAMBA_CACHE is unset"),
    Variable("CC", "the C compiler for the CPU kernel (default cc, gcc or clang)"),
    Variable("GOMP_SPINCOUNT", "OpenMP idle spin; the CLI sets 10000 before torch loads unless set"),
    Variable("OMP_WAIT_POLICY", "OpenMP wait policy; when set, the CLI leaves the spin count alone"),
    Variable("YOLO_OFFLINE", "ultralytics: set to 1 before it loads (no connectivity checks) unless set"),
    Variable("YOLO_AUTOINSTALL", "ultralytics: set to false before it loads (no package installs) unless set"),
    Variable("YOLO_VERBOSE", "ultralytics: set to false before it loads unless set"),
    Variable("YOLO_CONFIG_DIR", "ultralytics' settings folder; unset: a private temp folder, so yours is untouched"),
    Variable("WORLD_SIZE", "torchrun: number of training processes"),
    Variable("RANK", "torchrun: this process's rank"),
    Variable("LOCAL_RANK", "torchrun: this process's GPU on its machine"),
)
DEFAULT_WEIGHTS_DIR = "weights"


def _get(name: str) -> str | None:
    return os.environ.get(name) or None


def scan_backend() -> str | None:
    """The forced scan backend name (POSEMAMBA_SCAN_BACKEND), or None."""
    return _get("POSEMAMBA_SCAN_BACKEND")


def cross_scan_variants() -> tuple[str, str]:
    """The Triton cross scan's (forward, backward) kernel variants (POSEMAMBA_CROSS_FWD / _BWD, default legacy)."""
    return _get("POSEMAMBA_CROSS_FWD") or "legacy", _get("POSEMAMBA_CROSS_BWD") or "legacy"


def cache_dir() -> Path:
    """The cache root: $POSEMAMBA_CACHE, else $XDG_CACHE_HOME/posemamba, else ~/.cache/posemamba."""
    explicit = _get("POSEMAMBA_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    return Path(_get("XDG_CACHE_HOME") or Path.home() / ".cache") / "posemamba"


def kernel_cache_dir() -> Path:
    """Where compiled CPU kernels are kept."""
    return cache_dir() / "kernels"


def clip_cache_dir() -> Path:
    """Where clips sliced from the preprocessed Human3.6M file are kept."""
    return cache_dir() / "clips"


def native_disabled() -> bool:
    """True when POSEMAMBA_NO_NATIVE is set (to anything non-empty)."""
    return _get("POSEMAMBA_NO_NATIVE") is not None


def cpu_isa() -> str | None:
    """The CPU kernel build forced by POSEMAMBA_CPU_ISA (lower case), or None for the fastest one."""
    value = (_get("POSEMAMBA_CPU_ISA") or "").strip().lower()
    return value or None


def weights_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $POSEMAMBA_WEIGHTS_DIR, else `weights/` under the current folder."""
    return Path(explicit or _get("POSEMAMBA_WEIGHTS_DIR") or DEFAULT_WEIGHTS_DIR).expanduser()


def registry_file() -> Path | None:
    """The registry JSON replacing the built-in one ($POSEMAMBA_REGISTRY), or None."""
    value = _get("POSEMAMBA_REGISTRY")
    return Path(value).expanduser() if value else None


def c_compiler_candidates() -> tuple[str, ...]:
    """Compiler names to try, $CC first."""
    return tuple(c for c in (_get("CC"), "cc", "gcc", "clang") if c)


def openmp_wait_is_chosen() -> bool:
    """True when the user set GOMP_SPINCOUNT or OMP_WAIT_POLICY themselves."""
    return "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ


def set_openmp_spin(count: str) -> None:
    """Set GOMP_SPINCOUNT for libgomp (read once, when torch loads)."""
    os.environ["GOMP_SPINCOUNT"] = count


def quiet_ultralytics_environment() -> bool:
    """Before ultralytics loads: no connectivity checks, auto-installs or chatter, and its settings file in a
    private temp folder unless the user chose one (YOLO_* values already set are kept). True when the
    settings folder is ours."""
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no connectivity checks; ultralytics' telemetry needs ONLINE
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    if "YOLO_CONFIG_DIR" in os.environ:
        return False
    import tempfile

    folder = Path(tempfile.gettempdir()) / f"posemamba-ultralytics-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.environ["YOLO_CONFIG_DIR"] = str(folder)
    return True


@dataclass(frozen=True)
class World:
    """This process's place among torchrun's ranks (training and infer alike); a plain run is rank 0 of 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def launch_info() -> World:
    """RANK, WORLD_SIZE, LOCAL_RANK as torchrun sets them (0, 1, 0 without torchrun)."""
    return World(int(_get("RANK") or 0), int(_get("WORLD_SIZE") or 1), int(_get("LOCAL_RANK") or 0))


def current_values() -> list[tuple[str, str | None, str]]:
    """(name, value or None, meaning) for every variable, for `posemamba info`."""
    return [(v.name, os.environ.get(v.name), v.meaning) for v in VARIABLES]
