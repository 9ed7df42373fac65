"""Shared pieces of the `posemamba infer` tests: the CLI in-process, a small lifter checkpoint, a keypoint file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

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
