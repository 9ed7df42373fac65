"""Throughput of the top-down HRNet stage (random weights cost the same as trained ones).

    python benchmarks/bench_pose2d.py --device cpu --frames 8 --threads 1
    python benchmarks/bench_pose2d.py --device cuda --frames 256 --batch-size 64

Reports, per model, crops/s for the whole stage (crop + flip-test forward + decode, one person per 720p
frame) and for the network alone.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from posemamba_cli.perf.allocator import retain_freed_memory
from posemamba_cli.pose2d import TopDownHRNet
from posemamba_cli.pose2d.estimator import HRNetEstimator

MODELS = {"w32-256x192": (32, (192, 256)), "w48-384x288": (48, (288, 384))}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--decoding", default="plain", choices=["plain", "dark"])
    parser.add_argument("--half", action="store_true", help="fp16 network on CUDA")
    args = parser.parse_args()
    retain_freed_memory()  # as the posemamba command does
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(4)]
    boxes = [np.array([[500.0, 100.0, 760.0, 700.0]]) for _ in range(args.frames)]
    frames = [images[i % len(images)] for i in range(args.frames)]
    print(f"device={device} frames={args.frames} batch={args.batch_size} decoding={args.decoding} "
          f"threads={torch.get_num_threads()} torch={torch.__version__}")
    for name, (width, size) in MODELS.items():
        model = TopDownHRNet(width)
        estimator = HRNetEstimator(
            model, size, args.decoding, batch_size=args.batch_size, device=device, half=args.half
        )
        estimator.predict_many(frames[:2], boxes[:2])  # warm-up
        _sync(device)
        start = time.perf_counter()
        estimator.predict_many(frames, boxes)
        _sync(device)
        stage = time.perf_counter() - start
        crops = torch.randn(args.batch_size, 3, size[1], size[0], device=device, dtype=estimator.dtype)
        with torch.inference_mode():
            estimator.model(crops)
            _sync(device)
            reps = max(1, args.frames // args.batch_size)
            start = time.perf_counter()
            for _ in range(reps):
                estimator.model(crops)
            _sync(device)
            net = time.perf_counter() - start
        print(f"{name}: stage {args.frames / stage:8.1f} frames/s (flip test: 2 crops each); "
              f"network alone {reps * args.batch_size / net:8.1f} crops/s")


if __name__ == "__main__":
    main()
