"""Load the models `infer` needs from registry names or file paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posemamba_cli.errors import PoseMambaError


def pick_device(device: str) -> str:
    """'auto' -> 'cuda' when available else 'cpu'; anything else is checked and returned."""
    from posemamba_cli.device import resolve_device

    return str(resolve_device(device, option="--device"))


def check_models_present(names: list[str], weights_dir: str | Path | None, offline: bool) -> None:
    """Make sure every named model is in the weights folder before any is loaded.

    Missing ones are downloaded unless `offline`. What is still missing (offline, or a download failed) is
    one PoseMambaError listing every such file, where it goes, the command that fetches them all and where
    to download each by hand.
    """
    from posemamba_cli.hub import default_weights_dir, fetch_entry, load_registry, missing_weights_message
    from posemamba_cli.hub.resolve import OFFLINE_REASON
    from posemamba_cli.pretrained import fits

    registry = load_registry()
    folder = default_weights_dir(weights_dir)
    missing = []
    for name in dict.fromkeys(names):
        if Path(name).expanduser().exists() or str(name).endswith((".yaml", ".yml")):
            continue
        entry = registry.find(str(name))
        if entry is not None and not (folder / entry.file).is_file():
            missing.append(entry)
    why = OFFLINE_REASON
    if not offline:
        failed, reasons = [], []
        for entry in missing:
            try:
                fetch_entry(entry, folder, fits=fits)  # its bare reason: the message below says the rest once
            except PoseMambaError as exc:
                failed.append(entry)
                reasons.append(str(exc))
        missing = failed
        why = f"could not be downloaded ({reasons[0]})" if reasons else why
    if not missing:
        return
    raise PoseMambaError(missing_weights_message(missing, folder, why))


def resolve(name_or_path: str, weights_dir: str | Path | None, offline: bool) -> Path:
    """A verified weights file for a registry name or a path (posemamba_cli.pretrained.resolve)."""
    from posemamba_cli.pretrained import resolve

    return resolve(name_or_path, weights_dir, offline)


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
    from posemamba_cli.pretrained import load_lifter

    return load_lifter(name_or_path, device=device, weights_dir=weights_dir, offline=offline)


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
