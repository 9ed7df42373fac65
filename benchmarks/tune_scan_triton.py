"""Time Triton scan tile configurations at the PoseMamba shapes (GPU): chunk T, channels per program BD, warps.

    python benchmarks/tune_scan_triton.py
"""

from __future__ import annotations

import os

import torch
from bench_scan_gpu import scan_bytes, scan_inputs  # run from benchmarks/ or with it on sys.path
from triton.testing import do_bench

from posemamba_cli.ops.scan_triton import TritonBackend
from posemamba_cli.ops.selective_scan import _SelectiveScanFn

# chunk, block_d, fwd_warps, bwd_warps, fwd_impl, seq_block_d, unroll
SCAN_CONFIGS = [
    (64, 4, 4, 8, "scan", 0, 0), (32, 4, 4, 4, "scan", 0, 0), (32, 8, 4, 8, "scan", 0, 0), (64, 2, 4, 4, "scan", 0, 0),
    (128, 2, 8, 8, "scan", 0, 0), (64, 8, 8, 8, "scan", 0, 0), (16, 8, 4, 4, "scan", 0, 0),
]
SEQ_CONFIGS = [
    (32, 4, 4, 4, "seq", 32, 8), (32, 4, 4, 4, "seq", 64, 8), (32, 4, 4, 4, "seq", 32, 16),
    (32, 4, 8, 4, "seq", 64, 8), (32, 4, 4, 4, "seq", 16, 8),
]
CONFIGS = SEQ_CONFIGS if os.environ.get("TUNE_SET", "seq") == "seq" else SCAN_CONFIGS + SEQ_CONFIGS


def run(be, x, dy):
    leaves = {k: v.detach().requires_grad_(True) for k, v in x.items()}
    names = ("u", "delta", "A", "B", "C", "D", "delta_bias")

    def fwd():
        with torch.no_grad():
            _SelectiveScanFn.apply(be, *[x[k] for k in names], True)

    def fb():
        y = _SelectiveScanFn.apply(be, *[leaves[k] for k in names], True)
        y.backward(dy)
    timing = dict(warmup=25, rep=200, return_mode="median")
    return do_bench(fwd, **timing), do_bench(fb, **timing)


def main():
    print("| batch | K*Di | dtype | T | BD | warps f/b | impl, seq BD, unroll | fwd ms | fwd+bwd ms | fwd GB/s |")
    for batch, dim, dtype in ((64, 1024, torch.float32), (1, 1024, torch.float32)):
        x = scan_inputs(batch, dim, dtype)
        dy = torch.randn_like(x["u"])
        for cfg in CONFIGS:
            be = TritonBackend(chunk=cfg[0], block_d=cfg[1], fwd_warps=cfg[2], bwd_warps=cfg[3], fwd_impl=cfg[4],
                               seq_block_d=cfg[5] or 32, unroll=cfg[6] or 8)
            try:
                f, fb = run(be, x, dy)
            except Exception as exc:  # a config that fails to compile or run
                print(f"| {batch} | {dim} | {dtype} | {cfg} failed: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            print(f"| {batch} | {dim} | {str(dtype)[6:]} | {cfg[0]} | {cfg[1]} | {cfg[2]}/{cfg[3]} | {cfg[4:]} "
                  f"| {f:.3f} | {fb:.3f} | {scan_bytes(x) / f / 1e6:.0f} |", flush=True)


if __name__ == "__main__":
    main()
