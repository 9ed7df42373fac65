"""Run the fused cross scan forward a few times at PoseMamba-B shapes, for a profiler to attach to.

    ncu --kernel-name regex:cross_fwd_kernel --launch-skip 8 --launch-count 1 --set full \\
        python benchmarks/profile_cross_scan.py [--batch 64] [--dtype float32]

The first calls compile the kernels; later launches are the steady state the profiler should look at.
Prints the fused forward's median time and bytes-moved rate (no profiler needed for that).
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from posemamba_cli.model.posemamba import scan_orders_and_inverse
    from posemamba_cli.ops import get_backend

    dtype = getattr(torch, args.dtype)
    Di, R, N, K, dev = 256, 8, 16, 4, "cuda"
    orders, _ = scan_orders_and_inverse(243, 17, dev)
    P = orders.shape[1]
    srcs = [torch.randn(args.batch, P, Di, device=dev, dtype=dtype).transpose(1, 2) for _ in range(2)]
    params = [torch.randn(K, R + 2 * N, Di, device=dev) / 16, torch.randn(K, Di, R, device=dev) / 3,
              torch.full((K, Di), -4.0, device=dev), -torch.arange(1, N + 1, device=dev).repeat(K * Di, 1).float(),
              torch.ones(K * Di, device=dev)]
    backend = get_backend("triton")
    times = []
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        for _ in range(args.repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            backend.cross_scan(srcs, (0, 1, 0, 1), orders, *params)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
    ms = sorted(times)[len(times) // 2]
    elt = srcs[0].element_size()
    moved = K * args.batch * P * (Di + R + 2 * N) * elt + (2 * K - 1) * args.batch * P * Di * 4
    print(f"fused cross scan forward, batch {args.batch}, {args.dtype}: {ms:.2f} ms (median of {len(times)}, "
          f"first ones compile), {moved / 1e9:.2f} GB -> {moved / (ms * 1e-3) / 1e9:.0f} GB/s")


if __name__ == "__main__":
    main()
