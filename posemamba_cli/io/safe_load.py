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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posemamba_cli.errors import CheckpointError, PoseMambaError


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
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with torch.serialization.safe_globals(numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found is None:
            from posemamba_cli.io.web_page import web_page_message

            why = web_page_message(path) or f"{path}: not a readable PyTorch checkpoint (corrupt pickle data)"
            raise CheckpointError(why) from None
        raise CheckpointError(
            f"{path}: refused to load: it refers to the Python global {found.group(1)!r}, which is neither "
            "a tensor nor plain numpy data, and unpickling it could run code"
        ) from None
    except Exception as exc:  # any failure to parse a user's file is a user error, not a crash
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({reason[:200]})") from None


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
    if not path.is_file():
        raise PoseMambaError(f"{what} {path} does not exist")
    try:
        with path.open("rb") as fh:
            return _Restricted(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise PoseMambaError(f"{what} {path} is not a readable pickle: {exc}") from None
