"""Check a YOLO weights file before ultralytics sees it: ultralytics unpickles with weights_only off.

A file passes when every Python global its pickle names is a torch/ultralytics network layer class (a
subclass of `torch.nn.Module` under `torch.nn.` or `ultralytics.nn.`) or one of a few plain containers,
and torch's weights-only unpickler then loads it with exactly those globals allowed. Nothing in the file
runs during the check.
"""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path

from posemamba_cli.errors import CheckpointError
from posemamba_cli.io.web_page import web_page_message

_LAYER_MODULES = ("torch.nn.", "ultralytics.nn.")
# Plain globals a trained ultralytics checkpoint carries besides its layer classes.
_PLAIN_GLOBALS = {
    "builtins.getattr",  # how torch pickles some module attributes; the weights-only unpickler calls nothing else
    "collections.OrderedDict",
    "types.SimpleNamespace",
    "argparse.Namespace",
    "ultralytics.utils.IterableSimpleNamespace",
}


def _resolve(name: str) -> object:
    module, _, attr = name.rpartition(".")
    obj: object = importlib.import_module(module)
    return getattr(obj, attr)


def _allowed(name: str) -> object | None:
    """The object `name` refers to, when it may appear in a detector checkpoint; else None."""
    if name in _PLAIN_GLOBALS:
        try:
            return _resolve(name)
        except (ImportError, AttributeError):
            return None
    if not name.startswith(_LAYER_MODULES):
        return None
    import torch

    try:
        obj = _resolve(name)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) and issubclass(obj, torch.nn.Module) else None


def check_detector_weights(path: str | Path) -> None:
    """Raise CheckpointError (one line) unless `path` is a YOLO checkpoint that cannot run code when loaded."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: detector weights not found")
    page = web_page_message(path)
    if page is not None:
        raise CheckpointError(page)
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (YOLO weights are torch.save zip archives)")
    find_globals = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    if find_globals is None:  # pragma: no cover - torch < 2.5
        raise CheckpointError(f"{path}: checking detector weights safely needs torch >= 2.5")
    try:
        names = find_globals(path)
    except Exception as exc:  # a user's file that torch cannot parse
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__})") from None
    allowed = []
    for name in sorted(names):
        obj = _allowed(name)
        if obj is None:
            raise CheckpointError(
                f"{path}: refused to load: it refers to the Python global {name!r}, which is not a network "
                "layer, and loading it could run code"
            )
        allowed.append(obj)
    try:
        with torch.serialization.safe_globals(allowed):
            torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: refused to load: the weights-only check failed ({first})") from None
