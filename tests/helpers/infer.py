"""Shared pieces of the `posemamba infer` tests: the CLI in-process, a small lifter checkpoint, a keypoint file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.video.synthetic import SyntheticClip


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`posemamba infer --quiet ARGS` in this process -> (exit code, stdout, stderr)."""
    from posemamba_cli.cli.app import main

    monkeypatch.setattr(sys, "argv", ["posemamba", "infer", "--quiet", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write_small_lifter(path: Path) -> Path:
    """A small random PoseMamba (num_frame 27, seed 0) written with save_checkpoint to `path`."""
    from posemamba_cli.model.checkpoint import save_checkpoint
    from posemamba_cli.model.posemamba import PoseMamba

    torch.manual_seed(0)
    save_checkpoint(path, PoseMamba(num_frame=27, dim_feat=16, depth=2, drop_path_rate=0.0))
    return path


def write_clip_keypoints(path: Path, clip: SyntheticClip, frames: np.ndarray | None = None) -> Path:
    """The clip's true COCO-17 keypoints (score 0.9) as a --keypoints file; `frames`: only those frames."""
    from posemamba_cli.pose2d import write_keypoints_npz

    keypoints = clip.keypoints2d_coco if frames is None else clip.keypoints2d_coco[frames]
    write_keypoints_npz(path, keypoints, np.full((len(keypoints), 17), 0.9), frames, (clip.width, clip.height))
    return path


def figure_tracks(n: int) -> Tracks2D:
    """One person standing still over `n` frames (COCO-17, inside a 64x48 frame, score 0.9)."""
    k = np.tile(np.array([[32.0 + (j % 5), 8.0 + 2 * j] for j in range(17)]), (1, n, 1, 1))
    return Tracks2D(k, np.full((1, n, 17), 0.9), np.ones((1, n), bool), np.array([1]))


def box_detector(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A person detector finding the `figure_tracks` figure in every frame."""
    return np.array([[20.0, 4.0, 44.0, 44.0]]), np.array([0.9])


class FigurePose2D:
    """A 2D model answering the `figure_tracks` figure for every box."""

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return figure_tracks(1).keypoints[0].repeat(len(boxes), 0), np.full((len(boxes), 17), 0.9)


class EchoLifter:
    """A stand-in lifter (27-frame windows): 3D = the 2D input with half its x as depth."""

    num_frame = 27

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * x[..., :1]], -1)


def true_box(clip: SyntheticClip, t: int) -> np.ndarray:
    """(4,) x1, y1, x2, y2: the figure's keypoints in frame t, 2 px around."""
    k = clip.keypoints2d_coco[t]
    return np.concatenate([k.min(0) - 2, k.max(0) + 2])


class TruthDetector:
    """Finds the synthetic figure by its ground truth frame after frame (nobody in `missed`), and a small
    bystander in the corner in the `bystander` frames; counts frames from 0, wrapping round at the clip's end."""

    def __init__(self, clip: SyntheticClip, missed=(), bystander=()) -> None:
        self.clip, self.missed, self.bystander, self.t = clip, missed, bystander, -1

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert frame.shape == (self.clip.height, self.clip.width, 3)
        self.t = (self.t + 1) % len(self.clip.keypoints2d_coco)
        boxes = [] if self.t in self.missed else [true_box(self.clip, self.t)]
        if self.t in self.bystander:
            boxes.append(np.array([2.0, 30, 8, 46]))
        return np.array(boxes).reshape(-1, 4), np.full(len(boxes), 0.9)


class TruthPose2D:
    """Returns the true COCO-17 keypoints of whichever frame a box is the figure's box of (score 0.8); the box's
    centre for any other box. `calls` counts the predict calls."""

    def __init__(self, clip: SyntheticClip) -> None:
        self.clip, self.calls = clip, 0
        self.boxes = np.stack([true_box(clip, t) for t in range(len(clip.keypoints2d_coco))])  # (T, 4)

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        out = []
        for b in boxes:
            gap = np.abs(self.boxes - b).sum(1)
            t = int(gap.argmin())
            out.append(self.clip.keypoints2d_coco[t] if gap[t] < 1e-2 else np.tile((b[:2] + b[2:]) / 2, (17, 1)))
        return np.array(out), np.full((len(boxes), 17), 0.8)


class ShadePose2D:
    """Keypoints computed from the image and the box (so a wrong frame or box pairing changes them)."""

    def __init__(self) -> None:
        self.crops = 0

    def predict_many(self, images, boxes):
        return [self.predict(i, b) for i, b in zip(images, boxes)]

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.crops += len(boxes)
        out, scores = [], []
        grid = np.linspace(0, 1, 17)[:, None]
        for x1, y1, x2, y2 in boxes:
            patch = image[int(y1) : max(int(y2), int(y1) + 1), int(x1) : max(int(x2), int(x1) + 1)]
            shade = patch.mean() / 255.0
            out.append(np.stack([x1 + (x2 - x1) * grid[:, 0], y1 + (y2 - y1) * (grid[:, 0] * shade)], -1))
            scores.append(np.full(17, 0.5 + 0.4 * shade))
        return np.array(out), np.array(scores)
