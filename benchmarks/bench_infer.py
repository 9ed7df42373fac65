"""Benchmark `posemamba infer` stage by stage on a 720p clip (random weights: they cost what trained ones do).

    python benchmarks/bench_infer.py                          # 1280x720, 300 frames, YOLO11n, HRNet-W48 384x288, PoseMamba-B
    python benchmarks/bench_infer.py --hrnet-width 32 --hrnet-size 192 256 --frames 300 --device cuda

The clip is the project's synthetic walker (one person per frame). YOLO runs on every frame for its cost, but
a random-weight detector finds nobody, so the boxes handed to the tracker and HRNet are the clip's true person
boxes. Prints frames per second of each stage and of the whole run, and the peak memory of the
Python process (ffmpeg streams frame by frame). Timings are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import math
import resource
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--detector", default="yolo11n.yaml")
    parser.add_argument("--hrnet-width", type=int, default=48, choices=(32, 48))
    parser.add_argument("--hrnet-size", type=int, nargs=2, default=None, metavar=("W", "H"))
    parser.add_argument("--lifter", default="B", choices=("S", "B", "L"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = parser.parse_args()
    retain_freed_memory()  # as the posemamba command does
    if args.threads:
        torch.set_num_threads(args.threads)

    from rich.console import Console
    from rich.table import Table

    from posemamba_cli.model.posemamba import PoseMamba
    from posemamba_cli.people import YoloPersonDetector
    from posemamba_cli.pipeline import InferConfig, infer_video
    from posemamba_cli.pipeline.progress import make_progress
    from posemamba_cli.pose2d import load_hrnet
    from posemamba_cli.video.synthetic import make_synthetic_clip

    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench_infer_"))
    width, height = args.size
    t0 = time.perf_counter()
    clip = make_synthetic_clip(work / "clip720.mp4", args.frames, width, height, audio=True)
    console.print(f"clip: {width}x{height}, {args.frames} frames, made in {time.perf_counter() - t0:.1f} s")
    k = clip.keypoints2d_coco
    margin = 0.1 * (k[..., 1].max(-1) - k[..., 1].min(-1))[:, None]
    boxes = np.concatenate([k.min(1) - margin, k.max(1) + margin], 1)
    detector = TimedYoloWithTrueBoxes(YoloPersonDetector(args.detector, device=args.device), boxes)
    pose2d = load_hrnet(random_hrnet_state(args.hrnet_width), tuple(args.hrnet_size) if args.hrnet_size else None,
                        device=args.device)  # fmt: skip
    lifter = PoseMamba.from_preset(args.lifter).to(args.device).eval()
    config = InferConfig(device=args.device, batch_size=args.batch_size)
    out = args.keep or work / "out"
    t0 = time.perf_counter()
    with make_progress(console) as progress:
        result = infer_video(clip.path, out, lifter, detector, pose2d, config=config, progress=progress)
    total = time.perf_counter() - t0
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(title=f"infer benchmark ({args.device}, torch threads {torch.get_num_threads()})")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("frames/s", justify="right")
    for stage in ("detect+track", "2D", "lift", "render"):
        s = result.times.seconds[stage]
        table.add_row(stage, f"{s:.2f}", f"{result.n_frames / s:.2f}")
    table.add_row("whole run", f"{total:.2f}", f"{result.n_frames / total:.2f}")
    console.print(table)
    size = (args.hrnet_size or {32: (192, 256), 48: (288, 384)}[args.hrnet_width])
    console.print(
        f"detector {args.detector}, HRNet-W{args.hrnet_width} {size[0]}x{size[1]} (flip test), "
        f"PoseMamba-{args.lifter} 243 frames (flip averaging); {result.n_frames} frames {width}x{height}"
    )
    console.print(f"peak resident memory of this process: {peak_self:.0f} MiB (ffmpeg streams frame by frame)")
    if torch.cuda.is_available() and args.device.startswith("cuda"):
        console.print(f"peak CUDA memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
