"""Load the models `infer` needs from registry names or file paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posemamba_cli.errors import PoseMambaError


def pick_device(device: str) -> str:
    """'auto' -> 'cuda' when available else 'cpu'; anything else is checked and returned."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise PoseMambaError(f"--device {device}: CUDA is not available on this machine")
    if device not in ("cpu", "mps") and not device.startswith("cuda"):
        raise PoseMambaError(f"--device must be auto, cpu, cuda or cuda:N, not {device!r}")
    return device


def resolve(name_or_path: str, weights_dir: str | Path | None, offline: bool) -> Path:
    """A weights file for a registry name or a path (plain paths only where the registry is absent)."""
    try:
        from posemamba_cli.hub import resolve_weights
    except ImportError:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise PoseMambaError(f"checkpoint file not found: {name_or_path}") from None
        return path
    return resolve_weights(name_or_path, weights_dir=weights_dir, offline=offline)


def registry_model_info(name: str) -> dict[str, Any]:
    """The registry's `model` fields for a name (input size, decoding, ...); {} for paths/unknown names."""
    try:
        from posemamba_cli.hub import load_registry

        entry = load_registry().find(name)
    except Exception:  # no registry: paths only
        return {}
    return dict(entry.model) if entry is not None and entry.model else {}


def load_lifter_model(name_or_path: str, weights_dir: str | Path | None, offline: bool, device: str) -> Any:
    """The PoseMamba lifter in eval mode (CheckpointError names a size or key mismatch)."""
    from posemamba_cli.model.checkpoint import load_lifter

    path = resolve(name_or_path, weights_dir, offline)
    return load_lifter(path, device=device)


def load_pose2d(name_or_path: str, weights_dir: str | Path | None, offline: bool, device: str,
                decoding: str | None = None, input_size: tuple[int, int] | None = None,
                flip_test: bool = True, half: bool = False) -> Any:
    """HRNet top-down estimator (inference form: batch norms folded); size and decoding from the registry
    entry unless given. `half` (CUDA only) runs the network in float16."""
    from posemamba_cli.pose2d import load_hrnet

    info = registry_model_info(name_or_path)
    size = input_size or (tuple(info["input_size"]) if "input_size" in info else None)
    path = resolve(name_or_path, weights_dir, offline)
    return load_hrnet(path, input_size=size, decoding=decoding or info.get("decoding", "plain"), device=device,
                      flip_test=flip_test, half=half and device.startswith("cuda"), fold=True)  # fmt: skip


def load_detector(name_or_path: str, weights_dir: str | Path | None, offline: bool, device: str,
                  conf: float = 0.3) -> Any:
    """YOLO person detector; a model yaml builds an untrained network (for plumbing checks)."""
    from posemamba_cli.people import YoloPersonDetector

    if str(name_or_path).endswith((".yaml", ".yml")):
        return YoloPersonDetector(name_or_path, conf=conf, device=device)
    return YoloPersonDetector(resolve(name_or_path, weights_dir, offline), conf=conf, device=device)
