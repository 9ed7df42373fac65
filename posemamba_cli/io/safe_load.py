"""Load pickled files without running code from them: PyTorch checkpoints and pickled data files.

torch's weights-only unpickler, widened by exactly the numpy globals that plain arrays, scalars and dtypes
need (published checkpoints carry a numpy `min_loss`, mmpose's carry numpy objects in `meta`). Anything
else in the pickle is refused with an error that names it. Data files (the preprocessed Human3.6M pickle)
go through a plain unpickler restricted to containers and numpy arrays.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posemamba_cli.errors import CheckpointError, PoseMambaError
from posemamba_cli.io.paths import require_file


def numpy_safe_globals() -> list:
    """The numpy globals a pickled array, scalar or dtype refers to (numpy 1.x and 2.x names)."""
    core = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray  # noqa: NPY201
    allowed: list = [np.ndarray, np.dtype]
    for name in ("_reconstruct", "scalar"):
        fn = getattr(core, name)
        allowed += [(fn, f"numpy.core.multiarray.{name}"), (fn, f"numpy._core.multiarray.{name}")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:  # numpy >= 1.25 pickles dtypes through their classes
        allowed += [cls for cls in vars(dtypes).values() if isinstance(cls, type) and issubclass(cls, np.dtype)]
    return allowed


def safe_torch_load(path: str | os.PathLike) -> object:
    """torch.load(weights_only=True) plus numpy data; every failure is a one-line CheckpointError."""
    path = Path(path)
    require_file(path, "checkpoint", f"checkpoint not found: {path}", CheckpointError)
    try:
        with torch.serialization.safe_globals(numpy_safe_globals()), warnings.catch_warnings():
            # torch notes every pickle protocol but 2; the weights-only loader either reads it or fails below
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if "Unsupported operand 149" in str(exc) and _is_torch_file(path):  # 149: FRAME, pickle protocol 4+
            raise CheckpointError(
                f"{path}: saved with pickle protocol 4 or newer, which torch's safe weights-only loader cannot "
                "read; save it again with torch.save's default protocol"
            ) from None
        if found is None:
            from posemamba_cli.io.web_page import web_page_message

            why = web_page_message(path) or _not_torch_message(path)
            raise CheckpointError(why or f"{path}: not a readable PyTorch checkpoint (corrupt pickle data)") from None
        raise CheckpointError(
            f"{path}: refused to load: it refers to the Python global {found.group(1)!r}, which is neither "
            "a tensor nor plain numpy data, and unpickling it could run code"
        ) from None
    except Exception as exc:  # any failure to parse a user's file is a user error, not a crash
        why = _not_torch_message(path)
        if why is None:
            reason = _first_sentences(str(exc)) or type(exc).__name__
            why = f"{path}: not a readable PyTorch checkpoint ({reason})"
        raise CheckpointError(why) from None


def _is_torch_file(path: Path) -> bool:
    """torch.save's zip format (a zip holding data.pkl), or its legacy pickle starting with the magic number."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return any(n.endswith("/data.pkl") for n in zf.namelist())
        with path.open("rb") as fh:
            first = _Restricted(fh, encoding="latin1").load()  # containers and numpy only: nothing runs
    except Exception:
        return False
    return isinstance(first, int) and first == torch.serialization.MAGIC_NUMBER


def _not_torch_message(path: Path) -> str | None:
    """What the file is instead of a torch.save file, when its first bytes tell (None: they do not)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(2)
            if head == b"PK":
                if not zipfile.is_zipfile(path):
                    return (f"{path}: a damaged or truncated zip archive (the format torch.save writes), e.g. an "
                            "interrupted download or copy")
                with zipfile.ZipFile(path) as zf:
                    if not any(n.endswith("/data.pkl") for n in zf.namelist()):
                        return f"{path}: a zip archive, but not a PyTorch checkpoint (it holds no data.pkl)"
                return None
            fh.seek(0)
            first = _Restricted(fh, encoding="latin1").load()  # containers and numpy only: nothing runs
    except Exception:  # unreadable as a pickle too: no better reason than torch's
        return None
    if isinstance(first, int) and first == torch.serialization.MAGIC_NUMBER:
        return None  # a legacy torch file after all
    return (f"{path}: a plain Python pickle ({type(first).__name__}), not a PyTorch checkpoint (torch.save "
            "writes a zip archive, or in the legacy format a pickle starting with torch's magic number)")


def _first_sentences(text: str, limit: int = 200) -> str:
    """The first line of `text`, shortened at a sentence (or word) end to at most about `limit` characters."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(line) <= limit:
        return line
    cut = max(line.rfind(". ", 0, limit), line.rfind("; ", 0, limit))
    if cut > 0:
        return line[: cut + 1].rstrip(";")
    return line[: line.rfind(" ", 0, limit)] + " ..."


_ALLOWED = {
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "str"), ("builtins", "int"), ("builtins", "float"), ("builtins", "bool"),
    ("builtins", "slice"), ("builtins", "range"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("collections", "OrderedDict"), ("_codecs", "encode"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}  # fmt: skip
_NUMPY_DTYPES = ("numpy.dtypes",)


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or module in _NUMPY_DTYPES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_pickle(path: str | Path, what: str = "data file") -> Any:
    """Load a pickle of dicts/lists/numpy arrays; any failure becomes a one-line PoseMambaError."""
    path = Path(path)
    require_file(path, what)
    try:
        with path.open("rb") as fh:
            return _Restricted(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise PoseMambaError(f"{what} {path} is not a readable pickle: {exc}") from None
