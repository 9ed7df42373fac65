"""What every `posemamba eval` job shares: the lifter from a file or name, a progress counter, the JSON record."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def load_for_eval(checkpoint: str | os.PathLike, weights_dir: str | os.PathLike | None, offline: bool,
                  device: str) -> tuple[torch.nn.Module, Path, torch.device]:
    """(the lifter in eval mode, its file, the device) for a checkpoint file or pretrained name."""
    from posemamba_cli.device import resolve_device
    from posemamba_cli.model.posemamba import PoseMamba
    from posemamba_cli.pretrained import resolve

    dev = resolve_device(device, option="--device")
    path = resolve(checkpoint, weights_dir, offline)
    return PoseMamba.from_pretrained(path, device=dev), path, dev


def counter(progress: Callable[[int, int], None] | None, total: int) -> Callable[[int], None] | None:
    """`progress(done, total)` as a per-batch `advance(k)`, reporting (0, total) now; None without progress."""
    if progress is None:
        return None
    done = 0

    def advance(k: int) -> None:
        nonlocal done
        done += k
        progress(done, total)

    progress(0, total)
    return advance


def is_eval_record(path: str | os.PathLike) -> bool:
    """Whether `path` holds a JSON result this tool wrote (so a new one may replace it)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "data" in doc and ("checkpoint" in doc or "predictions" in doc)


def check_record_path(out: str | os.PathLike | None) -> None:
    """Raise a one-line PoseMambaError unless the record can be written to `out` (None: nothing to write);
    call it before the work."""
    from posemamba_cli.io.paths import check_output_file

    if out is not None:
        check_output_file(out, "result file", replaceable=is_eval_record)


def write_record(record: dict[str, Any], out: str | os.PathLike | None) -> dict[str, Any]:
    """Write `record` as JSON to `out` (atomically) when given; return it."""
    from posemamba_cli.io.atomic import atomic_path

    if out is not None:
        with atomic_path(Path(out)) as tmp:
            tmp.write_text(json.dumps(record, indent=1))
    return record
