"""Score a lifter on test clips, and the whole `posemamba eval` job as one library call.

`evaluate_model` runs a model over a ClipSet the way the published evaluation does; `evaluate_checkpoint`
goes checkpoint (file or pretrained name) -> config -> data -> score, which the CLI only maps flags onto.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from posemamba_cli.data.clips import ClipSet
from posemamba_cli.data.dataset import gt_2d_input
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.evaluation.predict import apply_gt_2d, predict_clips
from posemamba_cli.evaluation.protocol import evaluate_clips


def clip_inputs(test: ClipSet, gt_2d: bool, no_conf: bool) -> np.ndarray:
    """The model inputs of every test clip, (n, T, 17, 2 or 3), as the published evaluation feeds them."""
    x = gt_2d_input(test.labels)[test.split_id] if gt_2d else test.stacked_inputs()
    return x[..., :2] if no_conf else x


def evaluate_model(model: torch.nn.Module, test: ClipSet, *, no_conf: bool = True, flip: bool = True,
                   gt_2d: bool = False, batch_size: int = 16, device: str | torch.device = "cpu", amp: bool = False,
                   progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The published protocol on `test` (P1 / P2 per action, in mm) when it carries the per-frame table;
    otherwise MPJPE in normalised units. `progress(k)` is called after each batch of k clips."""
    x = clip_inputs(test, gt_2d, no_conf)
    pred = predict_clips(model, x, batch_size, flip=flip, device=device, amp=amp, progress=progress)
    if gt_2d:
        pred = apply_gt_2d(pred, x)
    if test.table is not None:
        return evaluate_clips(test.table, pred, test.split_id, zero_root=not gt_2d)
    pred[:, :, 0] = 0
    gt = test.labels[test.split_id]
    gt = gt - gt[:, :, :1]
    return {"mpjpe_normalised": float(np.mean(np.linalg.norm(pred - gt, axis=-1)))}


def evaluate_checkpoint(
    checkpoint: str | os.PathLike,
    data: str | os.PathLike,
    *,
    config: str | os.PathLike | None = None,
    gt_2d: bool | None = None,
    flip: bool | None = None,
    batch_size: int = 16,
    device: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    weights_dir: str | os.PathLike | None = None,
    offline: bool = False,
    out: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Evaluate a lifter on the Human3.6M test clips of `data` (a preprocessed pickle) with the published protocol.

    `checkpoint` is a file (ours or published) or a pretrained name (`posemamba-b`, fetched unless `offline`).
    `config` (a training YAML) supplies clip_len / flip / no_conf / gt_2d; else the model's window and
    channels decide, with flip on. `gt_2d` and `flip` override either. Returns the scores (`p1_mm`, `p2_mm`,
    per action) with what was evaluated; writes them as JSON to `out` (atomically) when given.
    `progress(done, total)` follows the predicted clips. Bad input is a one-line PoseMambaError.
    """
    from posemamba_cli.device import resolve_device
    from posemamba_cli.evaluation.records import check_record_path, write_record
    from posemamba_cli.hub.resolve import resolve_weights
    from posemamba_cli.model.checkpoint import load_lifter
    from posemamba_cli.train.config import config_from_dict, load_config
    from posemamba_cli.train.data_source import resolve_data

    check_record_path(out)
    dev = resolve_device(device, option="--device")
    checkpoint_path = resolve_weights(checkpoint, weights_dir, offline=offline)
    model = load_lifter(checkpoint_path, device=dev)
    overrides: dict[str, Any] = {"data_file": str(data), "eval_batch_size": batch_size, "epochs": 1}
    if cache_dir is not None:
        overrides["cache_dir"] = str(cache_dir)
    if config:
        cfg = load_config(config, overrides)
    else:
        cfg = config_from_dict({"clip_len": model.num_frame, "no_conf": model.config.in_chans == 2, **overrides})
    cfg.gt_2d = cfg.gt_2d if gt_2d is None else gt_2d
    cfg.flip = cfg.flip if flip is None else flip
    if model.config.in_chans != cfg.model.in_chans:
        raise PoseMambaError(f"{checkpoint} takes {model.config.in_chans} input channels but the config says "
                             f"no_conf: {cfg.no_conf}")
    if cfg.clip_len > model.num_frame:
        raise PoseMambaError(f"clip_len {cfg.clip_len} is longer than the model's {model.num_frame} frames")
    test = resolve_data(cfg).test
    if test.table is None:
        raise PoseMambaError("the data must be a preprocessed pickle (the protocol needs the per-frame test table)")
    done = 0

    def advance(k: int) -> None:
        nonlocal done
        done += k
        progress(done, len(test))

    if progress is not None:
        progress(0, len(test))
    result = evaluate_model(model, test, no_conf=cfg.no_conf, flip=cfg.flip, gt_2d=cfg.gt_2d,
                            batch_size=cfg.eval_batch_size, device=dev, amp=cfg.amp,
                            progress=advance if progress is not None else None)
    record = {**result, "checkpoint": str(checkpoint_path), "data": str(data), "clip_len": cfg.clip_len,
              "flip": cfg.flip, "gt_2d": cfg.gt_2d}
    if out is not None:
        write_record(out, record)
    return record
