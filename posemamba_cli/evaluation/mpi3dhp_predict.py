"""Run a lifter over the 3DHP evaluation windows as the reference evaluation does.

Per window: the model's output on the plain and (flip test) on the mirrored window, the latter mirrored
back, averaged; the centre frame; the root joint 14 overwritten with 0 (not subtracted); times w/2 with the
sequence's own width -> mm. MPJPE over all 17 joints and all valid frames, in float32.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch

from posemamba_cli.data.mpi3dhp import ROOT, EvalWindows, evaluation_windows, find_files, flip_pose, read_test
from posemamba_cli.evaluation.mpi3dhp import evaluate_3dhp


@torch.no_grad()
def model_in_chans(model: torch.nn.Module, default: int) -> int:
    """Input channels of a lifter (2: x, y; 3: with confidence) from its config, else `default`."""
    return int(getattr(getattr(model, "config", None), "in_chans", default))


@torch.no_grad()
def predict_windows(
    model: torch.nn.Module,
    windows: EvalWindows,
    batch_size: int = 128,
    flip: bool = True,
    in_chans: int = 3,
    device: str | torch.device = "cpu",
    amp: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Predictions per test sequence: "TS<i>" -> (n_valid, 17, 3) float32 mm, root 0, valid frames in order.

    `in_chans` 2 drops the confidence channel of the (x, y, 1) input; `amp` is bf16 autocast on CUDA.
    """
    was_training = model.training
    model.eval()
    use_amp = amp and torch.device(device).type == "cuda"
    centre = windows.window.shape[1] // 2
    out = np.zeros((len(windows), 17, 3), np.float32)
    try:
        for start in range(0, len(windows), batch_size):
            idx = np.arange(start, min(start + batch_size, len(windows)))
            x = torch.as_tensor(windows.batch_inputs(idx)[..., :in_chans], dtype=torch.float32, device=device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                pred = model(x).float()
                if flip:
                    pred = (pred + flip_pose(model(flip_pose(x)).float())) / 2
            out[idx] = pred[:, centre].cpu().numpy()
            if progress is not None:
                progress(len(idx))
    finally:
        model.train(was_training)
    out[:, ROOT] = 0
    result = {}
    for seq in windows.sequences():
        sel = windows.seq == seq
        result[seq] = out[sel] * np.float32(windows.sizes[seq][0] / 2)
    return result


def windows_mpjpe(windows: EvalWindows, predictions: dict[str, np.ndarray]) -> dict[str, float]:
    """The reference's MPJPE (float32 per joint, all 17 joints): overall (a mean over all valid frames) and
    per sequence, in mm; `predictions` as `predict_windows` returns them."""
    errors = {}
    for seq in windows.sequences():
        gt = windows.targets[seq][windows.center[windows.seq == seq]].astype(np.float32)
        diff = predictions[seq].astype(np.float32) - gt
        errors[seq] = np.sqrt(np.sum(diff * diff, axis=-1, dtype=np.float32))
    allerr = np.concatenate(list(errors.values()))
    return {"mpjpe_mm": float(np.mean(allerr, dtype=np.float64)),
            **{f"mpjpe_mm_{seq}": float(np.mean(e, dtype=np.float64)) for seq, e in errors.items()}}


def evaluate_lifter_3dhp(
    model: torch.nn.Module,
    data: str | Path,
    clip_len: int = 81,
    flip: bool = True,
    joints: int = 14,
    activities: Mapping[str, np.ndarray] | None = None,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
    amp: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict, dict[str, np.ndarray]]:
    """Run `model` over the 3DHP evaluation windows of `data` (`data_test_3dhp.npz` or its folder) and score
    it: (evaluate_3dhp's result plus the reference's float32 `mpjpe_mm_reference`, predictions per sequence)."""
    sequences = read_test(find_files(data)[1])
    windows = evaluation_windows(sequences, clip_len)
    in_chans = model_in_chans(model, 3)
    preds = predict_windows(model, windows, batch_size, flip, in_chans, device, amp, progress)
    result = evaluate_3dhp(sequences, preds, joints=joints, activities=activities)
    result["mpjpe_mm_reference"] = windows_mpjpe(windows, preds)["mpjpe_mm"]
    result["n_windows"] = len(windows)
    return result, preds


def read_activities(path: str | Path | None, data: str | Path) -> tuple[dict[str, np.ndarray] | None, Path | None]:
    """Activity labels: `path` (an npz of TS1..TS6 arrays), else `activity_annotation.npz` in the data folder."""
    from posemamba_cli.errors import PoseMambaError
    from posemamba_cli.io.paths import require_file

    data = Path(data)
    if path is None and data.is_dir() and (data / "activity_annotation.npz").is_file():
        path = data / "activity_annotation.npz"
    if path is None:
        return None, None
    path = Path(path)
    require_file(path, "activity file")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}, path
    except (OSError, ValueError) as exc:
        raise PoseMambaError(f"activity file {path} is not a readable npz of TS1..TS6 arrays: {exc}") from None


def evaluate_checkpoint_3dhp(
    checkpoint: str | Path,
    data: str | Path,
    *,
    flip: bool | None = None,
    joints: int = 14,
    activities: str | Path | None = None,
    batch_size: int = 16,
    device: str = "auto",
    weights_dir: str | Path | None = None,
    offline: bool = False,
    out: str | Path | None = None,
    mat: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """`posemamba eval` on MPI-INF-3DHP as one call: checkpoint (file or name) -> predictions of every valid
    test frame -> PCK / AUC / MPJPE per sequence (and activity). Writes `inference_data.mat` (to `mat`, else
    beside `out`) and, when `out` is given, the JSON record; returns the record."""
    from posemamba_cli.evaluation.job import check_record_path, counter, load_for_eval, write_record
    from posemamba_cli.evaluation.mpi3dhp import is_inference_mat, write_inference_mat
    from posemamba_cli.io.paths import check_output_file

    check_record_path(out)
    if mat is None:
        mat = (Path(out).parent if out is not None else Path(".")) / "inference_data.mat"
    check_output_file(mat, "prediction file", replaceable=is_inference_mat)
    flip = True if flip is None else flip
    model, checkpoint_path, dev = load_for_eval(checkpoint, weights_dir, offline, device)
    labels, labels_path = read_activities(activities, data)
    total = sum(int(s.valid.sum()) for s in read_test(find_files(data)[1]))
    result, preds = evaluate_lifter_3dhp(model, data, model.num_frame, flip, joints, labels, batch_size, dev,
                                         progress=counter(progress, total))
    mat_path = Path(mat)
    write_inference_mat(mat_path, preds)
    record = {**result, "checkpoint": str(checkpoint_path), "data": str(data), "clip_len": model.num_frame,
              "flip": flip, "joints": joints, "activities": str(labels_path) if labels_path else None,
              "inference_mat": str(mat_path)}
    return write_record(record, out)


def score_predictions_3dhp(predictions: str | Path, data: str | Path, *, joints: int = 14,
                           activities: str | Path | None = None, out: str | Path | None = None) -> dict:
    """Score an existing `inference_data.mat` (ours or MotionAGFormer's) as the MATLAB scripts would."""
    from posemamba_cli.evaluation.job import check_record_path, write_record
    from posemamba_cli.evaluation.mpi3dhp import read_inference_mat

    check_record_path(out)
    labels, labels_path = read_activities(activities, data)
    result = evaluate_3dhp(data, read_inference_mat(predictions), joints=joints, activities=labels)
    record = {**result, "predictions": str(predictions), "data": str(data), "joints": joints,
              "activities": str(labels_path) if labels_path else None}
    return write_record(record, out)
