"""Run a lifter over a sequence of any length: overlapping windows, blended, flip-averaged, batched."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from posemamba_cli.skeleton import flip_pose

Lifter = Callable[[torch.Tensor], torch.Tensor]


def window_starts(n_frames: int, length: int, overlap: int) -> list[int]:
    """Start frames of windows of `length` covering `n_frames`; the last window ends on the last frame.

    Consecutive windows overlap by at least `overlap` frames. A sequence not longer than `length` gets one
    window starting at 0 (it is edge-padded to `length`).
    """
    if n_frames <= 0:
        raise ValueError("a sequence needs at least one frame")
    if n_frames <= length:
        return [0]
    stride = max(1, length - max(0, overlap))
    starts = list(range(0, n_frames - length + 1, stride))
    if starts[-1] != n_frames - length:
        starts.append(n_frames - length)
    return starts


def blend_weights(length: int, ramp: int) -> np.ndarray:
    """Per-frame window weights: linear ramps of `ramp` frames at both ends, 1 in the middle, never 0."""
    t = np.arange(length, dtype=np.float64)
    if ramp <= 0:
        return np.ones(length)
    return np.minimum(1.0, np.minimum(t + 0.5, length - t - 0.5) / ramp)


@torch.no_grad()
def lift_sequence(
    lifter: Lifter,
    keypoints: np.ndarray,
    num_frame: int,
    overlap: int | None = None,
    flip: bool = True,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Lift normalised H36M-17 2D (T, 17, 2) to root-relative normalised 3D (T, 17, 3).

    Windows of `num_frame` frames overlap by `overlap` (default a third) and are blended with linear
    ramps, so there is no jump at window edges. Sequences shorter than a window are edge-padded (never
    stretched). With `flip` every window is averaged with the flipped-back output of its flipped input.
    `progress(n)` is called with the number of windows finished after each batch.
    """
    x = np.asarray(keypoints, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (17, 2):
        raise ValueError(f"expected (frames, 17, 2) keypoints, got {x.shape}")
    n = x.shape[0]
    overlap = num_frame // 3 if overlap is None else overlap
    starts = window_starts(n, num_frame, overlap)
    padded = x if n >= num_frame else np.concatenate([x, np.repeat(x[-1:], num_frame - n, axis=0)])
    weights = blend_weights(num_frame, overlap if len(starts) > 1 else 0)
    acc = np.zeros((n, 17, 3))
    wsum = np.zeros(n)
    for b in range(0, len(starts), batch_size):
        chunk = starts[b : b + batch_size]
        inp = torch.from_numpy(np.stack([padded[s : s + num_frame] for s in chunk])).to(device)
        out = lifter(inp)
        if flip:
            out = (out + flip_pose(lifter(flip_pose(inp)))) / 2
        out = out.float().cpu().numpy().astype(np.float64)
        for s, pred in zip(chunk, out):
            m = min(num_frame, n - s)
            acc[s : s + m] += pred[:m] * weights[:m, None, None]
            wsum[s : s + m] += weights[:m]
        if progress is not None:
            progress(len(chunk))
    result = acc / wsum[:, None, None]
    return result - result[:, :1]  # root-relative, root exactly 0
