"""Turning a device request ("auto", "cpu", "cuda", "cuda:1", "mps") into a torch.device, once for all."""

from __future__ import annotations

import torch

from posemamba_cli.errors import PoseMambaError


def resolve_device(device: str | torch.device | None = "auto", local_rank: int | None = None,
                   option: str = "device") -> torch.device:
    """'auto' (or None) -> this process's CUDA device when one exists, else the CPU; anything else checked.

    `local_rank` (a torchrun process's GPU) picks the CUDA index where the request names none.
    A malformed request or a CUDA request on a machine without CUDA is a one-line PoseMambaError naming
    `option` (the flag or setting the request came from).
    """
    name = "auto" if device is None else str(device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise PoseMambaError(f"{option} must be auto, cpu, cuda, cuda:N or mps, not {name!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise PoseMambaError(f"{option} {name}: CUDA is not available on this machine")
        index = dev.index if dev.index is not None else (local_rank or 0)
        if index >= torch.cuda.device_count():
            raise PoseMambaError(f"{option} {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise PoseMambaError(f"{option} {name}: MPS is not available on this machine")
    if dev.type not in ("cpu", "mps"):
        raise PoseMambaError(f"{option} must be auto, cpu, cuda, cuda:N or mps, not {name!r}")
    return dev
