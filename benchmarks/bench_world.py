"""Benchmark what the world step (root paths, floor, contacts, camera test, their outputs) and the BVH + glTF
exports add to `infer`.

    python benchmarks/bench_world.py                  # 1280x720, 300 frames, --keypoints, --no-render, PoseMamba-B
    python benchmarks/bench_world.py --repeats 5 --lifter S

The clip is bench_infer.py's synthetic walker; its true 2D keypoints are given as a --keypoints file (no
detector, no 2D model), so a run is decode (frame count) + lifting + world step + writing, without rendering:
the world step's share is as large as it can get. The runs with the world step off (InferConfig(world=False):
the outputs as before issue 19) and on (with --export bvh,glb) alternate in one process, the viewer off in
both; printed: each mode's median seconds, the world stage's own seconds, and the difference in per cent of
the run without them. Also printed: the root path's error under 2 px keypoint noise
(tests/test_world_motion.py asserts its bound). Timings are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def noise_figure(width: int, height: int, frames: int) -> str:
    """Mean root error (mm) with 2 px Gaussian noise on exact 2D: raw per frame and filtered (default sigma)."""
    from posemamba_cli.video.synthetic import body_motion
    from posemamba_cli.world import smooth_path, solve_root_trajectory
    from posemamba_cli.world.trajectory import DEFAULT_SMOOTH_S

    h36m, _ = body_motion(frames)
    rel = h36m - h36m[:, :1]
    t = np.arange(frames) / 30.0
    root = np.stack([-1000 + 700 * t, 200 + 0 * t, 4000 + 300 * t], 1)  # walking 0.76 m/s, 4 to 7 m away
    focal = np.hypot(width, height)
    cam = rel + root[:, None]
    k = focal * cam[..., :2] / cam[..., 2:] + np.array([width / 2, height / 2])
    rng = np.random.default_rng(0)
    raw = solve_root_trajectory(k + rng.normal(0, 2, k.shape), np.ones((frames, 17)), rel, (width, height))
    smooth = smooth_path(raw, np.ones(frames), t, DEFAULT_SMOOTH_S)
    e_raw = np.linalg.norm(raw - root, axis=-1).mean()
    e = np.linalg.norm(smooth - root, axis=-1).mean()
    return (f"root error with 2 px noise ({width}x{height}, diagonal focal, {root[:, 2].mean() / 1000:.1f} m mean "
            f"depth): {e_raw:.0f} mm per frame, {e:.0f} mm filtered (sigma {DEFAULT_SMOOTH_S} s)")  # fmt: skip


def write_cost(result: Path, repeats: int) -> float:
    """Median extra CPU seconds write_pose3d takes with the world fields, re-lifting nothing: the written
    result's arrays are read back into Pose3D / WorldMotion stand-ins and written again both ways."""
    from posemamba_cli.lift.track import Pose3D
    from posemamba_cli.pipeline.outputs import write_pose3d
    from posemamba_cli.pipeline.tracks2d import Tracks2D
    from posemamba_cli.world import fit_world_motion, resolve_camera

    d = np.load(result / "pose3d.npz")
    p, t = d["scores_2d_h36m"].shape[:2]
    poses = [Pose3D(d["keypoints_2d_h36m"][i], d["scores_2d_h36m"][i], d["pose3d_camera_px"][i],
                    d["pose3d_camera_mm"][i], d["pose3d_world_mm"][i], float(d["mm_per_px"][i])) for i in range(p)]
    tracks = Tracks2D(np.zeros((p, t, 17, 2)), np.zeros((p, t, 17)), d["within_track"], d["track_ids"])
    world = fit_world_motion(d["keypoints_2d_h36m"], d["scores_2d_h36m"], d["within_track"], d["pose3d_camera_mm"],
                             d["time_s"], resolve_camera(int(d["width"]), int(d["height"])))  # fmt: skip
    costs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            seconds = []
            for w in (None, world):
                t0 = time.process_time()
                write_pose3d(Path(tmp), poses, tracks, float(d["fps"]), int(d["width"]), int(d["height"]),
                             d["time_s"], w)  # fmt: skip
                seconds.append(time.process_time() - t0)
            costs.append(seconds[1] - seconds[0])
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"))
    parser.add_argument("--lifter", default="B", choices=("S", "B", "L"))
    parser.add_argument("--repeats", type=int, default=3, help="runs of each mode, alternating")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from posemamba_cli.model.posemamba import PoseMamba
    from posemamba_cli.pipeline import InferConfig, infer_video, load_keypoints
    from posemamba_cli.pose2d import write_keypoints_npz
    from posemamba_cli.video.synthetic import make_synthetic_clip

    work = Path(tempfile.mkdtemp(prefix="bench_world_"))
    clip = make_synthetic_clip(work / "clip.mp4", args.frames, *args.size, audio=True)
    keypoints = work / "clip_2d.npz"
    write_keypoints_npz(keypoints, clip.keypoints2d_coco, np.full((args.frames, 17), 0.9), None, tuple(args.size))
    lifter = PoseMamba.from_preset(args.lifter).eval()
    seconds: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    world_stage: list[float] = []
    for _ in range(args.repeats):
        for world in (False, True):
            # on: the world step and both exports (issue 19's budget); the viewer is off in both modes
            config = InferConfig(render=False, viewer=False, world=world, export="bvh,glb" if world else None)
            t0, c0 = time.perf_counter(), time.process_time()
            result = infer_video(clip.path, work / "out", lifter, config=config, overwrite=True,
                                 keypoints=lambda info: load_keypoints(keypoints, info.n_frames, "main",
                                                                       (info.width, info.height)))  # fmt: skip
            seconds[world].append(time.perf_counter() - t0)
            cpu[world].append(time.process_time() - c0)
            if world:
                world_stage.append(result.times.seconds["world"])
    before, after = statistics.median(seconds[False]), statistics.median(seconds[True])
    stage = statistics.median(world_stage)
    extra_write = write_cost(work / "out" / "clip_posemamba", args.repeats)
    print(f"infer --keypoints --no-render, {args.frames} frames {args.size[0]}x{args.size[1]}, "
          f"PoseMamba-{args.lifter}, torch threads {torch.get_num_threads()}, median of {args.repeats}:")  # fmt: skip
    cpu_before, cpu_after = statistics.median(cpu[False]), statistics.median(cpu[True])
    print(f"  whole run without the world step and exports {before:.2f} s, with them {after:.2f} s: "
          f"{100 * (after / before - 1):+.1f}% wall clock; CPU time {cpu_before:.2f} s -> {cpu_after:.2f} s: "
          f"{100 * (cpu_after / cpu_before - 1):+.1f}%")  # fmt: skip
    print(f"  world stage {stage * 1000:.0f} ms + writing its fields {extra_write * 1000:.0f} ms = "
          f"{100 * (stage + extra_write) / before:.1f}% of the run without it")  # fmt: skip
    print("  " + noise_figure(*args.size, args.frames))


if __name__ == "__main__":
    main()
