"""Training throughput (clips per second) of PoseMamba S / B / L: forward, published losses, backward, AdamW.

    OMP_NUM_THREADS=1 python benchmarks/bench_train.py --preset S --batch 4 --threads 1
    python benchmarks/bench_train.py --preset S B L --device cuda --amp     # bf16 autocast on a GPU

Inputs are random normalised clips (throughput does not depend on the values). Prints one line per
preset and, with --json, writes the figures.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from posemamba_cli.model.posemamba import PoseMamba
from posemamba_cli.ops import use_backend
from posemamba_cli.perf.allocator import retain_freed_memory
from posemamba_cli.train.losses import total_loss

WEIGHTS = {"lambda_3d": 1.0, "lambda_scale": 0.5, "lambda_3d_velocity": 20.0, "lambda_diff": 0.5}


def bench(preset: str, batch: int, frames: int, steps: int, warmup: int, device: str, amp: bool,
          backend: str) -> dict:
    torch.manual_seed(0)
    model = PoseMamba.from_preset(preset, num_frame=frames).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=0.01)
    x = torch.randn(batch, frames, 17, 2, device=device) * 0.3
    y = torch.randn(batch, frames, 17, 3, device=device) * 0.2
    y = y - y[:, :, :1]
    use_amp = amp and device.startswith("cuda")

    def step() -> None:
        with use_backend(backend), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            pred = model(x)
        loss, _ = total_loss(pred.float(), y, WEIGHTS)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"preset": preset, "batch": batch, "frames": frames, "device": device, "amp_bf16": use_amp,
            "threads": torch.get_num_threads(), "backend": backend, "seconds_per_step": dt / steps,
            "clips_per_s": batch * steps / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", nargs="+", default=["S"], choices=["S", "B", "L"])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=243)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    ap.add_argument("--backend", default="auto", help="selective-scan backend")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    retain_freed_memory()  # as the posemamba command does
    if args.threads:
        torch.set_num_threads(args.threads)
    results = []
    for preset in args.preset:
        r = bench(preset, args.batch, args.frames, args.steps, args.warmup, args.device, args.amp, args.backend)
        results.append(r)
        print(f"PoseMamba-{preset} batch {r['batch']} x {r['frames']} frames on {r['device']}"
              f"{' bf16' if r['amp_bf16'] else ''} ({r['threads']} threads, scan {r['backend']}): "
              f"{r['seconds_per_step']:.2f} s/step, {r['clips_per_s']:.2f} clips/s", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
