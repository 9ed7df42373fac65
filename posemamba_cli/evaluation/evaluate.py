"""Score a lifter on test clips, and the whole `posemamba eval` job as one library call.

`evaluate_model` (evaluation.predict) runs a model over a ClipSet the way the published evaluation does;
`evaluate_checkpoint` goes checkpoint (file or pretrained name) -> config -> data -> score, which the CLI only
maps flags onto.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.evaluation.job import check_record_path, counter, load_for_eval, write_record
from posemamba_cli.evaluation.predict import evaluate_model  # noqa: F401  (the package's name for it)


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
    from posemamba_cli.train.config import config_from_dict, load_config
    from posemamba_cli.train.data_source import resolve_data

    check_record_path(out)
    model, checkpoint_path, dev = load_for_eval(checkpoint, weights_dir, offline, device)
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
    resolved = resolve_data(cfg)
    if resolved.test.table is None:
        raise PoseMambaError("the data must be a preprocessed pickle (the protocol needs the per-frame test table)")
    result = resolved.task.evaluate(model, cfg, dev, counter(progress, len(resolved.test)))
    record = {**result, "checkpoint": str(checkpoint_path), "data": str(data), "clip_len": cfg.clip_len,
              "flip": cfg.flip, "gt_2d": cfg.gt_2d}
    return write_record(record, out)
