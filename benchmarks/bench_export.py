"""Time the per-person exports (BVH, glTF binary) of a result folder like the demo's, at 300 frames.

    python benchmarks/bench_export.py                # 300 frames, 1 person, 5 repeats
    python benchmarks/bench_export.py --frames 3000 --people 4

The motion is the project's synthetic walker (posemamba_cli.video.synthetic.body_motion) turned into the world
frame and walking a circle. Printed: the first call (with the writers' imports) and the median of the repeats,
per format and both together. Timings are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def make_result(folder: Path, n_frames: int, n_people: int, fps: float = 30.0) -> None:
    """A finished result folder holding pose3d.npz with `joints_world_mm` for `n_people` walkers."""
    from posemamba_cli.io.manifest import write_manifest
    from posemamba_cli.video.synthetic import body_motion

    camera, _ = body_motion(n_frames, fps)  # (T, 17, 3) mm, x right, y down, z away
    world = camera[..., [0, 2, 1]] * np.array([1.0, 1.0, -1.0])  # z up
    t = np.arange(n_frames) / fps
    people = []
    for p in range(n_people):
        path = np.stack([1500 * np.cos(0.3 * t + p), 1500 * np.sin(0.3 * t + p), np.full_like(t, 950.0)], -1)
        people.append(world - world[:, :1] + path[:, None])
    joints = np.stack(people).astype(np.float32)
    np.savez_compressed(folder / "pose3d.npz", joints_world_mm=joints, pose3d_world_mm=joints,
                        track_ids=np.arange(n_people), time_s=t, fps=np.float64(fps),
                        within_track=np.ones(joints.shape[:2], bool))  # fmt: skip
    write_manifest(folder, folder / "bench.mp4", ["pose3d.npz"], n_frames, n_people)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--people", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench_posemamba"
        folder.mkdir()
        make_result(folder, args.frames, args.people)
        start = time.perf_counter()
        from posemamba_cli.export import export_result

        export_result(folder, "bvh,glb")
        first = time.perf_counter() - start
        print(f"{args.frames} frames, {args.people} people; first call (imports included): {first * 1000:.0f} ms")
        for formats in ("bvh", "glb", "bvh,glb"):
            runs = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                export_result(folder, formats)
                runs.append(time.perf_counter() - start)
            print(f"  {formats:8s} median {statistics.median(runs) * 1000:7.1f} ms over {args.repeats} runs")


if __name__ == "__main__":
    main()
