"""Benchmark `posemamba infer` stage by stage on a 720p clip (random weights: they cost what trained ones do).

    python benchmarks/bench_infer.py                     # 1280x720, 300 frames, YOLO11n, the device's 2D default
    python benchmarks/bench_infer.py --pose2d hrnet-w48-384x288 --frames 300 --device cuda
    python benchmarks/bench_infer.py --modes concurrent   # only the concurrent pipeline

The clip is the project's synthetic walker (one person per frame). YOLO runs on every frame for its cost, but
a random-weight detector finds nobody, so the boxes handed to the tracker and HRNet are the clip's true person
boxes. Each mode (the concurrent pipeline, the sequential one) runs in its own process on the same clip, so
that each reports its own peak memory; printed: seconds and frames per second of each stage (busy time of
the stage's thread in the concurrent mode), of the whole run, peak memory, and the concurrent run's speed-up
over the sequential one. Timings are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from posemamba_cli.perf.allocator import retain_freed_memory


def random_hrnet_state(width: int) -> dict[str, torch.Tensor]:
    """Random mmpose-layout HRNet weights (the fixture README's recipe)."""
    from posemamba_cli.pose2d.checkpoint import hrnet_state_shapes

    shapes = hrnet_state_shapes(width)
    bn = {k.rsplit(".", 1)[0] for k in shapes if k.endswith("running_mean")}
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in shapes.items():
        module, leaf = key.rsplit(".", 1)
        if leaf == "num_batches_tracked":
            state[key] = torch.tensor(0)
        elif module in bn:
            state[key] = {"weight": lambda: 1 + 0.1 * torch.randn(shape, generator=g),
                          "bias": lambda: 0.1 * torch.randn(shape, generator=g),
                          "running_mean": lambda: 0.1 * torch.randn(shape, generator=g),
                          "running_var": lambda: 0.5 + torch.rand(shape, generator=g)}[leaf]()  # fmt: skip
        elif leaf == "weight":
            state[key] = torch.randn(shape, generator=g) * math.sqrt(0.5 / math.prod(shape[1:]))
        else:
            state[key] = 0.05 * torch.randn(shape, generator=g)
    return state


class TimedYoloWithTrueBoxes:
    """Runs YOLO on the frame (its cost is what is measured) and returns the clip's true person box."""

    def __init__(self, yolo, boxes: np.ndarray) -> None:
        self.yolo, self.boxes, self.t = yolo, boxes, -1

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.t += 1
        self.yolo(frame)
        return self.boxes[self.t][None], np.array([0.9])


SIZES = {"hrnet-w32-256x192": (32, (192, 256)), "hrnet-w48-384x288": (48, (288, 384))}


def run_mode(args: argparse.Namespace) -> dict:
    """One infer run in this process (`--mode`); returns its figures."""
    retain_freed_memory()  # as the posemamba command does
    if args.threads:
        torch.set_num_threads(args.threads)
    from posemamba_cli.model.posemamba import PoseMamba
    from posemamba_cli.people import YoloPersonDetector
    from posemamba_cli.pipeline import InferConfig, infer_video
    from posemamba_cli.pose2d import load_hrnet
    from posemamba_cli.pose2d.choice import choose_pose2d
    from posemamba_cli.video.synthetic import make_synthetic_clip

    clip = make_synthetic_clip(args.clip, args.frames, *args.size, audio=True)  # same frames: deterministic
    k = clip.keypoints2d_coco
    margin = 0.1 * (k[..., 1].max(-1) - k[..., 1].min(-1))[:, None]
    boxes = np.concatenate([k.min(1) - margin, k.max(1) + margin], 1)
    detector = TimedYoloWithTrueBoxes(YoloPersonDetector(args.detector, device=args.device), boxes)
    choice = choose_pose2d(args.pose2d, args.device, args.flip_2d)
    width, size = SIZES[choice.name]
    pose2d = load_hrnet(random_hrnet_state(width), size, device=args.device, flip_test=choice.flip_test,
                        half=choice.half, fold=not args.no_fold)  # fmt: skip
    lifter = PoseMamba.from_preset(args.lifter).to(args.device).eval()
    config = InferConfig(device=args.device, batch_size=args.batch_size, render=not args.no_render,
                         sequential=args.mode == "sequential", world=not args.no_world, export=args.export,
                         viewer=not args.no_viewer)  # fmt: skip
    t0 = time.perf_counter()
    result = infer_video(clip.path, args.out / args.mode, lifter, detector, pose2d, config=config)
    total = time.perf_counter() - t0
    figures = {
        "mode": args.mode, "frames": result.n_frames, "seconds": total, "stages": result.times.seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "pose2d": choice.describe(args.device), "threads": torch.get_num_threads(),
    }  # fmt: skip
    if torch.cuda.is_available() and args.device.startswith("cuda"):
        figures["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--detector", default="yolo11n.yaml")
    parser.add_argument("--pose2d", default="auto", choices=("auto", *SIZES), help="auto: the device's default")
    parser.add_argument("--flip-2d", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--no-fold", action="store_true", help="HRNet without folded batch norms (as before)")
    parser.add_argument("--lifter", default="B", choices=("S", "B", "L"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("--no-world", action="store_true", help="without the world step (outputs as before it)")
    parser.add_argument("--export", default=None, help="also export, e.g. bvh,glb")
    parser.add_argument("--no-viewer", action="store_true")
    parser.add_argument("--modes", default="concurrent,sequential", help="comma-separated, run in this order")
    parser.add_argument("--keep", type=Path, default=None, help="keep the clip and outputs in this folder")
    parser.add_argument("--mode", default=None, help=argparse.SUPPRESS)  # internal: one run, JSON on stdout
    parser.add_argument("--clip", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print("BENCH_JSON " + json.dumps(run_mode(args)))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_infer_"))
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, *sys.argv[1:], "--mode", mode, "--clip", str(work / "clip.mp4"),
               "--out", str(work / "out")]  # fmt: skip
        console.print(f"running the {mode} pipeline ...")
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if proc.returncode != 0 or line is None:
            sys.exit(f"the {mode} run failed (exit {proc.returncode})")
        runs.append(json.loads(line[len("BENCH_JSON "):]))
    table = Table(title=f"infer benchmark ({args.device}, torch threads {runs[0]['threads']}): seconds (frames/s)")
    table.add_column("stage")
    for r in runs:
        table.add_column(r["mode"], justify="right")
    stages = [s for s in ("decode", "detect+track", "2D", "lift", "render") if any(s in r["stages"] for r in runs)]
    for stage in stages:
        cells = []
        for r in runs:
            s = r["stages"].get(stage)
            cells.append("-" if s is None else f"{s:.2f} ({r['frames'] / s:.2f})")
        table.add_row(stage, *cells)
    table.add_row("whole run", *[f"{r['seconds']:.2f} ({r['frames'] / r['seconds']:.2f})" for r in runs])
    table.add_row("peak RSS MiB", *[f"{r['peak_rss_mib']:.0f}" for r in runs])
    if all("peak_cuda_mib" in r for r in runs):
        table.add_row("peak CUDA MiB", *[f"{r['peak_cuda_mib']:.0f}" for r in runs])
    console.print(table)
    console.print(f"{runs[0]['pose2d']}; detector {args.detector}; PoseMamba-{args.lifter} 243 frames (flip "
                  f"averaging); {runs[0]['frames']} frames {args.size[0]}x{args.size[1]}"
                  f"{'; no render' if args.no_render else ''}")  # fmt: skip
    by_mode = {r["mode"]: r for r in runs}
    if {"concurrent", "sequential"} <= set(by_mode):
        speedup = by_mode["sequential"]["seconds"] / by_mode["concurrent"]["seconds"]
        console.print(f"concurrent vs sequential whole run: {speedup:.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
