"""Unpickling restricted to plain containers and numpy arrays: a data file cannot run code."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from posemamba_cli.errors import PoseMambaError

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
