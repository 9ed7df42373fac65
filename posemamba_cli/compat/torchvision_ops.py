"""Make `import torchvision` (and so `import ultralytics`) work where its compiled ops do not load.

Some torchvision wheels are linked against CUDA libraries that are absent next to a CPU build of torch;
their `_C` extension then fails to load and `import torchvision` dies registering a fake kernel for
`torchvision::nms`. `ensure_torchvision()` defines `torchvision::nms` (and `qnms`, which torchvision's
meta registrations also expect) in pure torch only when the compiled operator is missing, then imports
torchvision. Where the real extension loads, nothing is registered and the compiled kernels are used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch

_LIBRARY: torch.library.Library | None = None  # kept alive: dropping it unregisters the operators
_NMS_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"


def nms_reference(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression with torchvision's semantics, in plain torch.

    Boxes are (n, 4) xyxy; returns the indices of the kept boxes as int64, by decreasing score. A box is
    dropped when its IoU with a kept higher-scoring box is strictly greater than `iou_threshold`.
    Memory stays O(n): each kept box is compared only with the boxes still remaining.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    b = boxes[order]
    x1, y1, x2, y2 = b.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    remaining = torch.arange(b.shape[0], device=b.device)
    keep = []
    while remaining.numel() > 0:
        i = remaining[0]
        keep.append(i)
        rest = remaining[1:]
        if rest.numel() == 0:
            break
        w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        remaining = rest[~(iou > iou_threshold)]  # NaN IoU (degenerate boxes) keeps the box, as torchvision
    return order[torch.stack(keep)]


def _real_ops_loaded() -> bool:
    """True when `torchvision::nms` exists, loading torchvision's compiled extension if it can."""
    if hasattr(torch.ops.torchvision, "nms"):
        return True
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    for folder in spec.submodule_search_locations:
        for lib in sorted(Path(folder).glob("_C*.so")) + sorted(Path(folder).glob("_C*.pyd")):
            try:
                torch.ops.load_library(str(lib))
            except (OSError, ImportError, RuntimeError):
                continue
            if hasattr(torch.ops.torchvision, "nms"):
                return True
    return False


def _register_fallback() -> None:
    """Define `torchvision::nms` and `torchvision::qnms` with the pure-torch kernel (CPU and CUDA)."""
    global _LIBRARY
    if _LIBRARY is not None:
        return
    lib = torch.library.Library("torchvision", "DEF")
    for name in ("nms", "qnms"):
        lib.define(name + _NMS_SCHEMA)
        for key in ("CPU", "CUDA"):
            lib.impl(name, nms_reference, key)
    _LIBRARY = lib


def shim_active() -> bool:
    """Whether this process uses the pure-torch fallback instead of torchvision's compiled ops."""
    return _LIBRARY is not None


def _boxes_ops_available() -> None:
    """Stand-in for torchvision's `_assert_has_ops` in `torchvision.ops.boxes` (nms, batched_nms)."""
    if not hasattr(torch.ops.torchvision, "nms"):
        raise RuntimeError("torchvision::nms is not registered")


def ensure_torchvision() -> ModuleType:
    """Import torchvision, first registering pure-torch ops where its compiled ones are missing."""
    module = sys.modules.get("torchvision")
    if module is not None and hasattr(module, "ops") and (shim_active() or hasattr(torch.ops.torchvision, "nms")):
        return module
    if not _real_ops_loaded():
        _register_fallback()
    module = importlib.import_module("torchvision")
    if shim_active():
        # torchvision's Python wrappers refuse to run without the compiled extension; only nms-based
        # functions are made available again, every other compiled op keeps failing loudly.
        boxes = importlib.import_module("torchvision.ops.boxes")
        boxes._assert_has_ops = _boxes_ops_available
    return module
