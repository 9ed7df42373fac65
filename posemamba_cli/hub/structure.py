"""Structural checks on a fetched file's bytes: a PyTorch checkpoint, and for ultralytics files (whole pickled
models, which only ultralytics itself may load) a pickle inspected without executing it that refers to
ultralytics' model classes and to nothing that could run code.

Whether a state dict fits an architecture is the model packages' business: callers pass that check in as
`fits` (posemamba_cli.pretrained.fits dispatches on the registry kind); the hub imports no model.
"""

from __future__ import annotations

import pickletools
import zipfile
from collections.abc import Callable
from pathlib import Path

from posemamba_cli.errors import CheckpointError
from posemamba_cli.hub.content import looks_like_torch_file
from posemamba_cli.hub.errors import VerificationError
from posemamba_cli.hub.registry import WeightsEntry

#: "the file at path fits the model `entry` describes": a short description, or CheckpointError
Fits = Callable[[WeightsEntry, Path], str]


_DANGEROUS_MODULES = ("os", "posix", "nt", "subprocess", "sys", "runpy", "shutil", "socket", "importlib",
                      "pty", "webbrowser", "ctypes", "multiprocessing", "code", "pickle", "marshal")
_DANGEROUS_BUILTINS = ("eval", "exec", "compile", "__import__", "open", "input", "breakpoint")


def _pickle_globals(data: bytes) -> set[str]:
    """Every global ('module.name') a pickle refers to, read without executing it (GLOBAL and STACK_GLOBAL)."""
    found: set[str] = set()
    recent: list[str] = []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL" and len(recent) >= 2:
            found.add(f"{recent[-2]}.{recent[-1]}")
        if isinstance(arg, str) and op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            recent = (recent + [arg])[-2:]
    return found


def _dangerous(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    top = module.split(".")[0]
    return top in _DANGEROUS_MODULES or (top in ("builtins", "__builtin__") and attr in _DANGEROUS_BUILTINS)


def check_yolo(entry: WeightsEntry, path: Path) -> str:
    """The file is a torch archive holding a pickled ultralytics model (inspected, never executed)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
            if not names:
                raise CheckpointError(f"the file for {entry.name} is a zip but not a PyTorch checkpoint")
            globals_used = _pickle_globals(zf.read(names[0]))
    except zipfile.BadZipFile:
        raise CheckpointError(f"the file for {entry.name} is not a PyTorch checkpoint (not a torch archive)") \
            from None
    except ValueError as exc:  # pickletools' complaint about a malformed pickle
        raise CheckpointError(f"the file for {entry.name} holds a malformed pickle ({exc})") from None
    bad = sorted(s for s in globals_used if _dangerous(s))
    if bad:
        raise CheckpointError(f"the file for {entry.name} refers to {', '.join(bad[:3])}: it could run code "
                              "when loaded, so it is refused")
    if not any(s.startswith("ultralytics.nn.") for s in globals_used):
        raise CheckpointError(f"the file for {entry.name} is not an ultralytics model (no ultralytics.nn classes)")
    return "ultralytics model archive"


def check_structure(entry: WeightsEntry, path: str | Path, fits: Fits) -> str:
    """A torch file; then an ultralytics archive inspected (yolo), else `fits`; a failure becomes a one-line
    VerificationError."""
    try:
        if not looks_like_torch_file(path):
            raise CheckpointError(f"the file for {entry.name} is not a PyTorch checkpoint "
                                  "(neither torch's zip format nor a pickle)")
        return (check_yolo if entry.kind == "yolo" else fits)(entry, Path(path))
    except VerificationError:
        raise
    except CheckpointError as exc:
        raise VerificationError(f"{entry.name}: {_plain(str(exc), path)}; it was deleted") from None


def _plain(message: str, path: str | Path) -> str:
    """Refer to the file by its role rather than by its temporary name."""
    return message.replace(str(path), "the downloaded file").replace("\n", " ")
