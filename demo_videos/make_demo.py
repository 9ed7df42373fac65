"""Make the shipped demo clip with the project's own code, and its ground truth beside it.

    python demo_videos/make_demo.py            # writes demo_videos/walk.mp4, walk_gt.npz, walk_keypoints.npz

The clip is a synthetic stick figure walking in place and slowly turning, seen by a pinhole camera; every
number is known, so the whole chain can be checked:

    posemamba infer demo_videos/walk.mp4 --keypoints demo_videos/walk_keypoints.npz --lifter posemamba-b
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.pose2d import write_keypoints_npz
from posemamba_cli.skeleton import COCO_JOINTS, H36M_JOINTS
from posemamba_cli.video.synthetic import make_synthetic_clip

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: demo_videos/)")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"))
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    width, height = args.size
    args.out.mkdir(parents=True, exist_ok=True)
    clip = make_synthetic_clip(args.out / "walk.mp4", args.frames, width, height, args.fps, audio=True, crf=32)
    with atomic_path(args.out / "walk_gt.npz") as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            pose3d_h36m_camera_mm=clip.pose3d_h36m_mm.astype(np.float32),
            keypoints2d_h36m=clip.keypoints2d_h36m.astype(np.float32),
            keypoints2d_coco=clip.keypoints2d_coco.astype(np.float32),
            h36m_joints=np.array(H36M_JOINTS),
            coco_joints=np.array(COCO_JOINTS),
            focal_px=np.float64(clip.focal_px),
            pelvis_distance_mm=np.float64(clip.distance_mm),
            width=np.int64(width),
            height=np.int64(height),
            fps=np.float64(args.fps),
            note=np.array(
                "camera frame: x right, y down, z away (mm); pixels = focal * (x, y - 95) / (z + distance) + "
                "(w/2, h/2); COCO face points from a fixed head model"
            ),
        )
    write_keypoints_npz(
        args.out / "walk_keypoints.npz", clip.keypoints2d_coco, np.ones((args.frames, 17)), None, (width, height)
    )
    names = ("walk.mp4", "walk_gt.npz", "walk_keypoints.npz")
    for name in names:
        (args.out / name).chmod(0o644)  # temporary files are created private; these are meant to be shared
    total = sum((args.out / n).stat().st_size for n in names)
    print(f"wrote {args.out}/walk.mp4 ({args.frames} frames, {width}x{height}) + ground truth, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
